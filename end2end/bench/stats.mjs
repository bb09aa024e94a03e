// Code shared by the benchmark scripts: summary statistics, Chromium
// launch options, logging and the single-line JSON result.
import { readFileSync } from 'node:fs';

import { chromium } from '@playwright/test';

export const SMOKE = process.env.BENCH_SMOKE === '1';

// The flags the Playwright suite uses too.
export const CHROMIUM_ARGS = JSON.parse(
  readFileSync(new URL('../chromium-args.json', import.meta.url), 'utf8'),
);

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

const round = (x) => Math.round(x * 1000) / 1000;

// Nearest-rank percentile of an ascending array, p in [0, 100].
function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// {median, min, max, n} of timings in ms; with extra percentiles, e.g. [99],
// adds p99 and so on.
export function summarize(values, percentiles = []) {
  if (values.length === 0) throw new Error('no measurements to summarize');
  const s = [...values].sort((a, b) => a - b);
  const out = { median: round(median(s)) };
  for (const p of percentiles) out[`p${p}`] = round(percentile(s, p));
  Object.assign(out, { min: round(s[0]), max: round(s[s.length - 1]), n: s.length });
  return out;
}

export function log(...args) {
  console.error(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
}

export function envSeconds(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number of seconds, got "${raw}"`);
  return n;
}

export function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

// Runs the benchmark and prints its result as the last line of stdout.
export async function run(main) {
  try {
    const result = await main();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (e) {
    console.error(`error: ${e?.message ?? e}`);
    if (process.env.BENCH_DEBUG === '1' && e?.stack) console.error(e.stack);
    process.exit(1);
  }
}

export const FIRST_CHART_MARK = 'vigie:first-chart';

// Resolves with the `vigie:first-chart` user-timing mark (startTime in ms
// since navigation start) once the page has set it; fails after timeoutMs.
export async function waitForFirstChart(page, timeoutMs = 15_000) {
  const handle = await page
    .waitForFunction(
      (name) => {
        const mark = performance.getEntriesByName(name, 'mark')[0];
        return mark ? { startTime: mark.startTime } : null;
      },
      FIRST_CHART_MARK,
      { timeout: timeoutMs, polling: 100 },
    )
    .catch((e) => {
      throw new Error(
        `the page did not set the performance mark "${FIRST_CHART_MARK}" within ${timeoutMs / 1000} s ` +
          `(${e.message.split('\n')[0]})`,
      );
    });
  return handle.jsonValue();
}
