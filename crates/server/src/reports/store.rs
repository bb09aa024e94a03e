//! Reports in SQLite: one row per generation, its progress and its files.

use rusqlite::{OptionalExtension, Row, params};
use vigie_api::{ReportFile, ReportInfo, ReportRequest, ReportStatus};

use crate::store::{Store, StoreError, text};

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

impl Store {
    /// Records a queued report; its id.
    pub fn insert_report(
        &self,
        request: &ReportRequest,
        (from_ms, to_ms): (i64, i64),
        requested_by: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        let request = to_json(request)?;
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO reports (status, progress, step, from_ms, to_ms, request, requested_by,
                                  created_at, files)
             VALUES ('queued', 0, 'waiting for a free worker', ?1, ?2, ?3, ?4, ?5, '[]')",
            params![from_ms, to_ms, request, requested_by, at_ms],
        )?;
        Ok(conn.last_insert_rowid())
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
}
