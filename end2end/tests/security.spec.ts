// What keeps other web pages out of a Vigie without tokens: a page on another
// origin tries every way a page can to change something, a rebinding host
// name is refused, the dashboard runs under its enforced Content-Security-
// Policy without a single violation, and it cannot be framed. The hostile
// pages are served by a Node server this file starts on another loopback port
// (another origin than VIGIE_BASE_URL). Nothing is left changed: monitoring
// stays on and anything added is removed.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, expect, chromium, type APIRequestContext, type Page } from '@playwright/test';
import { cspViolations, recordCspViolations } from './vigie';

type Target = { id: number; name: string };
type ErrorBody = { error: string; field?: string };

const vigie = process.env.VIGIE_BASE_URL!.replace(/\/$/, '');
const vigiePort = new URL(vigie).port;

// A name the hostile form would give the target it tries to add.
const hostileTargetName = `hostile ${Date.now()}`;

// Tries every way a page can to stop monitoring and add a target, then says
// so in its title; `window.outcomes` tells what the page itself saw.
function attackPage(): string {
  // text/plain forms send `name=value`: with these, the body is JSON.
  const targetJson = JSON.stringify({
    name: hostileTargetName,
    url: 'http://127.0.0.1:9/',
    interval_ms: 5000,
    timeout_ms: 1000,
    pad: '',
  }).replace(/""}$/, '"');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hostile</title></head>
<body>
<h1>Win a prize</h1>
<iframe name="sink-targets" hidden></iframe>
<iframe name="sink-stop" hidden></iframe>
<form id="form-targets" method="post" enctype="text/plain" target="sink-targets"
      action="${vigie}/api/performance/targets/">
  <input type="hidden" name='${targetJson}' value='"}'>
</form>
<form id="form-stop" method="post" enctype="text/plain" target="sink-stop"
      action="${vigie}/api/performance/stop-monitoring/">
  <input type="hidden" name='{"pad":"' value='"}'>
</form>
<script>
(async () => {
  const vigie = ${JSON.stringify(vigie)};
  const outcomes = {};
  const settle = (p) => p.then((r) => 'answered (' + r.type + ' ' + r.status + ')', (e) => 'blocked: ' + e);
  outcomes.noCors = await settle(fetch(vigie + '/api/performance/stop-monitoring/', {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{}',
  }));
  outcomes.corsJson = await settle(fetch(vigie + '/api/performance/stop-monitoring/', {
    method: 'POST', mode: 'cors', headers: { 'Content-Type': 'application/json' }, body: '{}',
  }));
  outcomes.beacon = navigator.sendBeacon(vigie + '/api/performance/stop-monitoring/', '{}');
  const loaded = (name) => new Promise((resolve) =>
    document.querySelector('iframe[name="' + name + '"]').addEventListener('load', () => resolve(name), { once: true }));
  const forms = Promise.all([loaded('sink-targets'), loaded('sink-stop')]);
  document.getElementById('form-targets').submit();
  document.getElementById('form-stop').submit();
  outcomes.forms = await forms;
  window.outcomes = outcomes;
  document.title = 'sent';
})();
</script>
</body></html>`;
}

function framingPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>framing</title></head>
<body>
<h1>Vigie, framed</h1>
<iframe id="vigie" title="Vigie" src="${vigie}/" width="800" height="600"
        onload="document.title = 'frame loaded'"></iframe>
</body></html>`;
}

let hostile: Server;
let hostileOrigin: string;

test.beforeAll(async () => {
  hostile = createServer((req, res) => {
    const pages: Record<string, () => string> = { '/attack.html': attackPage, '/frame.html': framingPage };
    const page = pages[req.url ?? ''];
    if (!page) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page());
  });
  await new Promise<void>((resolve, reject) => {
    hostile.once('error', reject);
    hostile.listen(0, '127.0.0.1', () => resolve());
  });
  hostileOrigin = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  expect(hostileOrigin, 'the hostile page is another origin than Vigie').not.toBe(new URL(vigie).origin);
});

test.afterAll(async () => {
  await new Promise<void>((resolve) => (hostile ? hostile.close(() => resolve()) : resolve()));
});

async function monitoring(request: APIRequestContext): Promise<boolean> {
  const resp = await request.get('/api/performance/monitoring/');
  expect(resp.ok()).toBeTruthy();
  return (await resp.json()).monitoring;
}

async function targets(request: APIRequestContext): Promise<Target[]> {
  const resp = await request.get('/api/performance/targets/');
  expect(resp.ok()).toBeTruthy();
  return (await resp.json()).targets;
}

test('a page on another origin cannot change anything', async ({ page, request }) => {
  if (!(await monitoring(request))) {
    const on = await request.post('/api/performance/start-monitoring/', { data: {} });
    expect(on.ok(), 'monitoring must be on for this test to mean anything').toBeTruthy();
  }
  const before = (await targets(request)).map((t) => t.id);

  // What reached Vigie from the hostile page, as the browser's network saw it.
  const answered: string[] = [];
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(vigie) && r.request().method() === 'POST') {
      answered.push(`${r.request().resourceType()} ${new URL(r.url()).pathname} → ${r.status()}`);
    }
  });
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(vigie)) {
      failed.push(`${r.method()} ${r.resourceType()} ${new URL(r.url()).pathname}: ${r.failure()?.errorText}`);
    }
  });

  try {
    await page.goto(`${hostileOrigin}/attack.html`);
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('sent');
    // The no-cors fetch, the beacon and both forms reached the server and
    // were answered; the preflighted fetch never sent its POST.
    await expect
      .poll(() => answered.length, { message: `answered: ${JSON.stringify(answered)}`, timeout: 15_000 })
      .toBeGreaterThanOrEqual(4);
    const outcomes = await page.evaluate(() => (window as unknown as { outcomes: Record<string, unknown> }).outcomes);
    const seen = JSON.stringify({ outcomes, answered, failed }, null, 2);
    expect(String(outcomes.corsJson), `the preflighted fetch fails: ${seen}`).toMatch(/^blocked/);
    for (const a of answered) {
      expect(a, `every change from the hostile page is refused: ${seen}`).toMatch(/→ 403$/);
    }

    expect(await monitoring(request), `monitoring is still on: ${seen}`).toBe(true);
    const after = await targets(request);
    expect(after.map((t) => t.id), `no target was added: ${seen}`).toEqual(before);
    expect(after.some((t) => t.name === hostileTargetName)).toBe(false);

    // Refused by the server itself, not only by the browser: the same request
    // sent outside a browser, with the hostile page's Origin.
    const stop = await request.post('/api/performance/stop-monitoring/', {
      headers: { Origin: hostileOrigin, 'Content-Type': 'text/plain' },
      data: '{}',
    });
    expect(stop.status()).toBe(403);
    expect(((await stop.json()) as ErrorBody).field).toBe('Origin');
    // Even with JSON, which only a preflight would let a page send.
    const add = await request.post('/api/performance/targets/', {
      headers: { Origin: hostileOrigin, 'Content-Type': 'application/json' },
      data: JSON.stringify({ name: hostileTargetName, url: 'http://127.0.0.1:9/' }),
    });
    expect(add.status()).toBe(403);
    expect(((await add.json()) as ErrorBody).field).toBe('Origin');
    expect(await monitoring(request)).toBe(true);
    expect((await targets(request)).map((t) => t.id)).toEqual(before);
  } finally {
    // Leave the server as found, whatever got through.
    for (const t of await targets(request)) {
      if (!before.includes(t.id)) await request.delete(`/api/performance/targets/${t.id}/`);
    }
    if (!(await monitoring(request))) await request.post('/api/performance/start-monitoring/', { data: {} });
  }
});

test('a rebinding host name is refused', async () => {
  const chromiumArgs: string[] = JSON.parse(readFileSync(join(__dirname, '..', 'chromium-args.json'), 'utf8'));
  // rebind.test resolves to this machine, as a hostile DNS name would.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    for (const path of ['/', '/api/performance/monitoring/']) {
      const resp = await page.goto(`http://rebind.test:${vigiePort}${path}`);
      expect(resp, path).not.toBeNull();
      expect(resp!.status(), path).toBe(421);
      const body = (await resp!.json()) as ErrorBody;
      expect(body.field, path).toBe('Host');
      expect(body.error, path).toBeTruthy();
    }
    // The same server by its address still serves the dashboard.
    const resp = await page.goto(`http://127.0.0.1:${vigiePort}/`);
    expect(resp!.status()).toBe(200);
    await expect(page.getByRole('banner')).toContainText('Vigie');
    await expect(page.getByRole('heading', { name: 'This host' })).toBeVisible();
  } finally {
    await browser.close();
  }
});

// Where each page is visibly rendered.
const routes: { path: string; ready: (page: Page) => Promise<void> }[] = [
  {
    path: '/',
    ready: async (page) => {
      await expect(page.getByRole('heading', { name: 'This host' })).toBeVisible();
      const chart = page.getByRole('img', { name: /CPU and memory use/ });
      await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
      // A sample delivered by the live stream is drawn too.
      const first = Number(await chart.getAttribute('data-last-ts'));
      await expect.poll(async () => Number(await chart.getAttribute('data-last-ts')), { timeout: 15_000 }).toBeGreaterThan(first);
    },
  },
  { path: '/targets', ready: (page) => expect(page.getByRole('heading', { name: 'Targets', level: 1 })).toBeVisible() },
  { path: '/endpoints', ready: (page) => expect(page.getByRole('heading', { name: 'Endpoints', level: 1 })).toBeVisible() },
  { path: '/alerts', ready: (page) => expect(page.getByRole('heading', { name: 'Alerts', level: 1 })).toBeVisible() },
  { path: '/alerts/rules', ready: (page) => expect(page.getByRole('heading', { name: 'Alert rules', level: 1 })).toBeVisible() },
  { path: '/scaling', ready: (page) => expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible() },
];

test('every page loads under the enforced CSP without a violation', async ({ page }) => {
  test.setTimeout(120_000);
  await recordCspViolations(page);
  let cspConsole: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) cspConsole.push(`${m.type()}: ${m.text()}`);
  });

  for (const { path, ready } of routes) {
    cspConsole = [];
    const resp = await page.goto(path);
    expect(resp, path).not.toBeNull();
    expect(resp!.status(), path).toBe(200);
    const csp = resp!.headers()['content-security-policy'];
    expect(csp, `${path} is served with a CSP`).toBeTruthy();
    expect(csp, path).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-");
    expect(csp, path).toContain("frame-ancestors 'none'");

    await ready(page);
    // The live stream connects and delivers under the policy too.
    const indicator = page.getByRole('banner').getByRole('status');
    await expect.poll(() => indicator.textContent(), { message: `${path}: the stream goes live`, timeout: 15_000 }).toBe('live');
    await expect
      .poll(() => page.getByTestId('connection').textContent(), { message: `${path}: a sample arrives`, timeout: 15_000 })
      .toMatch(/last sample \d+ s ago/);

    const violations = await cspViolations(page);
    expect(violations, `CSP violations on ${path}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
    expect(cspConsole, `CSP console messages on ${path}: ${JSON.stringify(cspConsole, null, 2)}`).toEqual([]);
  }
});

test('the dashboard cannot be framed by another origin', async ({ page }) => {
  let framedResponse: { status: number; xfo?: string; csp?: string } | undefined;
  page.on('response', (r) => {
    if (r.url() === `${vigie}/` && r.request().resourceType() === 'document') {
      framedResponse = {
        status: r.status(),
        xfo: r.headers()['x-frame-options'],
        csp: r.headers()['content-security-policy'],
      };
    }
  });
  await page.goto(`${hostileOrigin}/frame.html`);
  // The browser fetched Vigie for the frame and finished with the frame.
  await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('frame loaded');
  await expect.poll(() => framedResponse?.status, { timeout: 15_000 }).toBe(200);
  expect(framedResponse!.xfo).toBe('DENY');
  expect(framedResponse!.csp).toContain("frame-ancestors 'none'");

  const children = page.frames().filter((f) => f !== page.mainFrame());
  expect(children).toHaveLength(1);
  const child = children[0];
  // Blocked: the frame shows the browser's error page, not Vigie.
  expect(child.url(), 'the frame did not load Vigie').not.toContain(new URL(vigie).host);
  expect(child.url()).toMatch(/^chrome-error:/);
  await expect(page.frameLocator('#vigie').getByRole('banner')).toHaveCount(0);
  await expect(page.frameLocator('#vigie').getByText('Vigie')).toHaveCount(0);
  // The framing page is still itself.
  await expect(page.getByRole('heading', { name: 'Vigie, framed' })).toBeVisible();
});
