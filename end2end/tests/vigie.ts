// Each spec file's own vigie-server: a fresh process on a free loopback port
// with its own temporary data directory, serving the release build. What one
// file adds, pauses or breaks cannot change what another file sees, and a
// file failing half way leaves nothing behind for the next one.
//
// `ownVigie()` is called once at the top of a spec file: it starts the server
// in the file's beforeAll, waits until /readyz answers 200, and stops it (and
// removes its data) in afterAll. The binary and the static files come from
// VIGIE_SERVER_BIN and VIGIE_STATIC_DIR, which `cargo xtask test` passes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, request, type APIRequestContext, type Page } from '@playwright/test';

export interface Vigie {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly baseURL: string;
  /** For API calls to this server; paths are relative to `baseURL`. */
  readonly api: APIRequestContext;
  /** `path` (starting with `/`) on this server, as an absolute URL. */
  url(path: string): string;
  /** The server's data directory (VIGIE_DATA_DIR), removed after the file. */
  readonly dataDir: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite with \`cargo xtask test\``);
  }
  return value;
}

/** A loopback port nothing listens on (the kernel's choice, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once `child` has exited, or after `ms` with false. */
function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface Options {
  /** More settings of the server, e.g. its tokens. */
  env?: Record<string, string>;
  /** The token `api` sends as `Authorization: Bearer …`. */
  token?: string;
}

export function ownVigie(options: Options = {}): Vigie {
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let baseURL: string | undefined;
  let api: APIRequestContext | undefined;
  // The end of the server's log, to say why it did not start.
  let log = '';
  // Should this runner die without its afterAll, the server goes with it.
  const killOnExit = () => child?.kill('SIGKILL');

  test.beforeAll(async () => {
    const bin = required('VIGIE_SERVER_BIN');
    const staticDir = required('VIGIE_STATIC_DIR');
    dataDir = mkdtempSync(join(tmpdir(), 'vigie-e2e-'));
    const port = await freePort();
    baseURL = `http://127.0.0.1:${port}`;
    // Only the settings given here: none inherited from whoever runs the suite.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIE_')));
    child = spawn(bin, [], {
      env: {
        ...env,
        VIGIE_ADDR: `127.0.0.1:${port}`,
        VIGIE_DATA_DIR: dataDir,
        VIGIE_STATIC_DIR: staticDir,
        RUST_LOG: 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    process.once('exit', killOnExit);

    // Ready once /readyz says 200: the database is open and a first host
    // sample taken. Polled, failing at once if the process ends.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited(child)) {
        throw new Error(`vigie-server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log}`);
      }
      const status = await fetch(`${baseURL}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) {
        throw new Error(`vigie-server on ${baseURL} not ready within 20 s (last /readyz: ${status}):\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    api = await request.newContext({
      baseURL,
      extraHTTPHeaders: options.token ? { Authorization: `Bearer ${options.token}` } : {},
    });
  });

  test.afterAll(async () => {
    await api?.dispose();
    if (child) {
      // A graceful stop first (it ends open streams); killed if it hangs.
      child.kill('SIGTERM');
      if (!(await exitWithin(child, 10_000))) {
        child.kill('SIGKILL');
        await exitWithin(child, 5_000);
      }
      process.off('exit', killOnExit);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what}: this file's vigie-server is not started (outside a test?)`);
    return value;
  };
  return {
    get baseURL() {
      return started(baseURL, 'baseURL');
    },
    get api() {
      return started(api, 'api');
    },
    url(path: string) {
      return `${started(baseURL, 'url')}${path}`;
    },
    get dataDir() {
      return started(dataDir, 'dataDir');
    },
  };
}

/** A Content Security Policy violation the page reported. */
export type Violation = { violatedDirective: string; blockedURI: string; sample: string; source: string };

/** From the next navigation on, `page` keeps each CSP violation it reports, for `cspViolations`. */
export async function recordCspViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: Violation[] };
    w.cspViolations = [];
    document.addEventListener(
      'securitypolicyviolation',
      (e) =>
        w.cspViolations.push({
          violatedDirective: e.violatedDirective,
          blockedURI: e.blockedURI,
          sample: e.sample,
          source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
        }),
      true,
    );
  });
}

/** The violations the current document of `page` reported since it loaded. */
export function cspViolations(page: Page): Promise<Violation[]> {
  return page.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations);
}
