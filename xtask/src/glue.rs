//! The main module's JavaScript glue made smaller before it ships.
//!
//! wasm-bindgen names each function the module imports from its glue
//! `__wbg_<name>_<16 hex digits>` (or `__wbindgen_…`): about 300 names of 33
//! bytes, whose hashes do not compress, once in the module's import section
//! and once as keys in the glue. [`shorten_imports`] renames them `a`, `b`,
//! … `ab`, … in both; the glue refers to them nowhere else, and the chunks
//! import only the memory, the table and the shared globals, so nothing
//! else changes. Then [`minify`] runs terser on the glue and on the chunks'
//! loader.

use std::path::Path;
use std::process::Command;

use crate::cmd::{self, Result};
use crate::tools;

/// The `index`th short name: `a` … `z`, `A` … `Z`, then `ab`, `bb` … and on,
/// the first letter varying fastest. Never a digit first, so always an
/// identifier.
pub fn short_name(mut index: usize) -> String {
    const ALPHABET: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = String::new();
    loop {
        name.push(char::from(ALPHABET[index % 52]));
        index /= 52;
        if index == 0 {
            return name;
        }
    }
}

pub(crate) fn read_leb(bytes: &[u8], at: &mut usize) -> Result<u32> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at).ok_or("wasm: truncated number")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| "wasm: number too large".into());
        }
    }
    Err("wasm: number too long".into())
}

pub(crate) fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn read_name<'a>(bytes: &'a [u8], at: &mut usize) -> Result<&'a [u8]> {
    let len = read_leb(bytes, at)? as usize;
    let name = bytes.get(*at..*at + len).ok_or("wasm: truncated name")?;
    *at += len;
    Ok(name)
}

/// Skips an import's description (what follows its two names).
pub(crate) fn skip_import_desc(bytes: &[u8], at: &mut usize) -> Result {
    let kind = *bytes.get(*at).ok_or("wasm: truncated import")?;
    *at += 1;
    let limits = |at: &mut usize| -> Result {
        let flags = read_leb(bytes, at)?;
        read_leb(bytes, at)?;
        if flags & 1 != 0 {
            read_leb(bytes, at)?;
        }
        Ok(())
    };
    match kind {
        // A function: its type index. A tag: attribute, type index.
        0x00 => read_leb(bytes, at).map(drop),
        0x04 => {
            *at += 1;
            read_leb(bytes, at).map(drop)
        }
        // A table: element type, limits. A memory: limits.
        0x01 => {
            *at += 1;
            limits(at)
        }
        0x02 => limits(at),
        // A global: value type, mutability.
        0x03 => {
            *at += 2;
            Ok(())
        }
        other => Err(format!("wasm: unknown import kind {other:#x}")),
    }
}

/// A section of a wasm module: its id, its bytes with its header, its
/// contents.
pub(crate) struct Section<'a> {
    pub id: u8,
    pub whole: &'a [u8],
    pub body: &'a [u8],
}

/// The sections of a wasm module (version 1), in order.
pub(crate) fn sections(wasm: &[u8]) -> Result<Vec<Section<'_>>> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a wasm module".into());
    }
    let mut at = 8;
    let mut out = Vec::new();
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        at += 1;
        let size = read_leb(wasm, &mut at)? as usize;
        let body = wasm.get(at..at + size).ok_or("wasm: truncated section")?;
        at += size;
        out.push(Section {
            id,
            whole: &wasm[start..at],
            body,
        });
    }
    Ok(out)
}

/// Renames the module's imports from its glue (module name ending in
/// `_bg.js`, field `__wbg_…` or `__wbindgen_…`) in the module and in the
/// glue's import object. Fails when a name is not exactly once in the glue,
/// so that a glue that refers to an import elsewhere is never broken.
pub fn shorten_imports(wasm: &[u8], js: &str) -> Result<(Vec<u8>, String)> {
    let mut out = wasm[..8.min(wasm.len())].to_vec();
    let mut js = js.to_owned();
    let mut renamed = 0;
    for Section { id, whole, body } in sections(wasm)? {
        if id != 2 {
            out.extend_from_slice(whole);
            continue;
        }
        let mut p = 0;
        let count = read_leb(body, &mut p)?;
        let mut section = Vec::with_capacity(body.len());
        write_leb(&mut section, count);
        for _ in 0..count {
            let module = read_name(body, &mut p)?;
            let field = read_name(body, &mut p)?;
            let desc = p;
            skip_import_desc(body, &mut p)?;
            let field = std::str::from_utf8(field).map_err(|_| "wasm: import name not UTF-8")?;
            let glue = module.ends_with(b"_bg.js")
                && (field.starts_with("__wbg_") || field.starts_with("__wbindgen_"));
            let name = if glue {
                let short = short_name(renamed);
                renamed += 1;
                let key = format!("\n        {field}:");
                if js.matches(field).count() != 1 || js.matches(&key).count() != 1 {
                    return Err(format!(
                        "the glue names import {field} other than once as a key"
                    ));
                }
                js = js.replacen(&key, &format!("\n        {short}:"), 1);
                short
            } else {
                field.to_owned()
            };
            write_leb(&mut section, module.len() as u32);
            section.extend_from_slice(module);
            write_leb(&mut section, name.len() as u32);
            section.extend_from_slice(name.as_bytes());
            section.extend_from_slice(&body[desc..p]);
        }
        if p != body.len() {
            return Err("wasm: import section longer than its entries".into());
        }
        out.push(2);
        write_leb(&mut out, section.len() as u32);
        out.extend_from_slice(&section);
    }
    Ok((out, js))
}

/// Crates whose `#[wasm_bindgen]` exports the dashboard never reaches, taken
/// out before wasm-bindgen reads the module ([`drop_bindings`]).
/// `wasm-streams`, which `server_fn` brings (and leptos with it, even
/// client-side), exports the classes behind `ReadableStream::from_stream`
/// and `WritableStream::from_sink`; the dashboard never makes a stream from
/// Rust.
pub const UNUSED_BINDINGS: &[&str] = &["wasm-streams"];

const BINDGEN_SECTION: &str = "__wasm_bindgen_unstable";

/// The `[u32 length][bytes]` records of a wasm-bindgen section, as ranges
/// of `data` (length included).
fn records(data: &[u8]) -> Result<Vec<std::ops::Range<usize>>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let len = data
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("wasm-bindgen section: truncated record")?;
        let end = at + 4 + len;
        if end > data.len() {
            return Err("wasm-bindgen section: truncated record".into());
        }
        out.push(at..end);
        at = end;
    }
    Ok(out)
}

/// The crate identifier (`{krate}-{16 hex digits}`) a wasm-bindgen program
/// carries, if it is one of `krate`'s: the identifier is written as a
/// length byte, then its text.
fn crate_identifier(program: &[u8], krate: &str) -> Option<String> {
    let prefix = format!("{krate}-");
    let len = prefix.len() + 16;
    (1..program.len()).find_map(|k| {
        let text = program.get(k..k + len)?;
        (usize::from(program[k - 1]) == len
            && text.starts_with(prefix.as_bytes())
            && text[prefix.len()..].iter().all(u8::is_ascii_hexdigit))
        .then(|| String::from_utf8_lossy(text).into_owned())
    })
}

/// Takes `krate`'s bindings out of `module` before wasm-bindgen reads it:
/// its programs in the wasm-bindgen section, the functions it exports (their
/// names end with the crate's hash, as its identifier does), then all that
/// only those reached. Returns how many exports went. Fails when the module
/// holds no bindings of `krate`; if what is left still calls one of them
/// (an import no program describes any more), wasm-bindgen fails in turn.
pub fn drop_bindings(module: &mut walrus::Module, krate: &str) -> Result<usize> {
    let mut sections = Vec::new();
    while let Some(section) = module.customs.remove_raw(BINDGEN_SECTION) {
        sections.push(section);
    }
    let mut identifier = None;
    for section in &mut sections {
        let records = records(&section.data)?;
        if records.len() % 2 != 0 {
            return Err("wasm-bindgen section: a version without its program".into());
        }
        let mut kept = Vec::with_capacity(section.data.len());
        // Pairs: the schema version, then the program.
        for pair in records.chunks(2) {
            let program = &section.data[pair[1].start + 4..pair[1].end];
            match crate_identifier(program, krate) {
                Some(id) => {
                    if identifier.get_or_insert_with(|| id.clone()) != &id {
                        return Err(format!("two identifiers for {krate}: {id}, {identifier:?}"));
                    }
                }
                None => kept.extend_from_slice(&section.data[pair[0].start..pair[1].end]),
            }
        }
        section.data = kept;
    }
    for section in sections {
        module.customs.add(section);
    }
    let identifier =
        identifier.ok_or_else(|| format!("the module has no wasm-bindgen program of {krate}"))?;
    let suffix = format!("_{}", &identifier[krate.len() + 1..]);
    let exports: Vec<_> = module
        .exports
        .iter()
        .filter(|e| e.name.ends_with(&suffix))
        .map(|e| e.id())
        .collect();
    if exports.is_empty() {
        return Err(format!("{krate} exports nothing from the module"));
    }
    for id in &exports {
        module.exports.delete(*id);
    }
    walrus::passes::gc::run(module);
    Ok(exports.len())
}

/// terser on a JavaScript module, in place: compressed and mangled; what it
/// exports keeps its names.
pub fn minify(file: &Path) -> Result {
    cmd::run(
        Command::new(tools::npm_dir().join("node_modules/.bin/terser"))
            .arg(file)
            .args(["--module", "--compress", "--mangle", "--output"])
            .arg(file),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing two functions from the glue, the memory from the
    /// chunks' loader, and with one code-less custom section after.
    fn module(imports: &[(&str, &str)]) -> Vec<u8> {
        let mut section = Vec::new();
        write_leb(&mut section, imports.len() as u32 + 1);
        for (module, field) in imports {
            for s in [module, field] {
                write_leb(&mut section, s.len() as u32);
                section.extend_from_slice(s.as_bytes());
            }
            section.extend_from_slice(&[0x00, 0x00]);
        }
        for s in ["__wasm_split", "memory"] {
            write_leb(&mut section, s.len() as u32);
            section.extend_from_slice(s.as_bytes());
        }
        section.extend_from_slice(&[0x02, 0x01, 0x11, 0x80, 0x01]);
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // A type section: one `() -> ()`.
        m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        m.push(2);
        write_leb(&mut m, section.len() as u32);
        m.extend_from_slice(&section);
        m.extend_from_slice(&[0x00, 0x04, 0x03, b'x', b'y', b'z']);
        m
    }

    const GLUE: &str = "function __wbg_get_imports() {\n    const import0 = {\n        __proto__: null,\n        __wbg_now_0123456789abcdef: function() {\n            return Date.now();\n        },\n        __wbindgen_init_externref_table: function() {\n        },\n    };\n}\n";

    #[test]
    fn short_names_are_distinct_identifiers() {
        let names: Vec<String> = (0..3000).map(short_name).collect();
        assert_eq!(&names[..3], ["a", "b", "c"]);
        assert_eq!(names[51], "Z");
        assert_eq!(names[52], "ab");
        assert_eq!(names[53], "bb");
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_alphabetic()))
        );
    }

    #[test]
    fn glue_imports_are_renamed_in_the_module_and_the_glue_alike() {
        let wasm = module(&[
            ("./vigie-00_bg.js", "__wbg_now_0123456789abcdef"),
            ("./vigie-00_bg.js", "__wbindgen_init_externref_table"),
        ]);
        let (short, js) = shorten_imports(&wasm, GLUE).expect("renamed");
        assert_eq!(
            short,
            module(&[("./vigie-00_bg.js", "a"), ("./vigie-00_bg.js", "b")])
        );
        assert_eq!(
            js,
            GLUE.replace("__wbg_now_0123456789abcdef:", "a:")
                .replace("__wbindgen_init_externref_table:", "b:")
        );
    }

    #[test]
    fn a_glue_that_names_an_import_twice_is_refused() {
        let wasm = module(&[("./vigie-00_bg.js", "__wbg_now_0123456789abcdef")]);
        let twice = format!("{GLUE}const again = __wbg_now_0123456789abcdef;\n");
        let e = shorten_imports(&wasm, &twice).expect_err("refused");
        assert!(e.contains("__wbg_now_0123456789abcdef"), "{e}");
        let missing = shorten_imports(&wasm, "const import0 = {};").expect_err("refused");
        assert!(missing.contains("__wbg_now"), "{missing}");
    }

    #[test]
    fn other_imports_and_sections_are_kept_byte_for_byte() {
        let wasm = module(&[("env", "__wbg_not_from_the_glue")]);
        let (same, js) = shorten_imports(&wasm, GLUE).expect("nothing to rename");
        assert_eq!(same, wasm);
        assert_eq!(js, GLUE);
        assert!(shorten_imports(b"\0asm\x02\0\0\0", "").is_err());
        let mut cut = wasm.clone();
        cut.truncate(wasm.len() - 2);
        assert!(shorten_imports(&cut, GLUE).is_err());
    }

    /// `[u32 length][bytes]`, as a wasm-bindgen section writes a record.
    fn record(bytes: &[u8]) -> Vec<u8> {
        let mut r = (bytes.len() as u32).to_le_bytes().to_vec();
        r.extend_from_slice(bytes);
        r
    }

    /// A version record, then a program naming `identifier` as its crate.
    fn program(identifier: &str) -> Vec<u8> {
        let mut p = b"\x02\x00\x01".to_vec();
        p.push(identifier.len() as u8);
        p.extend_from_slice(identifier.as_bytes());
        p.push(0);
        let mut pair = record(br#"{"schema_version":"0","version":"0"}"#);
        pair.extend(record(&p));
        pair
    }

    #[test]
    fn a_crates_bindings_go_with_the_code_only_they_reached() {
        use walrus::{FunctionBuilder, Module, RawCustomSection};
        let mut m = Module::default();
        let mut helper = FunctionBuilder::new(&mut m.types, &[], &[]);
        helper.func_body().i32_const(7).drop();
        let helper = helper.finish(vec![], &mut m.funcs);
        let mut streams = FunctionBuilder::new(&mut m.types, &[], &[]);
        streams.func_body().call(helper);
        let streams = streams.finish(vec![], &mut m.funcs);
        let kept = FunctionBuilder::new(&mut m.types, &[], &[]).finish(vec![], &mut m.funcs);
        m.exports
            .add("intounderlyingsink_write_0123456789abcdef", streams);
        m.exports.add("__wbindgen_malloc", kept);
        let other = program("leptos-fedcba9876543210");
        let mut data = program("wasm-streams-0123456789abcdef");
        data.extend_from_slice(&other);
        m.customs.add(RawCustomSection {
            name: BINDGEN_SECTION.into(),
            data,
        });

        assert_eq!(drop_bindings(&mut m, "wasm-streams"), Ok(1));
        let names: Vec<&str> = m.exports.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["__wbindgen_malloc"]);
        assert_eq!(
            m.funcs.iter().count(),
            1,
            "the export and its helper are gone"
        );
        let section = m.customs.remove_raw(BINDGEN_SECTION).expect("section kept");
        assert_eq!(section.data, other);
        m.customs.add(section);

        let again = drop_bindings(&mut m, "wasm-streams").expect_err("nothing left to drop");
        assert!(again.contains("wasm-streams"), "{again}");
        assert!(
            drop_bindings(&mut m, "leptos").is_err(),
            "a crate exporting nothing is refused"
        );
    }
}
