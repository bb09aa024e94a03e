//! This host's samples in SQLite: raw samples for the raw window, then
//! per-minute rollups (min, max, sum of each figure).

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, Transaction, params, params_from_iter};
use vigie_api::HostSample;

use crate::rollup::{HostAggregate, Sums, fold_hosts};
use crate::store::{Batch, Store, StoreError};

/// The columns of a host sample, in the order [`host_sample_row`] reads
/// them (this host's `host_samples` and node_exporter's `node_samples`).
macro_rules! sample_columns {
    () => {
        "ts_ms, cpu_usage, memory_usage, disk_usage, network_usage, memory_used_bytes, \
         disk_used_bytes, network_rx_bytes_per_s, network_tx_bytes_per_s"
    };
}
pub(crate) use sample_columns;

impl Store {
    pub fn insert_host_sample(&self, s: &HostSample) -> Result<(), StoreError> {
        self.insert_batch(&Batch {
            hosts: vec![s.clone()],
            ..Batch::default()
        })
    }

    /// Host samples with `from_ms <= ts_ms <= to_ms`, oldest first.
    pub fn host_samples_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HostSample>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(concat!(
            "SELECT ",
            sample_columns!(),
            " FROM host_samples WHERE ts_ms BETWEEN ?1 AND ?2 ORDER BY ts_ms"
        ))?;
        let rows = stmt.query_map([from_ms, to_ms], host_sample_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Per-minute host aggregates whose minute starts in `[from_ms, to_ms]`.
    pub fn host_rollups_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, HostAggregate)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ts_ms, count, cpu_min, cpu_max, cpu_sum, mem_min, mem_max, mem_sum,
                    disk_min, disk_max, disk_sum, net_min, net_max, net_sum
             FROM host_rollups WHERE ts_ms BETWEEN ?1 AND ?2 ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map([from_ms, to_ms], |r| {
            Ok((r.get(0)?, host_aggregate_at(r, 1)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The newest `limit` samples, oldest first.
    pub fn recent_host_samples(&self, limit: usize) -> Result<Vec<HostSample>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(concat!(
            "SELECT ",
            sample_columns!(),
            " FROM host_samples ORDER BY ts_ms DESC LIMIT ?1"
        ))?;
        let mut rows = stmt
            .query_map([limit as i64], host_sample_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.reverse();
        Ok(rows)
    }
}

/// A host rollup from columns `i..`: count, then min, max, sum of cpu,
/// memory, disk and network.
pub(crate) fn host_aggregate_at(r: &Row<'_>, i: usize) -> rusqlite::Result<HostAggregate> {
    let sums = |j: usize| -> rusqlite::Result<Sums> {
        Ok(Sums {
            min: r.get(j)?,
            max: r.get(j + 1)?,
            sum: r.get(j + 2)?,
        })
    };
    Ok(HostAggregate {
        count: r.get::<_, i64>(i)?.max(0) as u64,
        figures: [sums(i + 1)?, sums(i + 4)?, sums(i + 7)?, sums(i + 10)?],
    })
}

/// A host sample's columns, in the order of `host_samples` (and of
/// `node_samples` after its target).
pub(crate) fn host_values(s: &HostSample) -> [Value; 9] {
    [
        Value::Integer(s.ts_ms),
        Value::Real(s.cpu_usage),
        Value::Real(s.memory_usage),
        Value::Real(s.disk_usage),
        Value::Real(s.network_usage),
        Value::Integer(s.memory_used_bytes as i64),
        Value::Integer(s.disk_used_bytes as i64),
        Value::Real(s.network_rx_bytes_per_s),
        Value::Real(s.network_tx_bytes_per_s),
    ]
}

pub(crate) fn host_sample_row(r: &Row<'_>) -> rusqlite::Result<HostSample> {
    Ok(HostSample {
        ts_ms: r.get(0)?,
        cpu_usage: r.get(1)?,
        memory_usage: r.get(2)?,
        disk_usage: r.get(3)?,
        network_usage: r.get(4)?,
        memory_used_bytes: r.get::<_, i64>(5)?.max(0) as u64,
        disk_used_bytes: r.get::<_, i64>(6)?.max(0) as u64,
        network_rx_bytes_per_s: r.get(7)?,
        network_tx_bytes_per_s: r.get(8)?,
    })
}

/// Folds the raw host samples of `[from_ms, to_ms)` into per-minute
/// rollups (merged with any row already there) and deletes them, inside
/// `tx`; how many.
pub(crate) fn fold_raw(
    tx: &Transaction<'_>,
    from_ms: i64,
    to_ms: i64,
) -> Result<usize, StoreError> {
    let hosts = {
        let mut stmt = tx.prepare_cached(concat!(
            "SELECT ",
            sample_columns!(),
            " FROM host_samples WHERE ts_ms >= ?1 AND ts_ms < ?2"
        ))?;
        let rows = stmt.query_map([from_ms, to_ms], host_sample_row)?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    for (minute, mut agg) in fold_hosts(&hosts) {
        let existing = tx
            .query_row(
                "SELECT count, cpu_min, cpu_max, cpu_sum, mem_min, mem_max, mem_sum,
                        disk_min, disk_max, disk_sum, net_min, net_max, net_sum
                 FROM host_rollups WHERE ts_ms = ?1",
                [minute],
                |r| host_aggregate_at(r, 0),
            )
            .optional()?;
        if let Some(existing) = existing {
            agg.merge(&existing);
        }
        let [c, m, d, n] = agg.figures;
        tx.execute(
            "INSERT OR REPLACE INTO host_rollups
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                minute,
                agg.count as i64,
                c.min,
                c.max,
                c.sum,
                m.min,
                m.max,
                m.sum,
                d.min,
                d.max,
                d.sum,
                n.min,
                n.max,
                n.sum
            ],
        )?;
    }
    tx.execute(
        "DELETE FROM host_samples WHERE ts_ms >= ?1 AND ts_ms < ?2",
        [from_ms, to_ms],
    )?;
    Ok(hosts.len())
}

/// Stores samples of this host inside `tx`.
pub(crate) fn insert(tx: &Transaction<'_>, samples: &[HostSample]) -> Result<(), StoreError> {
    let mut host = tx.prepare_cached(
        "INSERT OR REPLACE INTO host_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for s in samples {
        host.execute(params_from_iter(host_values(s)))?;
    }
    Ok(())
}
