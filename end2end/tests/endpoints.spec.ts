// Requests sent by an application through the ingest API, then explored in
// the Endpoints page as an admin does it. The file has its own server.
import { test, expect } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

test('ingested requests are ranked with the right count and p95, and open to their charts', async ({ page }) => {
  const service = `shop-${Date.now()}`;
  // /checkout: 1..40 ms; /search: 20 requests of 250 ms, one of them a 503.
  const records = [
    ...Array.from({ length: 40 }, (_, i) => ({ service, endpoint: '/checkout', method: 'POST', status: 200, duration_ms: i + 1 })),
    ...Array.from({ length: 20 }, (_, i) => ({ service, endpoint: '/search', method: 'GET', status: i === 0 ? 503 : 200, duration_ms: 250 })),
  ];
  const resp = await vigie.api.post('/api/performance/ingest/', { data: { records } });
  expect(resp.status()).toBe(200);
  expect(await resp.json()).toEqual({ stored: 60 });

  await page.goto(vigie.url('/'));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Endpoints' }).click();
  await expect(page.getByRole('heading', { name: 'Endpoints' })).toBeVisible();
  const rows = page.getByTestId('endpoint-row').filter({ hasText: service });
  await expect(rows).toHaveCount(2);
  // Slowest first by p95.
  await expect(rows.nth(0)).toContainText('/search');
  await expect(rows.nth(0).getByTestId('count')).toHaveText('20');
  await expect(rows.nth(0).getByTestId('p95')).toHaveText('250 ms');
  await expect(rows.nth(0)).toContainText('5.0 %');
  await expect(rows.nth(1)).toContainText('/checkout');
  await expect(rows.nth(1).getByTestId('count')).toHaveText('40');
  await expect(rows.nth(1).getByTestId('p95')).toHaveText('38 ms');

  // Busiest first.
  await page.getByLabel('Rank by').selectOption('count');
  await expect(rows.nth(0)).toContainText('/checkout');

  await rows.nth(0).getByRole('button', { name: '/checkout' }).click();
  await expect(page.getByRole('heading', { name: `${service} · /checkout` })).toBeVisible();
  await expect(page.getByTestId('source')).toContainText('requests reported by the application');
  const chart = page.getByRole('img', { name: /Response time of the requests/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
  await expect(page.getByRole('group', { name: 'p95' })).toContainText('38 ms');
  await expect(page.getByRole('group', { name: 'Average' })).toContainText('40 requests');
});

test("a Prometheus target's request histograms are ranked per route", async ({ page }) => {
  const name = `vigie scraped ${Date.now()}`;
  const created = await vigie.api.post('/api/performance/targets/', {
    data: { name, url: vigie.url('/metrics'), kind: 'prometheus', interval_ms: 1000, timeout_ms: 900 },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  // After the first scrape (the baseline), traffic on one route.
  await expect
    .poll(async () => (await (await vigie.api.get(`/api/performance/targets/${id}/`)).json()).last_result?.ts_ms ?? 0)
    .toBeGreaterThan(0);
  for (let i = 0; i < 12; i++) {
    expect((await vigie.api.get('/api/performance/monitoring/')).ok()).toBeTruthy();
  }

  await page.goto(vigie.url('/endpoints'));
  await page.getByRole('combobox', { name: /^Source/ }).selectOption({ label: `${name} (scraped)` });
  const row = page.getByTestId('endpoint-row').filter({ hasText: '/api/performance/monitoring/' });
  await expect(row).toBeVisible({ timeout: 15_000 });
  await expect
    .poll(async () => Number(await row.getByTestId('count').innerText()), { timeout: 15_000 })
    .toBeGreaterThanOrEqual(12);
  await expect(row).toContainText(name);
  await row.getByRole('button', { name: '/api/performance/monitoring/' }).click();
  await expect(page.getByRole('heading', { name: `${name} · /api/performance/monitoring/` })).toBeVisible();
  await expect(page.getByRole('img', { name: /Response time of the requests/ })).toHaveAttribute('data-last-ts', /^\d+$/);

  await vigie.api.delete(`/api/performance/targets/${id}/`);
});
