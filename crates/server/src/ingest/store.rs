//! Ingested requests in SQLite: raw rows for the raw window and, written in
//! the same transaction, one rollup row per service, endpoint, method and
//! minute, which long ranges are read from.

use rusqlite::{Connection, Row, Transaction, params};

use crate::rollup::{
    LatencyHistogram, ProbeAggregate, ROLLUP_MS, RequestKey, fold_requests, minute_of,
};
use crate::store::{Store, StoreError, blob, text};

/// One request reported through `ingest/`, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub ts_ms: i64,
    pub service: String,
    pub endpoint: String,
    pub method: String,
    pub status: u16,
    pub duration_ms: f64,
}

/// Which requests a read covers: one service or all, one endpoint or all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFilter<'a> {
    pub service: Option<&'a str>,
    pub endpoint: Option<&'a str>,
}

/// One raw request as read back, borrowed from its row: nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRow<'a> {
    pub ts_ms: i64,
    pub service: &'a str,
    pub endpoint: &'a str,
    pub method: &'a str,
    pub status: u16,
    pub duration_ms: f64,
}

/// One minute of one service, endpoint and method as read back, borrowed
/// from its row.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRollupRow<'a> {
    pub service: &'a str,
    pub endpoint: &'a str,
    pub method: &'a str,
    /// Start of the minute.
    pub ts_ms: i64,
    /// Counts, sums, minimum and maximum; its histogram is left empty
    /// (merge with [`ProbeAggregate::merge_encoded`] and `hist`).
    pub figures: ProbeAggregate,
    /// The stored latency histogram, still encoded.
    pub hist: &'a [u8],
}

impl Store {
    /// Calls `f` with every raw request with `from_ms <= ts_ms <= to_ms` that
    /// `filter` takes, as it is read (in no particular order): nothing is
    /// collected, whatever the number of rows.
    pub fn for_each_request(
        &self,
        filter: RequestFilter<'_>,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(RequestRow<'_>),
    ) -> Result<(), StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT ts_ms, service, endpoint, method, status, duration_ms FROM requests WHERE {}",
            raw_requests_where(filter)
        ))?;
        let mut rows = stmt.query(params![filter.service, filter.endpoint, from_ms, to_ms])?;
        while let Some(r) = rows.next()? {
            f(RequestRow {
                ts_ms: r.get(0)?,
                service: text(r, 1)?,
                endpoint: text(r, 2)?,
                method: text(r, 3)?,
                status: r.get(4)?,
                duration_ms: r.get(5)?,
            });
        }
        Ok(())
    }

    /// Like [`for_each_request`](Self::for_each_request) with only what a
    /// summary needs: `f(ts_ms, status, duration_ms)`.
    pub fn for_each_request_measure(
        &self,
        filter: RequestFilter<'_>,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(i64, u16, f64),
    ) -> Result<(), StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT ts_ms, status, duration_ms FROM requests WHERE {}",
            raw_requests_where(filter)
        ))?;
        let mut rows = stmt.query(params![filter.service, filter.endpoint, from_ms, to_ms])?;
        while let Some(r) = rows.next()? {
            f(r.get(0)?, r.get(1)?, r.get(2)?);
        }
        Ok(())
    }

    /// Calls `f` with every request rollup whose minute starts in
    /// `[from_ms, to_ms]` that `filter` takes, as it is read.
    pub fn for_each_request_rollup(
        &self,
        filter: RequestFilter<'_>,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(&RequestRollupRow<'_>),
    ) -> Result<(), StoreError> {
        let conn = self.read()?;
        // All services: scan when the range covers a third of the stored
        // minutes or more (see request_rollups_where).
        let scan = filter.service.is_none() && {
            let (first, last): (Option<i64>, Option<i64>) = conn
                // Two subqueries: each is one index seek, one SELECT of both
                // would read the whole index.
                .prepare_cached(
                    "SELECT (SELECT MIN(ts_ms) FROM request_rollups),
                            (SELECT MAX(ts_ms) FROM request_rollups)",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let (first, last) = (first.unwrap_or(0), last.unwrap_or(0));
            let covered = to_ms.min(last).saturating_sub(from_ms.max(first));
            covered.saturating_mul(3) >= last.saturating_sub(first)
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT service, endpoint, method, ts_ms, count, errors, lat_sum, lat_min, lat_max, hist
             FROM request_rollups WHERE {}",
            request_rollups_where(filter, scan)
        ))?;
        let mut rows = stmt.query(params![filter.service, filter.endpoint, from_ms, to_ms])?;
        while let Some(r) = rows.next()? {
            f(&RequestRollupRow {
                service: text(r, 0)?,
                endpoint: text(r, 1)?,
                method: text(r, 2)?,
                ts_ms: r.get(3)?,
                figures: request_figures_at(r, 4)?,
                hist: blob(r, 9)?,
            });
        }
        Ok(())
    }

    /// Deletes raw requests with `ts_ms < before_ms`, `chunk` rows per
    /// statement, each its own transaction, the lock released (and the
    /// thread yielding) between two; how many went.
    pub(crate) fn prune_requests(&self, before_ms: i64, chunk: usize) -> Result<usize, StoreError> {
        let mut pruned = 0;
        loop {
            let n = self.write()?.execute(
                "DELETE FROM requests WHERE rowid IN
                     (SELECT rowid FROM requests WHERE ts_ms < ?1 LIMIT ?2)",
                params![before_ms, chunk as i64],
            )?;
            pruned += n;
            if n < chunk {
                return Ok(pruned);
            }
            std::thread::yield_now();
        }
    }
}

/// The `WHERE` of a raw request read (`?1` service, `?2` endpoint, `?3..?4`
/// the time range). One endpoint of one service seeks `requests_by_endpoint`;
/// anything wider reads the time range through `requests_by_time` and
/// filters (the unary `+` keeps SQLite from scanning one service's whole
/// history through the endpoint index instead): raw reads cover an hour at
/// most, so the range is what bounds them.
pub(crate) fn raw_requests_where(f: RequestFilter<'_>) -> &'static str {
    match f {
        RequestFilter {
            service: Some(_),
            endpoint: Some(_),
        } => "service = ?1 AND endpoint = ?2 AND ts_ms BETWEEN ?3 AND ?4",
        _ => {
            "ts_ms BETWEEN ?3 AND ?4 AND (?1 IS NULL OR +service = ?1)
             AND (?2 IS NULL OR +endpoint = ?2)"
        }
    }
}

/// The `WHERE` of a request rollup read (same parameters as
/// [`raw_requests_where`]). A service (and endpoint) seeks the primary key,
/// whose rows for one key span the retention at one per minute. All
/// services read the time range through `request_rollups_by_time`, unless
/// `scan`: then the whole table in primary-key order, filtered (the unary
/// `+` keeps SQLite off the index). Each row found through the index costs
/// a second lookup in the table, about three times a row scanned (measured:
/// 155 ms against 52 ms for a week of 20 keys), so a range covering a third
/// of the stored minutes or more is read faster by the scan.
pub(crate) fn request_rollups_where(f: RequestFilter<'_>, scan: bool) -> &'static str {
    match (f.service, f.endpoint, scan) {
        (Some(_), Some(_), _) => "service = ?1 AND endpoint = ?2 AND ts_ms BETWEEN ?3 AND ?4",
        (Some(_), None, _) => "service = ?1 AND ts_ms BETWEEN ?3 AND ?4 AND ?2 IS NULL",
        (None, _, false) => {
            "ts_ms BETWEEN ?3 AND ?4 AND ?1 IS NULL AND (?2 IS NULL OR endpoint = ?2)"
        }
        (None, _, true) => {
            "+ts_ms BETWEEN ?3 AND ?4 AND ?1 IS NULL AND (?2 IS NULL OR endpoint = ?2)"
        }
    }
}

/// A request rollup's figures from columns `i..`: count, errors, lat_sum,
/// lat_min, lat_max (every request has a duration: lat_count is count); the
/// histogram is left empty.
pub(crate) fn request_figures_at(r: &Row<'_>, i: usize) -> rusqlite::Result<ProbeAggregate> {
    let count = r.get::<_, i64>(i)?.max(0) as u64;
    Ok(ProbeAggregate {
        count,
        errors: r.get::<_, i64>(i + 1)?.max(0) as u64,
        lat_count: count,
        lat_sum: r.get(i + 2)?,
        lat_min: r.get(i + 3)?,
        lat_max: r.get(i + 4)?,
        hist: LatencyHistogram::default(),
    })
}

/// Adds `agg` to the stored rollup of `key`, creating it: read, merge, write
/// back (the histogram cannot be merged in SQL).
pub(crate) fn add_request_rollup(
    conn: &Connection,
    (service, endpoint, method, minute): RequestKey<'_>,
    mut agg: ProbeAggregate,
) -> Result<(), StoreError> {
    let mut read = conn.prepare_cached(
        "SELECT count, errors, lat_sum, lat_min, lat_max, hist FROM request_rollups
         WHERE service = ?1 AND endpoint = ?2 AND method = ?3 AND ts_ms = ?4",
    )?;
    let mut rows = read.query(params![service, endpoint, method, minute])?;
    if let Some(r) = rows.next()? {
        agg.merge_encoded(&request_figures_at(r, 0)?, blob(r, 5)?);
    }
    drop(rows);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO request_rollups
             (service, endpoint, method, ts_ms, count, errors, lat_sum, lat_min, lat_max, hist)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        service,
        endpoint,
        method,
        minute,
        agg.count as i64,
        agg.errors as i64,
        agg.lat_sum,
        agg.lat_min,
        agg.lat_max,
        agg.hist.encode()
    ])?;
    Ok(())
}

/// The migration to [`REQUEST_ROLLUPS_VERSION`]'s step: folds the raw
/// requests already stored into `request_rollups` (empty until then), so that
/// an upgraded database keeps its history once raw rows past the raw window
/// go. One minute at a time, each read grouped by key as SQLite returns it:
/// memory holds one minute's keys, whatever the size of the table.
pub(crate) fn backfill_request_rollups(conn: &Connection) -> Result<(), StoreError> {
    let mut select = conn.prepare(
        "SELECT service, endpoint, method, status, duration_ms FROM requests
         WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY service, endpoint, method",
    )?;
    let mut after = conn.prepare("SELECT MIN(ts_ms) FROM requests WHERE ts_ms >= ?1")?;
    let mut next: Option<i64> = after.query_row([i64::MIN], |r| r.get(0))?;
    let (mut minutes, mut folded) = (0u64, 0u64);
    while let Some(ts) = next {
        let minute = minute_of(ts);
        let end = minute.saturating_add(ROLLUP_MS);
        let mut groups: Vec<((String, String, String), ProbeAggregate)> = Vec::new();
        let mut rows = select.query([minute, end])?;
        while let Some(r) = rows.next()? {
            let (service, endpoint, method) = (text(r, 0)?, text(r, 1)?, text(r, 2)?);
            let same = groups
                .last()
                .is_some_and(|((s, e, m), _)| s == service && e == endpoint && m == method);
            if !same {
                let key = (service.to_owned(), endpoint.to_owned(), method.to_owned());
                groups.push((key, ProbeAggregate::default()));
            }
            if let Some((_, agg)) = groups.last_mut() {
                agg.add_request(r.get(3)?, r.get(4)?);
                folded += 1;
            }
        }
        drop(rows);
        for ((service, endpoint, method), agg) in groups {
            add_request_rollup(conn, (&service, &endpoint, &method, minute), agg)?;
        }
        minutes += 1;
        next = if end == i64::MAX {
            None
        } else {
            after.query_row([end], |r| r.get(0))?
        };
    }
    if folded > 0 {
        tracing::info!(requests = folded, minutes, "request rollups back-filled");
    }
    Ok(())
}

/// Stores requests and, in the same transaction, their per-minute rollups:
/// a committed request is in both or in neither, and long ranges never need
/// the raw rows.
pub(crate) fn insert(tx: &Transaction<'_>, requests: &[StoredRequest]) -> Result<(), StoreError> {
    insert_raw(tx, requests)?;
    for (key, agg) in fold_requests(requests) {
        add_request_rollup(tx, key, agg)?;
    }
    Ok(())
}

/// Stores the raw rows of `requests` only, without their rollups: half of
/// [`insert`], and what a Vigie older than the rollups wrote (upgrade tests
/// build such a database with it).
pub fn insert_raw(conn: &Connection, requests: &[StoredRequest]) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO requests (ts_ms, service, endpoint, method, status, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for r in requests {
        insert.execute(params![
            r.ts_ms,
            r.service,
            r.endpoint,
            r.method,
            r.status,
            r.duration_ms
        ])?;
    }
    Ok(())
}
