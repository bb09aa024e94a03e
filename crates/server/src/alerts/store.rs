//! Alerts in SQLite: rules, alerts (at most one open per rule, enforced by a
//! unique index) and every transition. A transition is written only if the
//! alert is still in the state its writer saw, so the evaluator and an
//! operator resolving by hand can never both win.

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigie_api::{Alert, AlertMetric, AlertRuleSpec, AlertState, AlertTransition, Severity};

use crate::store::{Data, Store, StoreError};

/// An enum's name on the wire, which is also its name in the database.
fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse<T: DeserializeOwned>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

const RULE_COLUMNS: &str = "id, name, metric, comparison, threshold, severity, for_seconds, \
     recovery_margin, window_seconds, target_id, service, endpoint, enabled, source_id";

fn rule_row(row: &Row<'_>) -> rusqlite::Result<(i64, AlertRuleSpec)> {
    Ok((
        row.get(0)?,
        AlertRuleSpec {
            name: row.get(1)?,
            metric: parse(row, 2)?,
            comparison: parse(row, 3)?,
            threshold: row.get(4)?,
            severity: parse(row, 5)?,
            for_seconds: row.get(6)?,
            recovery_margin: row.get(7)?,
            window_seconds: row.get(8)?,
            target_id: row.get(9)?,
            service: row.get(10)?,
            endpoint: row.get(11)?,
            enabled: row.get(12)?,
            source_id: row.get(13)?,
        },
    ))
}

const ALERT_COLUMNS: &str = "id, rule_id, severity, title, description, metric, comparison, \
     threshold, for_seconds, current_value, condition_holds, state, started_at, fired_at, \
     acknowledged_by, acknowledged_at, resolved_by, resolved_at, note";

fn alert_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let metric: AlertMetric = parse(row, 5)?;
    let state: AlertState = parse(row, 11)?;
    Ok(Alert {
        id: row.get(0)?,
        rule_id: row.get(1)?,
        severity: parse(row, 2)?,
        title: row.get(3)?,
        description: row.get(4)?,
        alert_type: metric.alert_type().to_owned(),
        metric_type: metric,
        comparison: parse(row, 6)?,
        threshold_value: row.get(7)?,
        for_seconds: row.get(8)?,
        current_value: row.get(9)?,
        condition_holds: row.get(10)?,
        is_resolved: state == AlertState::Resolved,
        state,
        started_at: row.get(12)?,
        fired_at: row.get(13)?,
        acknowledged_by: row.get(14)?,
        acknowledged_at: row.get(15)?,
        resolved_by: row.get(16)?,
        resolved_at: row.get(17)?,
        note: row.get(18)?,
        history: Vec::new(),
    })
}

fn with_history(conn: &Connection, mut alert: Alert) -> Result<Alert, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, state, actor, note, value FROM alert_transitions
         WHERE alert_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([alert.id], |row| {
        Ok(AlertTransition {
            at_ms: row.get(0)?,
            state: parse(row, 1)?,
            actor: row.get(2)?,
            note: row.get(3)?,
            value: row.get(4)?,
        })
    })?;
    alert.history = rows.collect::<Result<_, _>>()?;
    Ok(alert)
}

fn alert_by_id(conn: &Connection, id: i64) -> Result<Option<Alert>, StoreError> {
    let alert = conn
        .prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"))?
        .query_row([id], alert_row)
        .optional()?;
    alert.map(|a| with_history(conn, a)).transpose()
}

fn record(conn: &Connection, alert_id: i64, t: &AlertTransition) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO alert_transitions (alert_id, at_ms, state, actor, note, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        alert_id,
        t.at_ms,
        t.state.as_str(),
        t.actor,
        t.note,
        t.value
    ])?;
    Ok(())
}

/// What the evaluator needs of an open alert.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAlert {
    pub id: i64,
    pub rule_id: i64,
    pub state: AlertState,
    pub started_at: i64,
    pub current_value: Option<f64>,
    pub condition_holds: bool,
}

/// A new alert, as the evaluator opens it.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    pub rule_id: i64,
    pub rule: &'a AlertRuleSpec,
    pub title: String,
    pub description: String,
    pub value: f64,
    pub at_ms: i64,
    /// Fires at once (a rule without duration).
    pub fire: bool,
}

/// Filters of `GET alerts/`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    /// Any of these states; all when empty.
    pub states: Vec<AlertState>,
    pub severities: Vec<Severity>,
    /// Alerts whose life (start to resolution, or now) overlaps `[from, to]`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// `Some(true)`: only alerts that fired (open pending ones are left out
    /// too); `Some(false)`: only those that never did.
    pub fired: Option<bool>,
    pub limit: u32,
    pub offset: u32,
}

/// Why a change asked by an operator was not made.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    NotFound,
    /// The alert is in this state, which does not allow the change.
    Conflict(AlertState),
}

fn one_of(column: &str, names: &[&str]) -> String {
    // Names come from enums, never from the request's text.
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("{column} IN ({})", quoted.join(", "))
}

impl Store {
    pub fn alert_rules(&self) -> Result<Vec<(i64, AlertRuleSpec)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY id"
        ))?;
        let rows = stmt.query_map([], rule_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn alert_rule(&self, id: i64) -> Result<Option<AlertRuleSpec>, StoreError> {
        let conn = self.read()?;
        let row = conn
            .prepare_cached(&format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = ?1"
            ))?
            .query_row([id], rule_row)
            .optional()?;
        Ok(row.map(|(_, spec)| spec))
    }

    fn rule_params(r: &AlertRuleSpec) -> [Box<dyn rusqlite::ToSql + '_>; 13] {
        [
            Box::new(&r.name),
            Box::new(r.metric.as_str()),
            Box::new(name(&r.comparison)),
            Box::new(r.threshold),
            Box::new(r.severity.as_str()),
            Box::new(r.for_seconds),
            Box::new(r.recovery_margin),
            Box::new(r.window_seconds),
            Box::new(r.target_id),
            Box::new(&r.service),
            Box::new(&r.endpoint),
            Box::new(r.enabled),
            Box::new(r.source_id),
        ]
    }

    pub fn insert_alert_rule(&self, r: &AlertRuleSpec) -> Result<i64, StoreError> {
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO alert_rules (name, metric, comparison, threshold, severity, for_seconds,
                recovery_margin, window_seconds, target_id, service, endpoint, enabled, source_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            rusqlite::params_from_iter(Self::rule_params(r)),
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub fn update_alert_rule(&self, id: i64, r: &AlertRuleSpec) -> Result<bool, StoreError> {
        let conn = self.write()?;
        let mut values: Vec<Box<dyn rusqlite::ToSql + '_>> = Self::rule_params(r).into();
        values.push(Box::new(id));
        let n = conn.execute(
            "UPDATE alert_rules SET name = ?1, metric = ?2, comparison = ?3, threshold = ?4,
                severity = ?5, for_seconds = ?6, recovery_margin = ?7, window_seconds = ?8,
                target_id = ?9, service = ?10, endpoint = ?11, enabled = ?12, source_id = ?13
             WHERE id = ?14",
            rusqlite::params_from_iter(values),
        )?;
        Ok(n == 1)
    }

    /// Deletes a rule; its open alert, if any, is resolved first (by
    /// `actor`, with `note`) and returned. Past alerts stay.
    pub fn delete_alert_rule(
        &self,
        id: i64,
        actor: &str,
        note: &str,
        at_ms: i64,
    ) -> Result<Option<Option<Alert>>, StoreError> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let open: Option<(i64, AlertState)> = tx
            .query_row(
                "SELECT id, state FROM alerts WHERE rule_id = ?1 AND state != 'resolved'",
                [id],
                |r| Ok((r.get(0)?, parse(r, 1)?)),
            )
            .optional()?;
        let mut resolved = None;
        if let Some((alert_id, state)) = open
            && transition_in(
                &tx,
                alert_id,
                state,
                AlertState::Resolved,
                actor,
                Some(note),
                None,
                at_ms,
            )?
            .is_some()
        {
            resolved = alert_by_id(&tx, alert_id)?;
        }
        if tx.execute("DELETE FROM alert_rules WHERE id = ?1", [id])? == 0 {
            return Ok(None);
        }
        tx.commit()?;
        Ok(Some(resolved))
    }

    pub fn open_alerts(&self) -> Result<Vec<OpenAlert>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, rule_id, state, started_at, current_value, condition_holds
             FROM alerts WHERE state != 'resolved'",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(OpenAlert {
                id: row.get(0)?,
                rule_id: row.get(1)?,
                state: parse(row, 2)?,
                started_at: row.get(3)?,
                current_value: row.get(4)?,
                condition_holds: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        alert_by_id(&*self.read()?, id)
    }

    /// Opens an alert (pending, or pending then firing); `None` when the rule
    /// already has an open one.
    pub fn open_alert(&self, a: &NewAlert<'_>) -> Result<Option<Alert>, StoreError> {
        let mut conn = self.write_of(Data::ALERTS)?;
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO alerts (rule_id, severity, title, description, metric, comparison,
                threshold, for_seconds, current_value, condition_holds, state, started_at, fired_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)
             ON CONFLICT DO NOTHING",
            params![
                a.rule_id,
                a.rule.severity.as_str(),
                a.title,
                a.description,
                a.rule.metric.as_str(),
                name(&a.rule.comparison),
                a.rule.threshold,
                a.rule.for_seconds,
                a.value,
                if a.fire { "firing" } else { "pending" },
                a.at_ms,
                a.fire.then_some(a.at_ms),
            ],
        )?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        let step = |state| AlertTransition {
            at_ms: a.at_ms,
            state,
            actor: vigie_api::SYSTEM_ACTOR.to_owned(),
            note: None,
            value: Some(a.value),
        };
        record(&tx, id, &step(AlertState::Pending))?;
        if a.fire {
            record(&tx, id, &step(AlertState::Firing))?;
        }
        let alert = alert_by_id(&tx, id)?;
        tx.commit()?;
        Ok(alert)
    }

    /// Moves alert `id` from `from` to `to`, recording who, why and the value;
    /// `None` when the alert is no longer in `from` (someone else moved it).
    #[allow(clippy::too_many_arguments)]
    pub fn transition_alert(
        &self,
        id: i64,
        from: AlertState,
        to: AlertState,
        actor: &str,
        note: Option<&str>,
        value: Option<f64>,
        at_ms: i64,
    ) -> Result<Option<Alert>, StoreError> {
        let mut conn = self.write_of(Data::ALERTS)?;
        let tx = conn.transaction()?;
        let moved = transition_in(&tx, id, from, to, actor, note, value, at_ms)?;
        let alert = match moved {
            Some(()) => alert_by_id(&tx, id)?,
            None => None,
        };
        tx.commit()?;
        Ok(alert)
    }

    /// An operator's change: `to` from any state `allowed` lets go to it.
    pub fn change_alert(
        &self,
        id: i64,
        allowed: &[AlertState],
        to: AlertState,
        actor: &str,
        note: Option<&str>,
        at_ms: i64,
    ) -> Result<Result<Alert, Refusal>, StoreError> {
        let mut conn = self.write_of(Data::ALERTS)?;
        let tx = conn.transaction()?;
        let Some(current) = alert_by_id(&tx, id)? else {
            return Ok(Err(Refusal::NotFound));
        };
        if !allowed.contains(&current.state) {
            return Ok(Err(Refusal::Conflict(current.state)));
        }
        transition_in(
            &tx,
            id,
            current.state,
            to,
            actor,
            note,
            current.current_value,
            at_ms,
        )?;
        let alert = alert_by_id(&tx, id)?;
        tx.commit()?;
        Ok(alert.ok_or(Refusal::NotFound))
    }

    /// Keeps the latest value of an open alert (not a transition).
    pub fn set_alert_value(
        &self,
        id: i64,
        value: f64,
        condition_holds: bool,
    ) -> Result<(), StoreError> {
        self.write_of(Data::ALERTS)?.execute(
            "UPDATE alerts SET current_value = ?2, condition_holds = ?3
             WHERE id = ?1 AND state != 'resolved'",
            params![id, value, condition_holds],
        )?;
        Ok(())
    }

    /// One page of alerts, the number matching, and the number open.
    pub fn alerts(&self, f: &AlertFilter) -> Result<(Vec<Alert>, u64, u64), StoreError> {
        let conn = self.read()?;
        let mut clauses = vec!["1 = 1".to_owned()];
        if !f.states.is_empty() {
            let names: Vec<&str> = f.states.iter().map(|s| s.as_str()).collect();
            clauses.push(one_of("state", &names));
        }
        if !f.severities.is_empty() {
            let names: Vec<&str> = f.severities.iter().map(|s| s.as_str()).collect();
            clauses.push(one_of("severity", &names));
        }
        match f.fired {
            Some(true) => clauses.push("fired_at IS NOT NULL".into()),
            Some(false) => clauses.push("fired_at IS NULL".into()),
            None => {}
        }
        clauses.push("(?1 IS NULL OR started_at <= ?1)".into());
        clauses.push("(?2 IS NULL OR resolved_at IS NULL OR resolved_at >= ?2)".into());
        let filter = clauses.join(" AND ");
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM alerts WHERE {filter}"),
            params![f.to_ms, f.from_ms],
            |r| r.get(0),
        )?;
        let open: i64 = conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE state != 'resolved'",
            [],
            |r| r.get(0),
        )?;
        // Open ones first, most severe then oldest; then the rest, newest first.
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {filter}
             ORDER BY state = 'resolved',
                CASE WHEN state != 'resolved' THEN
                    CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
                END,
                CASE WHEN state != 'resolved' THEN started_at END,
                COALESCE(resolved_at, started_at) DESC, id DESC
             LIMIT ?3 OFFSET ?4"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![f.to_ms, f.from_ms, f.limit, f.offset], alert_row)?;
        let alerts = rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|a| with_history(&conn, a))
            .collect::<Result<_, _>>()?;
        Ok((alerts, total as u64, open as u64))
    }
}

/// Within a transaction: moves `id` from `from` to `to` if it is still
/// there, and records the transition. `None` when it was not.
#[allow(clippy::too_many_arguments)]
fn transition_in(
    conn: &Connection,
    id: i64,
    from: AlertState,
    to: AlertState,
    actor: &str,
    note: Option<&str>,
    value: Option<f64>,
    at_ms: i64,
) -> Result<Option<()>, StoreError> {
    let set = match to {
        AlertState::Pending => "",
        AlertState::Firing => ", fired_at = ?4",
        AlertState::Acknowledged => ", acknowledged_by = ?5, acknowledged_at = ?4, note = ?6",
        AlertState::Resolved => ", resolved_by = ?5, resolved_at = ?4, note = COALESCE(?6, note)",
    };
    let n = conn.execute(
        &format!(
            "UPDATE alerts SET state = ?3, current_value = COALESCE(?7, current_value){set}
             WHERE id = ?1 AND state = ?2"
        ),
        params![id, from.as_str(), to.as_str(), at_ms, actor, note, value],
    )?;
    if n == 0 {
        return Ok(None);
    }
    record(
        conn,
        id,
        &AlertTransition {
            at_ms,
            state: to,
            actor: actor.to_owned(),
            note: note.map(str::to_owned),
            value,
        },
    )?;
    Ok(Some(()))
}
