//! Serves the built dashboard. The build names every asset with a hash
//! (`vigie-3f2a…_bg.wasm`), so those are cached for a year; `index.html` and
//! `config.json` are revalidated on every load so that a new release or a new
//! config takes effect at once. Unknown paths get `index.html` so that the
//! router's deep links work on reload, except asset names (`.wasm`, `.js`…),
//! which get a 404. The build writes `.br` and `.gz`
//! beside each asset (`cargo xtask dist`), served as they are to browsers that
//! accept them: the largest file, the wasm, costs no compression per request.

use std::path::Path;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};
use vigie_api::DashboardConfig;

pub fn static_files(dir: &Path) -> ServeDir<ServeFile> {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(
            dir = %dir.display(),
            "no index.html in the static directory: build the dashboard with `cargo xtask run`"
        );
    }
    ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(index))
}

/// The dashboard's `config.json` as vigie-server serves it: the build's
/// file, whose `parent_origins` are, when it names none, the portals allowed
/// to frame the page (`VIGIE_FRAME_ANCESTORS`): the page then talks to the
/// portals its policy lets frame it. A file that does not parse is served as
/// it is, for the dashboard to report.
pub fn config_json(file: &Path, frame_ancestors: &[String]) -> Vec<u8> {
    let bytes = std::fs::read(file).unwrap_or_else(|_| b"{}".to_vec());
    let Ok(mut config) = serde_json::from_slice::<DashboardConfig>(&bytes) else {
        tracing::warn!(file = %file.display(), "config.json does not parse: served as it is");
        return bytes;
    };
    if config.parent_origins.is_empty() {
        config.parent_origins = frame_ancestors
            .iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect();
    }
    serde_json::to_vec(&config).unwrap_or(bytes)
}

/// `GET /config.json` (see [`config_json`]); revalidated on every load.
pub fn config_response(file: &Path, frame_ancestors: &[String]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        config_json(file, frame_ancestors),
    )
        .into_response()
}

/// True when a file name carries the build's hash: `name-<16 hex>` before
/// the extension (and before `_bg` for the wasm file).
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A file name with one of these extensions is an asset, never a page.
const ASSET_EXTENSIONS: [&str; 9] = [
    "wasm", "js", "css", "svg", "json", "map", "ico", "png", "woff2",
];

/// True when `path` names an asset by its extension (`/split_reports-….wasm`).
pub fn is_asset_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.')
        .is_some_and(|(_, ext)| ASSET_EXTENSIONS.contains(&ext))
}

/// An asset that is not there is a 404, not `index.html`: a page chunk
/// removed by a deployment must fail to load as such (the dashboard then
/// offers a retry), not be parsed as HTML.
pub async fn missing_asset_is_404(request: Request, next: Next) -> Response {
    let asset = is_asset_path(request.uri().path());
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if asset && html {
        return (axum::http::StatusCode::NOT_FOUND, "no such file\n").into_response();
    }
    response
}

/// Sets `Cache-Control` on static answers (see the module docs).
pub async fn cache_headers(request: Request, next: Next) -> Response {
    let immutable = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_names_the_framing_portals_unless_it_names_its_own() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("config.json");
        let portals = ["https://portal.example/".to_owned()];
        let read =
            |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).expect("json");
        // No file: an empty config, with the portals.
        let v = read(config_json(&file, &portals));
        assert_eq!(
            v["parent_origins"],
            serde_json::json!(["https://portal.example"])
        );
        std::fs::write(&file, r#"{"api_base":"https://api.example","lang":"fr"}"#).expect("write");
        let v = read(config_json(&file, &portals));
        assert_eq!(v["api_base"], "https://api.example");
        assert_eq!(v["lang"], "fr");
        assert_eq!(
            v["parent_origins"],
            serde_json::json!(["https://portal.example"])
        );
        std::fs::write(&file, r#"{"parent_origins":["https://other.example"]}"#).expect("write");
        let v = read(config_json(&file, &portals));
        assert_eq!(
            v["parent_origins"],
            serde_json::json!(["https://other.example"])
        );
        // Not framed: nothing added.
        let v = read(config_json(&file, &[]));
        assert_eq!(
            v["parent_origins"],
            serde_json::json!(["https://other.example"])
        );
        std::fs::write(&file, "{not json").expect("write");
        assert_eq!(config_json(&file, &portals), b"{not json");
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/vigie-0123456789abcdef_bg.wasm"));
        assert!(is_hashed_asset("/vigie-0123456789abcdef.js"));
        assert!(is_hashed_asset("/main-0123456789ABCDEF.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(is_asset_path(
            "/tools/vigie/split_reports_page-0123456789abcdef.wasm"
        ));
        assert!(is_asset_path("/__wasm_split-0123456789abcdef.js"));
        assert!(!is_asset_path("/alerts/rules"));
        assert!(!is_asset_path("/reports"));
        assert!(!is_asset_path("/"));
        assert!(!is_hashed_asset("/config.json"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/vigie-0123.js"));
        assert!(!is_hashed_asset("/some-page-name-that-is-long"));
    }
}
