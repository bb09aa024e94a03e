//! The dashboard's release build, one wasm chunk per page, without Trunk:
//!
//! 1. `cargo build --release --target wasm32-unknown-unknown --features
//!    split`, linked with `--emit-relocs` (the splitter needs the
//!    relocations), in its own target directory, with the standard library
//!    compiled alongside (see [`rustflags`]);
//! 2. the splitter (`wasm_split_cli_support`) cuts the module at the split
//!    points of `src/routes.rs`: a main module, one `split_*` module per page
//!    and `chunk_*` modules for code several pages share, and writes the
//!    JavaScript loader the main module imports them through;
//! 3. wasm-bindgen (its library, as `--target web --keep-lld-exports`) on
//!    the main module only
//!    (the loader reads the linker's exports from the running instance);
//!    then the glue's import names shortened in it and the glue, and the
//!    glue and the loader minified ([`crate::glue`]);
//! 4. `wasm-opt -Oz` on every module (the chunks in one process);
//! 5. `index.html` from the repository's (the one `trunk serve` reads: its
//!    `data-trunk` links are replaced by the hashed files, with SRI), the
//!    stylesheet, the icon and `config.json`;
//! 6. `.gz` and `.br` beside each asset.
//!
//! Every file but `index.html` and `config.json` is named
//! `<name>-<16 hex>`: the modules and the loader by the hash of the
//! compiled wasm (they only work together), the stylesheet and icon by
//! their own contents. The same sources give the same names and bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use base64::Engine;
use sha2::{Digest, Sha256, Sha384};

use crate::cmd::{self, Result, step, timed};
use crate::dist::{FileSize, compress_bundle, print_sizes};
use crate::glue;
use crate::order;
use crate::tools;

/// What a build wrote: the folder, its files' sizes, and which of them the
/// first page load fetches.
#[derive(Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub sizes: Vec<FileSize>,
    /// File names fetched before the first page shows (`index.html`'s
    /// script, module, stylesheet, and the loader the script imports).
    pub first_load: Vec<String>,
    /// The page modules (`split_*`) and the shared ones (`chunk_*`).
    pub chunks: Vec<String>,
}

impl Bundle {
    fn brotli_of(&self, names: &[String]) -> u64 {
        self.sizes
            .iter()
            .filter(|s| names.contains(&s.name))
            .map(|s| s.brotli)
            .sum()
    }

    /// Brotli bytes of what the first load fetches.
    pub fn first_load_brotli(&self) -> u64 {
        self.brotli_of(&self.first_load)
    }

    /// Brotli bytes of all page and shared chunks.
    pub fn chunks_brotli(&self) -> u64 {
        self.brotli_of(&self.chunks)
    }

    /// The largest chunk: name and brotli bytes.
    pub fn largest_chunk(&self) -> Option<(&str, u64)> {
        self.sizes
            .iter()
            .filter(|s| self.chunks.contains(&s.name))
            .max_by_key(|s| s.brotli)
            .map(|s| (s.name.as_str(), s.brotli))
    }
}

/// The first load's budget, brotli bytes (BENCHMARKS.md marks it).
pub const FIRST_LOAD_BUDGET: u64 = 200_000;

/// The most the first load may weigh, brotli bytes: `cargo xtask test`
/// fails past it. Set just above the size reached, it moves down with each
/// saving until it is [`FIRST_LOAD_BUDGET`], so that no page added meanwhile
/// makes the first load heavier unnoticed.
pub const FIRST_LOAD_LIMIT: u64 = 235_000;

fn target_dir() -> PathBuf {
    cmd::root().join("target").join("web")
}

/// 16 hex digits of SHA-256.
fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The prefix of the split points' marker symbols: the splitter's macros
/// follow it with 16 hex digits of the hash of the crate's manifest's
/// absolute path.
const SPLIT_MARKER: &[u8] = b"_WASM_SPLIT_MARKER_";

/// The wasm as cargo linked it, with the markers' path hashes zeroed: what
/// the build's hash is taken of, so that the file names (and so every
/// byte) are the same wherever the checkout lives. The markers do not
/// reach the bundle: the splitter consumes them.
fn without_split_markers(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm.to_vec();
    let mut at = 0;
    while let Some(found) = out[at..]
        .windows(SPLIT_MARKER.len())
        .position(|w| w == SPLIT_MARKER)
    {
        let digits = at + found + SPLIT_MARKER.len();
        let end = (digits + 16).min(out.len());
        if out[digits..end].iter().all(u8::is_ascii_hexdigit) {
            out[digits..end].fill(b'0');
        }
        at = end;
    }
    out
}

/// `sha384-…`, as `integrity=` wants it.
fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The wasm build's flags. The standard library is compiled with the
/// dashboard (`-Zbuild-std`, with its `optimize_for_size` feature), so that
/// these reach it too: a panic is a trap at once (`-Cpanic=immediate-abort`:
/// no message formatting, no panic hook), `Debug` writes nothing
/// (`-Zfmt-debug=none`: what the page shows never comes from `{:?}`) and
/// panics carry no source locations. `RUSTC_BOOTSTRAP=1` lets the stable
/// toolchain take these unstable flags. 293 → 264 KB brotli of first load,
/// measured on 2026-12-07. The same flags on every machine: the paths
/// rustc writes into the module are trimmed by cargo (`-Ztrim-paths`, see
/// [`compile`]), not remapped here, since these flags enter the crates'
/// metadata hashes, so the symbols, and so the bytes and file names.
fn rustflags() -> Vec<String> {
    vec![
        "-Clink-args=--emit-relocs".into(),
        "--cfg".into(),
        "erase_components".into(),
        "-Zunstable-options".into(),
        "-Cpanic=immediate-abort".into(),
        "-Zfmt-debug=none".into(),
        "-Zlocation-detail=none".into(),
    ]
}

/// Step 1: the wasm as cargo links it.
pub fn compile() -> Result<PathBuf> {
    step(
        "compiling the dashboard (cargo build --release --target wasm32-unknown-unknown --features split)",
    );
    timed("compiled", || {
        cmd::run(
            cmd::cargo()
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--package",
                    "vigie",
                    "--bin",
                    "vigie",
                    "--features",
                    "split",
                    "-Zbuild-std=std,panic_abort",
                    "-Zbuild-std-features=optimize_for_size",
                    "-Ztrim-paths",
                ])
                .env("RUSTC_BOOTSTRAP", "1")
                // The checkout, the crates and the standard library named
                // relative to themselves in the module, wherever they are.
                .env("CARGO_PROFILE_RELEASE_TRIM_PATHS", "all")
                .env("CARGO_TARGET_DIR", target_dir())
                // With --target, only the wasm gets these: the build
                // scripts stay as they are. `erase_components`: Leptos
                // erases each component's view type, so fewer generic copies
                // of its view code are built. Encoded (separated by 0x1f):
                // a path with a space stays one flag.
                .env("CARGO_ENCODED_RUSTFLAGS", rustflags().join("\x1f")),
        )
    })?;
    Ok(target_dir().join("wasm32-unknown-unknown/release/vigie.wasm"))
}

/// Builds the dashboard into `dir` (emptied first) for `public_url`.
pub fn build(dir: &Path, public_url: &str) -> Result<Bundle> {
    tools::ensure_build_tools()?;
    let started = Instant::now();
    let wasm = compile()?;
    let bundle = package(&wasm, dir, public_url)?;
    println!(
        "dashboard built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    print_sizes(&bundle.sizes);
    print_split_summary(&bundle);
    Ok(bundle)
}

pub fn print_split_summary(b: &Bundle) {
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    println!(
        "first load (brotli): {} of {} budget; {} chunks, {} in all{}",
        kb(b.first_load_brotli()),
        kb(FIRST_LOAD_BUDGET),
        b.chunks.len(),
        kb(b.chunks_brotli()),
        b.largest_chunk()
            .map(|(n, s)| format!(", largest {n} {}", kb(s)))
            .unwrap_or_default()
    );
}

/// Steps 2 to 6 on the wasm cargo linked.
pub fn package(cargo_wasm: &Path, dir: &Path, public_url: &str) -> Result<Bundle> {
    let input = read(cargo_wasm)?;
    let hash = short_hash(&without_split_markers(&input));
    let work = target_dir().join("split");
    for d in [&work, dir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let main_js = format!("vigie-{hash}.js");
    let main_wasm = format!("vigie-{hash}_bg.wasm");
    let loader = format!("__wasm_split-{hash}.js");

    step("splitting the wasm at the pages' split points");
    let split_dir = work.join("out");
    let main_split = work.join("main.wasm");
    let link_name = format!("./{loader}");
    let main_module = format!("./{main_js}");
    let split = timed("split", || {
        let mut o = wasm_split_cli_support::Options::new(&input);
        o.output_dir = &split_dir;
        o.main_out_path = &main_split;
        o.link_name = &link_name;
        o.main_module = &main_module;
        wasm_split_cli_support::transform(o).map_err(|e| format!("wasm split: {e:#}"))
    })?;

    step("wasm-bindgen on the main module");
    let bg = work.join("bg");
    timed("bindgen", || {
        bindgen_web(&main_split, &format!("vigie-{hash}"), glue::UNUSED_BINDINGS)?
            .keep_lld_exports(true)
            .demangle(false)
            .typescript(false)
            .generate(&bg)
            .map_err(|e| format!("wasm-bindgen: {e:#}"))
    })?;
    step("shortening the glue's import names, minifying the glue");
    timed("glue", || {
        let wasm_path = bg.join(&main_wasm);
        let js = String::from_utf8(read(&bg.join(&main_js))?)
            .map_err(|_| "the glue is not UTF-8".to_owned())?;
        let (wasm, js) = glue::shorten_imports(&read(&wasm_path)?, &js)?;
        write(&wasm_path, &wasm)?;
        write(&dir.join(&main_js), js.as_bytes())?;
        glue::minify(&dir.join(&main_js))
    })?;
    if bg.join("snippets").exists() {
        return Err("wasm-bindgen wrote snippets/: the build does not copy them yet".into());
    }

    // The chunks, renamed with the build hash, and the loader pointing at them.
    let mut loader_js = String::from_utf8(read(&split_dir.join(&loader))?)
        .map_err(|_| "the split loader is not UTF-8".to_owned())?;
    let mut chunks = Vec::new();
    let mut modules: Vec<PathBuf> = split
        .split_modules
        .iter()
        .map(|p| split_dir.join(p))
        .collect();
    modules.sort();
    for path in &modules {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("odd chunk path {}", path.display()))?;
        let stem = file.trim_end_matches(".wasm");
        let named = format!("{stem}-{hash}.wasm");
        let before = format!("\"./{file}\"");
        if !loader_js.contains(&before) {
            return Err(format!("the split loader does not name {file}"));
        }
        loader_js = loader_js.replace(&before, &format!("\"./{named}\""));
        copy(path, &dir.join(&named))?;
        chunks.push(named);
    }
    write(&dir.join(&loader), loader_js.as_bytes())?;
    glue::minify(&dir.join(&loader))?;

    step(&format!("wasm-opt -Oz on {} modules", chunks.len() + 1));
    timed("wasm-opt", || {
        // The main module with the command, the chunks in one process
        // beside it: together, on the two cores.
        std::thread::scope(|s| {
            let main = s.spawn(|| {
                let path = dir.join(&main_wasm);
                run_wasm_opt(
                    "wasm-opt on the main module",
                    wasm_opt(&bg.join(&main_wasm), &path),
                )?;
                // Then its functions in the order that compresses better:
                // named by rank, sorted by name (no other pass).
                write(&path, &order::rank_names(&read(&path)?)?)?;
                run_wasm_opt(
                    "wasm-opt reordering the main module",
                    wasm_opt_passes("--reorder-functions-by-name", &path, &path),
                )
            });
            let paths: Vec<PathBuf> = chunks.iter().map(|c| dir.join(c)).collect();
            let chunks = wasm_opt_chunks(&paths);
            main.join()
                .unwrap_or_else(|_| Err("wasm-opt thread panicked".into()))
                .and(chunks)
        })
    })?;

    let css = hashed_copy(&cmd::root().join("style/main.css"), dir, "main", "css")?;
    let icon = hashed_copy(
        &cmd::root().join("public/favicon.svg"),
        dir,
        "favicon",
        "svg",
    )?;
    copy(
        &cmd::root().join("public/config.json"),
        &dir.join("config.json"),
    )?;

    let template = String::from_utf8(read(&cmd::root().join("index.html"))?)
        .map_err(|_| "index.html is not UTF-8".to_owned())?;
    let files = Files {
        public_url,
        main_js: &main_js,
        main_js_sri: &sri(&read(&dir.join(&main_js))?),
        main_wasm: &main_wasm,
        main_wasm_sri: &sri(&read(&dir.join(&main_wasm))?),
        loader: &loader,
        css: &css,
        css_sri: &sri(&read(&dir.join(&css))?),
        icon: &icon,
    };
    write(
        &dir.join("index.html"),
        index_html(&template, &files)?.as_bytes(),
    )?;

    let sizes = compress_bundle(dir)?;
    Ok(Bundle {
        dir: dir.to_owned(),
        sizes,
        first_load: vec![main_js, main_wasm, loader, css],
        chunks,
    })
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// Copies `from` into `dir` as `<stem>-<hash of its bytes>.<ext>`; returns the name.
fn hashed_copy(from: &Path, dir: &Path, stem: &str, ext: &str) -> Result<String> {
    let bytes = read(from)?;
    let name = format!("{stem}-{}.{ext}", short_hash(&bytes));
    write(&dir.join(&name), &bytes)?;
    Ok(name)
}

/// wasm-bindgen's generator for `--target web`, set as the command sets
/// it: when `init` is given no path, the glue finds its module beside
/// itself; its files are named `{out_name}.js` and `{out_name}_bg.wasm`.
/// `unused` names crates whose bindings go first ([`glue::drop_bindings`]).
/// Callers add their own options, then `generate`.
pub fn bindgen_web(
    input: &Path,
    out_name: &str,
    unused: &[&str],
) -> Result<wasm_bindgen_cli_support::Bindgen> {
    let mut b = wasm_bindgen_cli_support::Bindgen::new();
    if unused.is_empty() {
        b.input_path(input).out_name(out_name);
    } else {
        // Read as the generator reads a file (no validation of the
        // linker's output, no DWARF), and handed to it as it is: from a
        // module, it names its files after the name given.
        let mut module = walrus::ModuleConfig::new()
            .strict_validate(false)
            .parse_file(input)
            .map_err(|e| format!("{}: {e:#}", input.display()))?;
        for krate in unused {
            let n = glue::drop_bindings(&mut module, krate)?;
            println!("   {krate}: {n} exports and what only they used taken out");
        }
        b.input_module(out_name, module);
    }
    b.web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .omit_default_module_path(false);
    Ok(b)
}

/// The wasm features rustc's wasm32 target emits, as wasm-opt's
/// `--enable-…` flags name them (`end2end/tools/wasm-opt-all.mjs` reads the
/// same flags).
fn wasm_features() -> impl Iterator<Item = String> {
    [
        "bulk-memory",
        "nontrapping-float-to-int",
        "sign-ext",
        "mutable-globals",
        "reference-types",
        "multivalue",
    ]
    .into_iter()
    .map(|f| format!("--enable-{f}"))
}

/// `wasm-opt -Oz` from `input` to `output` (the same file is fine), with
/// the features rustc's wasm32 target emits.
pub fn wasm_opt(input: &Path, output: &Path) -> Command {
    wasm_opt_passes("-Oz", input, output)
}

/// `wasm-opt {passes}` from `input` to `output`, with the features rustc's
/// wasm32 target emits; names are not written out.
fn wasm_opt_passes(passes: &str, input: &Path, output: &Path) -> Command {
    let mut c = Command::new(tools::npm_dir().join("node_modules/.bin/wasm-opt"));
    c.arg(passes)
        .args(wasm_features())
        .arg(input)
        .arg("-o")
        .arg(output);
    c
}

/// Runs a wasm-opt `command`; fails with what it printed.
fn run_wasm_opt(what: &str, mut command: Command) -> Result {
    let out = command
        .output()
        .map_err(|e| format!("cannot start wasm-opt: {e}"))?;
    checked(what, &out)
}

/// What a tool printed, when it failed.
fn checked(what: &str, out: &std::process::Output) -> Result {
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// `wasm-opt -Oz` on each module, in place, in one `node` process
/// (`end2end/tools/wasm-opt-all.mjs`: binaryen's API, the same features as
/// [`wasm_opt`]). The command would start binaryen's JavaScript build once
/// per module, a second each: 100 chunks took 105 s that way, 15 s in one
/// process, measured on 2026-12-07; the chunks come out 0.4 % larger.
fn wasm_opt_chunks(paths: &[PathBuf]) -> Result {
    if paths.is_empty() {
        return Ok(());
    }
    let out = Command::new("node")
        .arg("tools/wasm-opt-all.mjs")
        .args(wasm_features())
        .args(paths)
        .current_dir(tools::npm_dir())
        .output()
        .map_err(|e| format!("cannot start node: {e}"))?;
    checked("wasm-opt on the chunks", &out)
}

/// The names `index.html` refers to.
struct Files<'a> {
    public_url: &'a str,
    main_js: &'a str,
    main_js_sri: &'a str,
    main_wasm: &'a str,
    main_wasm_sri: &'a str,
    loader: &'a str,
    css: &'a str,
    css_sri: &'a str,
    icon: &'a str,
}

/// `index.html` from the repository's: each `data-trunk` line replaced by
/// what the build made. The start-up script imports the main module and
/// instantiates the wasm (fetched in parallel through the preload links).
fn index_html(template: &str, f: &Files<'_>) -> Result<String> {
    let pu = f.public_url;
    let mut out = String::new();
    let mut seen = [false; 5];
    for line in template.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let l = line.trim();
        let replaced = if l.starts_with("<base data-trunk-public-url") {
            seen[0] = true;
            format!("<base href=\"{pu}\" />")
        } else if l.starts_with("<link data-trunk rel=\"rust\"") {
            seen[1] = true;
            [
                format!("<link rel=\"modulepreload\" href=\"{pu}{}\" crossorigin=\"anonymous\" integrity=\"{}\" />", f.main_js, f.main_js_sri),
                format!("<link rel=\"modulepreload\" href=\"{pu}{}\" crossorigin=\"anonymous\" />", f.loader),
                format!("<link rel=\"preload\" href=\"{pu}{}\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\" integrity=\"{}\" />", f.main_wasm, f.main_wasm_sri),
                format!("<link rel=\"preload\" href=\"{pu}config.json\" as=\"fetch\" crossorigin=\"anonymous\" />"),
                format!(
                    "<script type=\"module\">import init from '{pu}{}';const wasm = await init({{ module_or_path: '{pu}{}' }});dispatchEvent(new CustomEvent('vigie:started', {{ detail: {{ wasm }} }}));</script>",
                    f.main_js, f.main_wasm
                ),
            ]
            .join(&format!("\n{indent}"))
        } else if l.starts_with("<link data-trunk rel=\"css\"") {
            seen[2] = true;
            format!(
                "<link rel=\"stylesheet\" href=\"{pu}{}\" integrity=\"{}\" />",
                f.css, f.css_sri
            )
        } else if l.starts_with("<link data-trunk rel=\"copy-file\"") {
            seen[3] = true;
            continue;
        } else if l.starts_with("<link data-trunk rel=\"icon\"") {
            seen[4] = true;
            format!("<link rel=\"icon\" href=\"{pu}{}\" />", f.icon)
        } else if l.contains("data-trunk") {
            return Err(format!("index.html: the build does not know `{l}`"));
        } else {
            l.to_owned()
        };
        out.push_str(indent);
        out.push_str(&replaced);
        out.push('\n');
    }
    if seen.contains(&false) {
        return Err("index.html lacks one of the base, rust, css, copy-file and icon lines".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_hash_does_not_depend_on_where_the_checkout_lives() {
        let linked = |path_hash: &str| {
            format!("\0asm data_WASM_SPLIT_MARKER_{path_hash}version more _WASM_SPLIT_MARKER_{path_hash}")
                .into_bytes()
        };
        let (here, there) = (linked("732e786d2a082da8"), linked("4947f587224f7c57"));
        assert_ne!(short_hash(&here), short_hash(&there));
        assert_eq!(
            without_split_markers(&here),
            without_split_markers(&there),
            "only the markers' digits are zeroed"
        );
        assert_eq!(
            without_split_markers(&here),
            b"\0asm data_WASM_SPLIT_MARKER_0000000000000000version more _WASM_SPLIT_MARKER_0000000000000000".to_vec()
        );
        // A marker cut short, or followed by other text, is left alone.
        let odd = b"_WASM_SPLIT_MARKER_xyz _WASM_SPLIT_MARKER_12".to_vec();
        assert_eq!(without_split_markers(&odd), odd);
    }

    #[test]
    fn index_html_names_the_built_files_under_the_public_url() {
        let template = std::fs::read_to_string(cmd::root().join("index.html")).expect("index");
        let files = Files {
            public_url: "/tools/vigie/",
            main_js: "vigie-0123456789abcdef.js",
            main_js_sri: "sha384-js",
            main_wasm: "vigie-0123456789abcdef_bg.wasm",
            main_wasm_sri: "sha384-wasm",
            loader: "__wasm_split-0123456789abcdef.js",
            css: "main-fedcba9876543210.css",
            css_sri: "sha384-css",
            icon: "favicon-0011223344556677.svg",
        };
        let html = index_html(&template, &files).expect("html");
        assert!(!html.contains("data-trunk"), "{html}");
        assert!(html.contains("<base href=\"/tools/vigie/\" />"), "{html}");
        assert!(html.contains(
            "import init from '/tools/vigie/vigie-0123456789abcdef.js';const wasm = await init({ module_or_path: '/tools/vigie/vigie-0123456789abcdef_bg.wasm' });dispatchEvent(new CustomEvent('vigie:started', { detail: { wasm } }));"
        ), "{html}");
        assert!(
            html.contains(
                "href=\"/tools/vigie/main-fedcba9876543210.css\" integrity=\"sha384-css\""
            )
        );
        assert!(html.contains("href=\"/tools/vigie/__wasm_split-0123456789abcdef.js\""));
        assert!(html.contains("href=\"/tools/vigie/config.json\" as=\"fetch\""));
        assert!(html.contains("rel=\"icon\" href=\"/tools/vigie/favicon-0011223344556677.svg\""));
        // One inline script, as the server's CSP hashes it.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(index_html("<link data-trunk rel=\"sass\" href=\"x\" />", &files).is_err());
        assert!(index_html("<html></html>", &files).is_err());
    }

    #[test]
    fn hashes_and_integrity_are_the_standard_ones() {
        // printf abc | sha256sum ; printf abc | openssl dgst -sha384 -binary | base64
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01cfea");
        assert_eq!(
            sri(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }
}
