// Live tick cost and memory over time on the overview page.
//
//   VIGIE_BASE_URL=http://127.0.0.1:8080 node bench/live.mjs
//   BENCH_MEMORY_SECONDS (default 300), BENCH_EARLY_SECONDS (default 30),
//   BENCH_TRACE_SECONDS (default 160); BENCH_SMOKE=1 makes them 6, 3 and 5.
//   BENCH_TRACE_FILE: also write the raw trace there (opens in Chrome DevTools'
//   Performance panel or ui.perfetto.dev).
//
// Memory: BENCH_EARLY_SECONDS and BENCH_MEMORY_SECONDS after the first chart
// (the `vigie:first-chart` mark), and every 30 s (smoke: 2 s) in between, the
// page is garbage-collected (HeapProfiler.collectGarbage) and
// Performance.getMetrics gives the JS heap, the DOM node count and the number
// of event listeners; the size of the app's WebAssembly memory is read too.
//
// Tick cost: right after the early snapshot, a Chromium trace of
// BENCH_TRACE_SECONDS. Each task on the page's main thread in which the
// EventSource received data (the `sample`, `probe` and `monitoring`
// Server-Sent Events are dispatched in that task) starts an update. Its cost
// is the summed duration of the top-level main-thread tasks from that task up
// to the next update's task, at most 500 ms after it, which covers the frame
// (animation frame callbacks, style, layout, paint) the update caused. Work of
// the page's own timers (e.g. the overview's 1 s polling) is not the update's:
// the window ends early at a task fired by a timer the update did not set.
// No idle time is counted: only task durations are summed.
// tick_cpu_ms sums the same tasks' thread CPU time instead of their wall
// time, which stays meaningful on a machine whose cores are busy elsewhere.
//
// Output (last line of stdout):
//   {"tick_ms": {median, p99, min, max, n}, "updates": ..., "memory": {"early", "late", "series"}, ...}
import { writeFile } from 'node:fs/promises';
import {
  SMOKE,
  envSeconds,
  launchChromium,
  log,
  requireEnv,
  run,
  summarize,
  waitForFirstChart,
} from './stats.mjs';

const MEMORY_SECONDS = SMOKE ? 6 : envSeconds('BENCH_MEMORY_SECONDS', 300);
const EARLY_SECONDS = SMOKE ? 3 : envSeconds('BENCH_EARLY_SECONDS', 30);
// 160 s: two updates a second, so over 300 of them (a p99 that is not the maximum).
const TRACE_SECONDS = SMOKE ? 5 : envSeconds('BENCH_TRACE_SECONDS', 160);
const SERIES_EVERY_SECONDS = SMOKE ? 2 : 30;
const WINDOW_CAP_US = 500_000;
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'toplevel',
  'v8.execute',
];

if (EARLY_SECONDS >= MEMORY_SECONDS) {
  console.error('error: BENCH_EARLY_SECONDS must be less than BENCH_MEMORY_SECONDS');
  process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// ---------------------------------------------------------------- memory

async function memorySnapshot(page, cdp, seconds) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const metric = (name) => metrics.find((m) => m.name === name)?.value ?? null;
  // The app's linear memory, kept by the init script below; null if unseen.
  const wasmBytes = await page.evaluate(() => globalThis.__benchWasmMemory?.buffer.byteLength ?? null);
  const snapshot = {
    seconds: Math.round(seconds * 10) / 10,
    js_heap_bytes: metric('JSHeapUsedSize'),
    js_heap_total_bytes: metric('JSHeapTotalSize'),
    dom_nodes: metric('Nodes'),
    listeners: metric('JSEventListeners'),
    wasm_memory_bytes: wasmBytes,
  };
  log(
    `memory at ${snapshot.seconds} s: heap ${(snapshot.js_heap_bytes / 1e6).toFixed(2)} MB, ` +
      `${snapshot.dom_nodes} nodes, ${snapshot.listeners} listeners, ` +
      `wasm ${wasmBytes === null ? '?' : `${(wasmBytes / 1e6).toFixed(2)} MB`}`,
  );
  return snapshot;
}

// ---------------------------------------------------------------- trace analysis

function analyseTrace(trace, streamRequestIds, messages) {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  if (!Array.isArray(events) || events.length === 0) throw new Error('the trace is empty');

  // The page's renderer: the process of the outermost main frame when tracing began.
  const started = events.find((e) => e.name === 'TracingStartedInBrowser');
  const frame = started?.args?.data?.frames?.find((f) => f.isOutermostMainFrame) ?? started?.args?.data?.frames?.[0];
  const mains = events.filter(
    (e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain',
  );
  const main = frame ? mains.find((m) => m.pid === frame.processId) : mains.length === 1 ? mains[0] : undefined;
  if (!main) throw new Error(`cannot find the page's renderer main thread (${mains.length} CrRendererMain threads)`);

  const onMain = events
    .filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph !== 'M')
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));

  // Top-level tasks: complete RunTask events not nested in another one.
  const tasks = [];
  for (const e of onMain) {
    if (e.name !== 'RunTask' || e.ph !== 'X') continue;
    const last = tasks[tasks.length - 1];
    if (last && e.ts < last.ts + last.dur) continue;
    // tdur: the thread's CPU time in the task; less than dur when the
    // thread was descheduled (a busy machine), so it is reported too.
    tasks.push({ ts: e.ts, dur: e.dur, tdur: e.tdur ?? e.dur, stream: false, timers: [], installs: [], labels: [] });
  }
  if (tasks.length === 0) throw new Error('no RunTask events on the renderer main thread');

  // Attach what happens inside each task.
  let i = 0;
  for (const e of onMain) {
    if (e.name === 'RunTask') continue;
    while (i < tasks.length && tasks[i].ts + tasks[i].dur < e.ts) i++;
    const task = tasks[i];
    if (!task || e.ts < task.ts) continue;
    const data = e.args?.data ?? {};
    switch (e.name) {
      case 'ResourceReceivedData':
        if (streamRequestIds.has(data.requestId)) task.stream = true;
        task.labels.push(`data ${data.requestId} ${data.encodedDataLength} B`);
        break;
      case 'TimerFire':
        task.timers.push(data.timerId);
        task.labels.push(`timer ${data.timerId}`);
        break;
      case 'TimerInstall':
        task.installs.push(data.timerId);
        break;
      case 'FireAnimationFrame':
      case 'Layout':
      case 'UpdateLayoutTree':
      case 'Paint':
      case 'Commit':
      case 'FunctionCall':
      case 'EventDispatch':
        if (e.ph === 'X') task.labels.push(`${e.name} ${(e.dur / 1000).toFixed(2)}`);
        break;
      case 'ResourceSendRequest':
        task.labels.push(`fetch ${String(data.url).replace(/^https?:\/\/[^/]+/, '')}`);
        break;
      default:
    }
  }

  const first = tasks[0].ts;
  const last = tasks[tasks.length - 1].ts + tasks[tasks.length - 1].dur;
  const updates = [];
  const streamTasks = tasks.map((t, k) => (t.stream ? k : -1)).filter((k) => k >= 0);
  for (let u = 0; u < streamTasks.length; u++) {
    const start = streamTasks[u];
    const next = u + 1 < streamTasks.length ? streamTasks[u + 1] : tasks.length;
    const begin = tasks[start].ts;
    // The trace must cover the whole window of the update to count it.
    if (next === tasks.length && last < begin + WINDOW_CAP_US) break;
    const own = new Set(tasks[start].installs);
    let cost = 0;
    let cpu = 0;
    let ended = 'next update';
    const included = [];
    for (let k = start; k < next; k++) {
      const t = tasks[k];
      if (t.ts >= begin + WINDOW_CAP_US) {
        ended = 'cap';
        break;
      }
      if (k > start && t.timers.some((id) => !own.has(id))) {
        ended = `timer ${t.timers.join(',')}`;
        break;
      }
      t.installs.forEach((id) => own.add(id));
      cost += t.dur;
      cpu += t.tdur;
      included.push(t);
    }
    // Name the update by the Server-Sent Events dispatched in its first task.
    const end = begin + tasks[start].dur;
    const kinds = messages.filter((m) => m.ts >= begin - 1_000 && m.ts <= end + 1_000).map((m) => m.event);
    updates.push({ ts: begin, cost_ms: cost / 1000, cpu_ms: cpu / 1000, kinds, ended, included });
  }
  const busy = tasks.reduce((sum, t) => sum + t.dur, 0);
  const busyCpu = tasks.reduce((sum, t) => sum + t.tdur, 0);
  return { updates, tasks, traceSeconds: (last - first) / 1e6, busyMs: busy / 1000, busyCpuMs: busyCpu / 1000 };
}

function printSanityCheck(analysis) {
  const { updates, tasks } = analysis;
  log(`trace: ${tasks.length} main-thread tasks over ${analysis.traceSeconds.toFixed(1)} s, ${updates.length} updates`);
  const t0 = updates[0]?.ts ?? tasks[0].ts;
  const fmt = (t) =>
    `    +${((t.ts - t0) / 1000).toFixed(1).padStart(8)} ms  ${(t.dur / 1000).toFixed(2).padStart(7)} ms ` +
    `(CPU ${(t.tdur / 1000).toFixed(2).padStart(6)})  ${t.labels.join(', ')}`;
  const slowest = [...updates].sort((a, b) => b.cost_ms - a.cost_ms).slice(0, 2);
  log('the first updates, then the slowest:');
  for (const u of [...updates.slice(0, 4), ...slowest.filter((u) => !updates.slice(0, 4).includes(u))]) {
    log(
      `update at +${((u.ts - t0) / 1000).toFixed(1)} ms [${u.kinds.join(', ') || '?'}]: ` +
        `${u.cost_ms.toFixed(2)} ms (CPU ${u.cpu_ms.toFixed(2)} ms) in ${u.included.length} tasks, window ended by ${u.ended}`,
    );
    for (const t of u.included.filter((t) => t.dur >= 100 || t.labels.length).slice(0, 8)) console.error(fmt(t));
  }
}

// ---------------------------------------------------------------- main

run(async () => {
  const base = requireEnv('VIGIE_BASE_URL').replace(/\/+$/, '');
  const url = `${base}/`;
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Keep a reference to the app's WebAssembly memory (the start-up
    // script announces the instance: `vigie:started` from the release
    // build, `TrunkApplicationStarted` under trunk serve) so that its size
    // can be read.
    await context.addInitScript(() => {
      for (const name of ['vigie:started', 'TrunkApplicationStarted']) {
        addEventListener(name, (e) => {
          globalThis.__benchWasmMemory = e.detail?.wasm?.memory;
        });
      }
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);

    // The EventSource's request id (the trace names requests by the same id)
    // and the names of the events it receives, with their times.
    const streamRequestIds = new Set();
    const messages = [];
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.type === 'EventSource') streamRequestIds.add(e.requestId);
    });
    cdp.on('Network.eventSourceMessageReceived', (e) => {
      messages.push({ ts: e.timestamp * 1e6, event: e.eventName, requestId: e.requestId });
    });
    await cdp.send('Network.enable');
    await cdp.send('Performance.enable');

    const response = await page.goto(url, { waitUntil: 'commit' });
    if (!response?.ok()) throw new Error(`GET ${url}: HTTP ${response?.status()}`);
    const mark = await waitForFirstChart(page);
    const t0 = Date.now();
    const elapsed = () => (Date.now() - t0) / 1000;
    log(`first chart at ${mark.startTime.toFixed(1)} ms; stream requests: ${[...streamRequestIds].join(', ') || 'none'}`);
    if (streamRequestIds.size === 0) throw new Error('the page opened no EventSource');

    const series = [];
    const traceEnd = EARLY_SECONDS + TRACE_SECONDS;
    const lateAt = Math.max(MEMORY_SECONDS, traceEnd);
    if (lateAt > MEMORY_SECONDS) {
      log(`the trace ends at ${traceEnd} s: the late snapshot is taken then, not at ${MEMORY_SECONDS} s`);
    }

    // Series points before the early snapshot.
    for (let s = SERIES_EVERY_SECONDS; s < EARLY_SECONDS; s += SERIES_EVERY_SECONDS) {
      await sleep(s * 1000 - (Date.now() - t0));
      series.push(await memorySnapshot(page, cdp, elapsed()));
    }
    await sleep(EARLY_SECONDS * 1000 - (Date.now() - t0));
    const early = await memorySnapshot(page, cdp, elapsed());
    series.push(early);

    // The trace, with no snapshot (and its forced GC) inside it.
    log(`tracing for ${TRACE_SECONDS} s`);
    const messagesBefore = messages.length;
    await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    await sleep(TRACE_SECONDS * 1000);
    const traceBuffer = await browser.stopTracing();
    const traced = messages.slice(messagesBefore);
    log(`trace: ${(traceBuffer.length / 1e6).toFixed(1)} MB, ${traced.length} events received meanwhile`);
    if (process.env.BENCH_TRACE_FILE) {
      await writeFile(process.env.BENCH_TRACE_FILE, traceBuffer);
      log(`trace written to ${process.env.BENCH_TRACE_FILE}`);
    }
    const analysis = analyseTrace(JSON.parse(traceBuffer.toString('utf8')), streamRequestIds, traced);
    printSanityCheck(analysis);
    const { updates } = analysis;
    if (updates.length === 0) {
      throw new Error('no EventSource data was received on the main thread during the trace');
    }

    // Series points after the trace, then the late snapshot.
    const afterTrace = Math.ceil(elapsed() / SERIES_EVERY_SECONDS) * SERIES_EVERY_SECONDS;
    for (let s = afterTrace; s < lateAt - 0.5; s += SERIES_EVERY_SECONDS) {
      await sleep(s * 1000 - (Date.now() - t0));
      series.push(await memorySnapshot(page, cdp, elapsed()));
    }
    await sleep(lateAt * 1000 - (Date.now() - t0));
    const late = await memorySnapshot(page, cdp, elapsed());
    series.push(late);

    const byKind = {};
    for (const u of updates) {
      const key = [...new Set(u.kinds)].sort().join('+') || 'unknown';
      (byKind[key] ??= []).push(u.cost_ms);
    }
    const eventCounts = {};
    for (const m of traced) eventCounts[m.event] = (eventCounts[m.event] ?? 0) + 1;
    await context.close();

    return {
      tick_ms: summarize(
        updates.map((u) => u.cost_ms),
        [99],
      ),
      tick_cpu_ms: summarize(
        updates.map((u) => u.cpu_ms),
        [99],
      ),
      tick_ms_by_event: Object.fromEntries(
        Object.entries(byKind).map(([k, v]) => [k, summarize(v, [99])]),
      ),
      updates: updates.length,
      events_received: eventCounts,
      trace_seconds: Math.round(analysis.traceSeconds * 10) / 10,
      main_thread_busy_ms_per_s: Math.round((analysis.busyMs / analysis.traceSeconds) * 100) / 100,
      main_thread_cpu_ms_per_s: Math.round((analysis.busyCpuMs / analysis.traceSeconds) * 100) / 100,
      memory: { early, late, series },
      first_chart_ms: Math.round(mark.startTime * 10) / 10,
      url,
      note:
        'tick_ms: main-thread time per EventSource update (the task that dispatched it plus the tasks ' +
        'up to the next update, at most 500 ms, not counting work fired by timers the update did not set). ' +
        'tick_cpu_ms: the same tasks\' main-thread CPU time (lower than tick_ms when the thread waited ' +
        'for a core). main_thread_busy_ms_per_s / _cpu_ms_per_s: all main-thread tasks during the trace, ' +
        'including the page\'s own polling. ' +
        'Memory snapshots are taken after a forced GC; seconds are since the first chart.',
    };
  } finally {
    await browser.close();
  }
});
