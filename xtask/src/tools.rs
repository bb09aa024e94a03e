//! Installs what the build and the tests need when it is missing, at the
//! versions known to work (see README): the wasm target, wasm-bindgen-cli
//! (for the wasm tests and Trunk) at exactly Cargo.lock's wasm-bindgen,
//! wasm-opt from npm's `binaryen` and terser together with Playwright, and
//! Debian's Chromium and ChromeDriver.
//! Every check is cheap, so a second run installs nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, Result, step, timed};

pub const TRUNK_VERSION: &str = "0.21.14";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where npm installs the front-end tools (wasm-opt, Playwright).
pub fn npm_dir() -> PathBuf {
    cmd::root().join("end2end")
}

/// PATH with the npm tools first, for Trunk to find wasm-opt.
pub fn path_with_npm_bin() -> String {
    let bin = npm_dir().join("node_modules/.bin");
    match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", bin.display()),
        _ => bin.display().to_string(),
    }
}

/// The version of `package` recorded in Cargo.lock.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(cmd::root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

fn installed_version(program: &str) -> Option<String> {
    // `trunk 0.21.14`, `wasm-bindgen 0.2.130`
    cmd::output(Command::new(program).arg("--version"))
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
}

fn wasm_target() -> Result {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("installing the Rust target wasm32-unknown-unknown");
    timed("installed", || {
        cmd::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
    })
}

/// The standard library's sources: the dashboard's release build compiles
/// the standard library with it (`web::compile`).
fn rust_src() -> Result {
    let installed = cmd::output(Command::new("rustup").args(["component", "list", "--installed"]))
        .unwrap_or_default();
    if installed.lines().any(|l| l.trim().starts_with("rust-src")) {
        return Ok(());
    }
    step("installing the standard library's sources (rustup component add rust-src)");
    timed("installed", || {
        cmd::run(Command::new("rustup").args(["component", "add", "rust-src"]))
    })
}

fn cargo_install(program: &str, krate: &str, version: &str, locked: bool, minutes: u32) -> Result {
    if installed_version(program).as_deref() == Some(version) {
        return Ok(());
    }
    step(&format!(
        "installing {krate} {version} (about {minutes} min on 2 cores)"
    ));
    let mut c = cmd::cargo();
    c.args(["install", krate, "--version", version]);
    if locked {
        c.arg("--locked");
    }
    timed("installed", || cmd::run(&mut c))
}

/// `npm ci` in end2end/ when node_modules is missing or older than the lock file.
fn npm_tools() -> Result {
    let dir = npm_dir();
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&lock), modified(&marker)), (Some(l), Some(m)) if m >= l);
    if fresh
        && ["wasm-opt", "terser"]
            .iter()
            .all(|t| dir.join("node_modules/.bin").join(t).exists())
    {
        return Ok(());
    }
    step("installing npm packages in end2end/ (binaryen's wasm-opt, terser, Playwright)");
    timed("installed", || {
        cmd::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                // Playwright drives Debian's Chromium; its own browser download
                // cannot work on a machine that only reaches package registries.
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        )
    })
}

/// Trunk, for `cargo xtask serve` (development) only: the release build
/// does not use it.
pub fn ensure_trunk() -> Result {
    ensure_build_tools()?;
    ensure_bindgen_cli()?;
    cargo_install("trunk", "trunk", TRUNK_VERSION, true, 13)
}

/// What building the dashboard needs. wasm-bindgen itself is a library of
/// xtask's, so `run` and `dist` need no wasm-bindgen-cli.
pub fn ensure_build_tools() -> Result {
    wasm_target()?;
    rust_src()?;
    npm_tools()
}

/// wasm-bindgen-cli, at the dashboard's wasm-bindgen: its test runner runs
/// the wasm tests in Chromium, and Trunk looks for its `wasm-bindgen`.
pub fn ensure_bindgen_cli() -> Result {
    // Without --locked: the registry lacks a pinned dependency of some releases.
    let bindgen = locked_version("wasm-bindgen")?;
    cargo_install("wasm-bindgen", "wasm-bindgen-cli", &bindgen, false, 3)
}

/// Debian packages the tests run for real, by the file each one installs:
/// Chromium and ChromeDriver (wasm tests, Playwright), node_exporter (the
/// scrape tests), poppler's `pdftoppm` (the reports' printed pages
/// rendered to images), nginx (the CDN and portal tests serve the build
/// with it), redis-server with its redis-cli (the cache source tests) and
/// PostgreSQL 15 with pg_stat_statements and psql (the database source tests).
const TEST_PACKAGES: [(&str, &str); 8] = [
    (CHROMIUM, "chromium"),
    (CHROMEDRIVER, "chromium-driver"),
    (
        "/usr/bin/prometheus-node-exporter",
        "prometheus-node-exporter",
    ),
    ("/usr/bin/pdftoppm", "poppler-utils"),
    ("/usr/sbin/nginx", "nginx"),
    ("/usr/bin/redis-server", "redis-server"),
    ("/usr/lib/postgresql/15/bin/postgres", "postgresql"),
    // The TLS tests' certificate authority.
    ("/usr/bin/openssl", "openssl"),
];

/// What the benchmarks add: wrk (nginx, the static-file ceiling, is a test package).
const BENCH_PACKAGES: [(&str, &str); 1] = [("/usr/bin/wrk", "wrk")];

/// Installs with apt whichever of the test packages is missing.
pub fn ensure_test_packages() -> Result {
    ensure_packages(&TEST_PACKAGES)
}

/// Installs with apt whichever of the test and benchmark packages is missing.
pub fn ensure_bench_packages() -> Result {
    ensure_packages(&TEST_PACKAGES)?;
    ensure_packages(&BENCH_PACKAGES)
}

/// Installs with apt the packages (by the file each installs) that are missing.
fn ensure_packages(packages: &[(&str, &str)]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(file, _)| !Path::new(file).exists())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing {} from Debian (apt)",
        missing.join(", ")
    ));
    let root = cmd::output(Command::new("id").arg("-u")).as_deref() == Some("0");
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !root {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd::run(&mut c)
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(missing);
    apt(&install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glue_generator_is_the_dashboards_wasm_bindgen() {
        let bindgen = locked_version("wasm-bindgen").expect("wasm-bindgen locked");
        assert_eq!(
            locked_version("wasm-bindgen-cli-support").as_deref(),
            Ok(bindgen.as_str()),
            "xtask's wasm-bindgen-cli-support must be the dashboard's wasm-bindgen"
        );
    }
}
