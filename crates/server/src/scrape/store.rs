//! What scrapes give, in SQLite: samples of hosts behind node_exporter
//! targets, and request-duration histogram increases per route.

use rusqlite::types::Value;
use rusqlite::{Transaction, params, params_from_iter};
use vigie_api::HostSample;

use crate::host::store::{host_sample_row, host_values};
use crate::scrape::histogram::{HistogramDelta, SeriesKey};
use crate::store::{Store, StoreError};

impl Store {
    /// Samples of the host behind node_exporter target `target`, with
    /// `from_ms <= ts_ms <= to_ms`, oldest first; the newest `limit` of them.
    pub fn node_samples_between(
        &self,
        target: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<HostSample>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(concat!(
            "SELECT ",
            crate::host::store::sample_columns!(),
            " FROM node_samples WHERE target_id = ?1 AND ts_ms BETWEEN ?2 AND ?3
                 ORDER BY ts_ms DESC LIMIT ?4"
        ))?;
        let mut rows = stmt
            .query_map(
                params![target, from_ms, to_ms, limit as i64],
                host_sample_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Histogram increases scraped from `target` in `[from_ms, to_ms]`,
    /// optionally of one route, oldest first.
    pub fn scraped_between(
        &self,
        target: i64,
        from_ms: i64,
        to_ms: i64,
        route: Option<&str>,
    ) -> Result<Vec<(i64, HistogramDelta)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ts_ms, route, method, status, count, sum_seconds, buckets FROM scraped_requests
             WHERE target_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 AND (?4 IS NULL OR route = ?4)
             ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map(params![target, from_ms, to_ms, route], |r| {
            let buckets: String = r.get(6)?;
            Ok((
                r.get(0)?,
                HistogramDelta {
                    key: SeriesKey {
                        route: r.get(1)?,
                        method: r.get(2)?,
                        status: r.get(3)?,
                    },
                    count: r.get(4)?,
                    sum_seconds: r.get(5)?,
                    buckets: decode_buckets(&buckets),
                },
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Buckets as text: `le:count` pairs separated by spaces (`inf` for +Inf).
pub(crate) fn encode_buckets(buckets: &[(f64, f64)]) -> String {
    buckets
        .iter()
        .map(|(le, n)| {
            if le.is_infinite() {
                format!("inf:{n}")
            } else {
                format!("{le}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn decode_buckets(text: &str) -> Vec<(f64, f64)> {
    text.split_whitespace()
        .filter_map(|pair| {
            let (le, n) = pair.split_once(':')?;
            let le = if le == "inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, n.parse().ok()?))
        })
        .collect()
}

/// Stores samples of hosts behind node_exporter targets and histogram
/// increases of scraped targets inside `tx`.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    nodes: &[(i64, HostSample)],
    scraped: &[(i64, i64, HistogramDelta)],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO node_samples
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (target, s) in nodes {
        let values = std::iter::once(Value::Integer(*target)).chain(host_values(s));
        insert.execute(params_from_iter(values))?;
    }
    let mut insert =
        tx.prepare_cached("INSERT INTO scraped_requests VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
    for (target, ts_ms, d) in scraped {
        let buckets = encode_buckets(&d.buckets);
        insert.execute(params![
            target,
            ts_ms,
            d.key.route,
            d.key.method,
            d.key.status,
            d.count,
            d.sum_seconds,
            buckets
        ])?;
    }
    Ok(())
}
