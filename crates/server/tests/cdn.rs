//! `vigie-server cdn-files`' nginx block, served by a real nginx (Debian's,
//! installed with the test packages): a build under `/tools/vigie/`, its
//! deep links answered with `index.html` and the dashboard's policy, the wasm
//! with its MIME type and a year of caching, the `.gz` files served as they
//! are, and the same headers in `_headers`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vigie_server::cdn::CdnFiles;

const INDEX: &str = "<!DOCTYPE html><html><head><base href=\"/tools/vigie/\" />\
    <script type=\"module\">import init from '/tools/vigie/vigie-0123456789abcdef.js';await init();</script>\
    </head><body></body></html>";
const WASM: &str = "vigie-0123456789abcdef_bg.wasm";

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM: the master stops its workers (a SIGKILL would orphan them).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Readable by nginx's workers, whichever user they run as.
fn open_up(path: &Path) {
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
    open_up(path);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // `gzip -c`, as the build's compressor is the xtask's.
    let mut child = Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("gzip input");
    child.wait_with_output().expect("gzip output").stdout
}

#[tokio::test]
async fn nginx_serves_a_build_under_a_path_with_the_dashboards_headers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("www");
    let dist = root.join("tools/vigie");
    std::fs::create_dir_all(&dist).expect("mkdir");
    for dir in [tmp.path(), &root, &root.join("tools"), &dist] {
        open_up(dir);
    }
    write(&dist.join("index.html"), INDEX.as_bytes());
    write(
        &dist.join("config.json"),
        b"{\"api_base\":\"http://127.0.0.1:9\"}\n",
    );
    let wasm = b"\0asm\x01\0\0\0 not really a module, but bytes";
    write(&dist.join(WASM), wasm);
    write(&dist.join(format!("{WASM}.gz")), &gzip(wasm));

    let files = CdnFiles {
        dist: dist.clone(),
        public_url: "/tools/vigie/".into(),
        frame_ancestors: vec!["http://portal.test:8000".into()],
        connect_src: vec!["http://127.0.0.1:9".into()],
    };
    let written = files.write().expect("cdn files");
    assert_eq!(written, [dist.join("_headers"), dist.join("nginx.conf")]);
    let block = files.nginx(INDEX, &root.display().to_string());

    let port = common::free_port();
    let d = tmp.path().display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{\n listen 127.0.0.1:{port};\n{block}\n }}\n}}\n"
    );
    let conf_path = tmp.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let check = Command::new("/usr/sbin/nginx")
        .arg("-t")
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(tmp.path())
        .output()
        .expect("nginx -t");
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _nginx = Nginx(
        Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx"),
    );
    let http = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str, gzip: bool| {
        let mut req = http.get(format!("{base}{path}"));
        if gzip {
            req = req.header("Accept-Encoding", "gzip");
        }
        req.send()
    };
    common::poll(Duration::from_secs(10), || async {
        get("/tools/vigie/", false).await.ok().map(|_| ())
    })
    .await;

    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    // A deep link, reloaded: the page, with the dashboard's policy.
    for path in ["/tools/vigie/", "/tools/vigie/alerts/rules"] {
        let page = get(path, false).await.expect("page");
        assert_eq!(page.status(), 200, "{path}");
        let csp = header(&page, "content-security-policy");
        assert!(
            csp.contains("frame-ancestors http://portal.test:8000;"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:9;"),
            "{csp}"
        );
        assert!(csp.contains("'wasm-unsafe-eval' 'sha256-"), "{csp}");
        assert_eq!(header(&page, "x-content-type-options"), "nosniff");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer");
        assert_eq!(header(&page, "cache-control"), "no-cache");
        assert!(
            header(&page, "x-frame-options").is_empty(),
            "framing allowed"
        );
        assert!(header(&page, "content-type").starts_with("text/html"));
        assert_eq!(page.text().await.expect("body"), INDEX);
    }
    // The policy's hash is the one of the page's inline script.
    let page = get("/tools/vigie/", false).await.expect("page");
    let expected = vigie_server::security::script_hash(
        "import init from '/tools/vigie/vigie-0123456789abcdef.js';await init();",
    );
    assert!(header(&page, "content-security-policy").contains(&expected));

    let wasm_path = format!("/tools/vigie/{WASM}");
    let plain = get(&wasm_path, false).await.expect("wasm");
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-type"), "application/wasm");
    assert_eq!(
        header(&plain, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&plain, "x-content-type-options"), "nosniff");
    assert!(!header(&plain, "content-security-policy").is_empty());
    assert_eq!(plain.bytes().await.expect("bytes").as_ref(), wasm);
    let zipped = get(&wasm_path, true).await.expect("wasm gz");
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert_eq!(header(&zipped, "content-type"), "application/wasm");
    assert_eq!(
        zipped.bytes().await.expect("bytes").as_ref(),
        gzip(wasm).as_slice()
    );

    let config = get("/tools/vigie/config.json", false)
        .await
        .expect("config");
    assert_eq!(header(&config, "content-type"), "application/json");
    assert_eq!(header(&config, "cache-control"), "no-cache");

    // `_headers` says the same for CDNs that read it.
    let headers = std::fs::read_to_string(dist.join("_headers")).expect("_headers");
    assert!(headers.starts_with("/tools/vigie/*\n"), "{headers}");
    assert!(headers.contains(&expected), "{headers}");
    assert!(
        headers.contains(&format!(
            "/tools/vigie/{WASM}\n  Cache-Control: public, max-age=31536000, immutable\n"
        )),
        "{headers}"
    );
}
