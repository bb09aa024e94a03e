//! TLS to outside sources, against real servers: a redis-server with a TLS
//! port and a PostgreSQL that accepts only TLS connections (Debian's, on
//! free loopback ports), their certificates signed by a CA made here with
//! the openssl command. A source trusting that CA is read; one trusting
//! only the public roots, one reaching the TLS port in plain text, one whose
//! certificate names another host and one asking for a plain connection
//! each fail with their reason; a bad `tls_ca` is refused by field and
//! nothing is stored.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use vigie_api::{CacheSource, CacheSourceList, DatabaseSource, DatabaseSourceList, Health};

mod common;
use common::postgres::{Postgres, postgres_ids};
use common::redis::Redis;
use common::{Client, free_port, poll, vigie};

/// A CA and two server certificates it signed, one naming 127.0.0.1 and
/// one naming only `db.example`, made by the openssl command.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Pki { dir };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Vigie test CA",
        ]);
        pki.server("server", "IP:127.0.0.1");
        pki.server("other", "DNS:db.example");
        // PostgreSQL reads its key only when its own user owns it, 0600.
        if let Some((uid, gid)) = postgres_ids() {
            for f in ["", "server.key", "server.crt", "ca.crt"] {
                std::os::unix::fs::chown(pki.path(f), Some(uid), Some(gid)).expect("chown");
            }
        }
        pki
    }

    fn server(&self, name: &str, san: &str) {
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        std::fs::write(
            self.path(&format!("{name}.ext")),
            format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\n"),
        )
        .expect("ext");
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ]);
        let key = self.path(&format!("{name}.key"));
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
    }

    fn openssl(&self, args: &[&str]) {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl {args:?}");
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn arg(&self, file: &str) -> String {
        self.path(file).display().to_string()
    }

    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.path("ca.crt")).expect("ca.crt")
    }
}

async fn created(api: &common::Vigie, path: &str, body: Value) -> Value {
    let resp = api.post(path, &body).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.expect("source")
}

/// The health and last error of the source at `path`.
async fn state_of(api: &common::Vigie, path: &str) -> (Health, Option<String>) {
    let s: Value = api.get_json(path).await;
    let health: Health = serde_json::from_value(s["health"].clone()).expect("health");
    (health, s["last_error"].as_str().map(str::to_owned))
}

/// Waits until the source at `path` is up (a busy machine may make a
/// sample miss its timeout first).
async fn up(api: &common::Vigie, path: &str) {
    poll(Duration::from_secs(30), || async {
        (state_of(api, path).await.0 == Health::Up).then_some(())
    })
    .await
}

/// Waits until the source at `path` is down for a reason naming one of
/// `words` (lowercase); its error.
async fn down_with(api: &common::Vigie, path: &str, words: &[&str]) -> String {
    poll(Duration::from_secs(30), || async {
        match state_of(api, path).await {
            (Health::Down, Some(e)) if words.iter().any(|w| e.to_lowercase().contains(w)) => {
                Some(e)
            }
            _ => None,
        }
    })
    .await
}

#[tokio::test]
async fn redis_over_tls_is_read_only_with_a_certificate_it_can_verify() {
    let pki = Pki::new();
    let tls_port = free_port();
    let other_port = free_port();
    let redis = Redis::start(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &pki.arg("server.crt"),
        "--tls-key-file",
        &pki.arg("server.key"),
        "--tls-ca-cert-file",
        &pki.arg("ca.crt"),
        "--tls-auth-clients",
        "no",
    ]);
    // A second server, whose certificate names another host.
    let _other = Redis::start(&[
        "--tls-port",
        &other_port.to_string(),
        "--tls-cert-file",
        &pki.arg("other.crt"),
        "--tls-key-file",
        &pki.arg("other.key"),
        "--tls-ca-cert-file",
        &pki.arg("ca.crt"),
        "--tls-auth-clients",
        "no",
    ]);
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let tls_url = format!("rediss://127.0.0.1:{tls_port}");
    let source = |name: &str, url: &str, ca: Option<String>| {
        let mut body = json!({"name": name, "url": url, "interval_ms": 2000, "timeout_ms": 2000});
        if let Some(ca) = ca {
            body["tls_ca"] = json!(ca);
        }
        body
    };

    let good = created(
        &api,
        "/cache-sources/",
        source("tls", &tls_url, Some(pki.ca_pem())),
    )
    .await;
    assert_eq!(
        good["tls_ca"],
        json!(pki.ca_pem()),
        "the CA is kept and shown"
    );
    let public = created(
        &api,
        "/cache-sources/",
        source("public roots", &tls_url, None),
    )
    .await;
    let plain = created(
        &api,
        "/cache-sources/",
        source(
            "plain to TLS",
            &format!("redis://127.0.0.1:{tls_port}"),
            None,
        ),
    )
    .await;
    let named = created(
        &api,
        "/cache-sources/",
        source(
            "other name",
            &format!("rediss://127.0.0.1:{other_port}"),
            Some(pki.ca_pem()),
        ),
    )
    .await;

    let path = |s: &Value| format!("/cache-sources/{}", s["id"]);
    up(&api, &path(&good)).await;
    let read: CacheSource = api.get_json(&path(&good)).await;
    // INFO was read over TLS: the version redis-cli reads in plain text.
    let version = read.version.expect("version");
    assert!(
        redis
            .cli_output(&["INFO", "server"])
            .contains(&format!("redis_version:{version}")),
        "{version}"
    );
    let untrusted = down_with(&api, &path(&public), &["unknownissuer"]).await;
    assert!(untrusted.contains("tls_ca"), "{untrusted}");
    down_with(
        &api,
        &path(&plain),
        &["closed", "reset", "unexpected", "eof", "answered"],
    )
    .await;
    down_with(&api, &path(&named), &["not valid for name \"127.0.0.1\""]).await;

    // Refused by field, nothing stored.
    let before: CacheSourceList = api.get_json("/cache-sources/").await;
    for (body, field) in [
        (
            source("ca on plain", &redis.url(), Some(pki.ca_pem())),
            "tls_ca",
        ),
        (source("not pem", &tls_url, Some("hello".into())), "tls_ca"),
        (
            source("too long", &tls_url, Some("A".repeat(70_000))),
            "tls_ca",
        ),
        (source("query", &format!("{tls_url}/?x=1"), None), "url"),
    ] {
        let resp = api.post("/cache-sources/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: Value = resp.json().await.expect("error");
        assert_eq!(e["field"], field, "{e}");
    }
    let after: CacheSourceList = api.get_json("/cache-sources/").await;
    assert_eq!(after.sources.len(), before.sources.len());
}

/// A client authentication file that admits TCP clients over TLS only.
fn hba_tls_only(dir: &Path) -> PathBuf {
    let hba = dir.join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    )
    .expect("hba");
    if let Some((uid, gid)) = postgres_ids() {
        std::os::unix::fs::chown(&hba, Some(uid), Some(gid)).expect("chown");
    }
    hba
}

#[tokio::test]
async fn postgres_over_tls_when_the_url_says_sslmode_require() {
    let pki = Pki::new();
    let hba = hba_tls_only(pki.dir.path());
    let pg = Postgres::start_with(
        true,
        &[
            "ssl=on",
            &format!("ssl_cert_file={}", pki.arg("server.crt")),
            &format!("ssl_key_file={}", pki.arg("server.key")),
            &format!("hba_file={}", hba.display()),
        ],
    );
    pg.psql("CREATE EXTENSION pg_stat_statements");
    let data = tempfile::tempdir().expect("tempdir");
    let api = vigie(data.path(), |_| {}).await;
    let source = |name: &str, query: &str, ca: Option<String>| {
        let mut body = json!({
            "name": name, "url": format!("{}{query}", pg.url()), "username": "admin",
            "password": "admin-password", "interval_ms": 2000, "timeout_ms": 2000,
        });
        if let Some(ca) = ca {
            body["tls_ca"] = json!(ca);
        }
        body
    };
    let good = created(
        &api,
        "/database-sources/",
        source("tls", "?sslmode=require", Some(pki.ca_pem())),
    )
    .await;
    let plain = created(&api, "/database-sources/", source("plain", "", None)).await;
    let public = created(
        &api,
        "/database-sources/",
        source("public roots", "?sslmode=verify-full", None),
    )
    .await;
    let path = |s: &Value| format!("/database-sources/{}", s["id"]);
    up(&api, &path(&good)).await;
    let read: DatabaseSource = api.get_json(&path(&good)).await;
    assert_eq!(
        read.version,
        Some(pg.psql("SHOW server_version").trim().to_owned())
    );
    // A replace that leaves the password out keeps it for the same server,
    // user and CA; trusting another CA drops it (whoever that CA vouches for
    // could be another server).
    let mut same = source("tls", "?sslmode=require", Some(pki.ca_pem()));
    same.as_object_mut().expect("object").remove("password");
    let kept: DatabaseSource = {
        let resp = api.send(reqwest::Method::PUT, &path(&good), &same).await;
        assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
        resp.json().await.expect("source")
    };
    assert!(kept.has_password);
    let mut other_ca = same.clone();
    other_ca["tls_ca"] = json!(format!("{}{}", pki.ca_pem(), pki.ca_pem()));
    let dropped: DatabaseSource = {
        let resp = api
            .send(reqwest::Method::PUT, &path(&good), &other_ca)
            .await;
        assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
        resp.json().await.expect("source")
    };
    assert!(!dropped.has_password, "{dropped:?}");
    // The server admits TCP clients over TLS only: a plain connection is refused.
    down_with(&api, &path(&plain), &["no encryption", "pg_hba"]).await;
    let untrusted = down_with(&api, &path(&public), &["unknownissuer"]).await;
    assert!(untrusted.contains("tls_ca"), "{untrusted}");

    let before: DatabaseSourceList = api.get_json("/database-sources/").await;
    for (body, field) in [
        (source("falls back", "?sslmode=prefer", None), "url"),
        (source("unknown mode", "?sslmode=maybe", None), "url"),
        (
            source("other query", "?sslrootcert=/etc/ca.crt", None),
            "url",
        ),
        (source("ca on plain", "", Some(pki.ca_pem())), "tls_ca"),
        (
            source(
                "not pem",
                "?sslmode=require",
                Some("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".into()),
            ),
            "tls_ca",
        ),
    ] {
        let resp = api.post("/database-sources/", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: Value = resp.json().await.expect("error");
        assert_eq!(e["field"], field, "{e}");
    }
    let after: DatabaseSourceList = api.get_json("/database-sources/").await;
    assert_eq!(after.sources.len(), before.sources.len());
}
