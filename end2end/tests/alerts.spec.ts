// Alerts as an operator meets them: the count in the top bar moving on its
// own, the alert marked on the chart, resolving it with a note, finding it in
// the history; and a rule refused with its field explained. Each test makes
// its own rule (memory use is always above 1 %) and deletes it at the end;
// other alerts may come and go meanwhile. The file has its own server.
import { test, expect, type APIRequestContext, type Page } from '@playwright/test';
import { ownVigie } from './vigie';

const vigie = ownVigie();

type Alert = { id: number; rule_id: number; state: string; title: string };
type AlertList = { alerts: Alert[]; open_count: number };

async function memoryRule(api: APIRequestContext, name: string): Promise<number> {
  const created = await api.post('/api/performance/alert-rules/', {
    data: { name, metric: 'memory_usage', comparison: 'above', threshold: 1, severity: 'critical', for_seconds: 0 },
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id;
}

async function openAlerts(api: APIRequestContext): Promise<AlertList> {
  const resp = await api.get('/api/performance/alerts/?state=open&limit=500');
  expect(resp.ok()).toBeTruthy();
  return resp.json();
}

async function badgeCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('alert-badge').getAttribute('data-count'));
}

test('a new alert shows in the top bar and on the chart without a reload', async ({ page }) => {
  await page.goto(vigie.url('/'));
  const badge = page.getByTestId('alert-badge');
  await expect(badge).toHaveAttribute('data-count', /^\d+$/);
  // Gone if the page were loaded again.
  await page.evaluate(() => ((window as unknown as { e2eSamePage: boolean }).e2eSamePage = true));

  const name = `e2e memory ${Date.now()}`;
  const rule = await memoryRule(vigie.api, name);
  try {
    // The badge counts the new alert: it shows the server's open count, now
    // with this rule's alert in it (other alerts may have opened or cleared).
    await expect
      .poll(
        async () => {
          const shown = await badgeCount(page);
          const open = await openAlerts(vigie.api);
          return open.alerts.some((a) => a.rule_id === rule) && shown === open.open_count;
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    await expect(badge).toHaveAttribute('data-severity', 'critical');
    expect(await page.evaluate(() => (window as unknown as { e2eSamePage?: boolean }).e2eSamePage)).toBe(true);

    // This host's chart marks where it started.
    const chart = page.getByRole('img', { name: /CPU and memory use/ });
    await expect(chart).toHaveAttribute('data-last-ts', /^\d+$/);
    const marker = page.locator(`[data-testid="alert-marker"][data-kind="start"][title*="${name}"]`);
    await expect(marker).toHaveCount(1);
    await expect(marker).toHaveAttribute('data-severity', 'critical');
  } finally {
    await vigie.api.delete(`/api/performance/alert-rules/${rule}/`);
  }
});

test('the operator resolves an alert with a note and finds it in the history', async ({ page }) => {
  const name = `e2e memory ${Date.now()}`;
  const rule = await memoryRule(vigie.api, name);
  try {
    await expect.poll(async () => (await openAlerts(vigie.api)).alerts.some((a) => a.rule_id === rule)).toBe(true);
    await page.goto(vigie.url('/'));
    await page.getByTestId('alert-badge').click();
    await expect(page).toHaveURL(/\/alerts$/);
    await expect(page.getByRole('heading', { name: 'Alerts', level: 1 })).toBeVisible();

    const row = page.getByTestId('open-alert').filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-state', 'firing');
    await expect(row.getByTestId('age')).toHaveText(/^firing for \d+ s$/);
    await expect(row.getByTestId('value')).toHaveText(/^Memory \d+\.\d % vs threshold > 1 %$/);
    const id = await row.getAttribute('data-alert-id');

    await row.getByRole('button', { name: /^Resolve/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Resolve alert' });
    await expect(dialog).toBeVisible();
    // Warned before confirming: the memory is still above 1 %.
    await expect(dialog.getByTestId('still-holds')).toHaveText(
      /^The condition still holds \(value \d+\.\d % vs threshold > 1 %\): resolving it now means a new alert will fire right away\.$/,
    );
    const confirm = dialog.getByRole('button', { name: 'Resolve alert' });
    await expect(confirm).toBeDisabled();
    const note = `Known: the ${name} threshold is 1 %`;
    await dialog.getByLabel('Note').fill(note);
    await dialog.getByLabel('Your name').fill('E2E Operator');
    await expect(confirm).toBeEnabled();
    await confirm.click();
    await expect(dialog).toBeHidden();
    expect(await page.evaluate(() => localStorage.getItem('vigie.actor'))).toBe('E2E Operator');

    // In the history, with its note and who resolved it.
    const resolved = page.locator(`[data-testid="history-alert"][data-alert-id="${id}"]`);
    await expect(resolved).toHaveAttribute('data-state', 'resolved');
    await expect(resolved.getByTestId('note')).toHaveText(note);
    await expect(resolved.getByTestId('times')).toContainText('by E2E Operator');
    await resolved.getByText(/^Transitions \(\d+\)$/).click();
    await expect(resolved.getByRole('listitem').filter({ hasText: 'resolved by E2E Operator' })).toBeVisible();
    // The condition still holds: the rule has opened a new one.
    await expect(page.locator(`[data-testid="open-alert"][data-alert-id="${id}"]`)).toHaveCount(0);
    await expect(page.getByTestId('open-alert').filter({ hasText: name })).toHaveCount(1);

    // The name is offered again next time; acknowledging the new one uses it.
    await page.getByTestId('open-alert').filter({ hasText: name }).getByRole('button', { name: /^Acknowledge/ }).click();
    const ack = page.getByRole('dialog', { name: 'Acknowledge alert' });
    await expect(ack.getByLabel('Your name')).toHaveValue('E2E Operator');
    await ack.getByRole('button', { name: 'Acknowledge alert' }).click();
    await expect(ack).toBeHidden();
    await expect(page.getByTestId('open-alert').filter({ hasText: name })).toHaveAttribute('data-state', 'acknowledged');
    await expect(page.getByTestId('open-alert').filter({ hasText: name }).getByTestId('age')).toContainText(
      'acknowledged by E2E Operator',
    );
  } finally {
    await vigie.api.delete(`/api/performance/alert-rules/${rule}/`);
  }
});

test('a rule beyond 100 % is refused with the reason next to the field', async ({ page }) => {
  await page.goto(vigie.url('/alerts'));
  await page.getByRole('navigation', { name: 'Alert views' }).getByRole('link', { name: 'Rules' }).click();
  await expect(page.getByRole('heading', { name: 'Alert rules' })).toBeVisible();
  const rows = page.getByTestId('rule-row');
  await expect(rows.first()).toBeVisible();
  const before = await rows.count();

  const name = `e2e rule ${Date.now()}`;
  const form = page.getByRole('form', { name: 'Add a rule' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Metric').selectOption({ label: 'Memory' });
  await form.getByLabel('Threshold').fill('150');
  await form.getByRole('button', { name: 'Add rule' }).click();
  const threshold = form.getByLabel('Threshold');
  await expect(threshold).toHaveAttribute('aria-invalid', 'true');
  await expect(threshold).toHaveAccessibleDescription(/threshold must be a number from 0 to 100/);
  await expect(rows).toHaveCount(before);

  // Corrected, it is added; then removed after a confirmation.
  await threshold.fill('99.5');
  await form.getByRole('button', { name: 'Add rule' }).click();
  const row = rows.filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('> 99.5 %');
  await expect(threshold).toHaveAttribute('aria-invalid', 'false');
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toHaveCount(1);
  await page.getByRole('button', { name: `Confirm deleting ${name}` }).click();
  await expect(row).toHaveCount(0);
  const left = await (await vigie.api.get('/api/performance/alert-rules/')).json();
  expect(left.rules.some((r: { name: string }) => r.name === name)).toBe(false);
});
