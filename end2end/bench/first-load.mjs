// Time to first live chart: cold loads of the overview page, each in a new
// browser context (empty HTTP cache), until the dashboard sets the
// `vigie:first-chart` user-timing mark, i.e. a chart's line canvas has been
// drawn with real data.
//
//   VIGIE_BASE_URL=http://127.0.0.1:8080 node bench/first-load.mjs
//   BENCH_SMOKE=1: 2 loads instead of 10.
//
// Output (last line of stdout), all in ms since navigation start:
//   {"first_chart_ms": stats, "wasm_loaded_ms": stats, "html_loaded_ms": stats, ...}
import { SMOKE, launchChromium, log, requireEnv, run, summarize, waitForFirstChart } from './stats.mjs';

const LOADS = SMOKE ? 2 : 10;
const MARK_TIMEOUT_MS = 15_000;

run(async () => {
  const base = requireEnv('VIGIE_BASE_URL').replace(/\/+$/, '');
  const url = `${base}/`;
  const browser = await launchChromium();
  const firstChart = [];
  const wasmLoaded = [];
  const htmlLoaded = [];
  try {
    for (let i = 1; i <= LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const page = await context.newPage();
        const response = await page.goto(url, { waitUntil: 'commit' });
        if (!response?.ok()) throw new Error(`GET ${url}: HTTP ${response?.status()}`);
        const mark = await waitForFirstChart(page, MARK_TIMEOUT_MS);
        const timing = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const wasm = performance
            .getEntriesByType('resource')
            .filter((r) => new URL(r.name).pathname.endsWith('.wasm'))
            .map((r) => r.responseEnd);
          return { html: nav?.responseEnd, wasm: wasm.length ? Math.max(...wasm) : null };
        });
        if (timing.wasm === null) throw new Error('no .wasm resource in the page\'s resource timing');
        firstChart.push(mark.startTime);
        wasmLoaded.push(timing.wasm);
        htmlLoaded.push(timing.html);
        log(
          `load ${i}/${LOADS}: first chart ${mark.startTime.toFixed(1)} ms, ` +
            `wasm loaded ${timing.wasm.toFixed(1)} ms, html ${timing.html.toFixed(1)} ms`,
        );
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  return {
    first_chart_ms: summarize(firstChart),
    wasm_loaded_ms: summarize(wasmLoaded),
    html_loaded_ms: summarize(htmlLoaded),
    url,
    note:
      'Cold loads, each in a new browser context (empty cache). first_chart_ms = startTime of the ' +
      'vigie:first-chart mark; wasm_loaded_ms = responseEnd of the .wasm resource; html_loaded_ms = ' +
      'responseEnd of the navigation; all in ms since navigation start.',
  };
});
