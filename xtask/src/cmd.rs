//! Running commands: from the workspace root, echoed before they run, failing
//! with the command's name when they fail.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Prints a progress line that stands out from the tools' own output.
pub fn step(msg: &str) {
    println!("\n==> {msg}");
    let _ = std::io::stdout().flush();
}

/// Prints how long a step took.
pub fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    let out = f()?;
    println!("{what}: {:.1} s", started.elapsed().as_secs_f64());
    Ok(out)
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn describe(c: &Command) -> String {
    let args: Vec<_> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("{} {}", c.get_program().to_string_lossy(), args.join(" "))
}

/// Runs `c` with inherited output; an error when it cannot start or fails.
pub fn run(c: &mut Command) -> Result {
    let what = describe(c);
    println!("$ {what}");
    let status = c
        .status()
        .map_err(|e| format!("cannot start `{what}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})"))
    }
}

/// Runs `c` and returns its trimmed stdout, or `None` when it cannot run or fails.
pub fn output(c: &mut Command) -> Option<String> {
    let out = c.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Test counts read from a runner's output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
    }
}

/// Reads `test result: ok. 7 passed; 0 failed; ...` lines (cargo test and
/// wasm-bindgen-test-runner print them).
pub fn parse_cargo_test_line(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let number_before = |word: &str| -> Option<u64> {
        let at = rest.find(word)?;
        rest[..at].split_whitespace().last()?.parse().ok()
    };
    Some(Counts {
        passed: number_before(" passed")?,
        failed: number_before(" failed")?,
    })
}

/// Runs a cargo test command, echoing its output, and adds up its results.
/// Returns the counts even when the command fails, with the failure.
pub fn run_counting(c: &mut Command) -> (Counts, Result) {
    let what = describe(c);
    println!("$ {what}");
    let mut child = match c.stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            return (
                Counts::default(),
                Err(format!("cannot start `{what}`: {e}")),
            );
        }
    };
    let mut counts = Counts::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(c) = parse_cargo_test_line(&line) {
                counts += c;
            }
        }
    }
    let result = match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{what}` failed ({s})")),
        Err(e) => Err(format!("`{what}`: {e}")),
    };
    (counts, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_test_summaries() {
        let line = "test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(
            parse_cargo_test_line(line),
            Some(Counts {
                passed: 7,
                failed: 0
            })
        );
        let line = "test result: FAILED. 5 passed; 2 failed; 0 ignored";
        assert_eq!(
            parse_cargo_test_line(line),
            Some(Counts {
                passed: 5,
                failed: 2
            })
        );
        assert_eq!(parse_cargo_test_line("running 7 tests"), None);
    }
}
