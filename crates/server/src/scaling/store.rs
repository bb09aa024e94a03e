//! Scaling in SQLite: configurations (their spec as JSON) and the audit log
//! of actions. An action is stored `running` before its executor is called
//! and finished after, so a crash in between leaves a row that start-up
//! marks `interrupted`, never one that says it succeeded.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use vigie_api::{
    ScalingAction, ScalingConfig, ScalingConfigSpec, ScalingDirection, ScalingOutcome,
};

use crate::store::{Store, StoreError, is_unique_violation, text};

/// What saving a configuration came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Done(i64),
    NoSuchConfig,
    NameTaken,
}

/// An action about to be handed to its executor.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub config: &'a ScalingConfig,
    pub direction: ScalingDirection,
    pub actor: &'a str,
    pub automatic: bool,
    pub reason: &'a str,
    pub trigger_value: Option<f64>,
    pub before: Option<u32>,
    pub after: Option<u32>,
    pub forced: bool,
    pub idempotency_key: Option<&'a str>,
    pub at_ms: i64,
}

/// Whether an action was recorded, or one with the same key already was.
#[derive(Debug, Clone)]
pub enum Started {
    New(i64),
    Repeat(Box<ScalingAction>),
}

/// The filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub config: Option<i64>,
    pub actor: Option<String>,
    pub outcome: Option<ScalingOutcome>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

const ACTION_COLUMNS: &str = "id, config_id, config_name, direction, actor, automatic, reason,
     trigger_value, executor, before, after, outcome, error, output, forced, started_at, finished_at";

fn spec_json(spec: &ScalingConfigSpec) -> Result<String, StoreError> {
    serde_json::to_string(spec).map_err(|e| StoreError::Task(format!("scaling spec: {e}")))
}

fn config_row(r: &Row<'_>) -> rusqlite::Result<ScalingConfig> {
    let spec: ScalingConfigSpec = serde_json::from_str(text(r, 1)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ScalingConfig {
        id: r.get(0)?,
        spec,
    })
}

fn direction_of(s: &str) -> ScalingDirection {
    match s {
        "up" => ScalingDirection::Up,
        "down" => ScalingDirection::Down,
        _ => ScalingDirection::Set,
    }
}

pub(crate) fn direction_name(d: ScalingDirection) -> &'static str {
    match d {
        ScalingDirection::Up => "up",
        ScalingDirection::Down => "down",
        ScalingDirection::Set => "set",
    }
}

fn outcome_of(s: &str) -> ScalingOutcome {
    match s {
        "running" => ScalingOutcome::Running,
        "succeeded" => ScalingOutcome::Succeeded,
        "failed" => ScalingOutcome::Failed,
        _ => ScalingOutcome::Interrupted,
    }
}

fn action_row(r: &Row<'_>) -> rusqlite::Result<ScalingAction> {
    Ok(ScalingAction {
        id: r.get(0)?,
        configuration_id: r.get(1)?,
        configuration_name: r.get(2)?,
        direction: direction_of(text(r, 3)?),
        actor: r.get(4)?,
        automatic: r.get(5)?,
        reason: r.get(6)?,
        trigger_value: r.get(7)?,
        executor: r.get(8)?,
        before: r.get(9)?,
        after: r.get(10)?,
        outcome: outcome_of(text(r, 11)?),
        error: r.get(12)?,
        output: r.get(13)?,
        forced: r.get(14)?,
        started_at: r.get(15)?,
        finished_at: r.get(16)?,
    })
}

impl Store {
    pub fn scaling_configs(&self) -> Result<Vec<ScalingConfig>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached("SELECT id, spec FROM scaling_configs ORDER BY id")?;
        let rows = stmt.query_map([], config_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn scaling_config(&self, id: i64) -> Result<Option<ScalingConfig>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached("SELECT id, spec FROM scaling_configs WHERE id = ?1")?;
        Ok(stmt.query_row([id], config_row).optional()?)
    }

    pub fn insert_scaling_config(&self, spec: &ScalingConfigSpec) -> Result<Saved, StoreError> {
        let json = spec_json(spec)?;
        let conn = self.write()?;
        match conn.execute(
            "INSERT INTO scaling_configs (name, spec) VALUES (?1, ?2)",
            params![spec.name, json],
        ) {
            Ok(_) => Ok(Saved::Done(conn.last_insert_rowid())),
            Err(e) if is_unique_violation(&e) => Ok(Saved::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub fn update_scaling_config(
        &self,
        id: i64,
        spec: &ScalingConfigSpec,
    ) -> Result<Saved, StoreError> {
        let json = spec_json(spec)?;
        match self.write()?.execute(
            "UPDATE scaling_configs SET name = ?2, spec = ?3 WHERE id = ?1",
            params![id, spec.name, json],
        ) {
            Ok(1) => Ok(Saved::Done(id)),
            Ok(_) => Ok(Saved::NoSuchConfig),
            Err(e) if is_unique_violation(&e) => Ok(Saved::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a configuration (its actions stay in the audit log).
    pub fn delete_scaling_config(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM scaling_configs WHERE id = ?1", [id])?
            == 1)
    }

    /// Records `a` as running, or answers the action already recorded with
    /// its idempotency key.
    pub fn start_scaling_action(&self, a: &NewAction<'_>) -> Result<Started, StoreError> {
        let conn = self.write()?;
        let inserted = conn.execute(
            "INSERT INTO scaling_actions (config_id, config_name, direction, actor, automatic,
                 reason, trigger_value, executor, before, after, outcome, forced,
                 idempotency_key, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'running', ?11, ?12, ?13)",
            params![
                a.config.id,
                a.config.spec.name,
                direction_name(a.direction),
                a.actor,
                a.automatic,
                a.reason,
                a.trigger_value,
                a.config.spec.executor.kind(),
                a.before,
                a.after,
                a.forced,
                a.idempotency_key,
                a.at_ms
            ],
        );
        match inserted {
            Ok(_) => Ok(Started::New(conn.last_insert_rowid())),
            Err(e) if is_unique_violation(&e) => {
                let sql = format!(
                    "SELECT {ACTION_COLUMNS} FROM scaling_actions
                     WHERE config_id = ?1 AND idempotency_key = ?2"
                );
                let first =
                    conn.query_row(&sql, params![a.config.id, a.idempotency_key], action_row)?;
                Ok(Started::Repeat(Box::new(first)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn scaling_action(&self, id: i64) -> Result<Option<ScalingAction>, StoreError> {
        let conn = self.read()?;
        let sql = format!("SELECT {ACTION_COLUMNS} FROM scaling_actions WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], action_row).optional()?)
    }

    /// The action recorded under `key` for `config`.
    pub fn scaling_action_by_key(
        &self,
        config: i64,
        key: &str,
    ) -> Result<Option<ScalingAction>, StoreError> {
        let conn = self.read()?;
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM scaling_actions WHERE config_id = ?1 AND idempotency_key = ?2"
        );
        Ok(conn
            .query_row(&sql, params![config, key], action_row)
            .optional()?)
    }

    /// Ends a running action with its outcome and what the executor said.
    pub fn finish_scaling_action(
        &self,
        id: i64,
        outcome: ScalingOutcome,
        error: Option<&str>,
        output: Option<&str>,
        at_ms: i64,
    ) -> Result<Option<ScalingAction>, StoreError> {
        let conn = self.write()?;
        conn.execute(
            "UPDATE scaling_actions SET outcome = ?2, error = ?3, output = ?4, finished_at = ?5
             WHERE id = ?1 AND outcome = 'running'",
            params![id, outcome.as_str(), error, output, at_ms],
        )?;
        let sql = format!("SELECT {ACTION_COLUMNS} FROM scaling_actions WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], action_row).optional()?)
    }

    /// Marks every action left running (the process stopped during it) as
    /// interrupted; returns how many.
    pub fn interrupt_running_scaling_actions(&self, at_ms: i64) -> Result<usize, StoreError> {
        Ok(self.write()?.execute(
            "UPDATE scaling_actions SET outcome = 'interrupted', finished_at = ?1,
                    error = 'the server stopped while this action was under way: check the instance count'
             WHERE outcome = 'running'",
            [at_ms],
        )?)
    }

    /// The newest action of a configuration, whatever its outcome.
    pub fn last_scaling_action(&self, config: i64) -> Result<Option<ScalingAction>, StoreError> {
        let conn = self.read()?;
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM scaling_actions WHERE config_id = ?1
             ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        Ok(conn.query_row(&sql, [config], action_row).optional()?)
    }

    /// The newest action of a configuration that may have changed the
    /// instance count (succeeded, running or interrupted): the cooldown's start.
    pub fn last_effective_scaling_action(
        &self,
        config: i64,
    ) -> Result<Option<ScalingAction>, StoreError> {
        let conn = self.read()?;
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM scaling_actions
             WHERE config_id = ?1 AND outcome != 'failed'
             ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        Ok(conn.query_row(&sql, [config], action_row).optional()?)
    }

    /// The count of the newest succeeded action (a dry run's "instances").
    pub fn last_scaled_to(&self, config: i64) -> Result<Option<u32>, StoreError> {
        let conn = self.read()?;
        Ok(conn
            .query_row(
                "SELECT after FROM scaling_actions WHERE config_id = ?1 AND outcome = 'succeeded'
                 ORDER BY started_at DESC, id DESC LIMIT 1",
                [config],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The audit log, newest first, and how many actions match.
    pub fn scaling_actions(
        &self,
        f: &ActionFilter,
    ) -> Result<(Vec<ScalingAction>, u64), StoreError> {
        let mut wheres = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(c) = f.config {
            values.push(Value::Integer(c));
            wheres.push(format!("config_id = ?{}", values.len()));
        }
        if let Some(a) = &f.actor {
            values.push(Value::Text(a.clone()));
            wheres.push(format!("actor = ?{}", values.len()));
        }
        if let Some(o) = f.outcome {
            values.push(Value::Text(o.as_str().to_owned()));
            wheres.push(format!("outcome = ?{}", values.len()));
        }
        if let Some(from) = f.from_ms {
            values.push(Value::Integer(from));
            wheres.push(format!("started_at >= ?{}", values.len()));
        }
        if let Some(to) = f.to_ms {
            values.push(Value::Integer(to));
            wheres.push(format!("started_at <= ?{}", values.len()));
        }
        let clause = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        let conn = self.read()?;
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM scaling_actions {clause}"),
            params_from_iter(values.iter()),
            |r| r.get(0),
        )?;
        let n = values.len();
        values.push(Value::Integer(i64::from(f.limit)));
        values.push(Value::Integer(i64::from(f.offset)));
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM scaling_actions {clause}
             ORDER BY started_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
            n + 1,
            n + 2
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(values.iter()), action_row)?;
        Ok((rows.collect::<Result<Vec<_>, _>>()?, total as u64))
    }
}
