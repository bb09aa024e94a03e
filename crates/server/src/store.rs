//! SQLite storage under the data directory. One connection, used only from
//! blocking threads (`spawn_blocking`), so the async runtime never waits on disk.
//! The schema is versioned with `PRAGMA user_version` and migrated at open.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, params};
use vigie_api::HostSample;

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
const MIGRATIONS: &[&str] = &["CREATE TABLE host_samples (
        ts_ms INTEGER PRIMARY KEY,
        cpu_usage REAL NOT NULL,
        memory_usage REAL NOT NULL,
        disk_usage REAL NOT NULL,
        network_usage REAL NOT NULL,
        memory_used_bytes INTEGER NOT NULL,
        disk_used_bytes INTEGER NOT NULL,
        network_rx_bytes_per_s REAL NOT NULL,
        network_tx_bytes_per_s REAL NOT NULL
    );"];

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
        self.lock()?.execute(
            "INSERT OR REPLACE INTO host_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                s.ts_ms,
                s.cpu_usage,
                s.memory_usage,
                s.disk_usage,
                s.network_usage,
                s.memory_used_bytes as i64,
                s.disk_used_bytes as i64,
                s.network_rx_bytes_per_s,
                s.network_tx_bytes_per_s
            ],
        )?;
        Ok(())
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
            .query_map([limit as i64], |r| {
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
            })?
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
