//! The main module's functions in an order that compresses better.
//!
//! brotli finds more and nearer repeats when functions that end alike
//! (monomorphised copies of one generic, drop glue, closure shims) sit side
//! by side. [`rank_names`] names each function after its rank when sorted
//! by its body read backwards; `wasm-opt --reorder-functions-by-name` then
//! puts them in that order (and writes no names). The order depends only on
//! the bodies, not on any name, so the bundle stays the same wherever the
//! checkout lives (some names carry a hash of the manifest's path).

use crate::cmd::Result;
use crate::glue::{Section, read_leb, read_name, sections, skip_import_desc, write_leb};

/// `wasm` with a name section (which it must not have yet) naming each
/// imported function `i{index}` and each defined one `f{rank}`, its rank
/// in the order of the bodies read from their last byte (ties: the
/// module's order).
pub fn rank_names(wasm: &[u8]) -> Result<Vec<u8>> {
    let mut imported = 0_u32;
    let mut bodies: Vec<&[u8]> = Vec::new();
    for Section { id, body, .. } in sections(wasm)? {
        let mut p = 0;
        match id {
            0 if read_name(body, &mut p)? == b"name" => {
                return Err("the module has names already".into());
            }
            2 => {
                for _ in 0..read_leb(body, &mut p)? {
                    read_name(body, &mut p)?;
                    read_name(body, &mut p)?;
                    if body.get(p) == Some(&0) {
                        imported += 1;
                    }
                    skip_import_desc(body, &mut p)?;
                }
            }
            10 => {
                for _ in 0..read_leb(body, &mut p)? {
                    let len = read_leb(body, &mut p)? as usize;
                    bodies.push(body.get(p..p + len).ok_or("wasm: truncated function")?);
                    p += len;
                }
            }
            _ => {}
        }
    }
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    order.sort_by(|&a, &b| {
        bodies[a]
            .iter()
            .rev()
            .cmp(bodies[b].iter().rev())
            .then(a.cmp(&b))
    });
    let mut rank = vec![0; bodies.len()];
    for (r, &f) in order.iter().enumerate() {
        rank[f] = r;
    }
    let width = bodies.len().max(imported as usize).to_string().len();
    let mut names = Vec::new();
    write_leb(&mut names, imported + bodies.len() as u32);
    let entry = |names: &mut Vec<u8>, index: u32, name: String| {
        write_leb(names, index);
        write_leb(names, name.len() as u32);
        names.extend_from_slice(name.as_bytes());
    };
    for i in 0..imported {
        entry(&mut names, i, format!("i{i:0width$}"));
    }
    for (f, r) in rank.iter().enumerate() {
        entry(&mut names, imported + f as u32, format!("f{r:0width$}"));
    }
    let mut section = Vec::new();
    write_leb(&mut section, 4);
    section.extend_from_slice(b"name");
    section.push(1);
    write_leb(&mut section, names.len() as u32);
    section.extend_from_slice(&names);
    let mut out = wasm.to_vec();
    out.push(0);
    write_leb(&mut out, section.len() as u32);
    out.extend_from_slice(&section);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing one function and defining three, of bodies
    /// `bodies` (each a complete body: locals, code, `end`).
    fn module(bodies: &[&[u8]]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        let import = [0x01, 0x01, b'm', 0x01, b'f', 0x00, 0x00];
        m.push(2);
        write_leb(&mut m, import.len() as u32);
        m.extend_from_slice(&import);
        let mut funcs = Vec::new();
        write_leb(&mut funcs, bodies.len() as u32);
        funcs.extend(std::iter::repeat_n(0u8, bodies.len()));
        m.push(3);
        write_leb(&mut m, funcs.len() as u32);
        m.extend_from_slice(&funcs);
        let mut code = Vec::new();
        write_leb(&mut code, bodies.len() as u32);
        for b in bodies {
            write_leb(&mut code, b.len() as u32);
            code.extend_from_slice(b);
        }
        m.push(10);
        write_leb(&mut m, code.len() as u32);
        m.extend_from_slice(&code);
        m
    }

    /// The function names of the name section `rank_names` appended.
    fn names(wasm: &[u8], original: usize) -> Vec<String> {
        let tail = &wasm[original..];
        assert_eq!(tail[0], 0, "a custom section");
        let mut at = 1;
        read_leb(tail, &mut at).expect("size");
        assert_eq!(read_name(tail, &mut at).expect("name"), b"name");
        assert_eq!(tail[at], 1, "function names");
        at += 1;
        read_leb(tail, &mut at).expect("size");
        let n = read_leb(tail, &mut at).expect("count");
        (0..n)
            .map(|i| {
                assert_eq!(read_leb(tail, &mut at).expect("index"), i);
                String::from_utf8(read_name(tail, &mut at).expect("name").to_vec()).expect("utf-8")
            })
            .collect()
    }

    #[test]
    fn functions_rank_by_their_bodies_read_backwards() {
        // `i32.const 2; drop; end`, `nop; end`, `i32.const 1; drop; end`:
        // backwards they read `0b 1a 02 41`, `0b 01`, `0b 1a 01 41`.
        let bodies: [&[u8]; 3] = [
            &[0x00, 0x41, 0x02, 0x1a, 0x0b],
            &[0x00, 0x01, 0x0b],
            &[0x00, 0x41, 0x01, 0x1a, 0x0b],
        ];
        let wasm = module(&bodies);
        let ranked = rank_names(&wasm).expect("ranked");
        assert_eq!(
            &ranked[..wasm.len()],
            wasm.as_slice(),
            "the module is kept as it was"
        );
        assert_eq!(names(&ranked, wasm.len()), ["i0", "f2", "f0", "f1"]);
    }

    #[test]
    fn equal_bodies_keep_the_modules_order_and_names_are_not_added_twice() {
        let same: &[u8] = &[0x00, 0x0b];
        let wasm = module(&[same, same, same]);
        let ranked = rank_names(&wasm).expect("ranked");
        assert_eq!(names(&ranked, wasm.len()), ["i0", "f0", "f1", "f2"]);
        let again = rank_names(&ranked).expect_err("names there already");
        assert!(again.contains("names"), "{again}");
        assert!(rank_names(b"\0asm\x02\0\0\0").is_err());
    }
}
