//! What the integration tests that kill the server share: the real binary
//! on a loopback port, and waiting until it is ready.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

/// A loopback port with nothing listening on it.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The real `vigie-server` binary on `port`, its data (and static files) in
/// `data`, with `env` on top of that.
pub fn spawn_binary(port: u16, data: &Path, env: &[(&str, &str)]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie-server"));
    c.env("VIGIE_ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIE_DATA_DIR", data)
        .env("VIGIE_STATIC_DIR", data)
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("spawn vigie-server")
}

/// Waits until the server on `port` answers `/readyz` with 200 (10 s at most).
pub async fn wait_ready(port: u16) {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        let ready = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("vigie-server on port {port} not ready within 10 s");
}
