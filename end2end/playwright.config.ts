// Playwright drives Debian's Chromium against real vigie-servers serving the
// real release build: most spec files start their own (tests/vigie.ts, from
// VIGIE_SERVER_BIN and VIGIE_STATIC_DIR); `baseURL` is the one `cargo xtask
// test` starts on a free loopback port (VIGIE_BASE_URL) for the others. No
// retries: a flaky test is a failing test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';

// Flags Debian's Chromium needs here: root, no GPU, a network that only
// reaches package registries.
const chromiumArgs: string[] = JSON.parse(
  readFileSync(join(__dirname, 'chromium-args.json'), 'utf8'),
);

const baseURL = process.env.VIGIE_BASE_URL;
if (!baseURL) {
  throw new Error('VIGIE_BASE_URL is not set: run the suite with `cargo xtask test`');
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      // Shared with the benchmark scripts (end2end/bench/stats.mjs).
      args: chromiumArgs,
    },
  },
});
