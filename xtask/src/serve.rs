//! Processes the tests and benchmarks start and stop (vigie-server,
//! node_exporter, nginx), free loopback ports, and a minimal HTTP/1.1 client
//! over `std::net`, enough to wait for readiness and to post ingest batches.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cmd::Result;

pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A background process that is stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Background(pub Child);

impl Background {
    pub fn spawn(c: &mut Command, what: &str) -> Result<Background> {
        c.spawn()
            .map(Background)
            .map_err(|e| format!("cannot start {what}: {e}"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a vigie-server binary on `port` with a fresh data directory,
/// serving `dist`, and waits until `/readyz` answers 200.
pub fn start_vigie(bin: &Path, port: u16, data: &Path, dist: &Path) -> Result<Background> {
    start_vigie_with(bin, port, data, dist, &[])
}

/// [`start_vigie`] with more settings.
pub fn start_vigie_with(
    bin: &Path,
    port: u16,
    data: &Path,
    dist: &Path,
    env: &[(&str, &str)],
) -> Result<Background> {
    let _ = std::fs::remove_dir_all(data);
    start_vigie_on(bin, port, data, dist, env)
}

/// [`start_vigie_with`] on the data already in `data`.
pub fn start_vigie_on(
    bin: &Path,
    port: u16,
    data: &Path,
    dist: &Path,
    env: &[(&str, &str)],
) -> Result<Background> {
    let mut command = Command::new(bin);
    command
        .env("VIGIE_ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIE_DATA_DIR", data)
        .env("VIGIE_STATIC_DIR", dist)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    let server = Background::spawn(&mut command, "vigie-server")?;
    wait_until_ok(port, "/readyz", Duration::from_secs(30))?;
    Ok(server)
}

pub fn wait_until_ok(port: u16, path: &str, within: Duration) -> Result {
    let deadline = Instant::now() + within;
    while get(port, path).map(|r| r.0) != Some(200) {
        if Instant::now() > deadline {
            return Err(format!(
                "127.0.0.1:{port}{path} did not answer 200 within {} s",
                within.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// One keep-alive HTTP/1.1 connection to a loopback port.
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<TcpStream>,
    port: u16,
}

impl Connection {
    pub fn open(port: u16) -> std::io::Result<Connection> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::new(s),
            port,
        })
    }

    /// Sends one request and reads the answer: status and body (the answer
    /// must carry a Content-Length, as axum's and nginx's do).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no HTTP status line"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.ok_or_else(|| bad("no Content-Length"))?];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

/// `GET path` on a fresh connection: status and body, `None` when unreachable.
pub fn get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    Connection::open(port)
        .ok()?
        .request("GET", path, &[], &[])
        .ok()
}
