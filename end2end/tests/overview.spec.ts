// The overview as a person sees it: the shell, the connection state, and a
// live chart whose latest sample moves and matches what the API measured.
// The file has its own server.
import { test, expect, type Page } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

type HostSample = { ts_ms: number; cpu_usage: number; memory_usage: number };
type SystemResources = { series: HostSample[]; capacities: { memory_total_bytes: number } };

// Both attributes read at one instant: the readout moves every second.
async function latestShown(page: Page) {
  const [ts, cpu] = await page
    .getByTestId('latest-sample')
    .evaluate((el) => [el.getAttribute('data-ts'), el.getAttribute('data-cpu')]);
  return { ts: Number(ts), cpu: Number(cpu) };
}

test('shows the shell and a connection that goes live', async ({ page }) => {
  await page.goto(vigie.url('/'));
  await expect(page.getByRole('banner')).toContainText('Vigie');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }))
    .toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  await expect(page.getByTestId('connection')).toContainText(/last sample \d+ s ago/);
  await expect(page.getByRole('heading', { name: 'This host' })).toBeVisible();
  await expect(page.getByTestId('source')).toHaveText("Source: Vigie's HTTP probes of all targets");
});

test('the live chart advances and its latest CPU value is the API sample of the same time', async ({ page }) => {
  await page.goto(vigie.url('/'));
  const chart = page.getByRole('img', { name: /CPU and memory use/ });
  await expect(chart).toBeVisible();
  // The canvas says which sample it drew last once it has drawn one.
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);

  const first = await latestShown(page);
  expect(first.ts).toBeGreaterThan(0);
  // One sample a second: the readout moves to a newer one.
  await expect
    .poll(async () => (await latestShown(page)).ts, { message: 'the latest sample moves', timeout: 5_000 })
    .toBeGreaterThan(first.ts);
  const later = await latestShown(page);
  // The chart drew the sample the readout shows (both read at one instant).
  const [shownTs, drawnTs] = await page.evaluate(() => [
    document.querySelector('[data-testid="latest-sample"]')?.getAttribute('data-ts'),
    document.querySelector('canvas[aria-label^="CPU and memory"]')?.getAttribute('data-last-ts'),
  ]);
  expect(drawnTs).toBe(shownTs);

  const resp = await vigie.api.get('/api/performance/system-resources/');
  expect(resp.ok()).toBeTruthy();
  const body = (await resp.json()) as SystemResources;
  const same = body.series.find((s) => s.ts_ms === later.ts);
  expect(same, 'the API holds the sample the page shows').toBeDefined();
  expect(later.cpu).toBe(same!.cpu_usage);
});

test('the CPU card shows the same figure as the readout', async ({ page }) => {
  await page.goto(vigie.url('/'));
  const readout = page.getByTestId('latest-sample');
  await expect(readout).toHaveAttribute('data-cpu', /\d/);
  const cpuCard = page.getByRole('group', { name: 'CPU' });
  // Compare at one instant: both render from the same latest sample.
  const [cardText, cpu] = await page.evaluate(() => {
    const card = document.querySelector('[aria-label="CPU"] .kpi-value')?.textContent ?? '';
    const cpu = document.querySelector('[data-testid="latest-sample"]')?.getAttribute('data-cpu') ?? '';
    return [card, cpu];
  });
  expect(cardText).toBe(`${Number(cpu).toFixed(1)} %`);
  await expect(cpuCard).toContainText('cores');
});

test('the canvas is drawn at device-pixel size', async ({ browser }) => {
  const context = await browser.newContext({ deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(vigie.url('/'));
  const chart = page.getByRole('img', { name: /CPU and memory use/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
  const dims = await chart.evaluate((c: HTMLCanvasElement) => ({
    width: c.width,
    height: c.height,
    cssWidth: c.getBoundingClientRect().width,
    cssHeight: c.getBoundingClientRect().height,
  }));
  expect(dims.width).toBe(Math.round(dims.cssWidth * 2));
  expect(dims.height).toBe(Math.round(dims.cssHeight * 2));
  await context.close();
});

test('an unknown page says so and links back', async ({ page }) => {
  await page.goto(vigie.url('/no/such/page'));
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Back to the overview' }).click();
  await expect(page.getByRole('heading', { name: 'This host' })).toBeVisible();
});

test('the chart redraws at its new size when the window is resized', async ({ page }) => {
  await page.setViewportSize({ width: 1200, height: 800 });
  await page.goto(vigie.url('/'));
  const chart = page.getByRole('img', { name: /CPU and memory use/ });
  await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
  const wide = await chart.evaluate((c: HTMLCanvasElement) => c.width);
  await page.setViewportSize({ width: 700, height: 800 });
  await expect
    .poll(() => chart.evaluate((c: HTMLCanvasElement) => c.width))
    .toBeLessThan(wide);
  const dims = await chart.evaluate((c: HTMLCanvasElement) => ({ w: c.width, css: c.getBoundingClientRect().width }));
  expect(dims.w).toBe(Math.round(dims.css * (await page.evaluate(() => window.devicePixelRatio))));
});

test('the indicator says offline when the stream is refused, then live again', async ({ page }) => {
  // The server refuses the stream (as a proxy in front of it might): the
  // browser gives up on that EventSource and the app retries after a wait.
  // The stream's URL carries its ticket (`stream/?ticket=…`).
  const stream = /\/api\/performance\/stream\/\?/;
  await page.route(stream, (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"maintenance"}' }),
  );
  await page.goto(vigie.url('/'));
  const indicator = page.getByTestId('connection');
  await expect(indicator).toHaveAttribute('data-state', 'offline');
  await expect(indicator).toContainText('offline');
  await page.unroute(stream);
  await expect(indicator).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await expect(indicator).toContainText(/last sample \d+ s ago/);
});
