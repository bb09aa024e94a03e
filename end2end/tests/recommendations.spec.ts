// Recommendations as an admin reads them: nothing to say on a fresh
// server, said plainly; then two endpoints slower than the p95 target
// (one past the response-time alert threshold), listed most severe first
// with their figures, each linking to the endpoint's charts at the
// recommendation's range. And a link to the overview opens it at its range
// on its target. The file has its own server.
import { test, expect } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

type Link = { page: string; from: number; to: number; target?: number; service?: string; endpoint?: string };
type Recommendation = { key: string; rule: string; severity: string; title: string; link: Link };

test('a fresh server has nothing to recommend, and says so', async ({ page }) => {
  await page.goto(vigie.url('/'));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Recommendations' }).click();
  await expect(page).toHaveURL(/\/recommendations$/);
  await expect(page.getByRole('heading', { name: 'Recommendations', level: 1 })).toBeVisible();
  await expect(page.getByTestId('no-recommendation')).toHaveText("Nothing needs attention over this period: no rule's condition held.");
  await expect(page.getByTestId('recommendation')).toHaveCount(0);
  await expect(page.getByTestId('period')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} – \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
});

test('slow endpoints are recommended most severe first, with their figures and a link to their charts', async ({ page }) => {
  const service = `shop-${Date.now()}`;
  // /slow: 25 requests of 900 ms (above the 500 ms p95 target); /slower:
  // 25 of 2500 ms (above the 2000 ms alert threshold too); /fast: 25 of 20 ms.
  const records = ['/slow', '/slower', '/fast'].flatMap((endpoint) =>
    Array.from({ length: 25 }, () => ({
      service,
      endpoint,
      method: 'GET',
      status: 200,
      duration_ms: endpoint === '/slow' ? 900 : endpoint === '/slower' ? 2500 : 20,
    })),
  );
  const resp = await vigie.api.post('/api/performance/ingest/', { data: { records } });
  expect(resp.status()).toBe(200);

  await page.goto(vigie.url('/recommendations'));
  const cards = page.getByTestId('recommendation').filter({ hasText: service });
  await expect(cards).toHaveCount(2);
  const slower = cards.nth(0);
  const slow = cards.nth(1);
  await expect(slower).toHaveAttribute('data-severity', 'critical');
  await expect(slower.getByTestId('title')).toHaveText('Slow endpoint GET /slower');
  await expect(slow).toHaveAttribute('data-severity', 'warning');
  await expect(slow).toHaveAttribute('data-rule', 'slow_endpoint');
  await expect(slow.getByTestId('title')).toHaveText('Slow endpoint GET /slow');
  await expect(slow.getByTestId('subject')).toHaveText(`${service} GET /slow`);
  await expect(slow.getByTestId('detail')).toContainText('answered 25 requests');
  const figure = (label: string) => slow.locator(`[data-testid="evidence"][data-label="${label}"]`).getByTestId('evidence-value');
  await expect(figure('p95')).toHaveText('900 ms');
  await expect(figure('p95 target')).toHaveText('500 ms');
  await expect(figure('requests')).toHaveText('25');
  await expect(slow.getByTestId('gain')).toContainText('400 ms');
  // Nothing about the fast one.
  await expect(page.getByTestId('recommendation').filter({ hasText: '/fast' })).toHaveCount(0);

  // Its link is the server's: the endpoint's charts at the period.
  const listed = await (await vigie.api.get('/api/performance/recommendations/')).json();
  const rec: Recommendation = listed.recommendations.find((r: Recommendation) => r.title === 'Slow endpoint GET /slow' && r.link.service === service);
  expect(rec.link).toMatchObject({ page: '/endpoints', service, endpoint: '/slow' });
  const link = slow.getByTestId('chart-link');
  await expect(link).toHaveText("Open the endpoint's charts");
  const href = await link.getAttribute('href');
  const url = new URL(href ?? '', vigie.baseURL);
  expect(url.pathname).toBe('/endpoints');
  expect(url.searchParams.get('service')).toBe(service);
  expect(url.searchParams.get('endpoint')).toBe('/slow');
  const from = Number(url.searchParams.get('from'));
  const to = Number(url.searchParams.get('to'));
  expect(to - from).toBe(rec.link.to - rec.link.from);

  // The page refetches its recommendations, whose period ends at the time
  // they were computed: the link clicked may be a later one than the one
  // read above, of the same length. The charts open at the one clicked.
  await link.click();
  await expect(page).toHaveURL(/\/endpoints\?/);
  const opened = new URL(page.url());
  const openedFrom = Number(opened.searchParams.get('from'));
  const openedTo = Number(opened.searchParams.get('to'));
  expect(openedTo - openedFrom).toBe(to - from);
  expect(openedFrom).toBeGreaterThanOrEqual(from);
  await expect(page.getByRole('heading', { name: `${service} · /slow` })).toBeVisible();
  const zoomed = page.getByTestId('zoomed');
  await expect(zoomed).toHaveAttribute('data-from', String(openedFrom));
  await expect(zoomed).toHaveAttribute('data-to', String(openedTo));
  await expect(page.getByRole('group', { name: 'p95' })).toContainText('900 ms');
  await expect(page.getByRole('group', { name: 'Average' })).toContainText('25 requests');
  await expect(page.getByRole('img', { name: /Response time of the requests/ })).toHaveAttribute('data-last-ts', /^\d+$/);
  // The ranking covers the same range.
  await expect(page.getByTestId('endpoint-row').filter({ hasText: service })).toHaveCount(3);
});

test('a link to the overview opens it at its range, on its target', async ({ page }) => {
  const targets = await (await vigie.api.get('/api/performance/targets/')).json();
  const target = targets.targets[0];
  const to = Date.now();
  const from = to - 2 * 3_600_000;
  await page.goto(vigie.url(`/?from=${from}&to=${to}&target=${target.id}`));
  const zoomed = page.getByTestId('zoomed');
  await expect(zoomed).toHaveAttribute('data-from', String(from));
  await expect(zoomed).toHaveAttribute('data-to', String(to));
  await expect(page.getByLabel('Target')).toHaveValue(String(target.id));
  await expect(page.getByTestId('source')).toHaveText(`Source: Vigie's HTTP probes of ${target.name}`);
  await expect(page.getByRole('img', { name: /Response time of the probes/ })).toHaveAttribute('data-last-ts', /^\d+$/);
  // Back to the live range.
  await zoomed.getByRole('button', { name: 'Reset zoom' }).click();
  await expect(zoomed).toHaveCount(0);
});
