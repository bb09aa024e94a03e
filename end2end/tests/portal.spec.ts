// Vigie inside a portal, on three loopback origins: the portal's page on
// one frames the CDN build served by nginx on a second (with the CSP and
// frame-ancestors `vigie-server cdn-files` writes), which talks to the API
// on a third. The portal runs README's snippet as it stands. The token is
// handed over and renewed through the bridge, data loads, the iframe takes
// its content's height, a message from another origin is ignored and
// counted, alerts and navigation reach the portal as events, and the
// portal's theme and language switch charts and text without a reload; no
// CSP violation, no cookie, no token in a URL.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

import { expect, test, type APIRequestContext, type Frame, type Page } from '@playwright/test';

import { PREFIX, serveCdn, type Nginx } from './nginx';
import { freePort, ownVigie, recordCspViolations, type Violation } from './vigie';

/** A JWT-shaped token (the server takes it as an opaque string) expiring at `exp`. */
function jwt(exp: number, who: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: who, exp })}.signature`;
}

const now = Math.floor(Date.now() / 1000);
// The first token expires soon enough for the renewal to be seen here:
// Vigie asks for a new one 60 s before `exp`.
const FIRST_EXP = now + 75;
const FIRST = jwt(FIRST_EXP, 'portal-admin');
const SECOND = jwt(now + 3600, 'portal-operator');

const apiEnv: Record<string, string> = { VIGIE_ADMIN_TOKEN: FIRST, VIGIE_OPERATOR_TOKEN: SECOND };
let cdnOrigin = '';
let portalOrigin = '';
let otherOrigin = '';
test.beforeAll(async () => {
  cdnOrigin = `http://127.0.0.1:${await freePort()}`;
  portalOrigin = `http://127.0.0.1:${await freePort()}`;
  otherOrigin = `http://127.0.0.1:${await freePort()}`;
  apiEnv.VIGIE_CORS_ORIGINS = cdnOrigin;
});
const vigie = ownVigie({ env: apiEnv, token: FIRST });

/** README's portal snippet, pointed at this run's CDN origin. */
function snippet(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /<!-- portal-snippet -->\n```js\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no portal snippet');
  return block[1].replaceAll("'https://cdn.example.com'", JSON.stringify(cdnOrigin));
}

// The portal's page: what it receives is kept in `window.received`, the
// tokens it hands out come from `window.tokens`, in turn.
function portalPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title></head>
<body style="margin:0">
<h1>Admin portal</h1>
<iframe id="vigie" src="${cdnOrigin}${PREFIX}" style="width:100%;border:0"></iframe>
<script>
window.received = [];
window.tokens = ${JSON.stringify([FIRST, SECOND])};
window.handedOut = 0;
window.addEventListener('message', (e) => {
  if (e.origin === ${JSON.stringify(cdnOrigin)}) window.received.push(e.data);
});
async function portalToken() { return window.tokens[Math.min(window.handedOut++, window.tokens.length - 1)]; }
function portalTheme() { return 'light'; }
function portalLang() { return 'en'; }
function onVigieEvent(name, detail) { window.received.push({ event: name, detail }); }
</script>
<script>
${snippet()}
</script>
</body></html>`;
}

// A page of another origin, framed by the portal too, that tries to steer
// Vigie: its messages must be ignored.
const intruderPage = `<!doctype html><script>
const vigie = parent.frames[0];
vigie.postMessage({ type: 'vigie:theme', theme: 'dark' }, '*');
vigie.postMessage({ type: 'vigie:navigate', page: '/scaling' }, '*');
vigie.postMessage({ type: 'vigie:token', token: 'stolen-token-0123456789' }, '*');
</script>`;

let nginx: Nginx | undefined;
const servers: Server[] = [];
function serve(origin: string, pages: Record<string, () => string>): Promise<void> {
  const server = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ? page() : 'not found');
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
}

test.beforeAll(async () => {
  nginx = await serveCdn(cdnOrigin, {
    config: { api_base: vigie.baseURL, parent_origins: [portalOrigin] },
    connectSrc: vigie.baseURL,
    frameAncestors: [portalOrigin],
  });
  await serve(portalOrigin, { '/': portalPage });
  await serve(otherOrigin, {
    '/intruder': () => intruderPage,
    '/frames-vigie': () => `<!doctype html><iframe id="vigie" src="${cdnOrigin}${PREFIX}"></iframe>`,
  });
});
test.afterAll(async () => {
  await nginx?.stop();
  for (const s of servers) await new Promise((r) => s.close(r));
});

type Message = { type?: string; event?: string; detail?: Record<string, unknown>; [k: string]: unknown };
const received = (page: Page): Promise<Message[]> => page.evaluate(() => (window as unknown as { received: Message[] }).received);
const events = async (page: Page, name: string) => (await received(page)).filter((m) => m.event === name);
// The snippet's own `toVigie` (a top-level const of the portal's script).
const toVigie = (page: Page, message: unknown) => page.evaluate(`toVigie(${JSON.stringify(message)})`);

/** The dashboard's frame, once it is there. */
async function vigieFrame(page: Page): Promise<Frame> {
  await expect.poll(() => page.frames().some((f) => f.url().startsWith(cdnOrigin))).toBe(true);
  return page.frames().find((f) => f.url().startsWith(cdnOrigin)) as Frame;
}

/** The frame's content height and the iframe's own, in CSS pixels. */
function heights(page: Page, frame: Frame): Promise<[number, number]> {
  return Promise.all([
    frame.evaluate(() => document.documentElement.scrollHeight),
    page.evaluate(() => (document.getElementById('vigie') as HTMLIFrameElement).getBoundingClientRect().height),
  ]);
}

async function memoryRule(api: APIRequestContext, name: string): Promise<number> {
  const created = await api.post('/api/performance/alert-rules/', {
    data: { name, metric: 'memory_usage', comparison: 'above', threshold: 1, severity: 'high', for_seconds: 0 },
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id;
}

/** `#rrggbb` of a CSS colour value. */
function rgb(hex: string): number[] {
  const h = hex.trim().replace('#', '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

test('framed by the portal: token, height, events, theme and language through the bridge', async ({ page, context }) => {
  test.setTimeout(90_000);
  // Every request the dashboard makes, with its Authorization header.
  const apiCalls: { url: string; auth: string }[] = [];
  page.on('request', (r) => {
    if (r.url().startsWith(vigie.baseURL)) apiCalls.push({ url: r.url(), auth: r.headers()['authorization'] ?? '' });
  });
  await recordCspViolations(page);
  const rules: number[] = [];
  try {
    await page.goto(`${portalOrigin}/`);
    const frame = await vigieFrame(page);
    const app = page.frameLocator('#vigie');

    // ready, then init with the first token: the data loads through it.
    await expect.poll(async () => (await received(page)).some((m) => m.type === 'vigie:ready')).toBe(true);
    await expect(app.getByTestId('connection')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
    await expect(app.getByRole('link', { name: 'Overview', exact: true })).toBeVisible();
    expect(apiCalls.some((c) => c.auth === `Bearer ${FIRST}`)).toBe(true);
    const served = await page.request.get(`${cdnOrigin}${PREFIX}`);
    expect(served.headers()['content-security-policy']).toContain(`frame-ancestors ${portalOrigin};`);
    expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await frame.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));

    // The iframe takes its content's height: no inner scroll bar.
    await expect.poll(async () => { const [inner, outer] = await heights(page, frame); return Math.abs(inner - outer); }).toBeLessThanOrEqual(1);

    // The portal navigates; Vigie says where it went.
    await toVigie(page, { type: 'vigie:navigate', page: '/alerts' });
    await expect(app.getByRole('heading', { name: 'Alerts', level: 1 })).toBeVisible();
    await expect.poll(async () => (await events(page, 'navigated')).map((e) => e.detail?.page)).toContain('/alerts');
    expect(frame.url()).toBe(`${cdnOrigin}${PREFIX}alerts`);

    // An alert fires: the portal hears of it; the page grows, so does the iframe.
    const [before] = await heights(page, frame);
    const name = `portal memory ${Date.now()}`;
    rules.push(await memoryRule(vigie.api, name));
    await expect.poll(async () => (await events(page, 'alert.fired')).some((e) => e.detail?.rule_id === rules[0])).toBe(true);
    for (let i = 1; i <= 3; i++) rules.push(await memoryRule(vigie.api, `${name} #${i}`));
    await expect(app.getByTestId('open-alert').filter({ hasText: name })).toHaveCount(4);
    await expect.poll(async () => (await heights(page, frame))[0]).toBeGreaterThan(before);
    await expect.poll(async () => { const [inner, outer] = await heights(page, frame); return Math.abs(inner - outer); }).toBeLessThanOrEqual(1);

    // Resolving one in Vigie reaches the portal as alert.resolved.
    const row = app.getByTestId('open-alert').filter({ hasText: `${name} #1` });
    const id = Number(await row.getAttribute('data-alert-id'));
    await row.getByRole('button', { name: /^Resolve/ }).click();
    const dialog = app.getByRole('dialog', { name: 'Resolve alert' });
    await dialog.getByLabel('Note').fill('Resolved from the portal');
    // Signed in with a named token, the dialog records who resolves.
    await expect(dialog).toContainText('Recorded as');
    await dialog.getByRole('button', { name: 'Resolve alert' }).click();
    await expect(dialog).toBeHidden();
    await expect.poll(async () => (await events(page, 'alert.resolved')).map((e) => e.detail?.id)).toContain(id);

    // A second iframe, on another origin, posts to Vigie: ignored, counted.
    const diagnostics = app.getByTestId('bridge-diagnostics');
    const ignoredBefore = Number(await diagnostics.getByTestId('bridge-ignored').textContent());
    const acceptedBefore = Number(await diagnostics.getByTestId('bridge-accepted').textContent());
    await page.evaluate((src) => {
      const f = document.createElement('iframe');
      f.src = src;
      document.body.append(f);
    }, `${otherOrigin}/intruder`);
    await expect(diagnostics.getByTestId('bridge-ignored')).toHaveText(String(ignoredBefore + 3));
    // Malformed ones from the portal itself: ignored too.
    await toVigie(page, { type: 'vigie:theme', theme: 'purple' });
    await toVigie(page, 'vigie:theme');
    await expect(diagnostics.getByTestId('bridge-ignored')).toHaveText(String(ignoredBefore + 5));
    await diagnostics.locator('summary').click();
    await expect(diagnostics.getByTestId('bridge-last-ignored')).not.toBeEmpty();
    expect(Number(await diagnostics.getByTestId('bridge-accepted').textContent())).toBe(acceptedBefore);
    expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(frame.url()).toBe(`${cdnOrigin}${PREFIX}alerts`);
    expect(apiCalls.some((c) => c.auth.includes('stolen'))).toBe(false);

    // The theme: on the chart too, drawn with the theme's background.
    await toVigie(page, { type: 'vigie:navigate', page: '/' });
    const canvas = app.locator('canvas').first();
    await expect(canvas).toBeVisible();
    const corner = () =>
      frame.evaluate(() => {
        const c = document.querySelector('canvas') as HTMLCanvasElement;
        return Array.from(c.getContext('2d')!.getImageData(1, 1, 1, 1).data.slice(0, 3));
      });
    const chartBg = () =>
      frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--chart-bg'));
    await expect.poll(async () => JSON.stringify(await corner())).toBe(JSON.stringify(rgb(await chartBg())));
    const light = await corner();
    await toVigie(page, { type: 'vigie:theme', theme: 'dark' });
    await expect.poll(() => frame.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    const dark = rgb(await chartBg());
    expect(dark).not.toEqual(light);
    await expect.poll(async () => JSON.stringify(await corner())).toBe(JSON.stringify(dark));

    // The language: every string of the page, without a reload.
    await toVigie(page, { type: 'vigie:lang', lang: 'fr' });
    await expect(app.getByRole('link', { name: 'Vue d’ensemble', exact: true })).toBeVisible();
    await expect(app.getByRole('link', { name: 'Overview', exact: true })).toHaveCount(0);
    expect(await frame.evaluate(() => document.documentElement.lang)).toBe('fr');
    expect(await frame.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);

    // The range: the portal's is shown; one picked in Vigie is told back.
    await toVigie(page, { type: 'vigie:range', range: '1h' });
    const ranges = app.getByRole('group').filter({ has: app.getByRole('button', { name: '24h' }) }).first();
    await expect(ranges.getByRole('button', { name: '1h' })).toHaveAttribute('aria-pressed', 'true');
    await ranges.getByRole('button', { name: '24h' }).click();
    await expect.poll(async () => (await events(page, 'range.changed')).map((e) => e.detail?.range)).toContain('24h');

    // The first token nears its expiry: Vigie asks, the portal hands the
    // second, and the requests carry it from then on.
    await expect
      .poll(async () => (await received(page)).find((m) => m.type === 'vigie:token-expiring')?.expires_at, { timeout: 30_000 })
      .toBe(FIRST_EXP);
    await expect.poll(() => page.evaluate(() => (window as unknown as { handedOut: number }).handedOut)).toBe(2);
    const handedAt = apiCalls.length;
    await toVigie(page, { type: 'vigie:navigate', page: '/alerts' });
    await expect.poll(() => apiCalls.slice(handedAt).some((c) => c.auth === `Bearer ${SECOND}`)).toBe(true);
    expect(apiCalls.slice(handedAt).filter((c) => c.auth === `Bearer ${FIRST}`)).toEqual([]);

    // Nothing refused by the policy, no cookie, no token in a URL or in storage.
    const violations = await frame.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations);
    expect(violations).toEqual([]);
    expect(await context.cookies()).toEqual([]);
    for (const c of apiCalls) {
      expect(c.url).not.toContain(FIRST);
      expect(c.url).not.toContain(SECOND);
    }
    const stored = await frame.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(FIRST);
    expect(stored).not.toContain(SECOND);
  } finally {
    for (const id of rules) await vigie.api.delete(`/api/performance/alert-rules/${id}/`);
  }
});

test('a page on an origin that is not a listed portal cannot frame the dashboard', async ({ page }) => {
  // Chromium refuses the frame and says why in the framing page's console.
  const refused = page.waitForEvent('console', (m) => m.text().includes('frame-ancestors'));
  await page.goto(`${otherOrigin}/frames-vigie`);
  expect((await refused).text()).toContain(`frame-ancestors ${portalOrigin}`);
});
