//! What the integration tests share: Vigie in this process or as the real
//! binary on a loopback port, and loopback servers for it to measure.

// Each test file uses part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

pub mod kube;
pub mod postgres;
pub mod redis;

use vigie_server::{Config, Server, start};

/// Serves `app` on a free loopback port.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Vigie started in this process, its API's base URL, and a client.
pub struct Vigie {
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
}

/// Vigie on a free loopback port, data in `data`, without the default
/// target, with `configure`'s changes.
pub async fn vigie(data: &Path, configure: impl FnOnce(&mut Config)) -> Vigie {
    let mut config = Config::local(data, data);
    config.default_target = false;
    configure(&mut config);
    let server = start(config).await.expect("start");
    let base = format!("http://{}/api/performance", server.addr());
    Vigie {
        server,
        base,
        http: reqwest::Client::new(),
    }
}

/// Calls to Vigie's API: for [`Vigie`] and for a test's own handle on it.
pub trait Client {
    fn base(&self) -> &str;
    fn http(&self) -> &reqwest::Client;

    /// `method path` under the API with a JSON body.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http()
            .request(method, format!("{}{path}", self.base()))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// `GET path` under the API, expecting 200 and a `T`.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self
            .http()
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("JSON")
    }
}

/// Sends `req` and reads its JSON answer (whatever the status).
pub async fn json_of<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    req.send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON answer")
}

impl Client for Vigie {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

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

/// Calls `check` every 50 ms until it gives a value; panics after `within`.
pub async fn poll<T, F, Fut>(within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
