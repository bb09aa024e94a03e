// The Slow-queries page against a real PostgreSQL (Debian's, started here
// on a free loopback port with pg_stat_statements preloaded): a database
// added through the page's form, a real slow query made with psql on a table
// without an index, shown with its call count, its plan and the index to
// create. The file has its own server.
import { test, expect } from '@playwright/test';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownVigie, freePort } from './vigie';

const vigie = ownVigie();
const BIN = '/usr/lib/postgresql/15/bin';

let server: ChildProcess | undefined;
let port = 0;
let dir = '';

/** The postgres user's ids when running as root (PostgreSQL refuses root). */
function ids(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const f = (line ?? '').split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function psql(sql: string): string {
  return execFileSync('/usr/bin/psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'admin', '-d', 'postgres', '-h', dir, '-p', String(port), '-c', sql], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
}

test.beforeAll(async () => {
  test.setTimeout(60_000);
  port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'vigie-pg-'));
  const { uid, gid } = ids();
  if (uid !== undefined) chownSync(dir, uid, gid!);
  writeFileSync(join(dir, 'pw'), 'admin-password\n');
  if (uid !== undefined) chownSync(join(dir, 'pw'), uid, gid!);
  execFileSync(`${BIN}/initdb`, ['-D', join(dir, 'data'), '-U', 'admin', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(dir, 'pw')}`], {
    stdio: 'ignore',
    uid,
    gid,
  });
  server = spawn(
    `${BIN}/postgres`,
    ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_preload_libraries=pg_stat_statements'],
    { stdio: 'ignore', uid, gid },
  );
  await expect
    .poll(() => {
      try {
        return psql('SELECT 1');
      } catch {
        return '';
      }
    }, { timeout: 20_000 })
    .toContain('1');
  psql(`CREATE EXTENSION pg_stat_statements;
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL, amount numeric NOT NULL, note text);
    INSERT INTO orders (customer_id, amount, note) SELECT g % 5000, g, md5(g::text) FROM generate_series(1, 300000) g;
    ANALYZE orders;
    CREATE ROLE vigie LOGIN PASSWORD 'vigie-password';
    GRANT pg_read_all_stats, pg_read_all_data TO vigie;`);
});

test.afterAll(() => {
  server?.kill('SIGINT');
});

test('a slow query is listed with its calls, its plan and the index to create', async ({ page }) => {
  await page.goto(vigie.url('/slow-queries'));
  await expect(page.getByRole('heading', { name: 'Slow queries', exact: true })).toBeVisible();
  const form = page.getByRole('form', { name: 'Add a PostgreSQL database' });
  await form.getByLabel('Name').fill('shop');
  await form.getByLabel('URL').fill(`postgres://127.0.0.1:${port}/postgres`);
  await form.getByLabel('Role').fill('vigie');
  await form.getByLabel('Password').fill('vigie-password');
  await form.getByLabel('Every (s)').fill('1');
  await form.getByLabel('Timeout (ms)').fill('900');
  await form.getByRole('button', { name: 'Add', exact: true }).click();
  const row = page.getByTestId('database-source').filter({ hasText: 'shop' });
  await expect(row.getByRole('cell').nth(1)).toHaveAttribute('data-health', 'up', { timeout: 15_000 });
  await expect(row).toContainText('PostgreSQL 15');

  // After the first read: five scans of the whole table.
  for (let i = 0; i < 5; i++) psql(`SELECT * FROM orders WHERE customer_id = ${40 + i}`);
  // Every statement at least 1 ms on average.
  await page.getByLabel('Slower than (ms)').fill('1');
  const scan = page.getByTestId('slow-query').filter({ hasText: 'customer_id = $1' });
  await expect(scan).toHaveAttribute('data-calls', '5', { timeout: 20_000 });
  await expect(scan).toContainText('SELECT');
  await expect(scan).toContainText('Index public.orders on customer_id');

  await page.getByRole('columnheader', { name: 'Calls' }).getByRole('button').click();
  await expect(page.getByRole('columnheader', { name: 'Calls' })).toHaveAttribute('aria-sort', 'descending');

  await scan.getByRole('button').first().click();
  const detail = page.locator('.slow-query-detail');
  await expect(detail.getByTestId('advice-sql')).toHaveText('CREATE INDEX CONCURRENTLY ON public.orders (customer_id);');
  await expect(detail.getByTestId('plan')).toContainText('Seq Scan on public.orders');
  await expect(page.getByRole('img', { name: /Mean execution time of this statement/ })).toBeVisible();
  await detail.getByRole('button', { name: 'Copy' }).click();
  await expect(detail.getByRole('button', { name: 'Copied' })).toBeVisible();

  // Ten scans or more of a large table, none by index: the table is named
  // among those read sequentially, and the buffer cache has its ratio.
  for (let i = 0; i < 7; i++) psql(`SELECT * FROM orders WHERE customer_id = ${50 + i}`);
  const insights = page.getByTestId('database-insights').filter({ hasText: 'shop' });
  await expect(insights.getByTestId('seq-scan-table').filter({ hasText: 'public.orders' })).toBeVisible({ timeout: 20_000 });
  await expect(insights.getByTestId('buffer-cache')).toContainText(/\d %/);
});
