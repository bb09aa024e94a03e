// Another host's resources, from its node_exporter (a real one, started by
// `cargo xtask test`), picked in the overview. The file has its own server.
import { test, expect } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

test('a node_exporter target becomes a host to pick, with measured figures and a chart', async ({ page }) => {
  const url = process.env.NODE_EXPORTER_URL;
  expect(url, 'cargo xtask test starts a node_exporter and passes NODE_EXPORTER_URL').toBeTruthy();
  const name = `exporter ${Date.now()}`;
  const created = await vigie.api.post('/api/performance/targets/', {
    data: { name, url, kind: 'prometheus', interval_ms: 1000, timeout_ms: 900 },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();

  await page.goto(vigie.url('/'));
  await page.getByRole('combobox', { name: /^Host/ }).selectOption({ label: name });
  await expect(page.getByRole('heading', { name: 'Host', exact: true })).toBeVisible();
  // Two scrapes make the first sample; its CPU figure is the API's.
  const readout = page.getByTestId('latest-sample');
  await expect(readout).toHaveAttribute('data-ts', /^\d+$/, { timeout: 15_000 });
  const chart = page.getByRole('img', { name: /CPU and memory use/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
  // Both read at one instant: the readout moves with every scrape.
  const [tsText, cpuText] = await readout.evaluate((el) => [el.getAttribute('data-ts'), el.getAttribute('data-cpu')]);
  const ts = Number(tsText);
  const cpu = Number(cpuText);
  const api = await (await vigie.api.get(`/api/performance/system-resources/?host=${id}`)).json();
  const same = api.series.find((s: { ts_ms: number }) => s.ts_ms === ts);
  expect(same, 'the API holds the sample the page shows').toBeDefined();
  expect(cpu).toBe(same.cpu_usage);
  await expect(page.getByRole('group', { name: 'Memory' })).toContainText(/of \d/);

  await vigie.api.delete(`/api/performance/targets/${id}/`);
});
