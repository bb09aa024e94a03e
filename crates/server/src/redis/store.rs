//! Cache sources and their samples in SQLite.

use rusqlite::{OptionalExtension, Row, params};
use vigie_api::CacheSourceSpec;

use super::figures::{Read, Sample};
use crate::store::{Data, Store, StoreError};

/// A source as stored, password included (never sent back).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSource {
    pub id: i64,
    pub spec: CacheSourceSpec,
}

const SOURCE_COLUMNS: &str =
    "id, name, url, username, password, interval_ms, timeout_ms, enabled, tls_ca";

fn source_row(r: &Row<'_>) -> rusqlite::Result<StoredSource> {
    Ok(StoredSource {
        id: r.get(0)?,
        spec: CacheSourceSpec {
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

const SAMPLE_COLUMNS: &str = "ts_ms, error, run_id, latency_us, hits, misses, evicted, expired, used_memory, maxmemory, ops_per_sec, clients, uptime_s";

fn sample_row(r: &Row<'_>) -> rusqlite::Result<Sample> {
    let ts_ms = r.get(0)?;
    if let Some(error) = r.get::<_, Option<String>>(1)? {
        return Ok(Sample {
            ts_ms,
            read: Err(error),
        });
    }
    let count =
        |i| -> rusqlite::Result<u64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64) };
    let gauge = |i| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64))
    };
    Ok(Sample {
        ts_ms,
        read: Ok(Read {
            run_id: r.get(2)?,
            latency_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as f64 / 1000.0,
            hits: count(4)?,
            misses: count(5)?,
            evicted: count(6)?,
            expired: count(7)?,
            used_memory: gauge(8)?,
            maxmemory: gauge(9)?,
            ops_per_sec: gauge(10)?,
            clients: gauge(11)?,
            uptime_s: gauge(12)?,
        }),
    })
}

/// The last sample read before a range, and its time.
pub type Before = (Read, i64);

/// A sample to store: read, or why not.
#[derive(Debug, Clone)]
pub struct NewSample {
    pub source_id: i64,
    pub ts_ms: i64,
    pub read: Result<(super::info::Info, u64), String>,
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    pub fn cache_sources(&self) -> Result<Vec<StoredSource>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SOURCE_COLUMNS} FROM cache_sources ORDER BY id"
        ))?;
        let rows = stmt.query_map([], source_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn cache_source(&self, id: i64) -> Result<Option<StoredSource>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SOURCE_COLUMNS} FROM cache_sources WHERE id = ?1"
        ))?;
        Ok(stmt.query_row([id], source_row).optional()?)
    }

    pub fn insert_cache_source(&self, s: &CacheSourceSpec) -> Result<i64, StoreError> {
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO cache_sources (name, url, username, password, interval_ms, timeout_ms, enabled, tls_ca)
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
    pub fn update_cache_source(
        &self,
        id: i64,
        s: &CacheSourceSpec,
    ) -> Result<Option<StoredSource>, StoreError> {
        self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE cache_sources SET name = ?2, url = ?3, username = ?4,
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
                    &format!("SELECT {SOURCE_COLUMNS} FROM cache_sources WHERE id = ?1"),
                    [id],
                    source_row,
                )
                .optional()?)
        })
    }

    /// Deletes a source (its samples stay until retention); `false` when absent.
    pub fn delete_cache_source(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .write()?
            .execute("DELETE FROM cache_sources WHERE id = ?1", [id])?
            == 1)
    }

    pub fn insert_cache_sample(&self, s: &NewSample) -> Result<(), StoreError> {
        let conn = self.write_of(Data::SOURCES)?;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO cache_samples (source_id, ts_ms, error, run_id, version, latency_us, hits,
                 misses, evicted, expired, used_memory, maxmemory, ops_per_sec, clients, uptime_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        match &s.read {
            Err(e) => stmt.execute(params![
                s.source_id,
                s.ts_ms,
                e,
                None::<String>,
                None::<String>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                None::<i64>
            ])?,
            Ok((info, latency_us)) => stmt.execute(params![
                s.source_id,
                s.ts_ms,
                None::<String>,
                info.run_id,
                info.version,
                as_i64(*latency_us),
                as_i64(info.hits),
                as_i64(info.misses),
                as_i64(info.evicted),
                as_i64(info.expired),
                info.used_memory.map(as_i64),
                info.maxmemory.map(as_i64),
                info.ops_per_sec.map(as_i64),
                info.clients.map(as_i64),
                info.uptime_s.map(as_i64)
            ])?,
        };
        Ok(())
    }

    /// Source `id`'s samples in `[from_ms, to_ms]`, oldest first, with the
    /// last sample read before `from_ms` (where the range's increases start).
    pub fn cache_samples(
        &self,
        id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Option<Before>, Vec<Sample>), StoreError> {
        let conn = self.read()?;
        let before = conn
            .prepare_cached(&format!(
                "SELECT {SAMPLE_COLUMNS} FROM cache_samples
                 WHERE source_id = ?1 AND ts_ms < ?2 AND error IS NULL
                 ORDER BY ts_ms DESC LIMIT 1"
            ))?
            .query_row(params![id, from_ms], sample_row)
            .optional()?
            .and_then(|s| s.read.ok().map(|r| (r, s.ts_ms)));
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SAMPLE_COLUMNS} FROM cache_samples
             WHERE source_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 ORDER BY ts_ms"
        ))?;
        let rows = stmt.query_map(params![id, from_ms, to_ms], sample_row)?;
        Ok((before, rows.collect::<Result<Vec<_>, _>>()?))
    }
}
