//! Probe results in SQLite: raw results for the raw window, then per-minute
//! rollups per target (counts, errors, latency sums and histogram).

use rusqlite::{OptionalExtension, Row, Transaction, params};
use vigie_api::{Outcome, ProbeResult};

use crate::rollup::{LatencyHistogram, ProbeAggregate, fold_probes};
use crate::store::{Store, StoreError};

impl Store {
    /// Probe results with `from_ms <= ts_ms <= to_ms`, of one target or all, oldest first.
    pub fn probe_results_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        target: Option<i64>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT target_id, ts_ms, outcome, latency_ms, status FROM probe_results
             WHERE ts_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR target_id = ?3)
             ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map(params![from_ms, to_ms, target], probe_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Per-minute probe aggregates whose minute starts in `[from_ms, to_ms]`.
    pub fn probe_rollups_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        target: Option<i64>,
    ) -> Result<Vec<(i64, i64, ProbeAggregate)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT target_id, ts_ms, count, errors, lat_count, lat_sum, lat_min, lat_max, hist
             FROM probe_rollups WHERE ts_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR target_id = ?3)
             ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map(params![from_ms, to_ms, target], |r| {
            Ok((r.get(0)?, r.get(1)?, probe_aggregate_at(r, 2)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// How many probes a stretch of time holds and how many failed: one
/// per-minute rollup (`minute`), or one raw result (`probes` 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCount {
    pub ts_ms: i64,
    pub probes: u64,
    pub failed: u64,
    pub minute: bool,
}

impl Store {
    /// Calls `f` with the probe counts of `target` over `[from_ms, to_ms]`,
    /// rollups then raw results (older, then newer), each in time order, as
    /// they are read: no
    /// latencies, through covering indexes (for readers that only count).
    pub fn for_each_probe_count(
        &self,
        target: i64,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(ProbeCount),
    ) -> Result<(), StoreError> {
        let conn = self.read()?;
        // One snapshot for both reads: a fold in between would move
        // results from one table to the other.
        let snapshot = conn.unchecked_transaction()?;
        let mut rollups = snapshot.prepare_cached(
            "SELECT ts_ms, count, errors FROM probe_rollups
             WHERE target_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 ORDER BY ts_ms",
        )?;
        let mut rows = rollups.query(params![target, from_ms, to_ms])?;
        while let Some(r) = rows.next()? {
            f(ProbeCount {
                ts_ms: r.get(0)?,
                probes: r.get::<_, i64>(1)?.max(0) as u64,
                failed: r.get::<_, i64>(2)?.max(0) as u64,
                minute: true,
            });
        }
        let mut raw = snapshot.prepare_cached(
            "SELECT ts_ms, outcome = ?4 FROM probe_results
             WHERE target_id = ?1 AND ts_ms BETWEEN ?2 AND ?3 ORDER BY ts_ms",
        )?;
        let mut rows = raw.query(params![target, from_ms, to_ms, Outcome::Ok.as_str()])?;
        while let Some(r) = rows.next()? {
            f(ProbeCount {
                ts_ms: r.get(0)?,
                probes: 1,
                failed: u64::from(!r.get::<_, bool>(1)?),
                minute: false,
            });
        }
        Ok(())
    }
}

/// A probe rollup from columns `i..`: count, errors, lat_count, lat_sum,
/// lat_min, lat_max, hist.
pub(crate) fn probe_aggregate_at(r: &Row<'_>, i: usize) -> rusqlite::Result<ProbeAggregate> {
    let hist: Vec<u8> = r.get(i + 6)?;
    Ok(ProbeAggregate {
        count: r.get::<_, i64>(i)?.max(0) as u64,
        errors: r.get::<_, i64>(i + 1)?.max(0) as u64,
        lat_count: r.get::<_, i64>(i + 2)?.max(0) as u64,
        lat_sum: r.get(i + 3)?,
        lat_min: r.get(i + 4)?,
        lat_max: r.get(i + 5)?,
        hist: LatencyHistogram::decode(&hist).unwrap_or_default(),
    })
}

pub(crate) fn probe_row(r: &Row<'_>) -> rusqlite::Result<ProbeResult> {
    let outcome: String = r.get(2)?;
    Ok(ProbeResult {
        target_id: r.get(0)?,
        ts_ms: r.get(1)?,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Error),
        latency_ms: r.get(3)?,
        status: r.get(4)?,
    })
}

/// Folds the raw probe results of `[from_ms, to_ms)` into per-minute
/// rollups (merged with any row already there) and deletes them, inside
/// `tx`; how many.
pub(crate) fn fold_raw(
    tx: &Transaction<'_>,
    from_ms: i64,
    to_ms: i64,
) -> Result<usize, StoreError> {
    let probes = {
        let mut stmt = tx.prepare_cached(
            "SELECT target_id, ts_ms, outcome, latency_ms, status FROM probe_results
             WHERE ts_ms >= ?1 AND ts_ms < ?2",
        )?;
        let rows = stmt.query_map([from_ms, to_ms], probe_row)?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    for ((target, minute), mut agg) in fold_probes(&probes) {
        let existing = tx
            .query_row(
                "SELECT count, errors, lat_count, lat_sum, lat_min, lat_max, hist
                 FROM probe_rollups WHERE target_id = ?1 AND ts_ms = ?2",
                [target, minute],
                |r| probe_aggregate_at(r, 0),
            )
            .optional()?;
        if let Some(existing) = existing {
            agg.merge(&existing);
        }
        tx.execute(
            "INSERT OR REPLACE INTO probe_rollups VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                target,
                minute,
                agg.count as i64,
                agg.errors as i64,
                agg.lat_count as i64,
                agg.lat_sum,
                agg.lat_min,
                agg.lat_max,
                agg.hist.encode()
            ],
        )?;
    }
    tx.execute(
        "DELETE FROM probe_results WHERE ts_ms >= ?1 AND ts_ms < ?2",
        [from_ms, to_ms],
    )?;
    Ok(probes.len())
}

/// Stores probe results inside `tx`.
pub(crate) fn insert(tx: &Transaction<'_>, probes: &[ProbeResult]) -> Result<(), StoreError> {
    let mut probe = tx.prepare_cached(
        "INSERT INTO probe_results (target_id, ts_ms, outcome, latency_ms, status)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for p in probes {
        probe.execute(params![
            p.target_id,
            p.ts_ms,
            p.outcome.as_str(),
            p.latency_ms,
            p.status
        ])?;
    }
    Ok(())
}
