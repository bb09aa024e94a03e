//! Targets in SQLite: the list the prober runs and the API edits.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params_from_iter};
use vigie_api::{ProbeMethod, TargetKind, TargetSpec};

use crate::store::{Store, StoreError};

impl Store {
    pub fn targets(&self) -> Result<Vec<(i64, TargetSpec)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, url, method, expected_status, interval_ms, timeout_ms, enabled, kind
             FROM targets ORDER BY id",
        )?;
        let rows = stmt.query_map([], target_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn target(&self, id: i64) -> Result<Option<TargetSpec>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, url, method, expected_status, interval_ms, timeout_ms, enabled, kind
             FROM targets WHERE id = ?1",
        )?;
        Ok(stmt
            .query_row([id], target_row)
            .optional()?
            .map(|(_, spec)| spec))
    }

    pub fn insert_target(&self, t: &TargetSpec) -> Result<i64, StoreError> {
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO targets
                 (name, url, method, expected_status, interval_ms, timeout_ms, enabled, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params_from_iter(target_values(t)),
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Replaces a target's spec; `false` when there is no such target.
    pub fn update_target(&self, id: i64, t: &TargetSpec) -> Result<bool, StoreError> {
        let n = self.write()?.execute(
            "UPDATE targets SET name = ?2, url = ?3, method = ?4, expected_status = ?5,
                    interval_ms = ?6, timeout_ms = ?7, enabled = ?8, kind = ?9 WHERE id = ?1",
            params_from_iter(std::iter::once(Value::Integer(id)).chain(target_values(t))),
        )?;
        Ok(n == 1)
    }

    /// Deletes a target (its results stay in the history); `false` when absent.
    pub fn delete_target(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM targets WHERE id = ?1", [id])?
            == 1)
    }
}

pub(crate) fn target_row(r: &Row<'_>) -> rusqlite::Result<(i64, TargetSpec)> {
    let method: String = r.get(3)?;
    Ok((
        r.get(0)?,
        TargetSpec {
            name: r.get(1)?,
            url: r.get(2)?,
            method: if method == "HEAD" {
                ProbeMethod::Head
            } else {
                ProbeMethod::Get
            },
            expected_status: r.get(4)?,
            interval_ms: r.get::<_, i64>(5)?.max(0) as u64,
            timeout_ms: r.get::<_, i64>(6)?.max(0) as u64,
            enabled: r.get(7)?,
            kind: if r.get::<_, String>(8)? == "prometheus" {
                TargetKind::Prometheus
            } else {
                TargetKind::Http
            },
        },
    ))
}

/// A target's columns after its id, in table order.
pub(crate) fn target_values(t: &TargetSpec) -> [Value; 8] {
    [
        Value::Text(t.name.clone()),
        Value::Text(t.url.clone()),
        Value::Text(method_str(t.method).into()),
        Value::Integer(i64::from(t.expected_status)),
        Value::Integer(t.interval_ms as i64),
        Value::Integer(t.timeout_ms as i64),
        Value::Integer(i64::from(t.enabled)),
        Value::Text(kind_str(t.kind).into()),
    ]
}

pub(crate) fn kind_str(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Http => "http",
        TargetKind::Prometheus => "prometheus",
    }
}

pub(crate) fn method_str(m: ProbeMethod) -> &'static str {
    match m {
        ProbeMethod::Get => "GET",
        ProbeMethod::Head => "HEAD",
    }
}
