//! Reports in SQLite: one row per generation, its progress and its files;
//! the schedules and the slots they claimed.

use rusqlite::{OptionalExtension, Row, params};
use vigie_api::{
    ReportFile, ReportInfo, ReportRequest, ReportSchedule, ReportScheduleSpec, ReportStatus,
};

use super::schedule::Stored;
use crate::store::{Store, StoreError, is_unique_violation, text};

const SCHEDULE_COLUMNS: &str = "id, spec, created_at, since_ms, last_run_at, last_report_id";

fn schedule_row(r: &Row<'_>) -> rusqlite::Result<Stored> {
    let spec: ReportScheduleSpec = serde_json::from_str(text(r, 1)?).map_err(|e| json_err(1, e))?;
    Ok(Stored {
        schedule: ReportSchedule {
            id: r.get(0)?,
            spec,
            created_at: r.get(2)?,
            last_run_at: r.get(4)?,
            last_report_id: r.get(5)?,
            next_run_at: None,
        },
        since: r.get(3)?,
    })
}

const COLUMNS: &str = "id, status, progress, step, from_ms, to_ms, request, requested_by,
     created_at, finished_at, error, files";

fn json_err(i: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn status_of(s: &str) -> ReportStatus {
    match s {
        "queued" => ReportStatus::Queued,
        "running" => ReportStatus::Running,
        "succeeded" => ReportStatus::Succeeded,
        "failed" => ReportStatus::Failed,
        "cancelled" => ReportStatus::Cancelled,
        _ => ReportStatus::Interrupted,
    }
}

fn report_row(r: &Row<'_>) -> rusqlite::Result<ReportInfo> {
    let request: ReportRequest = serde_json::from_str(text(r, 6)?).map_err(|e| json_err(6, e))?;
    let files: Vec<ReportFile> = serde_json::from_str(text(r, 11)?).map_err(|e| json_err(11, e))?;
    Ok(ReportInfo {
        id: r.get(0)?,
        status: status_of(text(r, 1)?),
        progress: r.get(2)?,
        step: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        request,
        requested_by: r.get(7)?,
        created_at: r.get(8)?,
        finished_at: r.get(9)?,
        error: r.get(10)?,
        files,
    })
}

fn to_json(v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Task(format!("report: {e}")))
}

/// Records a queued report on `conn`; its id.
fn insert_queued(
    conn: &rusqlite::Connection,
    request: &ReportRequest,
    (from_ms, to_ms): (i64, i64),
    requested_by: &str,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let request = to_json(request)?;
    conn.execute(
        "INSERT INTO reports (status, progress, step, from_ms, to_ms, request, requested_by,
                              created_at, files)
         VALUES ('queued', 0, 'waiting for a free worker', ?1, ?2, ?3, ?4, ?5, '[]')",
        params![from_ms, to_ms, request, requested_by, at_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// Records a queued report; its id.
    pub fn insert_report(
        &self,
        request: &ReportRequest,
        (from_ms, to_ms): (i64, i64),
        requested_by: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let conn = self.write()?;
        insert_queued(&conn, request, (from_ms, to_ms), requested_by, at_ms)
    }

    pub fn report(&self, id: i64) -> Result<Option<ReportInfo>, StoreError> {
        let conn = self.read()?;
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], report_row).optional()?)
    }

    /// A page of reports, newest first, and how many there are.
    pub fn reports(&self, limit: u32, offset: u32) -> Result<(Vec<ReportInfo>, u64), StoreError> {
        let conn = self.read()?;
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))?;
        let sql = format!(
            "SELECT {COLUMNS} FROM reports ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([i64::from(limit), i64::from(offset)], report_row)?;
        Ok((rows.collect::<Result<Vec<_>, _>>()?, total as u64))
    }

    /// Moves a report that is not done yet along; `None` when it is done
    /// (cancelled meanwhile) or gone.
    pub fn report_progress(
        &self,
        id: i64,
        progress: u8,
        step: &str,
    ) -> Result<Option<ReportInfo>, StoreError> {
        let conn = self.write()?;
        let n = conn.execute(
            "UPDATE reports SET status = 'running', progress = ?2, step = ?3
             WHERE id = ?1 AND status IN ('queued', 'running')",
            params![id, progress, step],
        )?;
        if n == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], report_row).optional()?)
    }

    /// Ends a report that is not done yet; `None` when it already was.
    pub fn finish_report(
        &self,
        id: i64,
        status: ReportStatus,
        error: Option<&str>,
        files: &[ReportFile],
        at_ms: i64,
    ) -> Result<Option<ReportInfo>, StoreError> {
        let files = to_json(&files)?;
        let progress = if status == ReportStatus::Succeeded {
            100
        } else {
            0
        };
        let conn = self.write()?;
        let n = conn.execute(
            "UPDATE reports SET status = ?2, error = ?3, files = ?4, finished_at = ?5,
                    progress = CASE WHEN ?6 = 100 THEN 100 ELSE progress END,
                    step = CASE WHEN ?6 = 100 THEN 'done' ELSE step END
             WHERE id = ?1 AND status IN ('queued', 'running')",
            params![id, status.as_str(), error, files, at_ms, progress],
        )?;
        if n == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], report_row).optional()?)
    }

    pub fn delete_report(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM reports WHERE id = ?1", [id])?
            == 1)
    }

    /// Marks every report left queued or running (the server stopped) as
    /// interrupted; their ids.
    pub fn interrupt_unfinished_reports(&self, at_ms: i64) -> Result<Vec<i64>, StoreError> {
        let conn = self.write()?;
        let ids = {
            let mut stmt =
                conn.prepare("SELECT id FROM reports WHERE status IN ('queued', 'running')")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?
        };
        conn.execute(
            "UPDATE reports SET status = 'interrupted', finished_at = ?1,
                    error = 'the server stopped before this report was done: generate it again'
             WHERE status IN ('queued', 'running')",
            [at_ms],
        )?;
        Ok(ids)
    }

    /// Reports created before `before_ms`, to delete with their files.
    pub fn reports_before(&self, before_ms: i64) -> Result<Vec<i64>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare("SELECT id FROM reports WHERE created_at < ?1")?;
        Ok(stmt
            .query_map([before_ms], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?)
    }

    pub fn report_schedules(&self) -> Result<Vec<Stored>, StoreError> {
        let conn = self.read()?;
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM report_schedules ORDER BY id");
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], schedule_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn report_schedule(&self, id: i64) -> Result<Option<Stored>, StoreError> {
        let conn = self.read()?;
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM report_schedules WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], schedule_row).optional()?)
    }

    /// Stores a schedule whose slots count from `at_ms`; `None` when its
    /// name is taken.
    pub fn insert_report_schedule(
        &self,
        spec: &ReportScheduleSpec,
        at_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let json = to_json(spec)?;
        let conn = self.write()?;
        match conn.execute(
            "INSERT INTO report_schedules (name, spec, created_at, since_ms)
             VALUES (?1, ?2, ?3, ?3)",
            params![spec.name, json, at_ms],
        ) {
            Ok(_) => Ok(Some(conn.last_insert_rowid())),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a schedule, its slots counting from `at_ms` again: `None`
    /// when there is no such schedule, `Some(false)` when the name is taken.
    pub fn update_report_schedule(
        &self,
        id: i64,
        spec: &ReportScheduleSpec,
        at_ms: i64,
    ) -> Result<Option<bool>, StoreError> {
        let json = to_json(spec)?;
        match self.write()?.execute(
            "UPDATE report_schedules SET name = ?2, spec = ?3, since_ms = MAX(since_ms, ?4)
             WHERE id = ?1",
            params![id, spec.name, json, at_ms],
        ) {
            Ok(1) => Ok(Some(true)),
            Ok(_) => Ok(None),
            Err(e) if is_unique_violation(&e) => Ok(Some(false)),
            Err(e) => Err(e.into()),
        }
    }

    pub fn delete_report_schedule(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM report_schedules WHERE id = ?1", [id])?
            == 1)
    }

    /// Claims `slot` of schedule `id` and records its report, queued, in one
    /// transaction: the report's id, or `None` when the slot was claimed
    /// already (or the schedule is gone).
    pub fn claim_schedule_slot(
        &self,
        id: i64,
        slot: i64,
        request: &ReportRequest,
        (from_ms, to_ms): (i64, i64),
        requested_by: &str,
        at_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.transaction(|tx| {
            let claimed = tx.execute(
                "UPDATE report_schedules SET since_ms = ?2, last_run_at = ?2
                 WHERE id = ?1 AND since_ms < ?2",
                params![id, slot],
            )?;
            if claimed == 0 {
                return Ok(None);
            }
            let report = insert_queued(tx, request, (from_ms, to_ms), requested_by, at_ms)?;
            tx.execute(
                "UPDATE report_schedules SET last_report_id = ?2 WHERE id = ?1",
                params![id, report],
            )?;
            Ok(Some(report))
        })
    }
}
