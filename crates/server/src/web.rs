//! Serves the built dashboard. Trunk names every asset with a content hash
//! (`vigie-3f2a…_bg.wasm`), so those are cached for a year; `index.html` and
//! `config.json` are revalidated on every load so that a new release or a new
//! config takes effect at once. Unknown paths get `index.html` so that the
//! router's deep links work on reload. The build writes `.br` and `.gz`
//! beside each asset (`cargo xtask dist`), served as they are to browsers that
//! accept them: the largest file, the wasm, costs no compression per request.

use std::path::Path;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

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

/// True when a file name carries Trunk's content hash: `name-<16 hex>` before
/// the extension (and before `_bg` for the wasm file).
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
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
    use super::is_hashed_asset;

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/vigie-0123456789abcdef_bg.wasm"));
        assert!(is_hashed_asset("/vigie-0123456789abcdef.js"));
        assert!(is_hashed_asset("/main-0123456789ABCDEF.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/config.json"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/vigie-0123.js"));
        assert!(!is_hashed_asset("/some-page-name-that-is-long"));
    }
}
