// Reports as an operator makes them: a day of requests from thirty-odd
// services (one named like a spreadsheet formula) is ingested, a report is
// generated from the Reports page and followed to the end by its progress
// bar, and each format is downloaded and read. Then the HTML file is opened
// with the network off (nothing may be fetched, nothing may fail), printed
// to PDF, and each printed page is checked: no chart and no table row cut
// across a page boundary, both in the layout of the printed pages and in
// the pages' pixels (poppler's pdftoppm). Then a report held while its
// files are written, cancelled from the page; last, a server with tokens:
// a link cannot carry the token, and the download still works. The file
// has its own servers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { cspViolations, ownVigie, recordCspViolations } from './vigie';

const vigie = ownVigie();

const HOUR = 3_600_000;
const stamp = Date.now();
/// A service a spreadsheet would run as a formula if the CSV let it through.
const FORMULA = `=SUM(1+1)-${stamp}`;
/// A long name without a space, as cluster DNS names are: it must wrap, not
/// push a printed table past the page's edge.
const LONG = `checkout_api.payments.eu_west_1.svc.cluster.local.canary_${stamp}`;
const SERVICES = [FORMULA, LONG, ...Array.from({ length: 31 }, (_, i) => `svc-${String(i).padStart(2, '0')}-${stamp}`)];

type Report = { id: number; status: string; progress: number; step: string; files: { format: string; bytes: number }[] };

let dir: string;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-e2e-reports-'));
  // A request every 20 minutes over the last 23 hours for each service,
  // some slow, one in ten failing.
  const now = Date.now();
  const records = SERVICES.flatMap((service, s) =>
    Array.from({ length: 69 }, (_, i) => ({
      service,
      endpoint: i % 2 ? '/orders' : '/search',
      method: 'GET',
      status: i % 10 === 0 ? 503 : 200,
      duration_ms: 20 + ((i * 37 + s * 11) % 400),
      timestamp: now - 23 * HOUR + i * 20 * 60_000,
    })),
  );
  const resp = await vigie.api.post('/api/performance/ingest/', { data: { records } });
  expect(resp.status(), await resp.text()).toBe(200);
  expect(await resp.json()).toEqual({ stored: records.length });
  // The built-in target has been probed: the report has its chart too.
  await expect
    .poll(async () => (await (await vigie.api.get('/api/performance/metrics/?range=5m')).json()).performance_metrics.total_requests, {
      timeout: 15_000,
    })
    .toBeGreaterThan(0);
});

test.afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function download(page: Page, link: Locator): Promise<{ name: string; body: Buffer }> {
  const [d] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const path = await d.path();
  return { name: d.suggestedFilename(), body: readFileSync(path) };
}

/** Generates a report through the API and waits for its end. */
async function generated(api: APIRequestContext): Promise<Report> {
  const resp = await api.post('/api/performance/generate-report/', { data: {} });
  expect(resp.status(), await resp.text()).toBe(202);
  const { id } = await resp.json();
  let report: Report | undefined;
  await expect
    .poll(
      async () => {
        report = await (await api.get(`/api/performance/reports/${id}/`)).json();
        return report?.status;
      },
      { timeout: 20_000 },
    )
    .toBe('succeeded');
  return report as Report;
}

test('a report is generated from the page, followed by its progress bar, and downloaded in each format', async ({ page }) => {
  await recordCspViolations(page);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));

  await page.goto(vigie.url('/'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
  await expect(page).toHaveURL(/\/reports$/);
  await expect(page.getByRole('heading', { name: 'Reports', level: 1 })).toBeVisible();
  await expect(page.getByTestId('no-report')).toBeVisible();

  const form = page.getByRole('form', { name: 'Generate a report' });
  await expect(form.getByLabel('Period')).toHaveValue('day');
  // The services that sent requests are offered; none ticked means all.
  await expect(form.getByRole('checkbox', { name: FORMULA })).not.toBeChecked();
  await expect(form.getByRole('checkbox', { name: 'Recommendations' })).toBeChecked();

  // No section at all is refused, the field explained next to it.
  const sections = form.getByRole('group', { name: 'Sections' });
  for (const box of await sections.getByRole('checkbox').all()) await box.uncheck();
  await form.getByRole('button', { name: 'Generate' }).click();
  await expect(sections).toHaveAttribute('aria-invalid', 'true');
  await expect(sections).toHaveAccessibleDescription(/sections is empty/);
  await expect(page.getByTestId('report-row')).toHaveCount(0);
  for (const box of await sections.getByRole('checkbox').all()) await box.check();

  // Every value the bar and the step take, as the page shows them.
  await page.evaluate(() => {
    const w = window as unknown as { progressSeen: string[] };
    w.progressSeen = [];
    const record = () => {
      const bar = document.querySelector('[data-testid="report-progress"]');
      if (!bar) return;
      const step = document.querySelector('[data-testid="report-step"]')?.textContent ?? '';
      const entry = `${bar.getAttribute('data-value')}|${step}`;
      if (w.progressSeen[w.progressSeen.length - 1] !== entry) w.progressSeen.push(entry);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await form.getByRole('button', { name: 'Generate' }).click();
  const panel = page.getByTestId('report-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId('report-status')).toHaveText('succeeded', { timeout: 20_000 });
  const bar = panel.getByRole('progressbar');
  await expect(bar).toHaveAttribute('value', '100');
  await expect(panel.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  const seen: string[] = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
  const values = [...new Set(seen.map((s) => Number(s.split('|')[0])))];
  expect(values, `progress seen: ${JSON.stringify(seen)}`).toContain(100);
  expect(
    values.some((v) => v > 0 && v < 100),
    `a value between 0 and 100 shown on the way: ${JSON.stringify(seen)}`,
  ).toBe(true);
  expect(new Set(seen.map((s) => s.split('|')[1])).size).toBeGreaterThanOrEqual(2);

  // Listed with who asked and its size; one link per format.
  const id = Number(await panel.getAttribute('data-report-id'));
  const row = page.locator(`[data-testid="report-row"][data-report-id="${id}"]`);
  await expect(row).toHaveAttribute('data-status', 'succeeded');
  await expect(row.getByTestId('requested-by')).toHaveText('local');
  await expect(row.getByTestId('size')).toHaveText(/^\d+(\.\d)? (KiB|MiB)$/);
  await expect(page.getByTestId('reports-range')).toHaveText('1–1 of 1');

  const html = await download(page, row.getByRole('link', { name: 'HTML' }));
  expect(html.name).toMatch(new RegExp(`^vigie-report-${id}-\\d{4}-\\d{2}-\\d{2}\\.html$`));
  const page1 = html.body.toString('utf8');
  expect((page1.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
  expect(page1).toContain('Performance report');

  const csv = await download(page, row.getByRole('link', { name: 'CSV' }));
  expect(csv.name).toMatch(/\.csv$/);
  expect([...csv.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(csv.body);
  // The formula is text, prefixed with a quote; no cell starts with `=`.
  expect(text).toContain(`\r\nservice,'${FORMULA},`);
  expect(text).not.toMatch(/(^|,)=/m);

  const json = await download(page, row.getByRole('link', { name: 'JSON' }));
  expect(json.name).toMatch(/\.json$/);
  const content = JSON.parse(json.body.toString('utf8'));
  expect(content.id).toBe(id);
  // Every section, in the order the report shows them.
  expect(content.sections).toEqual([
    'summary', 'response_times', 'resources', 'cache', 'slow_queries', 'endpoints', 'alerts', 'scaling', 'recommendations',
  ]);
  expect(content.kpis.map((k: { name: string }) => k.name)).toContain(FORMULA);

  // Deleted after a confirmation: gone from the list and from the server,
  // and from another open Reports page, which hears it on the stream.
  const other = await page.context().newPage();
  await other.goto(vigie.url('/reports'));
  const otherRow = other.locator(`[data-testid="report-row"][data-report-id="${id}"]`);
  await expect(otherRow).toHaveAttribute('data-status', 'succeeded');
  await expect(other.getByTestId('connection')).toHaveAttribute('data-state', 'live');
  await row.getByRole('button', { name: `Delete report ${id}` }).click();
  await row.getByRole('button', { name: `Confirm deleting report ${id}` }).click();
  await expect(row).toHaveCount(0);
  expect((await vigie.api.get(`/api/performance/reports/${id}/`)).status()).toBe(404);
  await expect(otherRow).toHaveCount(0);
  await other.close();

  const violations = await cspViolations(page);
  expect(violations, `CSP violations: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
  // The browser logs the refused request itself (400); nothing else.
  expect(errors.filter((e) => !/the server responded with a status of 400/.test(e))).toEqual([]);
});

test('the HTML report opens offline with every chart drawn, and prints without a chart or a row cut across pages', async ({ browser }) => {
  test.setTimeout(60_000);
  const report = await generated(vigie.api);
  const file = join(dir, `report-${report.id}.html`);
  const resp = await vigie.api.get(`/api/performance/reports/${report.id}/download/?format=html`);
  expect(resp.status()).toBe(200);
  writeFileSync(file, await resp.body());

  // No network: anything the page asks for beyond its own file is recorded and refused.
  const context = await browser.newContext({ offline: true });
  const outside: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  await context.route(
    (url) => url.protocol !== 'file:',
    (route) => {
      outside.push(route.request().url());
      return route.abort();
    },
  );
  const page = await context.newPage();
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) outside.push(r.url());
  });
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(`file://${file}`);
  await expect(page.getByRole('heading', { name: 'Performance report' })).toBeVisible();

  // Every chart is an inline SVG with its lines drawn.
  const figures = page.locator('figure');
  const charts = await figures.count();
  expect(charts).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < charts; i++) {
    const figure = figures.nth(i);
    await expect(figure.locator('svg')).toHaveCount(1);
    const drawn = await figure.locator('svg').evaluate(
      (svg) =>
        [...svg.querySelectorAll('polyline, path, line')].filter((e) => {
          const shape = e.getAttribute('points') ?? e.getAttribute('d') ?? e.getAttribute('x2');
          return shape !== null && shape.trim() !== '';
        }).length,
    );
    expect(drawn, `chart ${i} draws lines`).toBeGreaterThan(0);
    const box = await figure.locator('svg').boundingBox();
    expect(box && box.width > 300 && box.height > 80, `chart ${i} is laid out`).toBeTruthy();
  }
  expect(await page.locator('tbody tr').count()).toBeGreaterThan(30);

  // Printed on A4 (Chromium's, 595.92 × 842.88 pt), 64 px above and below
  // the content, 48 px beside it.
  const MARGIN = { top: 64, bottom: 64, left: 48, right: 48 };
  const pdf = join(dir, `report-${report.id}.pdf`);
  await page.pdf({
    path: pdf,
    format: 'A4',
    margin: { top: `${MARGIN.top}px`, bottom: `${MARGIN.bottom}px`, left: `${MARGIN.left}px`, right: `${MARGIN.right}px` },
    printBackground: true,
  });
  const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  expect(pages, 'the report fills more than one page').toBeGreaterThan(1);
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info);
  // CSS pixels: 96 per inch, 72 points.
  const PAGE = { width: (Number(size?.[1]) * 96) / 72, height: (Number(size?.[2]) * 96) / 72 };
  const content = { width: PAGE.width - MARGIN.left - MARGIN.right, height: PAGE.height - MARGIN.top - MARGIN.bottom };

  // The printed layout: the same pages as columns of the content's size
  // (Chromium fragments columns and printed pages alike), every chart and
  // every row in one piece, wholly inside one page's content area.
  await page.emulateMedia({ media: 'print' });
  const layout = await page.evaluate(({ width, height }) => {
    const paged = document.createElement('div');
    paged.style.cssText = `width:${width}px;height:${height}px;column-width:${width}px;column-gap:0;column-fill:auto;margin:0;padding:0`;
    while (document.body.firstChild) paged.appendChild(document.body.firstChild);
    document.body.appendChild(paged);
    const origin = paged.getBoundingClientRect();
    const cut: string[] = [];
    // Header rows are repeated on each page a table spans: not checked.
    const items = [...document.querySelectorAll('figure, tbody tr')];
    for (const [i, el] of items.entries()) {
      const rects = [...el.getClientRects()].filter((r) => r.height > 0);
      const r = el.getBoundingClientRect();
      const page = Math.floor((r.left - origin.left + 1) / width);
      // One piece, starting on a page and ending on it, no wider than the
      // page (long names wrap rather than push a table past its edge).
      const left = origin.left + page * width;
      const inside =
        r.top >= origin.top - 1 &&
        r.bottom <= origin.top + height + 1 &&
        r.left >= left - 1 &&
        r.right <= left + width + 1;
      if (rects.length !== 1 || !inside) {
        cut.push(
          `${el.tagName.toLowerCase()} #${i} "${(el.textContent ?? '').slice(0, 40)}": ${rects.length} pieces, page ${page + 1}, ${Math.round(r.top)}–${Math.round(r.bottom)} px high, ${Math.round(r.left - left)}–${Math.round(r.right - left)} px across`,
        );
      }
    }
    return { cut, items: items.length, pages: Math.ceil((paged.scrollWidth - 1) / width) };
  }, content);
  expect(layout.items).toBeGreaterThan(30);
  expect(layout.cut, 'charts and rows cut across pages').toEqual([]);
  expect(layout.pages, 'the printed layout has as many pages as the PDF').toBe(pages);

  // The PDF's pixels (96 dpi: one per CSS pixel), at each page boundary:
  // the last row of the content area on one page and the first row on the
  // next. Ink is anything darker than the light borders and header
  // backgrounds (text, chart lines and axes). A chart cut across the
  // boundary leaves ink at the same place on both sides (its axis, its
  // lines); a line of text may start at a page's very top, or a row end at
  // its very bottom, but not both at once at the same place.
  execFileSync('pdftoppm', ['-r', '96', '-gray', pdf, join(dir, 'page')]);
  const images = readdirSync(dir)
    .filter((f) => /^page-\d+\.pgm$/.test(f))
    .sort()
    .map((f) => readPgm(readFileSync(join(dir, f))));
  expect(images).toHaveLength(pages);
  const INK = 200;
  const scale = images[0].height / PAGE.height;
  // The first and last rows of pixels wholly inside the content area.
  const top = Math.ceil(MARGIN.top * scale);
  const bottom = Math.floor((PAGE.height - MARGIN.bottom) * scale) - 1;
  const left = Math.ceil(MARGIN.left * scale);
  const right = Math.floor((PAGE.width - MARGIN.right) * scale);
  const inked = (img: Pgm, y: number) => {
    const xs = new Set<number>();
    for (let x = left; x < right; x++) if (img.at(x, y) < INK) xs.add(x);
    return xs;
  };
  for (let n = 0; n < pages; n++) {
    let printed = 0;
    for (let y = top; y <= bottom; y++) printed += inked(images[n], y).size;
    expect(printed, `page ${n + 1} is printed`).toBeGreaterThan(100);
    if (n === pages - 1) break;
    const above = inked(images[n], bottom);
    const below = inked(images[n + 1], top);
    const across = [...above].filter((x) => below.has(x) || below.has(x - 1) || below.has(x + 1));
    expect(across, `ink running from page ${n + 1} onto page ${n + 2} (x in px)`).toEqual([]);
  }

  expect(outside, 'requests beyond the file').toEqual([]);
  expect(failed, 'failed requests').toEqual([]);
  expect(errors, 'console errors').toEqual([]);
  await context.close();
});

type Pgm = { width: number; height: number; at(x: number, y: number): number };

/** A binary PGM (`P5`) image, 8 bits per pixel. */
function readPgm(data: Buffer): Pgm {
  let pos = 0;
  const token = () => {
    while (/\s/.test(String.fromCharCode(data[pos]))) pos++;
    const start = pos;
    while (!/\s/.test(String.fromCharCode(data[pos]))) pos++;
    return data.subarray(start, pos).toString('ascii');
  };
  expect(token()).toBe('P5');
  const width = Number(token());
  const height = Number(token());
  expect(Number(token())).toBe(255);
  const pixels = data.subarray(pos + 1);
  expect(pixels.length).toBe(width * height);
  return { width, height, at: (x, y) => pixels[y * width + x] };
}

test('without the live stream the page follows a report by asking for it', async ({ page }) => {
  // The stream refused: the page cannot hear the report's progress.
  await page.route('**/api/performance/stream/**', (route) => route.abort());
  await page.goto(vigie.url('/reports'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', /^(reconnecting|offline)$/, { timeout: 15_000 });
  const polled: string[] = [];
  page.on('request', (r) => {
    if (/\/reports\/\d+\/$/.test(r.url())) polled.push(r.url());
  });
  await page.getByRole('form', { name: 'Generate a report' }).getByRole('button', { name: 'Generate' }).click();
  const panel = page.getByTestId('report-panel');
  await expect(panel.getByTestId('report-status')).toHaveText('succeeded', { timeout: 20_000 });
  await expect(panel.getByRole('progressbar')).toHaveAttribute('value', '100');
  await expect(panel.getByRole('link', { name: 'HTML' })).toBeVisible();
  const id = Number(await panel.getAttribute('data-report-id'));
  expect(polled.length).toBeGreaterThan(0);
  expect(polled.every((u) => u.endsWith(`/reports/${id}/`))).toBe(true);
  await expect(page.locator(`[data-testid="report-row"][data-report-id="${id}"]`)).toHaveAttribute('data-status', 'succeeded');
  await vigie.api.delete(`/api/performance/reports/${id}/`);
});

test('a schedule is added, refused first with the field explained, edited, switched off and deleted', async ({ page }) => {
  await page.goto(vigie.url('/reports'));
  await expect(page.getByTestId('no-schedule')).toBeVisible();
  const form = page.getByRole('form', { name: 'Add a schedule' });
  const name = `e2e weekly ${stamp}`;
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Runs').selectOption('weekly');
  await form.getByLabel('Weekday').selectOption({ label: 'Friday' });
  const hour = form.getByLabel('Hour (UTC)');
  await hour.fill('24');
  await form.getByLabel('Minute').fill('30');
  await form.getByRole('button', { name: 'Add schedule' }).click();
  await expect(hour).toHaveAttribute('aria-invalid', 'true');
  await expect(hour).toHaveAccessibleDescription('hour must be 0 to 23 (UTC)');
  await expect(page.getByTestId('schedule-row')).toHaveCount(0);

  await hour.fill('7');
  // Its reports leave the alerts out.
  await form.getByRole('checkbox', { name: 'Alerts', exact: true }).uncheck();
  await form.getByRole('button', { name: 'Add schedule' }).click();
  const row = page.locator(`[data-testid="schedule-row"][data-name="${name}"]`);
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('when')).toHaveText('weekly on Friday at 07:30 UTC');
  await expect(row.getByTestId('next-run')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  await expect(row.getByTestId('last-run')).toHaveText('never');
  await expect(hour).toHaveAttribute('aria-invalid', 'false');
  await expect(form.getByLabel('Name')).toHaveValue('');
  const listed = await (await vigie.api.get('/api/performance/report-schedules/')).json();
  const stored = listed.schedules.find((x: { spec: { name: string } }) => x.spec.name === name);
  expect(stored.spec).toMatchObject({ frequency: 'weekly', weekday: 5, hour: 7, minute: 30, enabled: true });
  expect(stored.spec.sections).toEqual([
    'summary', 'response_times', 'resources', 'cache', 'slow_queries', 'endpoints', 'scaling', 'recommendations',
  ]);
  expect(stored.spec.targets ?? null).toBeNull();
  // The add form is blank again: every section ticked.
  await expect(form.getByRole('checkbox', { name: 'Alerts', exact: true })).toBeChecked();

  // Edited into a daily one: the weekday goes.
  await row.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('form', { name: 'Edit a schedule' });
  await expect(edit.getByLabel('Name')).toHaveValue(name);
  await expect(edit.getByLabel('Hour (UTC)')).toHaveValue('7');
  await edit.getByLabel('Runs').selectOption('daily');
  await expect(edit.getByLabel('Weekday')).toHaveCount(0);
  await edit.getByLabel('Minute').fill('5');
  // What it covers is loaded, and changed: alerts back, the worst endpoints out.
  const alerts = edit.getByRole('checkbox', { name: 'Alerts', exact: true });
  await expect(alerts).not.toBeChecked();
  await expect(edit.getByRole('checkbox', { name: 'Recommendations', exact: true })).toBeChecked();
  await alerts.check();
  await edit.getByRole('checkbox', { name: 'Worst endpoints', exact: true }).uncheck();
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(row.getByTestId('when')).toHaveText('daily at 07:05 UTC');
  const changed = await (await vigie.api.get(`/api/performance/report-schedules/${stored.id}/`)).json();
  expect(changed.spec.sections).toEqual([
    'summary', 'response_times', 'resources', 'cache', 'slow_queries', 'alerts', 'scaling', 'recommendations',
  ]);

  // Off: it has no next run.
  await row.getByRole('switch', { name: `${name} enabled` }).uncheck();
  await expect(row).toHaveAttribute('data-enabled', 'false');
  await expect(row.getByTestId('next-run')).toHaveText('—');

  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await row.getByRole('button', { name: `Confirm deleting ${name}` }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('no-schedule')).toBeVisible();
});

test('a schedule whose target was removed since shows it, so that it can be unticked and saved', async ({ page }) => {
  const made = await vigie.api.post('/api/performance/targets/', {
    data: { name: `gone ${stamp}`, url: 'http://127.0.0.1:9/', interval_ms: 60_000, timeout_ms: 1000 },
  });
  expect(made.status()).toBe(201);
  const target = await made.json();
  const name = `with a removed target ${stamp}`;
  const created = await vigie.api.post('/api/performance/report-schedules/', {
    data: { name, frequency: 'daily', hour: 5, targets: [target.id] },
  });
  expect(created.status()).toBe(201);
  const schedule = await created.json();
  expect((await vigie.api.delete(`/api/performance/targets/${target.id}/`)).status()).toBe(204);

  await page.goto(vigie.url('/reports'));
  const row = page.locator(`[data-testid="schedule-row"][data-name="${name}"]`);
  await row.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('form', { name: 'Edit a schedule' });
  const gone = edit.getByRole('checkbox', { name: `target ${target.id} (removed)` });
  await expect(gone).toBeChecked();
  // Unticked, it is no longer the schedule's: it leaves the list.
  await gone.click();
  await expect(gone).toHaveCount(0);
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('form', { name: 'Add a schedule' })).toBeVisible();
  const stored = await (await vigie.api.get(`/api/performance/report-schedules/${schedule.id}/`)).json();
  expect(stored.spec.targets ?? null).toBeNull();
  expect((await vigie.api.delete(`/api/performance/report-schedules/${schedule.id}/`)).status()).toBe(204);
});

test.describe('with a report held while its files are written', () => {
  const held = ownVigie();

  test('a running report is cancelled from its progress panel', async ({ page }) => {
    test.setTimeout(60_000);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    // The first report's HTML file is written to `reports/1.html.tmp`, then
    // renamed: a named pipe there holds the job at that step until this
    // test reads it, however fast the machine.
    const reports = join(held.dataDir, 'reports');
    mkdirSync(reports, { recursive: true });
    const pipe = join(reports, '1.html.tmp');
    execFileSync('mkfifo', [pipe]);

    await page.goto(held.url('/reports'));
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
    await page.getByRole('form', { name: 'Generate a report' }).getByRole('button', { name: 'Generate' }).click();
    const panel = page.getByTestId('report-panel');
    await expect(panel).toHaveAttribute('data-report-id', '1');
    await expect(panel).toHaveAttribute('data-status', 'running');
    await expect(panel.getByTestId('report-step')).toHaveText('92 % · writing the files');
    await expect(panel.getByRole('progressbar')).toHaveAttribute('value', '92');
    const row = page.locator('[data-testid="report-row"][data-report-id="1"]');
    await expect(row.getByTestId('status')).toHaveText('running · 92 %');
    await expect(row.getByRole('link')).toHaveCount(0);

    // The server answers the cancel once the job has stopped, or after a
    // few seconds with the job as it stands: then it has been told.
    const answered = page.waitForResponse((r) => r.url().endsWith('/reports/1/cancel/'), { timeout: 15_000 });
    await panel.getByRole('button', { name: 'Cancel' }).click();
    expect((await answered).status()).toBe(200);
    // Let the write end: the job sees the cancel, and keeps nothing.
    await readFile(pipe);

    await expect(panel).toHaveAttribute('data-status', 'cancelled');
    await expect(panel.getByTestId('report-error')).toHaveText('cancelled');
    await expect(panel.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
    await expect(panel.getByRole('link')).toHaveCount(0);
    await expect(row).toHaveAttribute('data-status', 'cancelled');
    await expect(row.getByTestId('status')).toHaveText('cancelled');
    await expect(row.getByRole('button', { name: 'Cancel report 1' })).toHaveCount(0);
    const stored: Report = await (await held.api.get('/api/performance/reports/1/')).json();
    expect(stored.status).toBe('cancelled');
    expect(stored.files).toEqual([]);
    expect(readdirSync(reports)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

test.describe('with tokens', () => {
  const OPERATOR = 'operator-token-e2e-0123456789';
  const secured = ownVigie({ env: { VIGIE_OPERATOR_TOKEN: OPERATOR }, token: OPERATOR });

  test('a report is downloaded with the token, which a link alone cannot send', async ({ page }) => {
    const report = await generated(secured.api);
    // The download address itself refuses a request without the token.
    const anonymous = await fetch(secured.url(`/api/performance/reports/${report.id}/download/?format=html`));
    expect(anonymous.status).toBe(401);

    await page.goto(secured.url('/reports'));
    const signIn = page.getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('Token').fill(OPERATOR);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await expect(signIn).toHaveCount(0);
    const row = page.locator(`[data-testid="report-row"][data-report-id="${report.id}"]`);
    await expect(row).toHaveAttribute('data-status', 'succeeded');
    await expect(row.getByTestId('requested-by')).toHaveText('operator');

    const html = await download(page, row.getByRole('link', { name: 'HTML' }));
    expect(html.name).toMatch(new RegExp(`^vigie-report-${report.id}-\\d{4}-\\d{2}-\\d{2}\\.html$`));
    expect(html.body.toString('utf8')).toContain('Performance report');
    const json = await download(page, row.getByRole('link', { name: 'JSON' }));
    expect(JSON.parse(json.body.toString('utf8')).id).toBe(report.id);
  });
});
