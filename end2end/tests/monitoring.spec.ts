// Probing targets, pausing and resuming, and exploring a range, as an admin
// does it. The file has its own server: pausing it pauses nobody else's.
import { test, expect, type Page, type Locator } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

async function lastDrawn(chart: Locator): Promise<number> {
  return Number(await chart.getAttribute('data-last-ts'));
}

// Seconds since the last sample reached the page, as its connection
// indicator counts them on the browser's own clock (-1 before the first).
async function sinceLastSample(page: Page): Promise<number> {
  const text = await page.getByTestId('connection').innerText();
  const m = /last sample (\d+) (s|min|h) ago/.exec(text);
  if (!m) return -1;
  return Number(m[1]) * { s: 1, min: 60, h: 3600 }[m[2] as 's' | 'min' | 'h'];
}

async function monitoringOn(page: Page) {
  const sw = page.getByTestId('monitoring');
  await expect(sw).toHaveAttribute('data-on', /true|false/);
  if ((await sw.getAttribute('data-on')) === 'false') {
    await sw.getByRole('button', { name: 'Resume' }).click();
    await expect(sw).toHaveAttribute('data-on', 'true');
  }
}

test('add a target in the UI and see its response-time line appear', async ({ page }) => {
  await page.goto(vigie.url('/targets'));
  await monitoringOn(page);
  const name = `resources API ${Date.now()}`;
  const form = page.getByRole('form', { name: 'Add a target' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('URL').fill(vigie.url('/api/performance/system-resources/'));
  await form.getByLabel('Every (s)').fill('1');
  await form.getByLabel('Timeout (ms)').fill('800');
  await form.getByRole('button', { name: 'Add target' }).click();

  const row = page.getByTestId('target-row').filter({ hasText: name });
  await expect(row).toBeVisible();
  await expect(row.getByText('up', { exact: true })).toBeVisible({ timeout: 15_000 });
  await expect(row).toContainText(/ok · \d+ ms/);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await page.getByLabel('Target').selectOption({ label: name });
  const chart = page.getByRole('img', { name: /Response time of the probes/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/, { timeout: 15_000 });
  const first = await lastDrawn(chart);
  await expect.poll(() => lastDrawn(chart), { timeout: 10_000 }).toBeGreaterThan(first);
  await expect(page.getByRole('group', { name: 'Availability' })).toContainText('100.0 %');
  await expect(page.getByRole('group', { name: 'p95' })).toContainText(/\d+ ms/);

  // Edit it: every 2 s instead of 1.
  await page.goto(vigie.url('/targets'));
  await page.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('form', { name: 'Edit a target' });
  await expect(edit.getByLabel('Name')).toHaveValue(name);
  await edit.getByLabel('Every (s)').fill('2');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('form', { name: 'Add a target' })).toBeVisible();
  await expect(row.getByRole('cell', { name: '2 s', exact: true })).toBeVisible();

  // Clean up: the target goes, its row with it.
  await page.getByRole('button', { name: `Remove ${name}` }).click();
  // One click only asks; the target is still there until confirmed.
  await expect(page.getByTestId('target-row').filter({ hasText: name })).toHaveCount(1);
  await page.getByRole('button', { name: `Confirm removing ${name}` }).click();
  await expect(page.getByTestId('target-row').filter({ hasText: name })).toHaveCount(0);
});

test('a bad target is refused with the field marked and nothing added', async ({ page }) => {
  await page.goto(vigie.url('/targets'));
  const rows = page.getByTestId('target-row');
  await expect(rows.first()).toBeVisible();
  const before = await rows.count();
  const form = page.getByRole('form', { name: 'Add a target' });
  await form.getByLabel('Name').fill('too often');
  await form.getByLabel('URL').fill('http://127.0.0.1:9/');
  await form.getByLabel('Every (s)').fill('0.5');
  await form.getByRole('button', { name: 'Add target' }).click();
  await expect(form.getByRole('alert')).toContainText('interval_ms');
  await expect(form.getByLabel('Every (s)')).toHaveAttribute('aria-invalid', 'true');

  await form.getByLabel('Every (s)').fill('5');
  await form.getByLabel('URL').fill('ftp://example.com/');
  await form.getByRole('button', { name: 'Add target' }).click();
  await expect(form.getByLabel('URL')).toHaveAttribute('aria-invalid', 'true');
  await expect(rows).toHaveCount(before);
});

test('pausing monitoring stops the charts; resuming moves them again', async ({ page }) => {
  await page.goto(vigie.url('/'));
  await monitoringOn(page);
  const host = page.getByRole('img', { name: /CPU and memory use/ });
  await expect(host).toHaveAttribute('data-last-ts', /^\d+$/);
  const sw = page.getByTestId('monitoring');
  // A sample has come live, so that the indicator counts from it.
  await expect(page.getByTestId('connection')).toContainText(/last sample \d+ s ago/);

  await sw.getByRole('button', { name: 'Pause' }).click();
  await expect(sw).toHaveAttribute('data-on', 'false');
  await expect(sw).toContainText('Monitoring paused');
  // The page's own clock is the witness that time passes: its indicator
  // counts the seconds since the last sample arrived. Two seconds without
  // one (two sampling intervals): a sample in flight at the pause has landed.
  await expect.poll(() => sinceLastSample(page)).toBeGreaterThanOrEqual(2);
  const paused = await lastDrawn(host);
  // Three more seconds on the page's clock, in which the chart would have
  // drawn three samples.
  await expect.poll(() => sinceLastSample(page)).toBeGreaterThanOrEqual(5);
  expect(await lastDrawn(host), 'no new sample while paused').toBe(paused);
  // Nor did the server take one: its latest sample is the one drawn last.
  const resources = await (await vigie.api.get('/api/performance/system-resources/')).json();
  expect(resources.ts_ms, 'no sample taken while paused').toBe(paused);

  await sw.getByRole('button', { name: 'Resume' }).click();
  await expect(sw).toHaveAttribute('data-on', 'true');
  await expect.poll(() => lastDrawn(host), { timeout: 10_000 }).toBeGreaterThan(paused);
});

test('pick 1h, then drag across the chart to zoom into part of it', async ({ page }) => {
  await page.goto(vigie.url('/'));
  const ranges = page.getByRole('group', { name: 'Range' });
  await ranges.getByRole('button', { name: '1h' }).click();
  await expect(ranges.getByRole('button', { name: '1h' })).toHaveAttribute('aria-pressed', 'true');
  const chart = page.getByRole('img', { name: /Response time of the probes/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/, { timeout: 15_000 });

  const box = (await chart.boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.55, y);
  await expect(page.getByTestId('chart-readout').first()).toContainText(/\d\d:\d\d:\d\d/);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.75, y, { steps: 5 });
  await page.mouse.up();

  const zoomed = page.getByTestId('zoomed');
  await expect(zoomed).toBeVisible();
  await expect(zoomed).toContainText(/\d\d:\d\d:\d\d – \d\d:\d\d:\d\d/);
  // A fifth of the chart's width is about a fifth of the hour.
  const span = Number(await zoomed.getAttribute('data-to')) - Number(await zoomed.getAttribute('data-from'));
  expect(span).toBeGreaterThan(8 * 60_000);
  expect(span).toBeLessThan(16 * 60_000);
  await expect(ranges.getByRole('button', { name: '1h' })).toHaveAttribute('aria-pressed', 'false');
  await zoomed.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(zoomed).toHaveCount(0);
  await expect(ranges.getByRole('button', { name: '1h' })).toHaveAttribute('aria-pressed', 'true');
});
