// The Cache page against a real redis-server (Debian's, started here on a
// free loopback port): a source added through the page's form, then lookups
// made with redis-cli, shown as the hit rate and counts the API computed.
// The file has its own server.
import { test, expect } from '@playwright/test';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownVigie, freePort } from './vigie';

const vigie = ownVigie();

let redis: ChildProcess | undefined;
let port = 0;

function cli(commands: string[]): string {
  return execFileSync('/usr/bin/redis-cli', ['-h', '127.0.0.1', '-p', String(port)], {
    input: commands.join('\n') + '\n',
    stdio: ['pipe', 'pipe', 'ignore'],
  }).toString();
}

test.beforeAll(async () => {
  port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigie-redis-'));
  redis = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  await expect
    .poll(() => {
      try {
        return cli(['PING']);
      } catch {
        return '';
      }
    })
    .toContain('PONG');
});

test.afterAll(() => {
  redis?.kill();
});

test('a Redis server added on the Cache page shows the hit rate of the lookups made', async ({ page }) => {
  await page.goto(vigie.url('/cache'));
  await expect(page.getByRole('heading', { name: 'Cache', exact: true })).toBeVisible();
  const form = page.getByRole('form', { name: 'Add a Redis server' });
  await form.getByLabel('Name').fill('sessions');
  await form.getByLabel('URL').fill(`redis://127.0.0.1:${port}`);
  await form.getByLabel('Every (s)').fill('1');
  await form.getByLabel('Timeout (ms)').fill('900');
  await form.getByRole('button', { name: 'Add', exact: true }).click();

  const row = page.getByTestId('cache-source').filter({ hasText: 'sessions' });
  await expect(row.getByRole('cell').nth(1)).toHaveAttribute('data-health', 'up', { timeout: 15_000 });
  await expect(row).toContainText(/Redis \d/);

  // After the first sample: 30 lookups of a key that exists, 10 of keys that do not.
  cli(['SET vigie:present 1', ...Array(30).fill('GET vigie:present'), ...Array.from({ length: 10 }, (_, i) => `GET vigie:absent:${i}`)]);
  const figures = page.getByRole('region', { name: 'sessions' });
  const lookups = figures.getByTestId('cache-lookups');
  await expect(lookups).toHaveAttribute('data-hits', '30', { timeout: 15_000 });
  await expect(lookups).toHaveAttribute('data-misses', '10');
  await expect(figures.getByRole('group', { name: 'Hit rate' })).toContainText('75');
  await expect(figures.getByRole('img', { name: /Hit rate of this Redis server/ })).toBeVisible();
  await expect(figures.getByRole('img', { name: /PING round trip/ })).toBeVisible();

  // The same figures from the API over the page's range.
  const api = await (await vigie.api.get('/api/performance/cache-performance/?range=5m')).json();
  const source = api.sources.find((s: { name: string }) => s.name === 'sessions');
  expect([source.total_hits, source.total_misses, source.hit_rate]).toEqual([30, 10, 75]);

  // A source Vigie cannot reach says why, on its row; the other goes on.
  await form.getByLabel('Name').fill('gone');
  await form.getByLabel('URL').fill(`redis://127.0.0.1:${await freePort()}`);
  await form.getByRole('button', { name: 'Add', exact: true }).click();
  const gone = page.getByTestId('cache-source').filter({ hasText: 'gone' });
  await expect(gone).toContainText('cannot connect', { timeout: 15_000 });
  await expect(row.getByRole('cell').nth(1)).toHaveAttribute('data-health', 'up');
});
