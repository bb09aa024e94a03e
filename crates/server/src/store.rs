//! SQLite storage under the data directory. One connection, used only from
//! blocking threads (`spawn_blocking`), so the async runtime never waits on disk.
//! The schema is versioned with `PRAGMA user_version` and migrated at open.
//!
//! Ingested requests are stored twice in the same transaction: raw (kept for
//! the raw window, exact percentiles of short ranges) and folded per service,
//! endpoint, method and minute into `request_rollups` (kept for the
//! retention), so that a long range reads one row per minute and key whatever
//! the request rate. Request reads stream their rows into the caller's
//! accumulators (`for_each_request*`): nothing is collected row by row.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use vigie_api::{HostSample, ProbeResult};

use crate::rollup::minute_of;
use crate::scrape::histogram::HistogramDelta;

use crate::ingest::store::backfill_request_rollups;
pub use crate::ingest::store::{RequestFilter, RequestRollupRow, RequestRow, StoredRequest};

/// What one maintenance pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// Raw rows folded into rollups.
    pub rolled_up: usize,
    /// Rows deleted for being older than the retention.
    pub expired: usize,
    /// Rows deleted to bring the database under its size limit.
    pub evicted: usize,
    /// Raw requests deleted past the raw window (their rollups were written
    /// at ingest, nothing is folded).
    pub pruned: usize,
}

/// Raw requests deleted per statement past the raw window. The store's lock
/// is released between two chunks, so that ingest and queries wait for one
/// chunk at most, never for a whole day of deletions.
const PRUNE_CHUNK: usize = 50_000;

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
}

const HOUR_MS: i64 = 3_600_000;
/// Free pages returned to the file system per step (4 MiB of 4 KiB pages).
const VACUUM_PAGES: u32 = 1024;

/// Read connections besides the writer's. WAL lets each of them read the
/// last commit while a write or a maintenance pass is under way, so reads
/// never queue behind writes; a few are enough on a small machine.
pub const READERS: usize = 4;

/// Handle to the database; cheap to clone. One connection writes (the
/// batching writer, settings, targets, maintenance); [`READERS`] read-only
/// ones serve every read.
#[derive(Debug, Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    /// One counter per kind of [`Data`], each going up after every write
    /// that changed it: what a cached answer is stamped with.
    generations: Arc<[AtomicU64; Data::KINDS]>,
    /// Told after every write (one permit kept if no one is waiting).
    written: Arc<tokio::sync::Notify>,
}

#[derive(Debug)]
struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

/// A lock that a panic while it was held (a bug in one request) does not
/// make unusable for every later caller: an open transaction was rolled back
/// when its guard was dropped during the unwinding, so the connection is as
/// it was before that transaction.
fn unpoisoned<T>(r: Result<T, std::sync::PoisonError<T>>) -> T {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Readers {
    /// A free reader, or the next one in turn once it is free.
    fn get(&self) -> MutexGuard<'_, Connection> {
        for conn in &self.conns {
            match conn.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        unpoisoned(self.conns[i].lock())
    }
}

/// Kinds of data a write may change, so that an answer computed from one
/// kind (the ingested requests, say) is not recomputed for a write of
/// another (the host sample taken every second). A write says what it
/// changes with [`Store::write_of`]; [`Store::write`] changes every kind,
/// the safe default for anything not on a hot path (targets, settings,
/// maintenance, reports, scaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data(u8);

impl Data {
    pub const HOST: Data = Data(1);
    pub const PROBES: Data = Data(1 << 1);
    pub const REQUESTS: Data = Data(1 << 2);
    pub const SCRAPES: Data = Data(1 << 3);
    pub const ALERTS: Data = Data(1 << 4);
    /// Readings of the cache and database sources.
    pub const SOURCES: Data = Data(1 << 5);
    pub const NONE: Data = Data(0);
    pub const ALL: Data = Data((1 << Data::KINDS) - 1);
    const KINDS: usize = 6;

    /// Both sets of kinds.
    #[must_use]
    pub const fn and(self, other: Data) -> Data {
        Data(self.0 | other.0)
    }

    fn has(self, kind: usize) -> bool {
        self.0 & (1 << kind) != 0
    }
}

/// The connection, held for a write: the generations of the kinds of data it
/// changes go up when it is released, so that nothing computed before the
/// write is served after it.
pub(crate) struct Writing<'a> {
    conn: MutexGuard<'a, Connection>,
    changes: Data,
    generations: &'a [AtomicU64; Data::KINDS],
    written: &'a tokio::sync::Notify,
}

impl std::ops::Deref for Writing<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if self.changes == Data::NONE {
            return;
        }
        for (kind, generation) in self.generations.iter().enumerate() {
            if self.changes.has(kind) {
                generation.fetch_add(1, Ordering::Release);
            }
        }
        self.written.notify_one();
    }
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
    "CREATE TABLE probe_rollups (
        target_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        count INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        lat_count INTEGER NOT NULL,
        lat_sum REAL NOT NULL,
        lat_min REAL,
        lat_max REAL,
        hist BLOB NOT NULL,
        PRIMARY KEY (ts_ms, target_id)
     ) WITHOUT ROWID;
     CREATE TABLE host_rollups (
        ts_ms INTEGER PRIMARY KEY,
        count INTEGER NOT NULL,
        cpu_min REAL NOT NULL, cpu_max REAL NOT NULL, cpu_sum REAL NOT NULL,
        mem_min REAL NOT NULL, mem_max REAL NOT NULL, mem_sum REAL NOT NULL,
        disk_min REAL NOT NULL, disk_max REAL NOT NULL, disk_sum REAL NOT NULL,
        net_min REAL NOT NULL, net_max REAL NOT NULL, net_sum REAL NOT NULL
     );",
    "CREATE TABLE requests (
        ts_ms INTEGER NOT NULL,
        service TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        method TEXT NOT NULL,
        status INTEGER NOT NULL,
        duration_ms REAL NOT NULL
     );
     CREATE INDEX requests_by_time ON requests (ts_ms);",
    "ALTER TABLE targets ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
     CREATE TABLE node_samples (
        target_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        cpu_usage REAL NOT NULL,
        memory_usage REAL NOT NULL,
        disk_usage REAL NOT NULL,
        network_usage REAL NOT NULL,
        memory_used_bytes INTEGER NOT NULL,
        disk_used_bytes INTEGER NOT NULL,
        network_rx_bytes_per_s REAL NOT NULL,
        network_tx_bytes_per_s REAL NOT NULL,
        PRIMARY KEY (target_id, ts_ms)
     ) WITHOUT ROWID;",
    "CREATE TABLE scraped_requests (
        target_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        route TEXT NOT NULL,
        method TEXT NOT NULL,
        status TEXT NOT NULL,
        count REAL NOT NULL,
        sum_seconds REAL NOT NULL,
        buckets TEXT NOT NULL
     );
     CREATE INDEX scraped_requests_by_time ON scraped_requests (target_id, ts_ms);",
    // Alerts: rules (the seeds' default thresholds and the SLI targets to
    // start with), alerts with at most one open per rule, and every transition.
    "CREATE TABLE alert_rules (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        metric TEXT NOT NULL,
        comparison TEXT NOT NULL,
        threshold REAL NOT NULL,
        severity TEXT NOT NULL,
        for_seconds INTEGER NOT NULL,
        recovery_margin REAL NOT NULL,
        window_seconds INTEGER NOT NULL,
        target_id INTEGER,
        service TEXT,
        endpoint TEXT,
        enabled INTEGER NOT NULL
     );
     CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule_id INTEGER NOT NULL,
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        metric TEXT NOT NULL,
        comparison TEXT NOT NULL,
        threshold REAL NOT NULL,
        for_seconds INTEGER NOT NULL,
        current_value REAL,
        condition_holds INTEGER NOT NULL,
        state TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        fired_at INTEGER,
        acknowledged_by TEXT,
        acknowledged_at INTEGER,
        resolved_by TEXT,
        resolved_at INTEGER,
        note TEXT
     );
     CREATE UNIQUE INDEX alerts_one_open_per_rule ON alerts (rule_id) WHERE state != 'resolved';
     CREATE INDEX alerts_by_start ON alerts (started_at);
     CREATE TABLE alert_transitions (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT,
        value REAL
     );
     CREATE INDEX alert_transitions_by_alert ON alert_transitions (alert_id);
     INSERT INTO alert_rules (name, metric, comparison, threshold, severity, for_seconds,
                              recovery_margin, window_seconds, enabled) VALUES
        ('CPU above 80 %', 'cpu_usage', 'above', 80, 'high', 60, 5, 60, 1),
        ('Memory above 85 %', 'memory_usage', 'above', 85, 'high', 60, 5, 60, 1),
        ('Disk above 90 %', 'disk_usage', 'above', 90, 'critical', 60, 2, 60, 1),
        ('Response time above 2000 ms', 'response_time', 'above', 2000, 'high', 30, 200, 60, 1),
        ('Error rate above 5 %', 'error_rate', 'above', 5, 'critical', 30, 1, 60, 1),
        ('Cache hit rate below 50 %', 'cache_hit_rate', 'below', 50, 'medium', 60, 5, 60, 1),
        ('p95 above the 500 ms target', 'p95', 'above', 500, 'medium', 60, 50, 300, 1),
        ('p99 above the 1000 ms target', 'p99', 'above', 1000, 'medium', 60, 100, 300, 1);",
    // Requests folded per service, endpoint, method and minute, written at
    // ingest time (and back-filled from the raw rows already stored: see
    // MIGRATION_STEPS); raw requests indexed for one endpoint's queries.
    "CREATE TABLE request_rollups (
        service TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        method TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        count INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        lat_sum REAL NOT NULL,
        lat_min REAL,
        lat_max REAL,
        hist BLOB NOT NULL,
        PRIMARY KEY (service, endpoint, method, ts_ms)
     ) WITHOUT ROWID;
     CREATE INDEX request_rollups_by_time ON request_rollups (ts_ms);
     CREATE INDEX requests_by_endpoint ON requests (service, endpoint, ts_ms);",
    // Scaling: configurations (their spec as JSON: the executors' settings
    // vary) and the audit log of actions, kept when a configuration goes.
    "CREATE TABLE scaling_configs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL
     );
     CREATE TABLE scaling_actions (
        id INTEGER PRIMARY KEY,
        config_id INTEGER NOT NULL,
        config_name TEXT NOT NULL,
        direction TEXT NOT NULL,
        actor TEXT NOT NULL,
        automatic INTEGER NOT NULL,
        reason TEXT NOT NULL,
        trigger_value REAL,
        executor TEXT NOT NULL,
        before INTEGER,
        after INTEGER,
        outcome TEXT NOT NULL,
        error TEXT,
        output TEXT,
        forced INTEGER NOT NULL,
        idempotency_key TEXT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER
     );
     CREATE INDEX scaling_actions_by_config ON scaling_actions (config_id, started_at);
     CREATE INDEX scaling_actions_by_start ON scaling_actions (started_at);
     CREATE UNIQUE INDEX scaling_actions_by_key ON scaling_actions (config_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;",
    // Reports: each generation and its progress; the files are beside the
    // database (reports/<id>.<format>), written whole before `succeeded`.
    "CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        progress INTEGER NOT NULL,
        step TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        request TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        error TEXT,
        files TEXT NOT NULL
     );
     CREATE INDEX reports_by_creation ON reports (created_at);",
    // Scheduled reports: the spec as JSON; `since_ms` is where slots count
    // from (creation, last change, last run), claimed with the report.
    "CREATE TABLE report_schedules (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        since_ms INTEGER NOT NULL,
        last_run_at INTEGER,
        last_report_id INTEGER
     );",
    // One target's probe counts (recommendations: down episodes, error
    // bursts): covering indexes, so a month of one target is read without
    // the other targets' rows (6 ms against 114 ms for 20 targets).
    "CREATE INDEX probe_rollups_by_target ON probe_rollups (target_id, ts_ms, count, errors);
     CREATE INDEX probe_results_by_target ON probe_results (target_id, ts_ms, outcome);",
    // Redis cache sources and their samples: the counters as the server
    // reported them (increases are computed when read, so a restart is
    // seen), `error` set on a failed sample. Ids are never reused: a new
    // source never takes over a removed one's samples.
    "CREATE TABLE cache_sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        username TEXT,
        password TEXT,
        interval_ms INTEGER NOT NULL,
        timeout_ms INTEGER NOT NULL,
        enabled INTEGER NOT NULL
     );
     CREATE TABLE cache_samples (
        source_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        error TEXT,
        run_id TEXT,
        uptime_s INTEGER,
        version TEXT,
        latency_us INTEGER,
        hits INTEGER,
        misses INTEGER,
        evicted INTEGER,
        expired INTEGER,
        used_memory INTEGER,
        maxmemory INTEGER,
        ops_per_sec INTEGER,
        clients INTEGER
     );
     CREATE INDEX cache_samples_by_source ON cache_samples (source_id, ts_ms);",
    // PostgreSQL database sources: each read of pg_stat_statements (its
    // failure with the reason), the statements' increases since the read
    // before, and their normalised texts.
    "CREATE TABLE database_sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        username TEXT NOT NULL,
        password TEXT,
        interval_ms INTEGER NOT NULL,
        timeout_ms INTEGER NOT NULL,
        enabled INTEGER NOT NULL
     );
     CREATE TABLE database_samples (
        source_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        error TEXT
     );
     CREATE INDEX database_samples_by_source ON database_samples (source_id, ts_ms);
     CREATE TABLE statement_texts (
        source_id INTEGER NOT NULL,
        queryid INTEGER NOT NULL,
        query TEXT NOT NULL,
        PRIMARY KEY (source_id, queryid)
     );
     CREATE TABLE statement_deltas (
        source_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        queryid INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        total_ms REAL NOT NULL,
        max_ms REAL NOT NULL,
        rows INTEGER NOT NULL,
        blks_hit INTEGER NOT NULL,
        blks_read INTEGER NOT NULL
     );
     CREATE INDEX statement_deltas_by_source ON statement_deltas (source_id, ts_ms);
     INSERT INTO alert_rules (name, metric, comparison, threshold, severity, for_seconds,
                              recovery_margin, window_seconds, enabled) VALUES
        ('Slow query above 1000 ms', 'slow_query_time', 'above', 1000, 'medium', 0, 100, 300, 1);",
    // The tables', indexes' and buffer cache's statistics of the database
    // sources: each read's block increases (null on a baseline read, the
    // first after the reading starts), the tables scanned since the read
    // before, the indexes as last read (sizes, when first and last seen)
    // and those scanned.
    "ALTER TABLE database_samples ADD COLUMN blks_hit INTEGER;
     ALTER TABLE database_samples ADD COLUMN blks_read INTEGER;
     CREATE TABLE table_scan_deltas (
        source_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        relid INTEGER NOT NULL,
        schema_name TEXT NOT NULL,
        table_name TEXT NOT NULL,
        seq_scan INTEGER NOT NULL,
        seq_tup_read INTEGER NOT NULL,
        idx_scan INTEGER NOT NULL,
        live_rows INTEGER NOT NULL
     );
     CREATE INDEX table_scan_deltas_by_source ON table_scan_deltas (source_id, ts_ms);
     CREATE TABLE database_indexes (
        source_id INTEGER NOT NULL,
        indexrelid INTEGER NOT NULL,
        schema_name TEXT NOT NULL,
        table_name TEXT NOT NULL,
        index_name TEXT NOT NULL,
        is_constraint INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, indexrelid)
     ) WITHOUT ROWID;
     CREATE TABLE index_scan_deltas (
        source_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        indexrelid INTEGER NOT NULL,
        idx_scan INTEGER NOT NULL
     );
     CREATE INDEX index_scan_deltas_by_source ON index_scan_deltas (source_id, indexrelid, ts_ms);",
    // The private CA each outside source trusts over TLS (PEM), if any.
    "ALTER TABLE cache_sources ADD COLUMN tls_ca TEXT;
     ALTER TABLE database_sources ADD COLUMN tls_ca TEXT;",
    // A cache-hit-rate or slow-query rule narrowed to one source.
    "ALTER TABLE alert_rules ADD COLUMN source_id INTEGER;",
];

/// The schema version that added `request_rollups`: a database below it
/// holds raw requests only, and reaching it back-fills their rollups.
pub const REQUEST_ROLLUPS_VERSION: usize = 8;

/// What a migration computes in Rust besides its SQL, run in the same
/// transaction right after it: `(schema version reached, step)`.
type MigrationStep = fn(&Connection) -> Result<(), StoreError>;
const MIGRATION_STEPS: &[(usize, MigrationStep)] =
    &[(REQUEST_ROLLUPS_VERSION, backfill_request_rollups)];

/// Whether `e` is a UNIQUE (or other constraint) violation: a name taken.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Measurements to store together.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub hosts: Vec<HostSample>,
    pub probes: Vec<ProbeResult>,
    pub requests: Vec<StoredRequest>,
    /// Samples of hosts behind node_exporter targets: `(target, sample)`.
    pub nodes: Vec<(i64, HostSample)>,
    /// Histogram increases of scraped targets: `(target, ts_ms, delta)`.
    pub scraped: Vec<(i64, i64, HistogramDelta)>,
}

impl Store {
    /// Opens (creating if needed) `path`, in WAL mode, and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = connect(path)?;
        incremental_vacuum_on(&conn)?;
        migrate(&mut conn, MIGRATIONS.len())?;
        let readers = (0..READERS)
            .map(|_| reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Store {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers {
                conns: readers,
                next: AtomicUsize::new(0),
            }),
            generations: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
            written: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// A read-only connection: it never waits for a write in progress.
    pub(crate) fn read(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        Ok(self.readers.get())
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok`,
    /// rolled back when it fails or panics.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction_of(Data::ALL, f)
    }

    /// As [`Self::transaction`], for a write that changes only `changes`.
    pub(crate) fn transaction_of<T>(
        &self,
        changes: Data,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.write_of(changes)?;
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// The writing connection, held until the guard drops; the write may
    /// change every kind of data.
    pub(crate) fn write(&self) -> Result<Writing<'_>, StoreError> {
        self.write_of(Data::ALL)
    }

    /// The writing connection for a write that changes only `changes`.
    pub(crate) fn write_of(&self, changes: Data) -> Result<Writing<'_>, StoreError> {
        Ok(Writing {
            conn: unpoisoned(self.writer.lock()),
            changes,
            generations: &self.generations,
            written: &self.written,
        })
    }

    /// Changes after every write (data, targets, settings, maintenance).
    pub fn generation(&self) -> u64 {
        self.generation_of(Data::ALL)
    }

    /// Changes after every write that changed one of `kinds` (and every
    /// write that does not say what it changes): the sum of their counters,
    /// each of which only goes up.
    pub fn generation_of(&self, kinds: Data) -> u64 {
        self.generations
            .iter()
            .enumerate()
            .filter(|(kind, _)| kinds.has(*kind))
            .map(|(_, g)| g.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// Returns after the next write (at once if one happened since the
    /// last call). For a single waiter: the response cache's refresher.
    pub async fn written(&self) {
        self.written.notified().await;
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
        self.read()?.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// Stores everything in `batch` in one transaction: all or nothing.
    pub fn insert_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        let Batch {
            hosts: samples,
            probes,
            requests,
            nodes,
            scraped,
        } = batch;
        let changes = [
            (!samples.is_empty(), Data::HOST),
            (!probes.is_empty(), Data::PROBES),
            (!requests.is_empty(), Data::REQUESTS),
            (!nodes.is_empty() || !scraped.is_empty(), Data::SCRAPES),
        ]
        .into_iter()
        .filter(|(changed, _)| *changed)
        .fold(Data::NONE, |all, (_, kind)| all.and(kind));
        let mut conn = self.write_of(changes)?;
        let tx = conn.transaction()?;
        crate::host::store::insert(&tx, samples)?;
        crate::probes::store::insert(&tx, probes)?;
        crate::ingest::store::insert(&tx, requests)?;
        crate::scrape::store::insert(&tx, nodes, scraped)?;
        tx.commit()?;
        Ok(())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .read()?
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write()?.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// One maintenance pass, in bounded steps so that the writer's batches
    /// wait at most one step (reads never wait: they have their own
    /// connections). Raw requests older than `raw_before_ms` are deleted,
    /// [`PRUNE_CHUNK`] rows per statement (their rollups exist since
    /// ingest); raw probe results and host samples older than it are folded
    /// into per-minute rollups (merged with any row already there) and
    /// deleted, one hour per transaction; everything older than
    /// `expire_before_ms` is deleted; then, while the data takes more than
    /// `max_bytes` (0: no limit), the oldest hour, one hour per transaction.
    /// Freed pages go back to the file system and the query planner's
    /// statistics are refreshed.
    pub fn maintain(
        &self,
        raw_before_ms: i64,
        expire_before_ms: i64,
        max_bytes: u64,
    ) -> Result<Maintenance, StoreError> {
        let raw_before = minute_of(raw_before_ms);
        let mut report = Maintenance {
            pruned: self.prune_requests(raw_before, PRUNE_CHUNK)?,
            ..Maintenance::default()
        };
        let oldest: Option<i64> = self.read()?.query_row(
            "SELECT MIN(t) FROM (SELECT MIN(ts_ms) AS t FROM probe_results
                                 UNION ALL SELECT MIN(ts_ms) FROM host_samples)",
            [],
            |r| r.get(0),
        )?;
        let mut from = oldest.unwrap_or(raw_before);
        while from < raw_before {
            let to = from.saturating_add(HOUR_MS).min(raw_before);
            report.rolled_up += self.fold_raw(from, to)?;
            from = to;
            std::thread::yield_now();
        }
        report.expired = delete_before(&*self.write()?, expire_before_ms)?;
        if max_bytes > 0 {
            loop {
                let conn = self.write()?;
                if used_bytes(&conn)? <= max_bytes {
                    break;
                }
                let oldest: Option<i64> = conn.query_row(
                    "SELECT MIN(t) FROM (
                        SELECT MIN(ts_ms) AS t FROM probe_rollups
                        UNION ALL SELECT MIN(ts_ms) FROM host_rollups
                        UNION ALL SELECT MIN(ts_ms) FROM probe_results
                        UNION ALL SELECT MIN(ts_ms) FROM host_samples
                        UNION ALL SELECT MIN(ts_ms) FROM requests
                        UNION ALL SELECT MIN(ts_ms) FROM request_rollups
                        UNION ALL SELECT MIN(ts_ms) FROM node_samples
                        UNION ALL SELECT MIN(ts_ms) FROM scraped_requests)",
                    [],
                    |r| r.get(0),
                )?;
                let Some(oldest) = oldest else { break };
                let evicted = delete_before(&conn, oldest + HOUR_MS)?;
                if evicted == 0 {
                    break;
                }
                report.evicted += evicted;
            }
        }
        self.give_back_free_pages()?;
        self.write()?.execute_batch("PRAGMA optimize")?;
        Ok(report)
    }

    /// Folds the raw probe results and host samples of `[from_ms, to_ms)`
    /// into rollups and deletes them, in one transaction; how many.
    fn fold_raw(&self, from_ms: i64, to_ms: i64) -> Result<usize, StoreError> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let folded = crate::probes::store::fold_raw(&tx, from_ms, to_ms)?
            + crate::host::store::fold_raw(&tx, from_ms, to_ms)?;
        tx.commit()?;
        Ok(folded)
    }

    /// Returns free pages to the file system, [`VACUUM_PAGES`] at a time.
    fn give_back_free_pages(&self) -> Result<(), StoreError> {
        loop {
            let conn = self.write()?;
            let free: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
            if free == 0 {
                return Ok(());
            }
            conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))?;
            drop(conn);
            std::thread::yield_now();
        }
    }

    /// Bytes of the database's pages that hold data (free pages left out).
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        used_bytes(&*self.read()?)
    }
}

/// Column `i` as text borrowed from the row: no copy.
pub(crate) fn text<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    Ok(r.get_ref(i)?.as_str()?)
}

/// Column `i` as bytes borrowed from the row: no copy.
pub(crate) fn blob<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r [u8]> {
    Ok(r.get_ref(i)?.as_blob()?)
}

fn delete_before(conn: &Connection, before_ms: i64) -> Result<usize, StoreError> {
    let mut n = 0;
    for table in [
        "probe_rollups",
        "host_rollups",
        "request_rollups",
        "probe_results",
        "host_samples",
        "requests",
        "node_samples",
        "scraped_requests",
        "cache_samples",
        "database_samples",
        "statement_deltas",
        "table_scan_deltas",
        "index_scan_deltas",
    ] {
        n += conn.execute(
            &format!("DELETE FROM {table} WHERE ts_ms < ?1"),
            [before_ms],
        )?;
    }
    n += conn.execute(
        "DELETE FROM database_indexes WHERE last_seen_ms < ?1",
        [before_ms],
    )?;
    Ok(n)
}

fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pragma = |name: &str| -> Result<u64, StoreError> {
        Ok(conn
            .pragma_query_value(None, name, |r| r.get::<_, i64>(0))?
            .max(0) as u64)
    };
    Ok((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
}

/// A connection to `path` (its directory created if needed), in WAL mode.
/// A read-only connection to the database at `path` (already migrated).
fn reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Makes the file able to give freed pages back (`PRAGMA incremental_vacuum`
/// after expiry): set before the first table on a new file; an older file
/// is rebuilt once with `VACUUM` to switch.
fn incremental_vacuum_on(conn: &Connection) -> Result<(), StoreError> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
    if mode != INCREMENTAL {
        conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
        conn.execute_batch("VACUUM")?;
    }
    Ok(())
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL + NORMAL: a committed transaction survives a process crash; only
    // an OS crash or power loss can lose the last ones.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Creates (or migrates) the database at `path` up to schema version
/// `version` and no further: the file an older Vigie left behind. For
/// upgrade tests; [`Store::open`] always migrates to the newest.
pub fn create_at_version(path: &Path, version: usize) -> Result<(), StoreError> {
    migrate(&mut connect(path)?, version.min(MIGRATIONS.len()))
}

/// Runs the migrations (and their steps) from the stored version up to
/// `target`, each in its own transaction.
fn migrate(conn: &mut Connection, target: usize) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target).skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        for (_, step) in MIGRATION_STEPS.iter().filter(|(v, _)| *v == i + 1) {
            step(&tx)?;
        }
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::store::{raw_requests_where, request_rollups_where};
    use crate::rollup::ProbeAggregate;
    use rusqlite::params;
    use vigie_api::Outcome;

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
        let report = store.maintain(0, 2500, 0).expect("maintain");
        assert_eq!(report.expired, 2);
        assert_eq!(
            store.recent_host_samples(10).expect("read"),
            vec![sample(3000)]
        );
    }

    fn probe(ts_ms: i64, i: i64) -> ProbeResult {
        let failed = i % 13 == 0;
        ProbeResult {
            target_id: 1 + i % 2,
            ts_ms,
            outcome: if failed {
                Outcome::Timeout
            } else {
                Outcome::Ok
            },
            latency_ms: (!failed).then_some(5.0 + (i % 200) as f64 * 1.7),
            status: (!failed).then_some(200),
        }
    }

    fn figures(store: &Store, from: i64, to: i64) -> vigie_api::PerformanceMetrics {
        let raw = store.probe_results_between(from, to, None).expect("raw");
        let rolled: Vec<ProbeAggregate> = store
            .probe_rollups_between(from, to, None)
            .expect("rollups")
            .into_iter()
            .map(|(_, _, a)| a)
            .collect();
        crate::measures::summarise(
            raw.iter().map(crate::measures::Measure::from),
            &rolled,
            to - from,
        )
    }

    #[test]
    fn rolling_up_keeps_counts_and_averages_and_percentiles_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let hour = 3_600_000;
        let end = 1_800_000_000_000; // a whole minute
        let start = end - 3 * hour;
        let probes: Vec<ProbeResult> = (0..3 * 3600).map(|i| probe(start + i * 1000, i)).collect();
        let hosts: Vec<HostSample> = (0..3 * 3600).map(|i| sample(start + i * 1000)).collect();
        store
            .insert_batch(&Batch {
                hosts,
                probes: probes.clone(),
                ..Batch::default()
            })
            .expect("insert");
        let before = figures(&store, start, end);

        let report = store.maintain(end - hour, 0, 0).expect("maintain");
        assert_eq!(
            report.rolled_up,
            2 * 2 * 3600,
            "two hours of probes and samples"
        );
        assert!(
            store
                .probe_results_between(start, end - hour - 1, None)
                .expect("raw")
                .is_empty()
        );
        assert_eq!(
            store
                .probe_rollups_between(start, end, None)
                .expect("r")
                .len(),
            2 * 120
        );
        let after = figures(&store, start, end);
        assert_eq!(after.total_requests, before.total_requests);
        assert_eq!(after.error_rate, before.error_rate);
        let (a, b) = (
            after.avg_response_time.expect("avg"),
            before.avg_response_time.expect("avg"),
        );
        assert!(
            (a / b - 1.0).abs() < 1e-12,
            "sum ÷ count survives: {a} vs {b}"
        );
        for (x, y) in [(after.p95, before.p95), (after.p99, before.p99)] {
            let (x, y) = (x.expect("p"), y.expect("p"));
            assert!((x / y - 1.0).abs() <= 0.02, "{x} vs {y}");
        }
        let host_rolled = store
            .host_rollups_between(start, end)
            .expect("host rollups");
        assert_eq!(
            host_rolled.iter().map(|(_, a)| a.count).sum::<u64>(),
            2 * 3600
        );

        // Again: nothing left to fold, nothing changes.
        assert_eq!(
            store.maintain(end - hour, 0, 0).expect("again").rolled_up,
            0
        );
        assert_eq!(figures(&store, start, end), after);

        // Past the retention, rollups go too.
        let report = store
            .maintain(end - hour, end - 2 * hour, 0)
            .expect("expire");
        assert_eq!(
            report.expired,
            2 * 60 + 60,
            "an hour of rollups: 2 targets and the host"
        );
        assert_eq!(figures(&store, start, end).total_requests, 2 * 3600);
    }

    #[test]
    fn over_its_size_limit_the_database_drops_its_oldest_hours_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let end = 1_800_000_000_000;
        let start = end - 6 * 3_600_000;
        let probes: Vec<ProbeResult> = (0..6 * 3600).map(|i| probe(start + i * 1000, i)).collect();
        store
            .insert_batch(&Batch {
                probes: probes.clone(),
                ..Batch::default()
            })
            .expect("insert");
        let full = store.used_bytes().expect("size");
        let report = store.maintain(0, 0, full / 2).expect("maintain");
        assert!(report.evicted > 0);
        assert!(store.used_bytes().expect("size") <= full / 2);
        let left = store.probe_results_between(start, end, None).expect("raw");
        assert!(!left.is_empty(), "the newest hours stay");
        assert_eq!(left.last().map(|p| p.ts_ms), probes.last().map(|p| p.ts_ms));
        assert!(left[0].ts_ms > start, "the oldest went first");
    }

    fn request(ts_ms: i64, i: i64) -> StoredRequest {
        StoredRequest {
            ts_ms,
            service: if i % 3 == 0 { "admin" } else { "shop" }.into(),
            endpoint: if i % 2 == 0 { "/orders" } else { "/search" }.into(),
            method: "GET".into(),
            status: match i % 10 {
                0 => 503,
                1 => 404,
                _ => 200,
            },
            duration_ms: 1.0 + (i % 97) as f64 * 2.5,
        }
    }

    fn requests(store: &Store, batches: &[Vec<StoredRequest>]) {
        for b in batches {
            store
                .insert_batch(&Batch {
                    requests: b.clone(),
                    ..Batch::default()
                })
                .expect("insert");
        }
    }

    /// Every rollup row: `(service, endpoint, method, minute) -> figures`.
    fn rollups(store: &Store) -> BTreeMap<(String, String, String, i64), ProbeAggregate> {
        let mut out = BTreeMap::new();
        store
            .for_each_request_rollup(RequestFilter::default(), i64::MIN, i64::MAX, |r| {
                let mut agg = ProbeAggregate::default();
                agg.merge_encoded(&r.figures, r.hist);
                let key = (
                    r.service.into(),
                    r.endpoint.into(),
                    r.method.into(),
                    r.ts_ms,
                );
                out.insert(key, agg);
            })
            .expect("rollups");
        out
    }

    fn raw_count(store: &Store, filter: RequestFilter<'_>, from: i64, to: i64) -> usize {
        let mut n = 0;
        store
            .for_each_request(filter, from, to, |_| n += 1)
            .expect("raw");
        n
    }

    use std::collections::BTreeMap;

    #[test]
    fn a_write_moves_the_generation_of_the_data_it_changed_and_no_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let kinds = [Data::HOST, Data::PROBES, Data::REQUESTS, Data::SCRAPES];
        let moved = |write: &dyn Fn()| {
            let before: Vec<u64> = kinds.iter().map(|k| store.generation_of(*k)).collect();
            let any = store.generation();
            write();
            assert!(
                store.generation() > any,
                "every write moves the whole store's"
            );
            kinds
                .iter()
                .zip(before)
                .filter(|(k, b)| store.generation_of(**k) != *b)
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
        };
        let store = &store;
        let batch = |b: Batch| move || store.insert_batch(&b).expect("insert");
        assert_eq!(
            moved(&batch(Batch {
                hosts: vec![sample(1000)],
                ..Batch::default()
            })),
            [Data::HOST]
        );
        assert_eq!(
            moved(&batch(Batch {
                probes: vec![probe(1000, 1)],
                requests: vec![request(1000, 1)],
                ..Batch::default()
            })),
            [Data::PROBES, Data::REQUESTS]
        );
        // A write that does not say what it changes (a setting, a target,
        // maintenance) moves every kind.
        assert_eq!(
            moved(&|| store.set_setting("k", "v").expect("setting")),
            kinds
        );
        assert_eq!(
            moved(&|| {
                store.maintain(0, 0, 0).expect("maintain");
            }),
            kinds
        );
        // An empty batch changes nothing and moves nothing.
        let any = store.generation();
        store.insert_batch(&Batch::default()).expect("insert");
        assert_eq!(store.generation(), any);
    }

    #[test]
    fn requests_are_rolled_up_at_ingest_in_the_same_transaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let minute = 1_800_000_000_000; // a whole minute
        let all: Vec<StoredRequest> = (0..600).map(|i| request(minute + i * 200, i)).collect();
        // Two batches sharing minutes: the second merges into the first's rows.
        requests(&store, &[all[..250].to_vec(), all[250..].to_vec()]);
        let rolled = rollups(&store);
        assert_eq!(
            rolled,
            crate::rollup::fold_requests(&all)
                .into_iter()
                .map(|((s, e, m, ts), a)| ((s.to_owned(), e.to_owned(), m.to_owned(), ts), a))
                .collect::<BTreeMap<_, _>>()
        );
        // 120 s of requests: 2 minutes × 4 (service, endpoint) pairs.
        assert_eq!(rolled.len(), 2 * 4);
        let count: u64 = rolled.values().map(|a| a.count).sum();
        let errors: u64 = rolled.values().map(|a| a.errors).sum();
        assert_eq!(
            (count, errors),
            (600, 60),
            "5xx only: a 404 is the client's"
        );
        assert_eq!(
            raw_count(&store, RequestFilter::default(), minute, minute + 120_000),
            600
        );
        let shop_orders = RequestFilter {
            service: Some("shop"),
            endpoint: Some("/orders"),
        };
        // i even and not a multiple of 3: 200 of the 600.
        assert_eq!(
            raw_count(&store, shop_orders, minute, minute + 120_000),
            200
        );
        let shop = RequestFilter {
            service: Some("shop"),
            endpoint: None,
        };
        assert_eq!(raw_count(&store, shop, minute, minute + 59_999), 200);
        let mut measured = 0;
        store
            .for_each_request_measure(shop, minute, minute + 120_000, |_, _, _| measured += 1)
            .expect("measures");
        assert_eq!(measured, 400);
    }

    #[test]
    fn raw_requests_are_pruned_in_chunks_and_their_rollups_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let hour = 3_600_000;
        let end = 1_800_000_000_000;
        let start = end - 3 * hour;
        // One request every 4 s for 3 hours: 2700, 900 an hour.
        let all: Vec<StoredRequest> = (0..2700).map(|i| request(start + i * 4000, i)).collect();
        requests(&store, &[all]);
        let before = rollups(&store);
        assert_eq!(
            store.prune_requests(end - hour, 500).expect("prune"),
            1800,
            "two hours of raw rows, in three chunks of 500 and one of 300"
        );
        assert_eq!(
            raw_count(&store, RequestFilter::default(), i64::MIN, i64::MAX),
            900
        );
        assert_eq!(rollups(&store), before, "rollups are untouched");

        // Maintenance prunes the same way and expires rollups past the retention.
        let report = store.maintain(end, end - 2 * hour, 0).expect("maintain");
        assert_eq!(report.pruned, 900);
        assert_eq!(report.rolled_up, 0, "requests are rolled up at ingest");
        let left = rollups(&store);
        assert_eq!(
            left.len(),
            before.len() * 2 / 3,
            "the oldest hour of rollups expired"
        );
        assert!(left.keys().all(|k| k.3 >= end - 2 * hour));
        assert_eq!(left.values().map(|a| a.count).sum::<u64>(), 1800);
    }

    #[test]
    fn an_older_database_gets_its_request_rollups_back_filled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (old, new) = (dir.path().join("old.db"), dir.path().join("new.db"));
        let start = 1_800_000_000_000 - 86_400_000;
        let all: Vec<StoredRequest> = (0..5000).map(|i| request(start + i * 9_001, i)).collect();
        // Written before the migration: raw rows only, no request_rollups.
        create_at_version(&old, REQUEST_ROLLUPS_VERSION - 1).expect("old schema");
        {
            let conn = Connection::open(&old).expect("plain sqlite");
            let tables: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'request_rollups'",
                    [],
                    |r| r.get(0),
                )
                .expect("schema");
            assert_eq!(tables, 0);
            crate::ingest::store::insert_raw(&conn, &all).expect("raw rows");
        }
        let upgraded = Store::open(&old).expect("upgrade");
        let ingested = Store::open(&new).expect("new");
        requests(&ingested, &[all]);
        assert_eq!(rollups(&upgraded), rollups(&ingested));
        assert_eq!(
            raw_count(&upgraded, RequestFilter::default(), i64::MIN, i64::MAX),
            5000
        );
    }

    #[test]
    fn the_back_fill_runs_with_the_migration_that_adds_request_rollups() {
        assert!(MIGRATIONS[REQUEST_ROLLUPS_VERSION - 1].contains("CREATE TABLE request_rollups"));
        assert!(
            MIGRATION_STEPS
                .iter()
                .all(|(v, _)| (1..=MIGRATIONS.len()).contains(v))
        );
    }

    /// The request reads seek their index: none of them walks a service's
    /// whole history or the whole table for a short range.
    #[test]
    fn request_reads_use_their_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let conn = store.read().expect("read");
        let plan = |sql: String| -> String {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("plan");
            let rows = stmt
                .query_map(params!["shop", "/orders", 0, 1], |r| r.get::<_, String>(3))
                .expect("rows");
            rows.collect::<Result<Vec<_>, _>>()
                .expect("detail")
                .join("; ")
        };
        let both = RequestFilter {
            service: Some("shop"),
            endpoint: Some("/orders"),
        };
        let service = RequestFilter {
            service: Some("shop"),
            endpoint: None,
        };
        let endpoint = RequestFilter {
            service: None,
            endpoint: Some("/orders"),
        };
        for (filter, raw_index, rollup_index) in [
            (both, "requests_by_endpoint", "PRIMARY KEY"),
            (service, "requests_by_time", "PRIMARY KEY"),
            (endpoint, "requests_by_time", "request_rollups_by_time"),
            (
                RequestFilter::default(),
                "requests_by_time",
                "request_rollups_by_time",
            ),
        ] {
            let raw = plan(format!(
                "SELECT ts_ms FROM requests WHERE {}",
                raw_requests_where(filter)
            ));
            assert!(
                raw.contains(raw_index) && raw.contains("ts_ms"),
                "{filter:?}: {raw}"
            );
            let rolled = plan(format!(
                "SELECT hist FROM request_rollups WHERE {}",
                request_rollups_where(filter, false)
            ));
            assert!(rolled.contains(rollup_index), "{filter:?}: {rolled}");
            // Asked to scan, all services read the table; one service still seeks.
            let scanned = plan(format!(
                "SELECT hist FROM request_rollups WHERE {}",
                request_rollups_where(filter, true)
            ));
            let seeks = filter.service.is_some();
            assert_eq!(
                scanned.contains(rollup_index),
                seeks,
                "{filter:?}: {scanned}"
            );
            assert_eq!(scanned.starts_with("SCAN"), !seeks, "{filter:?}: {scanned}");
        }
    }

    #[test]
    fn expired_data_gives_its_pages_back_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        let pages = || -> i64 {
            store
                .read()
                .expect("read")
                .pragma_query_value(None, "page_count", |r| r.get(0))
                .expect("page_count")
        };
        let empty = pages();
        let hosts: Vec<HostSample> = (0..50_000).map(|i| sample(1_000 + i * 1000)).collect();
        store
            .insert_batch(&Batch {
                hosts,
                ..Batch::default()
            })
            .expect("insert");
        let full = pages();
        assert!(full > empty + 100, "{empty} → {full} pages");
        // Everything is past the retention.
        let report = store.maintain(0, i64::MAX / 2, 0).expect("maintain");
        assert!(report.expired >= 50_000, "{report:?}");
        let after = pages();
        assert!(
            after < empty + (full - empty) / 10,
            "{full} → {after} pages"
        );
    }

    #[test]
    fn a_fold_spanning_hours_gives_the_same_rollups_as_one_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("vigie.db")).expect("open");
        // Three hours and a half of one probe a second, minute boundaries
        // not on hour boundaries of the first raw row.
        let start = 7 * 3_600_000 + 17_500;
        let probes: Vec<ProbeResult> = (0..12_600).map(|i| probe(start + i * 1000, i)).collect();
        let count = probes.len() as u64;
        store
            .insert_batch(&Batch {
                probes,
                ..Batch::default()
            })
            .expect("insert");
        let end = start + 12_600 * 1000;
        // From the first row's minute: a rollup counts where its minute starts.
        let before = figures(&store, minute_of(start), end);
        let report = store.maintain(end + 60_000, 0, 0).expect("maintain");
        assert_eq!(report.rolled_up as u64, count);
        let after = figures(&store, minute_of(start), end);
        assert_eq!(after.total_requests, before.total_requests);
        assert_eq!(after.total_requests, count);
        assert_eq!(after.error_rate, before.error_rate);
        let rows: i64 = store
            .read()
            .expect("read")
            .query_row("SELECT COUNT(*) FROM probe_results", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 0, "every raw row folded");
    }

    #[test]
    fn migrations_run_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vigie.db");
        drop(Store::open(&path).expect("first open"));
        let store = Store::open(&path).expect("second open runs no migration twice");
        let version: usize = store
            .read()
            .expect("lock")
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len());
    }
}
