//! Database sources, their reads, their statements' increases and their
//! tables', indexes' and buffer cache's in SQLite.

use rusqlite::{OptionalExtension, Row, params};
use vigie_api::DatabaseSourceSpec;

use super::stats::{ActivityIncrease, Counters, IndexStat};
use crate::store::{Data, Store, StoreError};

/// A source as stored, password included (never sent back).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSource {
    pub id: i64,
    pub spec: DatabaseSourceSpec,
}

const COLUMNS: &str = "id, name, url, username, password, interval_ms, timeout_ms, enabled, tls_ca";

fn source_row(r: &Row<'_>) -> rusqlite::Result<StoredSource> {
    Ok(StoredSource {
        id: r.get(0)?,
        spec: DatabaseSourceSpec {
            name: r.get(1)?,
            url: r.get(2)?,
            username: r.get(3)?,
            password: r.get(4)?,
            interval_ms: r.get::<_, i64>(5)?.max(0) as u64,
            timeout_ms: r.get::<_, i64>(6)?.max(0) as u64,
            enabled: r.get(7)?,
            tls_ca: r.get(8)?,
        },
    })
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A statement's increases summed over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Summed {
    pub queryid: i64,
    pub query: String,
    pub counters: Counters,
}

/// What a successful read stores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    /// The statements' increases since the read before, with their texts.
    pub statements: Vec<(i64, String, Counters)>,
    /// The tables', indexes' and blocks' increases; `None` on a baseline.
    pub activity: Option<ActivityIncrease>,
    /// The indexes this read saw (`indexrelid`, as read).
    pub indexes: Vec<(i64, IndexStat)>,
}

/// A source's reads in a range, summed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityIn {
    /// Reads compared with the one before.
    pub reads: u64,
    /// `blks_hit`, `blks_read` increases.
    pub blocks: [i64; 2],
    /// The latest baseline read at or before the last compared read, if any.
    pub baseline_ms: Option<i64>,
    /// The last compared read.
    pub last_ms: Option<i64>,
}

/// A table's increases summed over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct TableIn {
    pub schema: String,
    pub table: String,
    /// `seq_scan`, `seq_tup_read`, `idx_scan`.
    pub counters: [i64; 3],
    /// At the range's last read that saw it scanned.
    pub live_rows: i64,
}

impl Store {
    pub fn database_sources(&self) -> Result<Vec<StoredSource>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM database_sources ORDER BY id"
        ))?;
        let rows = stmt.query_map([], source_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn database_source(&self, id: i64) -> Result<Option<StoredSource>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM database_sources WHERE id = ?1"
        ))?;
        Ok(stmt.query_row([id], source_row).optional()?)
    }

    pub fn insert_database_source(&self, s: &DatabaseSourceSpec) -> Result<i64, StoreError> {
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO database_sources (name, url, username, password, interval_ms, timeout_ms, enabled, tls_ca)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.name,
                s.url,
                s.username,
                s.password.as_deref().filter(|p| !p.is_empty()),
                as_i64(s.interval_ms),
                as_i64(s.timeout_ms),
                s.enabled,
                s.tls_ca
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Replaces a source's spec; its password stays when `s.password` is
    /// `None` and the URL, user and trusted CA are the same (it is never sent to another
    /// server or as another user), and goes when it is empty. `None` when there is no such source.
    pub fn update_database_source(
        &self,
        id: i64,
        s: &DatabaseSourceSpec,
    ) -> Result<Option<StoredSource>, StoreError> {
        self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE database_sources SET name = ?2, url = ?3, username = ?4,
                        password = CASE WHEN ?5 IS NULL AND url = ?3 AND username IS ?4 AND tls_ca IS ?9 THEN password
                                        WHEN ?5 IS NULL OR ?5 = '' THEN NULL ELSE ?5 END,
                        interval_ms = ?6, timeout_ms = ?7, enabled = ?8, tls_ca = ?9
                 WHERE id = ?1",
                params![
                    id,
                    s.name,
                    s.url,
                    s.username,
                    s.password,
                    as_i64(s.interval_ms),
                    as_i64(s.timeout_ms),
                    s.enabled,
                    s.tls_ca
                ],
            )?;
            if n == 0 {
                return Ok(None);
            }
            Ok(tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM database_sources WHERE id = ?1"),
                    [id],
                    source_row,
                )
                .optional()?)
        })
    }

    /// Deletes a source (its reads stay until retention); `false` when absent.
    pub fn delete_database_source(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM database_sources WHERE id = ?1", [id])?
            == 1)
    }

    /// One read of source `id`: failed (`error`), or what it read (see
    /// [`Read`]), in one transaction.
    pub fn insert_database_read(
        &self,
        id: i64,
        ts_ms: i64,
        read: Result<&Read, &str>,
    ) -> Result<(), StoreError> {
        self.transaction_of(Data::SOURCES, |tx| {
            let blocks = read.ok().and_then(|r| r.activity.as_ref()).map(|a| a.blocks);
            tx.execute(
                "INSERT INTO database_samples (source_id, ts_ms, error, blks_hit, blks_read)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, ts_ms, read.err(), blocks.map(|b| b[0]), blocks.map(|b| b[1])],
            )?;
            let Ok(read) = read else {
                return Ok(());
            };
            let mut text = tx.prepare_cached(
                "INSERT INTO statement_texts (source_id, queryid, query) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source_id, queryid) DO UPDATE SET query = excluded.query",
            )?;
            let mut delta = tx.prepare_cached(
                "INSERT INTO statement_deltas
                    (source_id, ts_ms, queryid, calls, total_ms, max_ms, rows, blks_hit, blks_read)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (queryid, query, c) in &read.statements {
                text.execute(params![id, queryid, query])?;
                delta.execute(params![
                    id,
                    ts_ms,
                    queryid,
                    c.calls,
                    c.total_ms,
                    c.max_ms,
                    c.rows,
                    c.blks_hit,
                    c.blks_read
                ])?;
            }
            let mut index = tx.prepare_cached(
                "INSERT INTO database_indexes (source_id, indexrelid, schema_name, table_name,
                    index_name, is_constraint, size_bytes, first_seen_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                 ON CONFLICT (source_id, indexrelid) DO UPDATE SET schema_name = excluded.schema_name,
                    table_name = excluded.table_name, index_name = excluded.index_name,
                    is_constraint = excluded.is_constraint, size_bytes = excluded.size_bytes,
                    last_seen_ms = excluded.last_seen_ms",
            )?;
            for (indexrelid, i) in &read.indexes {
                index.execute(params![
                    id,
                    indexrelid,
                    i.schema,
                    i.table,
                    i.index,
                    i.constraint,
                    i.size_bytes,
                    ts_ms
                ])?;
            }
            let Some(activity) = &read.activity else {
                return Ok(());
            };
            let mut table = tx.prepare_cached(
                "INSERT INTO table_scan_deltas (source_id, ts_ms, relid, schema_name, table_name,
                    seq_scan, seq_tup_read, idx_scan, live_rows)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (relid, t) in &activity.tables {
                let [seq, rows, idx] = t.counters;
                table.execute(params![id, ts_ms, relid, t.schema, t.table, seq, rows, idx, t.live_rows])?;
            }
            let mut scans = tx.prepare_cached(
                "INSERT INTO index_scan_deltas (source_id, ts_ms, indexrelid, idx_scan)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (indexrelid, n) in &activity.indexes {
                scans.execute(params![id, ts_ms, indexrelid, n])?;
            }
            Ok(())
        })
    }

    /// Source `id`'s reads in `[from_ms, to_ms]`: the compared ones summed,
    /// and where the stretch of reads ending at the last one started.
    pub fn database_activity_in(
        &self,
        id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<ActivityIn, StoreError> {
        let conn = self.read()?;
        let (reads, hit, read, last_ms): (i64, Option<i64>, Option<i64>, Option<i64>) = conn
            .prepare_cached(
                "SELECT COUNT(*), SUM(blks_hit), SUM(blks_read), MAX(ts_ms) FROM database_samples
                 WHERE source_id = ?1 AND ts_ms BETWEEN ?2 AND ?3
                   AND error IS NULL AND blks_hit IS NOT NULL",
            )?
            .query_row(params![id, from_ms, to_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        let baseline_ms = match last_ms {
            Some(last) => conn
                .prepare_cached(
                    "SELECT MAX(ts_ms) FROM database_samples
                     WHERE source_id = ?1 AND ts_ms <= ?2 AND error IS NULL AND blks_hit IS NULL",
                )?
                .query_row(params![id, last], |r| r.get(0))?,
            None => None,
        };
        Ok(ActivityIn {
            reads: reads.max(0) as u64,
            blocks: [hit.unwrap_or(0), read.unwrap_or(0)],
            baseline_ms,
            last_ms,
        })
    }

    /// Source `id`'s tables scanned in `[from_ms, to_ms]`, summed.
    pub fn tables_in(&self, id: i64, from_ms: i64, to_ms: i64) -> Result<Vec<TableIn>, StoreError> {
        let conn = self.read()?;
        // The bare columns come from the row of MAX(ts_ms): the latest read.
        let mut stmt = conn.prepare_cached(
            "SELECT schema_name, table_name, SUM(seq_scan), SUM(seq_tup_read), SUM(idx_scan),
                    live_rows, MAX(ts_ms)
             FROM table_scan_deltas WHERE source_id = ?1 AND ts_ms BETWEEN ?2 AND ?3
             GROUP BY relid",
        )?;
        let rows = stmt.query_map(params![id, from_ms, to_ms], |r| {
            Ok(TableIn {
                schema: r.get(0)?,
                table: r.get(1)?,
                counters: [r.get(2)?, r.get(3)?, r.get(4)?],
                live_rows: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Source `id`'s indexes that enforce no constraint, first seen at or
    /// before `since_ms`, seen at `last_ms`, and not scanned in
    /// `[from_ms, last_ms]`: `(schema, table, index, size)`, largest first.
    pub fn unscanned_indexes(
        &self,
        id: i64,
        from_ms: i64,
        since_ms: i64,
        last_ms: i64,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT i.schema_name, i.table_name, i.index_name, i.size_bytes FROM database_indexes i
             WHERE i.source_id = ?1 AND NOT i.is_constraint
               AND i.first_seen_ms <= ?3 AND i.last_seen_ms >= ?4
               AND NOT EXISTS (SELECT 1 FROM index_scan_deltas d
                               WHERE d.source_id = ?1 AND d.indexrelid = i.indexrelid
                                 AND d.ts_ms BETWEEN ?2 AND ?4)
             ORDER BY i.size_bytes DESC, i.schema_name, i.index_name",
        )?;
        let rows = stmt.query_map(params![id, from_ms, since_ms, last_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every statement of source `id` called in `[from_ms, to_ms]`, summed.
    pub fn statements_in(
        &self,
        id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Summed>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT d.queryid, t.query, SUM(d.calls), SUM(d.total_ms), MAX(d.max_ms), SUM(d.rows),
                    SUM(d.blks_hit), SUM(d.blks_read)
             FROM statement_deltas d
             JOIN statement_texts t ON t.source_id = d.source_id AND t.queryid = d.queryid
             WHERE d.source_id = ?1 AND d.ts_ms BETWEEN ?2 AND ?3
             GROUP BY d.queryid",
        )?;
        let rows = stmt.query_map(params![id, from_ms, to_ms], |r| {
            Ok(Summed {
                queryid: r.get(0)?,
                query: r.get(1)?,
                counters: Counters {
                    calls: r.get(2)?,
                    total_ms: r.get(3)?,
                    max_ms: r.get(4)?,
                    rows: r.get(5)?,
                    blks_hit: r.get(6)?,
                    blks_read: r.get(7)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Statement `queryid`'s increases in `[from_ms, to_ms]`: `(ts_ms,
    /// calls, total_ms)`, oldest first.
    pub fn statement_history(
        &self,
        id: i64,
        queryid: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, i64, f64)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ts_ms, calls, total_ms FROM statement_deltas
             WHERE source_id = ?1 AND queryid = ?2 AND ts_ms BETWEEN ?3 AND ?4 ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map(params![id, queryid, from_ms, to_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
