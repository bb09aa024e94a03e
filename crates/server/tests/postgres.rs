//! PostgreSQL database sources against a real PostgreSQL (Debian's, started
//! here on free loopback ports in throwaway data directories, with
//! pg_stat_statements preloaded or not): a real slow query on a table
//! without an index found with its call count and the index that would
//! answer it, the advice gone once that index exists, and the failures a
//! source can have.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use vigie_api::{
    AlertList, AlertMetric, AlertRuleList, DatabaseSource, DatabaseSourceList, Health, QueryType,
    SlowQueryDetail, SlowQueryList,
};

mod common;
use common::{Client, free_port, poll, vigie};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The user the server runs as: `postgres` when the tests run as root
/// (PostgreSQL refuses to), else the tests' own.
fn postgres_ids() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").expect("proc").uid();
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("Debian's postgresql package creates the postgres user");
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().expect("uid"), f[3].parse().expect("gid")))
}

fn as_postgres(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = postgres_ids() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// A PostgreSQL server on a free loopback port, stopped when dropped. Its
/// superuser `admin` signs in without a password on the Unix socket (the
/// test's psql) and with `admin-password` over TCP, like every role.
struct Postgres {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Postgres {
    fn start(preload: bool) -> Postgres {
        assert!(
            std::path::Path::new(&format!("{BIN}/postgres")).exists(),
            "{BIN}/postgres is missing: `cargo xtask test` installs Debian's postgresql"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some((uid, gid)) = postgres_ids() {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, "admin-password\n").expect("pwfile");
        if let Some((uid, gid)) = postgres_ids() {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown");
        }
        let status = as_postgres(
            Command::new(format!("{BIN}/initdb"))
                .arg("-D")
                .arg(dir.path().join("data"))
                .args([
                    "-U",
                    "admin",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", pwfile.display()))
                .stdout(Stdio::null()),
        )
        .status()
        .expect("initdb");
        assert!(status.success(), "initdb");
        let port = free_port();
        let mut server = Command::new(format!("{BIN}/postgres"));
        server
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if preload {
            server.args(["-c", "shared_preload_libraries=pg_stat_statements"]);
        }
        let child = as_postgres(&mut server).spawn().expect("postgres");
        let pg = Postgres { port, dir, child };
        for _ in 0..400 {
            if pg.try_psql("SELECT 1").is_some() {
                return pg;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("PostgreSQL on {port} did not start");
    }

    fn try_psql(&self, sql: &str) -> Option<String> {
        let out = Command::new("/usr/bin/psql")
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "admin",
                "-d",
                "postgres",
                "-h",
            ])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-c", sql])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `sql` as the superuser, through the socket (psql: not Vigie's client).
    fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|| panic!("psql: {sql}"))
    }

    fn url(&self) -> String {
        format!("postgres://127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: a fast shutdown, its backends with it.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn add(api: &common::Vigie, body: Value) -> DatabaseSource {
    let resp = api.post("/database-sources/", &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.expect("source")
}

/// Waits until source `id` has a read newer than `after_ms`.
async fn read_after(api: &common::Vigie, id: i64, after_ms: i64) -> DatabaseSource {
    poll(Duration::from_secs(30), || async {
        let s: DatabaseSource = api.get_json(&format!("/database-sources/{id}")).await;
        (s.health == Health::Up && s.last_sample_ms.is_some_and(|t| t > after_ms)).then_some(s)
    })
    .await
}

async fn failure(api: &common::Vigie, id: i64) -> String {
    poll(Duration::from_secs(30), || async {
        let s: DatabaseSource = api.get_json(&format!("/database-sources/{id}")).await;
        (s.health == Health::Down).then(|| s.last_error.expect("a down source says why"))
    })
    .await
}

const SETUP: &str = "
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL, amount numeric NOT NULL, note text);
    INSERT INTO orders (customer_id, amount, note)
        SELECT g % 5000, g, md5(g::text) FROM generate_series(1, 300000) g;
    ANALYZE orders;
    CREATE ROLE vigie LOGIN PASSWORD 'vigie-password';
    GRANT pg_read_all_stats, pg_read_all_data TO vigie;";

#[tokio::test]
async fn a_slow_query_without_an_index_is_found_with_the_index_that_answers_it() {
    let pg = Postgres::start(true);
    pg.psql(SETUP);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |c| c.alert_interval_ms = 200).await;
    // The default slow-query rule, at 1 ms over 10 s.
    let rules: AlertRuleList = api.get_json("/alert-rules/").await;
    let rule = rules
        .rules
        .into_iter()
        .find(|r| r.spec.metric == AlertMetric::SlowQueryTime)
        .expect("the default slow-query rule");
    assert_eq!(rule.spec.threshold, 1000.0);
    let mut spec = serde_json::to_value(&rule.spec).expect("spec");
    spec["threshold"] = json!(1);
    spec["window_seconds"] = json!(10);
    let resp = api
        .send(
            reqwest::Method::PUT,
            &format!("/alert-rules/{}", rule.id),
            &spec,
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let source = add(
        &api,
        json!({"name": "shop", "url": pg.url(), "username": "vigie", "password": "vigie-password",
               "interval_ms": 1000, "timeout_ms": 900}),
    )
    .await;
    let first = read_after(&api, source.id, 0).await;
    assert!(
        first
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("15"))
    );

    // Five scans of the whole table, five lookups by primary key.
    for i in 0..5 {
        pg.psql(&format!(
            "SELECT * FROM orders WHERE customer_id = {}",
            40 + i
        ));
        pg.psql(&format!("SELECT * FROM orders WHERE id = {}", 7 + i));
    }
    read_after(&api, source.id, vigie_server::now_ms()).await;
    let list: SlowQueryList = api.get_json("/slow-queries/?range=5m&threshold_ms=1").await;
    let scan = list
        .queries
        .iter()
        .find(|q| q.query_text.contains("customer_id = $1"))
        .unwrap_or_else(|| panic!("the scan is listed: {list:?}"));
    assert_eq!(scan.execution_count, 5);
    assert_eq!(scan.query_type, QueryType::Select);
    assert!(scan.avg_execution_time >= 1.0);
    assert!(
        (scan.rows_per_call - 60.0).abs() < 1e-9,
        "300000 rows / 5000 customers"
    );
    assert!(
        !list
            .queries
            .iter()
            .any(|q| q.query_text.contains("id = $1") && !q.query_text.contains("customer")),
        "a primary-key lookup is not slow: {list:?}"
    );
    let advice = &scan.optimizations;
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert_eq!(
        advice[0].sql.as_deref(),
        Some("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);")
    );
    assert!(advice[0].evidence.contains("public.orders") && advice[0].evidence.contains("5 calls"));
    // The rule fired on the slowest statement's mean.
    let fired = poll(Duration::from_secs(20), || async {
        let list: AlertList = api.get_json("/alerts/?state=firing").await;
        list.alerts.into_iter().find(|a| a.rule_id == rule.id)
    })
    .await;
    assert!(fired.current_value.is_some_and(|v| v >= 1.0), "{fired:?}");

    let path = format!(
        "/slow-queries/{}?source={}&range=5m",
        scan.query_hash, source.id
    );
    let detail: SlowQueryDetail = api.get_json(&path).await;
    let plan = detail.plan.expect("plan").join("\n");
    assert!(plan.contains("Seq Scan on public.orders"), "{plan}");
    assert_eq!(detail.history.iter().map(|p| p.calls).sum::<u64>(), 5);

    // The advice taken: the plan uses the index, the advice is gone.
    pg.psql(advice[0].sql.as_deref().expect("sql"));
    let detail: SlowQueryDetail = api.get_json(&path).await;
    assert!(detail.query.optimizations.is_empty(), "{detail:?}");
    let plan = detail.plan.expect("plan").join("\n");
    assert!(plan.contains("orders_customer_id_idx"), "{plan}");
    // The seeds' threshold, one second: these scans are well under it.
    let default: SlowQueryList = api.get_json("/slow-queries/?range=5m").await;
    assert_eq!(default.threshold_ms, 1000.0);
    assert!(
        !default
            .queries
            .iter()
            .any(|q| q.query_hash == scan.query_hash),
        "{default:?}"
    );
}

#[tokio::test]
async fn each_failure_shows_on_its_source_and_says_how_to_fix_it() {
    let without = Postgres::start(false);
    let preloaded = Postgres::start(true);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let source = |name: &str, url: String, password: &str| {
        json!({"name": name, "url": url, "username": "admin", "password": password,
               "interval_ms": 1000, "timeout_ms": 900})
    };
    let not_loaded = add(&api, source("not loaded", without.url(), "admin-password")).await;
    // Preloaded, but the extension is not created in this database.
    let not_created = add(
        &api,
        source("not created", preloaded.url(), "admin-password"),
    )
    .await;
    let wrong = add(&api, source("wrong", preloaded.url(), "wrong-password")).await;
    let gone = add(
        &api,
        source(
            "gone",
            format!("postgres://127.0.0.1:{}/postgres", free_port()),
            "x",
        ),
    )
    .await;
    let e = failure(&api, not_loaded.id).await;
    assert!(e.contains("shared_preload_libraries"), "{e}");
    let e = failure(&api, not_created.id).await;
    assert!(e.contains("CREATE EXTENSION pg_stat_statements"), "{e}");
    let e = failure(&api, wrong.id).await;
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(failure(&api, gone.id).await.contains("cannot connect"));

    // Once created, the same source reads.
    preloaded.psql("CREATE EXTENSION pg_stat_statements");
    read_after(&api, not_created.id, 0).await;
    let listed = api
        .http
        .get(format!("{}/database-sources/", api.base))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!listed.contains("admin-password") && !listed.contains("wrong-password"));
    let list: DatabaseSourceList = serde_json::from_str(&listed).expect("list");
    assert!(list.sources.iter().all(|s| s.has_password));
}

#[tokio::test]
async fn bad_sources_are_refused_naming_the_field_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let base = json!({"name": "a", "url": "postgres://127.0.0.1/shop", "username": "vigie"});
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    let cases = [
        (with("url", json!("http://127.0.0.1/shop")), "url"),
        (
            with("url", json!("postgres://vigie:pw@127.0.0.1/shop")),
            "url",
        ),
        (with("url", json!("postgres://127.0.0.1")), "url"),
        (with("url", json!("postgres://127.0.0.1/a/b")), "url"),
        (with("url", json!("postgres://169.254.169.254/shop")), "url"),
        (
            with("url", json!("postgres://127.0.0.1/shop?sslmode=disable")),
            "url",
        ),
        (with("username", json!("a b")), "username"),
        (with("name", json!("")), "name"),
        (with("interval_ms", json!(5)), "interval_ms"),
        (
            json!({"name": "a", "url": "postgres://127.0.0.1/shop"}),
            "username",
        ),
    ];
    for (body, field) in cases {
        let resp = api.post("/database-sources/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: vigie_api::ErrorBody = resp.json().await.expect("error");
        assert!(
            e.field.as_deref() == Some(field) || e.error.contains(field),
            "{body}: {e:?}"
        );
    }
    let list: DatabaseSourceList = api.get_json("/database-sources/").await;
    assert!(list.sources.is_empty());
    for bad in ["threshold_ms=-1", "limit=0", "source=9"] {
        let resp = api
            .http
            .get(format!("{}/slow-queries/?{bad}", api.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400, "{bad}");
    }
}
