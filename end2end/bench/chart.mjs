// Vigie's chart against uPlot: the same data, drawn at the same size, in the
// same page and browser.
//
//   CHART_BENCH_DIR=target/chart-bench node bench/chart.mjs
//   (CHART_BENCH_DIR holds pkg/vigie_chart_bench.js and
//   pkg/vigie_chart_bench_bg.wasm, wasm-bindgen's `--target web` output)
//   BENCH_SMOKE=1: 1 cold run and 3 warm redraws per size and library.
//
// The script serves chart.html, the wasm package and uPlot's dist/ on a free
// loopback port. For each size and library:
//   cold: a new browser context loads chart.html?lib=…, waits until the
//     library is ready (wasm instantiated / uPlot imported: not timed), makes
//     the data (not timed), then times Vigie's set_data + draw, or
//     `new uPlot(opts, data, el)` up to its draw hook;
//   warm: in the page of the last cold run, full redraws from the same data:
//     Vigie's draw, or uPlot's redraw(true, true) up to its draw hook.
// Every timing ends after reading one pixel back from each drawn canvas, so
// that deferred canvas work counts for both libraries.
//
// Output (last line of stdout):
//   {"sizes": [{"name", "points", "vigie": {"cold", "warm"}, "uplot": {"cold", "warm"}}], "note"}
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMOKE, launchChromium, log, requireEnv, run, summarize } from './stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const UPLOT_DIST = path.resolve(HERE, '..', 'node_modules', 'uplot', 'dist');
const COLD_RUNS = SMOKE ? 1 : 5;
const WARM_RUNS = SMOKE ? 3 : 20;
const SIZES = [
  { name: '1 h at 1 s × 4 series', timestamps: 3_600, series: 4 },
  { name: '100k points', timestamps: 100_000, series: 1 },
  { name: '1M points', timestamps: 1_000_000, series: 1 },
];
const LIBRARIES = ['vigie', 'uplot'];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

async function requireFile(file, hint) {
  const s = await stat(file).catch(() => null);
  if (!s?.isFile()) throw new Error(`${file} not found${hint ? `: ${hint}` : ''}`);
}

// Serves `/` (chart.html), `/pkg/…` and `/uplot/…` on 127.0.0.1, port chosen
// by the system. Cross-origin isolated, so that performance.now() is precise
// to a few microseconds rather than 100.
async function startServer(pkgDir) {
  const routes = [
    ['/pkg/', pkgDir],
    ['/uplot/', UPLOT_DIST],
  ];
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    let file = null;
    if (pathname === '/' || pathname === '/chart.html') {
      file = path.join(HERE, 'chart.html');
    } else {
      for (const [prefix, dir] of routes) {
        if (!pathname.startsWith(prefix)) continue;
        const candidate = path.resolve(dir, `.${decodeURIComponent(pathname.slice(prefix.length - 1))}`);
        if (candidate.startsWith(dir + path.sep)) file = candidate;
      }
    }
    const body = file && (await readFile(file).catch(() => null));
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, {
        'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      .end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

async function openPage(browser, origin, lib, pageErrors) {
  const context = await browser.newContext({
    viewport: { width: 1000, height: 800 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${lib}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${lib} console: ${m.text()}`);
  });
  await page.goto(`${origin}/chart.html?lib=${lib}`);
  await page.evaluate(() => window.bench.ready);
  return { context, page };
}

run(async () => {
  const benchDir = path.resolve(requireEnv('CHART_BENCH_DIR'));
  const pkgDir = path.join(benchDir, 'pkg');
  await requireFile(path.join(pkgDir, 'vigie_chart_bench.js'), 'build the chart benchmark module first');
  await requireFile(path.join(pkgDir, 'vigie_chart_bench_bg.wasm'));
  await requireFile(path.join(UPLOT_DIST, 'uPlot.esm.js'), 'run `npm install` in end2end/');

  const server = await startServer(pkgDir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  log(`serving the chart page at ${origin}/chart.html`);
  const browser = await launchChromium();
  const pageErrors = [];
  const sizes = [];
  try {
    for (const size of SIZES) {
      const points = size.timestamps * size.series;
      const entry = { name: size.name, points, timestamps: size.timestamps, series: size.series };
      for (const lib of LIBRARIES) {
        const cold = [];
        let warm = null;
        let inked = null;
        const setData = [];
        for (let i = 1; i <= COLD_RUNS; i++) {
          const { context, page } = await openPage(browser, origin, lib, pageErrors);
          try {
            const r = await page.evaluate(([n, s]) => window.bench.cold(n, s), [size.timestamps, size.series]);
            if (!(r.inked > 0)) throw new Error(`${lib} drew nothing for ${size.name}`);
            cold.push(r.ms);
            inked = r.inked;
            if (r.setDataMs !== undefined) setData.push(r.setDataMs);
            log(`${size.name}, ${lib}: cold ${i}/${COLD_RUNS} ${r.ms.toFixed(2)} ms (${r.inked} px inked)`);
            if (i === COLD_RUNS) {
              warm = await page.evaluate((n) => window.bench.warm(n), WARM_RUNS);
              const s = summarize(warm);
              log(`${size.name}, ${lib}: warm median ${s.median} ms over ${s.n} redraws`);
            }
          } finally {
            await context.close();
          }
        }
        entry[lib] = { cold: summarize(cold), warm: summarize(warm), inked_px: inked };
        if (setData.length) entry[lib].cold_set_data = summarize(setData);
      }
      sizes.push(entry);
    }
  } finally {
    await browser.close();
    server.close();
  }
  if (pageErrors.length) {
    throw new Error(`the chart page reported errors:\n  ${pageErrors.join('\n  ')}`);
  }
  return {
    sizes,
    chart: { css_width: 800, css_height: 300, device_scale_factor: 1 },
    note:
      'Times in ms. cold: a new page; from just before the first call (Vigie: set_data + draw; uPlot: ' +
      'new uPlot(opts, data, el)) until drawn (after draw returns / uPlot\'s draw hook) and one pixel is ' +
      'read back from each drawn canvas. WebAssembly fetch and instantiation (await init()) and the uPlot ' +
      'module import are excluded, as is making the data; uPlot gets x in seconds. warm: full redraws ' +
      'from the same data in an already drawn page (Vigie draw; uPlot redraw(true, true)). ' +
      'Legend and cursor off, no points drawn; lines 1 CSS px wide in both (Vigie: `vigie_charts::LINE_WIDTH` times the device pixel ratio, at least 1 device px; uPlot: width 1). inked_px: pixels of the drawn canvases that ' +
      'are neither transparent nor background after the cold draw (both of Vigie\'s canvases), to compare ' +
      'what each library drew. vigie.cold_set_data: the set_data part of Vigie\'s cold time.',
  };
});
