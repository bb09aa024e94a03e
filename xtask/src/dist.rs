//! Building the dashboard's release bundle ([`crate::web`]), reporting its size,
//! `cargo xtask dist` (a folder for a CDN) and `cargo xtask run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::cmd::{self, Result, step};
use crate::{tools, web};
use vigie_api::{DashboardConfig, Range};

/// Bytes of one bundle file: raw, gzip level 9, brotli quality 11 (what a CDN serves).
#[derive(Debug, Clone)]
pub struct FileSize {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

pub fn dist_dir() -> PathBuf {
    cmd::root().join("dist")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    // Compressing from a slice into a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
    out
}

/// Writes `<file>.gz` and `<file>.br` beside each wasm, JS and CSS file of a
/// built bundle (what vigie-server and a CDN serve to browsers that accept
/// them) and returns the files' sizes, largest first.
pub fn compress_bundle(dir: &Path) -> Result<Vec<FileSize>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut sizes = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (gz, br) = (gzip(&bytes), brotli(&bytes));
        for (suffix, data) in [("gz", &gz), ("br", &br)] {
            let out = path.with_extension(format!("{ext}.{suffix}"));
            std::fs::write(&out, data).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        sizes.push(FileSize {
            name: entry.file_name().to_string_lossy().into_owned(),
            raw: bytes.len() as u64,
            gzip: gz.len() as u64,
            brotli: br.len() as u64,
        });
    }
    sizes.sort_by_key(|s| std::cmp::Reverse(s.raw));
    Ok(sizes)
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

pub fn print_sizes(sizes: &[FileSize]) {
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "release bundle", "raw", "gzip", "brotli"
    );
    for s in sizes {
        println!(
            "{:<44} {:>10} {:>10} {:>10}",
            s.name,
            kb(s.raw),
            kb(s.gzip),
            kb(s.brotli)
        );
    }
    let (raw, gzip, brotli) = sizes.iter().fold((0, 0, 0), |(r, g, b), s| {
        (r + s.raw, g + s.gzip, b + s.brotli)
    });
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "total (wasm + JS + CSS)",
        kb(raw),
        kb(gzip),
        kb(brotli)
    );
}

/// Builds the dashboard into dist/ (see [`crate::web`]).
pub fn build() -> Result<web::Bundle> {
    build_into(&dist_dir(), "/")
}

/// The path the end-to-end tests serve a second build under (nginx, with
/// the headers `vigie-server cdn-files` writes).
pub const E2E_PUBLIC_URL: &str = "/tools/vigie/";

/// The build for [`E2E_PUBLIC_URL`], in `target/cdn-e2e`.
pub fn build_for_e2e_path() -> Result<web::Bundle> {
    build_into(&cmd::root().join("target").join("cdn-e2e"), E2E_PUBLIC_URL)
}

/// The release bundle in `dir`, served under `public_url`.
pub fn build_into(dir: &Path, public_url: &str) -> Result<web::Bundle> {
    step(&format!(
        "building the dashboard into {} for {public_url}",
        dir.display()
    ));
    web::build(dir, public_url)
}

/// `cargo xtask serve`: `trunk serve` (development; Trunk.toml proxies the
/// API to a vigie-server on 127.0.0.1:8080), installing Trunk first if needed.
pub fn trunk_serve(args: &[String]) -> Result {
    crate::tools::ensure_trunk()?;
    cmd::run(
        Command::new("trunk")
            .arg("serve")
            .args(args)
            .current_dir(cmd::root())
            .env("PATH", crate::tools::path_with_npm_bin()),
    )
}

/// What `cargo xtask dist` was asked for: where the build is served and
/// what its `config.json` says.
#[derive(Debug, Default, PartialEq)]
pub struct CdnArgs {
    pub public_url: String,
    pub out: PathBuf,
    pub config: DashboardConfig,
}

pub const DIST_USAGE: &str = "usage: cargo xtask dist [--public-url /path/] [--out DIR] \
[--api-base https://api.example] [--parent-origins https://portal.example,...] [--require-parent] \
[--theme light|dark|auto] [--lang en|fr] [--range 5m|15m|1h|6h|24h|7d]";

impl CdnArgs {
    pub fn parse(args: &[String]) -> Result<CdnArgs> {
        let mut out = CdnArgs {
            public_url: "/".into(),
            out: cmd::root().join("target").join("cdn"),
            ..CdnArgs::default()
        };
        let config = &mut out.config;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value\n{DIST_USAGE}"))
            };
            match flag.as_str() {
                "--public-url" => {
                    let v = value()?;
                    if !v.starts_with('/') {
                        return Err(format!("--public-url must be a path starting with /: {v}"));
                    }
                    out.public_url = format!("{}/", v.trim_end_matches('/'));
                }
                "--out" => out.out = PathBuf::from(value()?),
                "--api-base" => {
                    let v = value()?;
                    if origin_of(&v).is_none() {
                        return Err(format!("--api-base must be an http(s) URL: {v}"));
                    }
                    config.api_base = Some(v.trim_end_matches('/').to_owned());
                }
                // `--frame-ancestors`: the name of earlier versions.
                "--parent-origins" | "--frame-ancestors" => {
                    config.parent_origins = Vec::new();
                    for v in value()?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        match origin_of(v) {
                            Some(origin) if origin == v.trim_end_matches('/') => {
                                config.parent_origins.push(origin);
                            }
                            _ => {
                                return Err(format!(
                                    "{flag}: {v} is not an origin (scheme://host[:port], no path)"
                                ));
                            }
                        }
                    }
                }
                "--require-parent" => config.require_parent = true,
                "--theme" => {
                    let v = value()?;
                    config.theme = Some(
                        serde_json::from_value(v.clone().into())
                            .map_err(|_| format!("--theme is light, dark or auto, not {v}"))?,
                    );
                }
                "--lang" => {
                    let v = value()?;
                    config.lang = Some(
                        serde_json::from_value(v.clone().into())
                            .map_err(|_| format!("--lang is en or fr, not {v}"))?,
                    );
                }
                "--range" => {
                    let v = value()?;
                    let range = Range::parse(&v).ok_or_else(|| {
                        let all: Vec<_> = Range::ALL.iter().map(|r| r.as_str()).collect();
                        format!("--range is one of {}, not {v}", all.join(", "))
                    })?;
                    config.range = Some(range.as_str().to_owned());
                }
                other => return Err(format!("unknown argument {other}\n{DIST_USAGE}")),
            }
        }
        if config.require_parent && config.parent_origins.is_empty() {
            return Err("--require-parent needs --parent-origins".into());
        }
        Ok(out)
    }
}

/// `https://api.example:8443` of `https://api.example:8443/some/path`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!host.is_empty() && !host.contains('@')).then(|| format!("{scheme}://{host}"))
}

/// `cargo xtask dist`: a folder ready for a CDN or nginx: the hashed
/// bundle (with SRI) built for the public URL, precompressed, its
/// `config.json`, and the `_headers` and `nginx.conf` vigie-server writes
/// for it (the same CSP as it sends itself).
pub fn cdn(args: &[String]) -> Result {
    let args = CdnArgs::parse(args)?;
    let dir = build_into(&args.out, &args.public_url)?.dir;
    let config = serde_json::to_string_pretty(&args.config).map_err(|e| e.to_string())? + "\n";
    let path = dir.join("config.json");
    std::fs::write(&path, config).map_err(|e| format!("{}: {e}", path.display()))?;
    let server = build_server("server")?;
    let mut write = Command::new(server);
    write
        .arg("cdn-files")
        .arg("--dist")
        .arg(&dir)
        .args(["--public-url", &args.public_url]);
    if !args.config.parent_origins.is_empty() {
        write.args(["--frame-ancestors", &args.config.parent_origins.join(",")]);
    }
    if let Some(origin) = args.config.api_base.as_deref().and_then(origin_of) {
        write.args(["--connect-src", &origin]);
    }
    cmd::run(&mut write)?;
    println!(
        "\n{} is ready to deploy under {} (README: \"Deploy to a CDN\")",
        dir.display(),
        args.public_url
    );
    Ok(())
}

/// Builds vigie-server with cargo `profile` and returns the binary's path.
pub fn build_server(profile: &str) -> Result<PathBuf> {
    step(&format!("building vigie-server (profile `{profile}`)"));
    build_server_target(profile, None)
}

/// One of the server crate's examples (`crates/server/examples/{name}.rs`),
/// built with `profile`.
pub fn build_server_example(profile: &str, name: &str) -> Result<PathBuf> {
    build_server_target(profile, Some(name))
}

fn build_server_target(profile: &str, example: Option<&str>) -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo.args([
        "build",
        "--quiet",
        "-p",
        "vigie-server",
        "--profile",
        profile,
    ]);
    if let Some(name) = example {
        cargo.args(["--example", name]);
    }
    cmd::run(&mut cargo)?;
    let dir = cmd::root()
        .join("target")
        .join(if profile == "dev" { "debug" } else { profile });
    Ok(match example {
        Some(name) => dir.join("examples").join(name),
        None => dir.join("vigie-server"),
    })
}

/// `cargo xtask run`: build everything, then run the server in the foreground.
pub fn run(server_args: Vec<String>) -> Result {
    // The server builds beside the dashboard: on 2 cores each build's
    // single-threaded stretches (the wasm's LTO link, wasm-opt's tail) leave
    // a core to the other.
    tools::ensure_build_tools()?;
    let started = std::time::Instant::now();
    let (dist, bin) = std::thread::scope(|s| {
        let server = s.spawn(|| build_server("server"));
        let dist = build();
        let bin = server
            .join()
            .unwrap_or_else(|_| Err("the server build panicked".into()));
        (dist, bin)
    });
    let (dist, bin) = (dist?.dir, bin?);
    println!(
        "dashboard and server built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut server = Command::new(bin);
    server.current_dir(cmd::root()).args(&server_args);
    if std::env::var_os("VIGIE_STATIC_DIR").is_none() {
        server.env("VIGIE_STATIC_DIR", &dist);
    }
    let addr = std::env::var("VIGIE_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    step(&format!(
        "starting vigie-server: open http://{addr}/ (Ctrl-C stops it)"
    ));
    cmd::run(&mut server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_api::{Lang, ThemeChoice};

    fn args(list: &[&str]) -> Result<CdnArgs> {
        CdnArgs::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn dist_arguments_are_read_and_bad_ones_refused() {
        let a = args(&[
            "--public-url",
            "/tools/vigie",
            "--out",
            "/tmp/x",
            "--api-base",
            "https://api.example:8443/",
            "--parent-origins",
            "https://portal.example, https://other.example:8443",
            "--require-parent",
            "--theme",
            "dark",
            "--lang",
            "fr",
            "--range",
            "6h",
        ])
        .expect("read");
        assert_eq!(a.public_url, "/tools/vigie/");
        assert_eq!(a.out, PathBuf::from("/tmp/x"));
        let c = &a.config;
        assert_eq!(c.api_base.as_deref(), Some("https://api.example:8443"));
        assert_eq!(
            c.parent_origins,
            ["https://portal.example", "https://other.example:8443"]
        );
        assert!(c.require_parent);
        assert_eq!(c.theme, Some(ThemeChoice::Dark));
        assert_eq!(c.lang, Some(Lang::Fr));
        assert_eq!(c.range.as_deref(), Some("6h"));
        // What config.json says, as the dashboard reads it.
        let json = serde_json::to_value(c).expect("json");
        assert_eq!(json["parent_origins"][1], "https://other.example:8443");
        assert_eq!(json["theme"], "dark");
        assert_eq!(json["lang"], "fr");
        let defaults = args(&[]).expect("defaults");
        assert_eq!(defaults.public_url, "/");
        assert_eq!(defaults.config, DashboardConfig::default());
        assert!(args(&["--public-url", "tools"]).is_err());
        assert!(args(&["--api-base", "ftp://x"]).is_err());
        assert!(args(&["--parent-origins", "https://portal.example/admin"]).is_err());
        assert!(args(&["--parent-origins", "*"]).is_err());
        assert!(args(&["--theme", "blue"]).is_err());
        assert!(args(&["--lang", "de"]).is_err());
        assert!(args(&["--range", "2h"]).is_err());
        assert!(args(&["--require-parent"]).is_err());
        assert!(args(&["--out"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }

    #[test]
    fn an_api_base_gives_its_origin() {
        assert_eq!(
            origin_of("https://api.example:8443/v/1?x").as_deref(),
            Some("https://api.example:8443")
        );
        assert_eq!(
            origin_of("http://10.0.0.5").as_deref(),
            Some("http://10.0.0.5")
        );
        assert_eq!(origin_of("https://user@evil.example"), None);
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://"), None);
    }
}
