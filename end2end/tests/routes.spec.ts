// Every page is its own wasm chunk, fetched when first shown: each route
// works reached from the menu and by a cold deep link, its chunk is fetched
// (the first load does not carry it), and a chunk that fails to load shows
// a retry that works once the chunk is served again. The file has its own
// server.
import { test, expect, type Page } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

// Path, the menu link that reaches it (or the page whose link does), the
// page's heading, and its chunk's name.
const ROUTES = [
  { path: '/targets', link: 'Targets', heading: 'Targets', chunk: 'targets_page' },
  { path: '/endpoints', link: 'Endpoints', heading: 'Endpoints', chunk: 'endpoints_page' },
  { path: '/alerts', link: /^Alerts\b/, heading: 'Alerts', chunk: 'alerts_page' },
  { path: '/alerts/rules', link: 'Alert rules', heading: 'Alert rules', chunk: 'alert_rules_page' },
  { path: '/scaling', link: 'Scaling', heading: 'Scaling', chunk: 'scaling_page' },
  { path: '/cache', link: 'Cache', heading: 'Cache', chunk: 'cache_page' },
  { path: '/slow-queries', link: 'Slow queries', heading: 'Slow queries', chunk: 'slow_queries_page' },
  { path: '/reports', link: 'Reports', heading: 'Reports', chunk: 'reports_page' },
  { path: '/recommendations', link: 'Recommendations', heading: 'Recommendations', chunk: 'recommendations_page' },
];

/** The wasm files the page fetched, by file name, in order. */
function wasmFetched(page: Page): string[] {
  const names: string[] = [];
  page.on('response', (r) => {
    const name = new URL(r.url()).pathname.split('/').pop() ?? '';
    if (name.endsWith('.wasm')) names.push(`${name} ${r.status()}`);
  });
  return names;
}

function heading(page: Page, name: string) {
  return page.getByRole('heading', { level: 1, name, exact: true });
}

test('every page is reached from the menu, fetching its own chunk', async ({ page }) => {
  const fetched = wasmFetched(page);
  await page.goto(vigie.url('/'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  // The first load: the main module, no page's chunk until idle.
  expect(fetched[0]).toMatch(/^vigie-[0-9a-f]{16}_bg\.wasm 200$/);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const r of ROUTES) {
    if (r.path === '/alerts/rules') {
      await nav.getByRole('link', { name: /^Alerts\b/ }).click();
      await page.getByRole('main').getByRole('link', { name: 'Rules', exact: true }).click();
    } else {
      await nav.getByRole('link', { name: r.link, exact: typeof r.link === 'string' }).click();
    }
    await expect(heading(page, r.heading)).toBeVisible();
    await expect(page).toHaveURL(vigie.url(r.path));
    expect(fetched.some((f) => f.startsWith(`split_${r.chunk}-`) && f.endsWith(' 200')), fetched.join('\n')).toBe(true);
  }
  // And back to the overview, which is in the main module.
  await nav.getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByRole('heading', { name: 'This host' })).toBeVisible();
  // Each chunk fetched once, however often its page was shown.
  const chunks = fetched.filter((f) => f.startsWith('split_'));
  expect(new Set(chunks).size).toBe(chunks.length);
});

test('every page opens from a cold deep link', async ({ browser }) => {
  for (const r of ROUTES) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(vigie.url(r.path));
    await expect(heading(page, r.heading)).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await context.close();
  }
});

test('a chunk that fails to load shows a retry, which works once the chunk is served', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let blocked = 0;
  await page.route(/split_reports_page-[0-9a-f]{16}\.wasm$/, (route) => {
    blocked += 1;
    return route.abort('failed');
  });
  await page.goto(vigie.url('/'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
  const failure = page.getByRole('alert').filter({ hasText: 'This page could not be loaded' });
  await expect(failure).toBeVisible();
  expect(blocked).toBeGreaterThan(0);
  // The rest of the app still works: the menu, another page.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Targets' }).click();
  await expect(heading(page, 'Targets')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
  await expect(failure).toBeVisible();
  // Served again: Retry loads it in place, no reload.
  await page.unroute(/split_reports_page-[0-9a-f]{16}\.wasm$/);
  const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  await failure.getByRole('button', { name: 'Retry' }).click();
  await expect(heading(page, 'Reports')).toBeVisible();
  await expect(failure).toHaveCount(0);
  expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(loads);
  expect(errors).toEqual([]);
});

test('leaving a page before its chunk arrives leaves nothing broken', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The chunk is held back until the other page is shown.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/split_recommendations_page-[0-9a-f]{16}\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(vigie.url('/'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Recommendations', exact: true }).click();
  await nav.getByRole('link', { name: 'Targets', exact: true }).click();
  await expect(heading(page, 'Targets')).toBeVisible();
  const arrived = page.waitForResponse(/split_recommendations_page-[0-9a-f]{16}\.wasm$/);
  release();
  await arrived;
  // The late chunk does not draw its page over this one, and the app lives.
  await nav.getByRole('link', { name: 'Endpoints', exact: true }).click();
  await expect(heading(page, 'Endpoints')).toBeVisible();
  await expect(heading(page, 'Recommendations')).toHaveCount(0);
  await nav.getByRole('link', { name: 'Recommendations', exact: true }).click();
  await expect(heading(page, 'Recommendations')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a cold deep link to a page whose chunk fails shows the retry, not a blank page', async ({ page }) => {
  await page.route(/split_scaling_page-[0-9a-f]{16}\.wasm$/, (route) => route.abort('failed'));
  await page.goto(vigie.url('/scaling'));
  const failure = page.getByRole('alert').filter({ hasText: 'This page could not be loaded' });
  await expect(failure).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await page.unroute(/split_scaling_page-[0-9a-f]{16}\.wasm$/);
  await failure.getByRole('button', { name: 'Retry' }).click();
  await expect(heading(page, 'Scaling')).toBeVisible();
});

test('a chunk the deployment no longer has is a 404, not the page', async ({ request }) => {
  const gone = await request.get(vigie.url('/split_reports_page-0123456789abcdef.wasm'));
  expect(gone.status()).toBe(404);
  expect(gone.headers()['content-type'] ?? '').not.toContain('text/html');
  const loader = await request.get(vigie.url('/__wasm_split-0123456789abcdef.js'));
  expect(loader.status()).toBe(404);
  // A page's path still gets the app.
  const deep = await request.get(vigie.url('/reports'));
  expect(deep.status()).toBe(200);
  expect(deep.headers()['content-type']).toContain('text/html');
});
