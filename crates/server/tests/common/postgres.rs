//! A real PostgreSQL 15 (Debian's) for the tests: `initdb` in a throwaway
//! directory, started on a free loopback port (as the `postgres` user when
//! the tests run as root), stopped when dropped.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_port;

pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The user the server runs as: `postgres` when the tests run as root
/// (PostgreSQL refuses to), else the tests' own.
pub fn postgres_ids() -> Option<(u32, u32)> {
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

pub fn as_postgres(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = postgres_ids() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// A PostgreSQL server on a free loopback port, stopped when dropped. Its
/// superuser `admin` signs in without a password on the Unix socket (the
/// test's psql) and with `admin-password` over TCP, like every role.
pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Postgres {
    pub fn start(preload: bool) -> Postgres {
        Postgres::start_with(preload, &[])
    }

    /// With `settings` (`name=value`) given to the server with `-c`.
    pub fn start_with(preload: bool, settings: &[&str]) -> Postgres {
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
        for setting in settings {
            server.args(["-c", setting]);
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

    pub fn try_psql(&self, sql: &str) -> Option<String> {
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
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|| panic!("psql: {sql}"))
    }

    pub fn url(&self) -> String {
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
