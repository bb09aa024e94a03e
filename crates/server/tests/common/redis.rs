//! A real redis-server (Debian's) for the tests: started on a free
//! loopback port in a throwaway directory, stopped when dropped.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_port;

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// A redis-server on a free loopback port, stopped when dropped.
pub struct Redis {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Redis {
    pub fn start(args: &[&str]) -> Redis {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: `cargo xtask test` installs Debian's redis-server"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let child = spawn(port, dir.path(), &args);
        let redis = Redis {
            port,
            child,
            dir,
            args,
        };
        redis.wait_up();
        redis
    }

    pub fn wait_up(&self) {
        for _ in 0..200 {
            let out = self.cli_output(&["PING"]);
            // PONG, or NOAUTH when a password is required: either way it answers.
            if out.contains("PONG") || out.contains("NOAUTH") {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server on {} did not answer", self.port);
    }

    /// Stops the server and starts it again on the same port (its counters
    /// start from zero, its run id changes).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, self.dir.path(), &self.args);
        self.wait_up();
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cli_output(&self, args: &[&str]) -> String {
        let out = Command::new(REDIS_CLI)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends `commands` (one per line) through one redis-cli.
    pub fn run(&self, commands: &[String]) {
        let mut cli = Command::new(REDIS_CLI)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-cli");
        let mut stdin = cli.stdin.take().expect("stdin");
        for c in commands {
            writeln!(stdin, "{c}").expect("write");
        }
        drop(stdin);
        assert!(cli.wait().expect("wait").success());
    }

    /// `n` lookups of a key that exists and `m` of keys that do not.
    pub fn lookups(&self, hits: usize, misses: usize) {
        let mut commands = vec!["SET vigie:present 1".to_owned()];
        commands.extend((0..hits).map(|_| "GET vigie:present".to_owned()));
        commands.extend((0..misses).map(|i| format!("GET vigie:absent:{i}")));
        self.run(&commands);
    }

    /// A figure of `INFO stats`, as Redis itself counts it.
    pub fn stat(&self, key: &str) -> u64 {
        let info = self.cli_output(&["INFO", "stats"]);
        info.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:"))?.parse().ok())
            .expect("stat")
    }
}

fn spawn(port: u16, dir: &std::path::Path, args: &[String]) -> Child {
    Command::new(REDIS_SERVER)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
