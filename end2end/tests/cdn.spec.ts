// The dashboard as a CDN serves it: the build made for a sub-path
// (`cargo xtask dist --public-url /tools/vigie/`, here target/cdn-e2e),
// served by a real nginx with the `location` block `vigie-server cdn-files`
// writes, talking to the API on another origin (the port differs) named in
// its config.json. Deep links and reloads on a sub-page work, navigation
// keeps the path, the data comes from the API, the served policy is obeyed
// without a violation, and nothing sets a cookie.

import { expect, test } from '@playwright/test';

import { PREFIX, serveCdn, type Nginx } from './nginx';
import { cspViolations, freePort, ownVigie, recordCspViolations } from './vigie';

// Filled before the server starts: the API must accept the CDN's origin.
const apiEnv: Record<string, string> = {};
let cdnOrigin = '';
test.beforeAll(async () => {
  cdnOrigin = `http://127.0.0.1:${await freePort()}`;
  apiEnv.VIGIE_CORS_ORIGINS = cdnOrigin;
});
const vigie = ownVigie({ env: apiEnv });

let nginx: Nginx | undefined;
test.beforeAll(async () => {
  nginx = await serveCdn(cdnOrigin, { config: { api_base: vigie.baseURL }, connectSrc: vigie.baseURL });
});
test.afterAll(async () => {
  await nginx?.stop();
});

test('served under a sub-path by nginx, a deep link loads, reloads and navigates with the API on another origin', async ({ page, context }) => {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await recordCspViolations(page);

  // A deep link: nginx answers index.html, with the policy of the build.
  const first = await page.goto(`${cdnOrigin}${PREFIX}targets`);
  expect(first?.status()).toBe(200);
  const csp = (await first?.allHeaders())?.['content-security-policy'] ?? '';
  expect(csp).toContain(`connect-src 'self' ${vigie.baseURL};`);
  expect(csp).toContain("frame-ancestors 'none'");
  // The API's targets, on the other origin.
  await expect(page.getByTestId('target-row').first()).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });

  // The header's links keep the path.
  await page.getByRole('link', { name: 'Reports', exact: true }).click();
  await expect(page).toHaveURL(`${cdnOrigin}${PREFIX}reports`);
  await expect(page.getByRole('form', { name: 'Generate a report' })).toBeVisible();

  // A reload on a sub-page of a sub-page.
  await page.goto(`${cdnOrigin}${PREFIX}alerts/rules`);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Alert rules' })).toBeVisible();
  await expect(page).toHaveURL(`${cdnOrigin}${PREFIX}alerts/rules`);

  // Every asset came from under the path, and nothing was refused.
  const assets = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  const local = assets.filter((u) => u.startsWith(cdnOrigin));
  expect(local.length).toBeGreaterThan(2);
  for (const u of local) expect(new URL(u).pathname.startsWith(PREFIX), u).toBe(true);
  expect(await cspViolations(page)).toEqual([]);
  expect(errors).toEqual([]);
  expect(await context.cookies()).toEqual([]);

  // The page chunks came from under the path too, with their wasm type;
  // one the deployment does not have is a 404, not index.html.
  const chunk = local.find((u) => /\/split_alert_rules_page-[0-9a-f]{16}\.wasm$/.test(u));
  expect(chunk, local.join('\n')).toBeDefined();
  const served = await page.request.get(chunk!);
  expect(served.headers()['content-type']).toBe('application/wasm');
  const gone = await page.request.get(`${cdnOrigin}${PREFIX}split_reports_page-0123456789abcdef.wasm`);
  expect(gone.status()).toBe(404);
});
