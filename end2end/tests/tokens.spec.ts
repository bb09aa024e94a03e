// A server with tokens, as it runs once exposed: the dashboard asks for a
// token before it shows anything, the live stream opens with a ticket got
// with that token (never the token in a URL), and a viewer's token cannot
// pause monitoring.
import { test, expect, type Request } from '@playwright/test';
import { ownVigie } from './vigie';

const ADMIN = 'admin-token-e2e-0123456789';
const VIEWER = 'viewer-token-e2e-0123456789';

const vigie = ownVigie({
  env: { VIGIE_ADMIN_TOKEN: ADMIN, VIGIE_VIEWER_TOKEN: VIEWER },
  token: ADMIN,
});

test('a viewer signs in, sees live data through a stream ticket, and cannot pause', async ({ page }) => {
  const streamURLs: string[] = [];
  page.on('request', (r: Request) => {
    if (r.url().includes('/api/performance/stream/')) streamURLs.push(r.url());
  });
  await page.goto(vigie.url('/'));
  const form = page.getByRole('form', { name: 'Sign in' });
  await expect(form).toBeVisible();
  await expect(form).toContainText('needs a token');
  await form.getByLabel('Token').fill(VIEWER);
  await form.getByRole('button', { name: 'Sign in' }).click();

  // The page reloads with the token: no sign-in any more, and the stream is live.
  await expect(page.getByRole('form', { name: 'Sign in' })).toHaveCount(0);
  const indicator = page.getByTestId('connection');
  await expect(indicator).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await expect(indicator).toContainText(/last sample \d+ s ago/);
  expect(streamURLs.length).toBeGreaterThan(0);
  for (const url of streamURLs) {
    expect(url).toMatch(/[?&]ticket=[0-9a-f]{64}/);
    expect(url).not.toContain(VIEWER);
    expect(url).not.toContain(ADMIN);
  }

  // A viewer may read, not change: the server's refusal is shown.
  const sw = page.getByTestId('monitoring');
  await expect(sw).toHaveAttribute('data-on', 'true');
  await sw.getByRole('button', { name: 'Pause' }).click();
  await expect(sw.getByRole('alert')).toContainText('operator role');
  await expect(sw).toHaveAttribute('data-on', 'true');
  const state = await vigie.api.get('/api/performance/monitoring/');
  expect(state.status()).toBe(200);
  expect((await state.json()).monitoring).toBe(true);
});

test('without a token the API answers 401 and nothing is shown', async ({ page, playwright }) => {
  const anonymous = await playwright.request.newContext({ baseURL: vigie.baseURL });
  const resp = await anonymous.get('/api/performance/system-resources/');
  expect(resp.status()).toBe(401);
  expect((await resp.json()).field).toBe('Authorization');
  await anonymous.dispose();

  await page.goto(vigie.url('/'));
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  // A wrong token is refused the same way, and said so.
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Token').fill('not-a-token-0123456789');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('form', { name: 'Sign in' })).toContainText('did not accept');
});
