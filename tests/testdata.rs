//! Runs `haproxide -c` on every `testdata/*.cfg` and compares it with two recordings:
//! - `NAME.haproxy`: what the real haproxy 2.6 printed (`compat-tests/record.sh` rewrites it):
//!   the exit code and the `file:line` of every ALERT must match;
//! - `NAME.expected`: haproxide's own full output, so wording changes are deliberate
//!   (`UPDATE_EXPECT=1 cargo test --test testdata` rewrites them).
//!
//! `x*` files are valid for haproxy but use what haproxide does not implement: they must
//! fail with an ALERT that names the unsupported keyword instead.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

struct Run {
    code: i32,
    out: String,
}

fn run_check(name: &str) -> Run {
    let dir = testdata();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haproxide"));
    cmd.current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let envf = dir.join(format!("{name}.env"));
    if let Ok(text) = std::fs::read_to_string(&envf) {
        for l in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some((k, v)) = l.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    let o = cmd
        .args(["-c", "-f", &format!("{name}.cfg")])
        .output()
        .expect("run haproxide");
    let mut out = String::from_utf8_lossy(&o.stderr).into_owned();
    out.push_str(&String::from_utf8_lossy(&o.stdout));
    Run {
        code: o.status.code().unwrap_or(-1),
        out,
    }
}

/// Masks the PID and the executable path so outputs compare across runs.
fn normalise(out: &str) -> String {
    out.lines()
        .filter(|l| !l.contains("haproxide version is") && !l.contains("path to executable is"))
        .map(|l| match (l.find('('), l.find(") :")) {
            (Some(a), Some(b)) if a < b && l.starts_with('[') => {
                format!("{}(PID{}", &l[..a], &l[b..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn alert_lines(text: &str, name: &str) -> Vec<String> {
    let pat = format!("{name}.cfg:");
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.contains("[ALERT]"))
        .filter_map(|l| {
            let i = l.find(&pat)?;
            let rest = &l[i + pat.len()..];
            let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            Some(n)
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn located(text: &str, name: &str) -> Vec<String> {
    let pat = format!("{name}.cfg:");
    let mut v = Vec::new();
    for (i, _) in text.match_indices(&pat) {
        let n: String = text[i + pat.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        v.push(n);
    }
    v
}

/// Case names listed in `known-differences.txt` (`name: reason` lines).
fn known_differences(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("known-differences.txt"))
        .expect("testdata/known-differences.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .collect()
}

#[test]
fn testdata_matches_haproxy_and_expected_output() {
    let dir = testdata();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata/")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".cfg").map(str::to_string))
        .collect();
    names.sort();
    assert!(
        names.len() >= 80,
        "testdata/ should hold at least 80 configs, found {}",
        names.len()
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let known = known_differences(&dir);
    let mut failures = Vec::new();
    for name in &names {
        let run = run_check(name);
        let recorded = std::fs::read_to_string(dir.join(format!("{name}.haproxy")))
            .unwrap_or_else(|_| panic!("{name}.haproxy missing: run compat-tests/record.sh"));
        let want_code: i32 = recorded
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("exit: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("exit line");
        if name.starts_with('x') {
            if run.code != 1 || !run.out.contains("is not supported by haproxide") {
                failures.push(format!(
                    "{name}: expected an 'is not supported by haproxide' ALERT, got exit {}:\n{}",
                    run.code, run.out
                ));
            }
        } else {
            if run.code != want_code {
                failures.push(format!(
                    "{name}: exit {} but haproxy exits {want_code}\n{}",
                    run.code, run.out
                ));
            }
            let ours = located(&run.out, name);
            for l in alert_lines(&recorded, name) {
                if !ours.contains(&l) {
                    failures.push(format!(
                        "{name}: haproxy alerts at line {l}, haproxide does not name it\n{}",
                        run.out
                    ));
                }
            }
        }
        let expected_path = dir.join(format!("{name}.expected"));
        let got = format!("exit: {}\n{}", run.code, normalise(&run.out));
        // Byte for byte haproxy's output, unless the case is a listed difference.
        if !name.starts_with('x') {
            let same = got == recorded;
            match (same, known.contains(name)) {
                (false, false) => failures.push(format!(
                    "{name}: output differs from haproxy's (testdata/{name}.haproxy); fix it, or list it with its reason in testdata/known-differences.txt\n--- haproxy\n{recorded}--- haproxide\n{got}"
                )),
                (true, true) => failures.push(format!(
                    "{name}: now equal to haproxy's output: take it off testdata/known-differences.txt"
                )),
                _ => {}
            }
        }
        if update {
            std::fs::write(&expected_path, &got).expect("write .expected");
        } else {
            match std::fs::read_to_string(&expected_path) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!("{name}: output differs from {name}.expected\n--- expected\n{want}--- got\n{got}")),
                Err(_) => failures.push(format!("{name}.expected missing: run UPDATE_EXPECT=1 cargo test --test testdata")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} configs disagree:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}
