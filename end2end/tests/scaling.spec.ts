// Scaling as an operator meets it, against a real command executor: a scale
// program (a shell script this file writes) that records the count it is
// given, and a status program that reads it back. The operator scales up
// with a reason, sees the card and the audit log follow without a reload,
// sees a change made elsewhere arrive by the stream, and is refused during
// the cooldown with the seconds left. The file has its own server.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { cspViolations, ownVigie, recordCspViolations } from './vigie';

const vigie = ownVigie();

type Action = { id: number; configuration_id: number; reason: string; before: number | null; after: number | null; outcome: string };

let dir: string;
let countFile: string;
let scaleScript: string;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-e2e-scale-'));
  countFile = join(dir, 'count');
  scaleScript = join(dir, 'scale.sh');
  // The scale program writes the count it is asked for.
  writeFileSync(countFile, '2\n');
  writeFileSync(scaleScript, `#!/bin/sh\nprintf '%s\\n' "$VIGIE_SCALE_INSTANCES" > '${countFile}'\n`);
  chmodSync(scaleScript, 0o755);
});

test.afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function recorded(): string {
  return readFileSync(countFile, 'utf8').trim();
}

test('an operator scales up with a reason, then is refused during the cooldown', async ({ page }) => {
  // What would break under the CSP, or anything the page logs as an error.
  await recordCspViolations(page);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));

  // Two instances to begin with.
  writeFileSync(countFile, '2\n');
  const name = `e2e web ${Date.now()}`;
  const created = await vigie.api.post('/api/performance/scaling-configurations/', {
    data: {
      name,
      trigger_type: 'cpu',
      scope: { kind: 'host' },
      min_instances: 1,
      max_instances: 5,
      scale_up_threshold: 80,
      scale_down_threshold: 20,
      cooldown_seconds: 300,
      step: 1,
      executor: { kind: 'command', scale: [scaleScript], status: ['/bin/cat', countFile], timeout_s: 10 },
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const id: number = (await created.json()).id;

  await page.goto(vigie.url('/'));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scaling' }).click();
  await expect(page).toHaveURL(/\/scaling$/);
  await expect(page.getByRole('heading', { name: 'Scaling', level: 1 })).toBeVisible();
  // Gone if the page were loaded again.
  await page.evaluate(() => ((window as unknown as { e2eSamePage: boolean }).e2eSamePage = true));

  const card = page.locator(`[data-testid="scaling-card"][data-config-id="${id}"]`);
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('executor')).toHaveText('command');
  await expect(card.getByTestId('mode')).toHaveText('manual');
  await expect(card.getByTestId('current')).toHaveText('2');
  await expect(card.getByTestId('desired')).toHaveText('2');
  await expect(card.getByTestId('ready')).toHaveText('2');
  await expect(card.getByTestId('executor-error')).toHaveCount(0);
  await expect(card.getByTestId('trigger-value')).toHaveText(/^CPU \d+\.\d %$/);
  await expect(card.getByTestId('need')).toContainText('Automatic mode now: ');
  await expect(card.getByTestId('cooldown')).toHaveText('No cooldown');
  // The trigger's last 15 minutes, with both thresholds across it.
  const lines = card.getByTestId('threshold-line');
  await expect(lines).toHaveCount(2);
  await expect(card.locator('[data-testid="threshold-line"][data-side="above"]')).toHaveAttribute('data-value', '80');
  await expect(card.locator('[data-testid="threshold-line"][data-side="below"]')).toHaveAttribute('data-value', '20');
  await expect(card.getByRole('img', { name: /The trigger over the last 15 minutes/ })).toHaveAttribute('data-last-ts', /^\d+$/, {
    timeout: 15_000,
  });

  // Up: 2 → 3, with a reason; confirming twice in a row scales once.
  await card.getByRole('button', { name: `Up ${name}`, exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Scale up' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('planned-change')).toContainText('Instances: 2 → 3');
  const confirm = dialog.getByRole('button', { name: 'Scale up' });
  await expect(confirm).toBeDisabled();
  const reason = `Launch day traffic (${name})`;
  await dialog.getByLabel('Reason').fill(reason);
  await dialog.getByLabel('Your name').fill('E2E Operator');
  await expect(confirm).toBeEnabled();
  await confirm.dblclick();
  await expect(dialog).toBeHidden();

  await expect(card.getByTestId('current')).toHaveText('3');
  await expect(card.getByTestId('desired')).toHaveText('3');
  expect(recorded()).toBe('3');
  await expect(card.getByTestId('last-action')).toContainText('up 2 → 3 by E2E Operator, succeeded');
  await expect(card.getByTestId('cooldown')).toHaveText(/^Cooldown: \d+ min( \d+ s)? left$/);
  const row = page.getByTestId('scaling-action').filter({ hasText: reason });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-outcome', 'succeeded');
  await expect(row.getByTestId('direction')).toHaveText('up');
  await expect(row.getByTestId('change')).toHaveText('2 → 3');
  await expect(row.getByTestId('actor')).toHaveText('E2E Operator');
  await expect(row.getByTestId('reason')).toHaveText(reason);
  // One action for the two clicks.
  const log = await (await vigie.api.get(`/api/performance/scaling-actions/?configuration=${id}`)).json();
  expect(log.actions.map((a: Action) => [a.before, a.after, a.outcome])).toEqual([[2, 3, 'succeeded']]);

  // A change made elsewhere (forced through the cooldown) reaches the card
  // and the log through the stream.
  const elsewhere = `Set from the API (${name})`;
  const forced = await vigie.api.post('/api/performance/execute-scaling-action/', {
    data: { configuration: id, action: 'set', instances: 4, reason: elsewhere, force: true, actor: 'script' },
  });
  expect(forced.status(), await forced.text()).toBe(200);
  await expect(card.getByTestId('current')).toHaveText('4');
  await expect(page.getByTestId('scaling-action').filter({ hasText: elsewhere })).toHaveCount(1);
  await expect(page.getByTestId('scaling-action').first()).toContainText(elsewhere);

  // Again during the cooldown: refused with the seconds left; nothing changes.
  await card.getByRole('button', { name: `Up ${name}`, exact: true }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('planned-change')).toContainText('Instances: 4 → 5');
  await expect(dialog.getByLabel('Your name')).toHaveValue('E2E Operator');
  await dialog.getByLabel('Reason').fill('One more, please');
  await confirm.click();
  const refusal = dialog.getByRole('alert');
  await expect(refusal).toContainText(`${name} is cooling down`);
  await expect(refusal).toHaveText(/\d+ s left \(force to act anyway\)/);
  await expect(dialog.getByLabel('Act during the cooldown anyway')).not.toBeChecked();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(card.getByTestId('current')).toHaveText('4');
  expect(recorded()).toBe('4');
  await expect(page.getByTestId('scaling-action').filter({ hasText: 'One more, please' })).toHaveCount(0);

  expect(await page.evaluate(() => (window as unknown as { e2eSamePage?: boolean }).e2eSamePage)).toBe(true);
  const violations = await cspViolations(page);
  expect(violations, `CSP violations: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
  // The browser logs the refused request itself (409); nothing else.
  expect(errors.filter((e) => !/the server responded with a status of 409/.test(e))).toEqual([]);

  await vigie.api.delete(`/api/performance/scaling-configurations/${id}/`);
});

test('a configuration is added in the editor, refused first with the field explained, switched and removed', async ({ page }) => {
  await page.goto(vigie.url('/scaling'));
  const form = page.getByRole('form', { name: 'Add a scaling configuration' });
  await expect(form.getByTestId('supported-types')).toContainText('command: horizontal');

  const name = `e2e editor ${Date.now()}`;
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Executor').selectOption('command');
  await form.getByLabel('Scale program').fill(`/bin/sh\n${scaleScript}`);
  await form.getByLabel('Status program').fill(`/bin/cat\n${countFile}`);
  const min = form.getByLabel('Min instances');
  await min.fill('6');
  await form.getByLabel('Max instances').fill('5');
  await form.getByRole('button', { name: 'Add configuration' }).click();
  await expect(min).toHaveAttribute('aria-invalid', 'true');
  await expect(min).toHaveAccessibleDescription('min_instances (6) is above max_instances (5)');
  const cards = page.locator(`[data-testid="scaling-card"][data-name="${name}"]`);
  await expect(cards).toHaveCount(0);

  // Corrected, it is added with what was typed.
  await min.fill('1');
  await form.getByRole('button', { name: 'Add configuration' }).click();
  await expect(cards).toHaveCount(1);
  await expect(min).toHaveAttribute('aria-invalid', 'false');
  await expect(form.getByLabel('Name')).toHaveValue('');
  const listed = await (await vigie.api.get('/api/performance/scaling-configurations/')).json();
  const stored = listed.configurations.find((c: { name: string }) => c.name === name);
  expect(stored.executor).toEqual({ kind: 'command', scale: ['/bin/sh', scaleScript], status: ['/bin/cat', countFile], timeout_s: 60 });
  expect([stored.min_instances, stored.max_instances, stored.mode]).toEqual([1, 5, 'manual']);
  await expect(cards.getByTestId('current')).toHaveText(/^\d+$/);

  // Automatic mode on, then off again, through the switch.
  const auto = cards.getByRole('switch', { name: `${name} automatic mode` });
  await auto.check();
  await expect(cards).toHaveAttribute('data-mode', 'automatic');
  await expect(auto).toBeChecked();
  await auto.uncheck();
  await expect(cards).toHaveAttribute('data-mode', 'manual');

  // Edited: the form loads it and saves the change.
  await cards.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('form', { name: 'Edit a scaling configuration' });
  await expect(edit.getByLabel('Name')).toHaveValue(name);
  await expect(edit.getByLabel('Scale program')).toHaveValue(`/bin/sh\n${scaleScript}`);
  await edit.getByLabel('Max instances').fill('7');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(cards).toContainText('1–7 instances, step 1');

  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await page.getByRole('button', { name: `Confirm deleting ${name}` }).click();
  await expect(cards).toHaveCount(0);
});
