//! SQLite storage under the data directory. One connection, used only from
//! blocking threads (`spawn_blocking`), so the async runtime never waits on disk.
//! The schema is versioned with `PRAGMA user_version` and migrated at open.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};
use vigie_api::{HostSample, Outcome, ProbeMethod, ProbeResult, TargetSpec};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database task failed: {0}")]
    Task(String),
    #[error("database connection poisoned by an earlier panic")]
    Poisoned,
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

/// Each entry moves the schema one version up; never edit a released one.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE host_samples (
        ts_ms INTEGER PRIMARY KEY,
        cpu_usage REAL NOT NULL,
        memory_usage REAL NOT NULL,
        disk_usage REAL NOT NULL,
        network_usage REAL NOT NULL,
        memory_used_bytes INTEGER NOT NULL,
        disk_used_bytes INTEGER NOT NULL,
        network_rx_bytes_per_s REAL NOT NULL,
        network_tx_bytes_per_s REAL NOT NULL
    );",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE targets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        expected_status INTEGER NOT NULL,
        interval_ms INTEGER NOT NULL,
        timeout_ms INTEGER NOT NULL,
        enabled INTEGER NOT NULL
     );
     CREATE TABLE probe_results (
        target_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        latency_ms REAL,
        status INTEGER
     );
     CREATE INDEX probe_results_by_time ON probe_results (ts_ms, target_id);",
];

impl Store {
    /// Opens (creating if needed) `path`, in WAL mode, and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL: a committed transaction survives a process crash; only
        // an OS crash or power loss can lose the last ones.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        self.lock()?.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn insert_host_sample(&self, s: &HostSample) -> Result<(), StoreError> {
        self.insert_batch(std::slice::from_ref(s), &[])
    }

    /// Stores host samples and probe results in one transaction: all or nothing.
    pub fn insert_batch(
        &self,
        samples: &[HostSample],
        probes: &[ProbeResult],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        {
            let mut host = tx.prepare_cached(
                "INSERT OR REPLACE INTO host_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for s in samples {
                host.execute(params![
                    s.ts_ms,
                    s.cpu_usage,
                    s.memory_usage,
                    s.disk_usage,
                    s.network_usage,
                    s.memory_used_bytes as i64,
                    s.disk_used_bytes as i64,
                    s.network_rx_bytes_per_s,
                    s.network_tx_bytes_per_s
                ])?;
            }
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
        }
        tx.commit()?;
        Ok(())
    }

    /// Host samples with `from_ms <= ts_ms <= to_ms`, oldest first.
    pub fn host_samples_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HostSample>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ts_ms, cpu_usage, memory_usage, disk_usage, network_usage, memory_used_bytes,
                    disk_used_bytes, network_rx_bytes_per_s, network_tx_bytes_per_s
             FROM host_samples WHERE ts_ms BETWEEN ?1 AND ?2 ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map([from_ms, to_ms], host_sample_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Probe results with `from_ms <= ts_ms <= to_ms`, of one target or all, oldest first.
    pub fn probe_results_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        target: Option<i64>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT target_id, ts_ms, outcome, latency_ms, status FROM probe_results
             WHERE ts_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR target_id = ?3)
             ORDER BY ts_ms",
        )?;
        let rows = stmt.query_map(params![from_ms, to_ms, target], |r| {
            let outcome: String = r.get(2)?;
            Ok(ProbeResult {
                target_id: r.get(0)?,
                ts_ms: r.get(1)?,
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Error),
                latency_ms: r.get(3)?,
                status: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()?
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock()?.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn targets(&self) -> Result<Vec<(i64, TargetSpec)>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, url, method, expected_status, interval_ms, timeout_ms, enabled
             FROM targets ORDER BY id",
        )?;
        let rows = stmt.query_map([], target_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn target(&self, id: i64) -> Result<Option<TargetSpec>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, name, url, method, expected_status, interval_ms, timeout_ms, enabled
             FROM targets WHERE id = ?1",
        )?;
        Ok(stmt
            .query_row([id], target_row)
            .optional()?
            .map(|(_, spec)| spec))
    }

    pub fn insert_target(&self, t: &TargetSpec) -> Result<i64, StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO targets (name, url, method, expected_status, interval_ms, timeout_ms, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                t.name,
                t.url,
                method_str(t.method),
                t.expected_status,
                t.interval_ms as i64,
                t.timeout_ms as i64,
                t.enabled
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Replaces a target's spec; `false` when there is no such target.
    pub fn update_target(&self, id: i64, t: &TargetSpec) -> Result<bool, StoreError> {
        let n = self.lock()?.execute(
            "UPDATE targets SET name = ?2, url = ?3, method = ?4, expected_status = ?5,
                    interval_ms = ?6, timeout_ms = ?7, enabled = ?8 WHERE id = ?1",
            params![
                id,
                t.name,
                t.url,
                method_str(t.method),
                t.expected_status,
                t.interval_ms as i64,
                t.timeout_ms as i64,
                t.enabled
            ],
        )?;
        Ok(n == 1)
    }

    /// Deletes a target (its results stay in the history); `false` when absent.
    pub fn delete_target(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .execute("DELETE FROM targets WHERE id = ?1", [id])?
            == 1)
    }

    /// Deletes probe results older than `before_ms`; returns how many went.
    pub fn prune_probe_results(&self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .lock()?
            .execute("DELETE FROM probe_results WHERE ts_ms < ?1", [before_ms])?)
    }

    /// The newest `limit` samples, oldest first.
    pub fn recent_host_samples(&self, limit: usize) -> Result<Vec<HostSample>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT ts_ms, cpu_usage, memory_usage, disk_usage, network_usage, memory_used_bytes,
                    disk_used_bytes, network_rx_bytes_per_s, network_tx_bytes_per_s
             FROM host_samples ORDER BY ts_ms DESC LIMIT ?1",
        )?;
        let mut rows = stmt
            .query_map([limit as i64], host_sample_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Deletes host samples older than `before_ms`; returns how many went.
    pub fn prune_host_samples(&self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .lock()?
            .execute("DELETE FROM host_samples WHERE ts_ms < ?1", [before_ms])?)
    }
}

fn method_str(m: ProbeMethod) -> &'static str {
    match m {
        ProbeMethod::Get => "GET",
        ProbeMethod::Head => "HEAD",
    }
}

fn target_row(r: &Row<'_>) -> rusqlite::Result<(i64, TargetSpec)> {
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
        },
    ))
}

fn host_sample_row(r: &Row<'_>) -> rusqlite::Result<HostSample> {
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

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts_ms: i64) -> HostSample {
        HostSample {
            ts_ms,
            cpu_usage: 1.5,
            memory_usage: 2.5,
            disk_usage: 3.5,
            network_usage: 4.5,
            memory_used_bytes: 5,
            disk_used_bytes: 6,
            network_rx_bytes_per_s: 7.0,
            network_tx_bytes_per_s: 8.0,
        }
    }

    #[test]
    fn samples_survive_reopening_and_come_back_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/vigie.db");
        {
            let store = Store::open(&path).expect("open");
            for ts in [3000, 1000, 2000] {
                store.insert_host_sample(&sample(ts)).expect("insert");
            }
        }
        let store = Store::open(&path).expect("reopen");
        let got = store.recent_host_samples(2).expect("read");
        assert_eq!(got, vec![sample(2000), sample(3000)]);
        assert_eq!(store.prune_host_samples(2500).expect("prune"), 2);
        assert_eq!(
            store.recent_host_samples(10).expect("read"),
            vec![sample(3000)]
        );
    }

    #[test]
    fn migrations_run_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vigie.db");
        drop(Store::open(&path).expect("first open"));
        let store = Store::open(&path).expect("second open runs no migration twice");
        let version: usize = store
            .lock()
            .expect("lock")
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len());
    }
}
