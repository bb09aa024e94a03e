//! Building the dashboard's release bundle (Trunk), reporting its size, and
//! `cargo xtask run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::cmd::{self, Result, step};
use crate::tools;

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

/// Builds the dashboard with `trunk build --release --offline` into dist/.
pub fn build() -> Result<PathBuf> {
    tools::ensure_build_tools()?;
    // Trunk's --offline makes cargo offline too: fetch the crates first.
    cmd::run(cmd::cargo().args(["fetch", "--quiet"]))?;
    step("building the dashboard (trunk build --release)");
    let started = std::time::Instant::now();
    cmd::run(
        Command::new("trunk")
            .args(["build", "--release", "--offline"])
            .current_dir(cmd::root())
            .env("PATH", tools::path_with_npm_bin()),
    )?;
    println!("built in {:.0} s", started.elapsed().as_secs_f64());
    let dir = dist_dir();
    print_sizes(&compress_bundle(&dir)?);
    Ok(dir)
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
    let dist = build()?;
    let bin = build_server("server")?;
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
