//! The dashboard served by a CDN or nginx instead of vigie-server:
//! `vigie-server cdn-files --dist DIR` writes beside the built files the
//! headers those servers must send, from the same code vigie-server uses
//! for its own answers ([`Csp`], [`is_hashed_asset`]):
//!
//! - `_headers` (Netlify, Cloudflare Pages): every path under the public URL
//!   gets `nosniff`, `no-referrer` and the dashboard's CSP (its inline
//!   scripts' hashes, `connect-src` with the API origins, `frame-ancestors`
//!   with the portals, or `X-Frame-Options: DENY` without any); hashed assets
//!   are cached for a year, `index.html` and `config.json` revalidated.
//! - `nginx.conf`: a `location` block with the same headers, the MIME types
//!   (`application/wasm`), the precompressed `.gz` files and the fallback to
//!   `index.html` that deep links need.
//!
//! `cargo xtask dist` calls it.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::security::{Csp, inline_scripts, script_hash};
use crate::web::is_hashed_asset;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// `vigie-server cdn-files`: the headers files for a dashboard build.
#[derive(Debug, Clone, Parser)]
#[command(name = "vigie-server cdn-files")]
pub struct CdnFiles {
    /// The built dashboard (`index.html` and its assets); the files are
    /// written there.
    #[arg(long)]
    pub dist: PathBuf,
    /// The path the files are served under, e.g. `/tools/vigie/`.
    #[arg(long, default_value = "/")]
    pub public_url: String,
    /// Origins of the portals allowed to frame the dashboard, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub frame_ancestors: Vec<String>,
    /// Origins of the API the dashboard calls, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub connect_src: Vec<String>,
}

impl CdnFiles {
    /// `/tools/vigie/`: always one leading and one trailing slash.
    fn prefix(&self) -> String {
        let inner = self.public_url.trim().trim_matches('/');
        if inner.is_empty() {
            "/".to_owned()
        } else {
            format!("/{inner}/")
        }
    }

    fn csp(&self) -> Csp {
        Csp::new(
            self.dist.join("index.html"),
            &self.connect_src,
            &self.frame_ancestors,
        )
    }

    /// The security headers of every answer, as `(name, value)`.
    fn security_headers(&self, html: &str) -> Vec<(&'static str, String)> {
        let csp = self.csp();
        let hashes: Vec<String> = inline_scripts(html).into_iter().map(script_hash).collect();
        let mut headers = vec![
            ("X-Content-Type-Options", "nosniff".to_owned()),
            ("Referrer-Policy", "no-referrer".to_owned()),
            ("Content-Security-Policy", csp.policy(&hashes)),
        ];
        if !csp.frames_allowed() {
            headers.push(("X-Frame-Options", "DENY".to_owned()));
        }
        headers
    }

    /// `_headers` for the files in `names` (the build's top-level files).
    pub fn headers_file(&self, html: &str, names: &[String]) -> String {
        let prefix = self.prefix();
        let mut out = format!("{prefix}*\n");
        for (name, value) in self.security_headers(html) {
            out.push_str(&format!("  {name}: {value}\n"));
        }
        for path in [
            prefix.clone(),
            format!("{prefix}index.html"),
            format!("{prefix}config.json"),
        ] {
            out.push_str(&format!("{path}\n  Cache-Control: {REVALIDATE}\n"));
        }
        let mut hashed: Vec<&String> = names.iter().filter(|n| is_hashed_asset(n)).collect();
        hashed.sort();
        for name in hashed {
            out.push_str(&format!("{prefix}{name}\n  Cache-Control: {IMMUTABLE}\n"));
        }
        out
    }

    /// An nginx `location` block serving the public URL from the document
    /// root `root`, the files being in `<root><public URL>`.
    pub fn nginx(&self, html: &str, root: &str) -> String {
        let prefix = self.prefix();
        let root = root.trim_end_matches('/');
        let add = |cache: &str| {
            let mut lines: Vec<String> = self
                .security_headers(html)
                .into_iter()
                .map(|(name, value)| format!("add_header {name} \"{value}\" always;"))
                .collect();
            lines.push(format!("add_header Cache-Control \"{cache}\" always;"));
            lines
        };
        let indent = |lines: Vec<String>, by: &str| {
            lines
                .into_iter()
                .map(|l| format!("{by}{l}\n"))
                .collect::<String>()
        };
        format!(
            "# Vigie's dashboard under {prefix}: the folder `cargo xtask dist` wrote,\n\
             # copied to {root}{prefix}. Include inside a `server` block.\n\
             location {prefix} {{\n\
             \x20   root {root};\n\
             \x20   types {{\n\
             \x20       text/html html;\n\
             \x20       text/css css;\n\
             \x20       text/javascript js;\n\
             \x20       application/wasm wasm;\n\
             \x20       application/json json;\n\
             \x20       image/svg+xml svg;\n\
             \x20   }}\n\
             \x20   # The .gz beside each asset (and .br with ngx_brotli's brotli_static).\n\
             \x20   gzip_static on;\n\
             {}\
             \x20   # Deep links (a reload on a sub-page) get index.html.\n\
             \x20   try_files $uri $uri/ {prefix}index.html;\n\
             \x20   # Content-hashed names never change: cached for a year. One that\n\
             \x20   # is not there (a page chunk of an older deployment) is a 404.\n\
             \x20   location ~ \"-[0-9a-fA-F]{{16}}(_bg)?\\.(wasm|js|css|svg)$\" {{\n\
             \x20       try_files $uri =404;\n\
             {}\
             \x20   }}\n\
             }}\n",
            indent(add(REVALIDATE), "    "),
            indent(add(IMMUTABLE), "        "),
        )
    }

    /// Writes `_headers` and `nginx.conf` into the build; their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>, String> {
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let html = read(&self.dist.join("index.html"))?;
        let names: Vec<String> = std::fs::read_dir(&self.dist)
            .map_err(|e| format!("{}: {e}", self.dist.display()))?
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let root = "/srv/www";
        let files = [
            (self.dist.join("_headers"), self.headers_file(&html, &names)),
            (self.dist.join("nginx.conf"), self.nginx(&html, root)),
        ];
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(files.into_iter().map(|(p, _)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = "<html><head><script type=\"module\">import init from '/vigie.js';await init();</script>\
        <script src=\"/other.js\"></script></head></html>";
    /// `printf %s "import init from '/vigie.js';await init();" | openssl dgst -sha256 -binary | base64`
    const HASH: &str = "'sha256-pmjDvQ/s5gYl56WYhTpca34HVyNlQmzmNktuIqRlBuc='";

    fn files(public_url: &str, ancestors: &[&str]) -> CdnFiles {
        CdnFiles {
            dist: PathBuf::from("/nowhere"),
            public_url: public_url.into(),
            frame_ancestors: ancestors.iter().map(|s| (*s).to_owned()).collect(),
            connect_src: vec!["https://api.example".into()],
        }
    }

    /// The headers of `path`'s rule in a `_headers` text.
    fn rule<'a>(text: &'a str, path: &str) -> Vec<&'a str> {
        let mut lines = text.lines();
        let _ = lines.by_ref().find(|l| *l == path);
        lines
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect()
    }

    #[test]
    fn every_path_gets_the_policy_and_hashed_assets_a_year() {
        let names = [
            "index.html",
            "config.json",
            "vigie-0123456789abcdef_bg.wasm",
            "vigie-0123456789abcdef.js",
            "_headers",
        ]
        .map(String::from);
        let text = files("tools/vigie", &["https://portal.example/"]).headers_file(HTML, &names);
        let all = rule(&text, "/tools/vigie/*");
        assert!(all.contains(&"X-Content-Type-Options: nosniff"), "{text}");
        assert!(all.contains(&"Referrer-Policy: no-referrer"), "{text}");
        let csp = all
            .iter()
            .find_map(|l| l.strip_prefix("Content-Security-Policy: "))
            .expect("a CSP");
        assert!(
            csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' {HASH};")),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' https://api.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("frame-ancestors https://portal.example;"),
            "{csp}"
        );
        assert!(
            !all.iter().any(|l| l.starts_with("X-Frame-Options")),
            "{text}"
        );
        for path in [
            "/tools/vigie/",
            "/tools/vigie/index.html",
            "/tools/vigie/config.json",
        ] {
            assert_eq!(rule(&text, path), vec!["Cache-Control: no-cache"], "{path}");
        }
        for name in [
            "vigie-0123456789abcdef_bg.wasm",
            "vigie-0123456789abcdef.js",
        ] {
            assert_eq!(
                rule(&text, &format!("/tools/vigie/{name}")),
                vec!["Cache-Control: public, max-age=31536000, immutable"]
            );
        }
        assert!(rule(&text, "/tools/vigie/_headers").is_empty());
    }

    #[test]
    fn without_portals_framing_is_refused_twice() {
        let text = files("/", &[]).headers_file(HTML, &[]);
        let all = rule(&text, "/*");
        assert!(all.contains(&"X-Frame-Options: DENY"), "{text}");
        assert!(
            all.iter().any(|l| l.contains("frame-ancestors 'none'")),
            "{text}"
        );
    }

    #[test]
    fn the_nginx_block_serves_wasm_deep_links_and_the_same_headers() {
        let conf = files("/tools/vigie/", &["https://portal.example"]).nginx(HTML, "/srv/www/");
        assert!(conf.contains("location /tools/vigie/ {"), "{conf}");
        assert!(conf.contains("root /srv/www;"), "{conf}");
        assert!(conf.contains("application/wasm wasm;"), "{conf}");
        assert!(
            conf.contains("try_files $uri $uri/ /tools/vigie/index.html;"),
            "{conf}"
        );
        // A hashed name that is not there is a 404, not index.html.
        assert!(conf.contains("        try_files $uri =404;"), "{conf}");
        // nginx drops the outer add_header lines inside a nested location:
        // the policy is repeated there.
        assert_eq!(
            conf.matches("add_header Content-Security-Policy").count(),
            2,
            "{conf}"
        );
        assert_eq!(conf.matches(HASH).count(), 2, "{conf}");
        assert!(
            conf.contains("add_header Cache-Control \"no-cache\" always;"),
            "{conf}"
        );
        assert!(
            conf.contains(
                "add_header Cache-Control \"public, max-age=31536000, immutable\" always;"
            )
        );
        assert_eq!(
            conf.matches('{').count(),
            conf.matches('}').count(),
            "{conf}"
        );
    }
}
