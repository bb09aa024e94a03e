// Playwright drives Debian's Chromium against a vigie-server that
// `cargo xtask test` starts on a free loopback port (VIGIE_BASE_URL), serving
// the real release build. No retries: a flaky test is a failing test.
import { defineConfig } from '@playwright/test';

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
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
