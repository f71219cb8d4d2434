//! `-c` for CI systems: `--format json|github|sarif|junit` read by their consumers (the
//! SARIF 2.1.0 schema, junitparser, GitHub's workflow-command syntax), `--each` over the
//! whole of testdata/ with the same verdicts as one `-c` per file, `--no-file-checks`,
//! `--diff` checked against what a real reload then does, and bad input.
//!
//! The consumers come from compat-tests/ci-tools.sh, which ./run-tests runs first.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{start_file, Which};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tools() -> PathBuf {
    let t = root().join("target/ci-tools");
    assert!(
        t.join("venv/bin/python").exists() && t.join("sarif-schema-2.1.0.json").exists(),
        "target/ci-tools is missing: run `bash compat-tests/ci-tools.sh` (./run-tests does)"
    );
    t
}

fn haproxide(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .output()
        .expect("run haproxide");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Runs the consumers' checks (Python, from the tools' virtualenv) on the reports.
const VALIDATE: &str = r#"
import json, re, sys
import jsonschema, junitparser
schema_path, doc_path, sarif_path, junit_path, gh_path = sys.argv[1:6]
doc = json.load(open(doc_path))
diags = [d for c in doc["configs"] for d in c["diagnostics"]]
sarif = json.load(open(sarif_path))
jsonschema.validate(sarif, json.load(open(schema_path)))
run = sarif["runs"][0]
assert len(run["results"]) == len(diags), (len(run["results"]), len(diags))
rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
for r, d in zip(run["results"], diags):
    assert rules[r["ruleIndex"]] == r["ruleId"] == d["rule"], (r, d)
    if d["line"] is not None:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["region"]["startLine"] == d["line"]
        assert loc["artifactLocation"]["uri"] == d["file"], (loc, d)
assert run["invocations"][0]["exitCode"] == doc["exit_code"]
xml = junitparser.JUnitXml.fromfile(junit_path)
cases = [c for s in xml for c in s]
files = [f for c in doc["configs"] for f in c["files"]]
assert [c.name for c in cases] == files, ([c.name for c in cases][:5], files[:5])
by_name = {c["name"]: c for c in doc["configs"]}
for case in cases:
    failed = any(isinstance(r, junitparser.Failure) for r in case.result)
    assert failed == (by_name[case.name]["verdict"] != "valid"), case.name
cmd = re.compile(r"^::(error|warning|notice) file=[^,:]+(,line=[0-9]+)?(,col=[0-9]+)?,title=[^,:]+::[^\r\n]*$")
n = 0
for line in open(gh_path, encoding="utf-8", newline="").read().split("\n")[:-1]:
    if line.startswith("::"):
        assert cmd.match(line), line
        n += 1
    else:
        name, verdict = line.rsplit(": ", 1)
        assert by_name[name]["verdict"] == verdict, line
assert n == len(diags), (n, len(diags))
print(len(doc["configs"]), len(diags))
"#;

fn validate(dir: &Path, doc: &str, sarif: &str, junit: &str, gh: &str) -> String {
    let t = tools();
    for (n, v) in [
        ("doc.json", doc),
        ("r.sarif", sarif),
        ("r.xml", junit),
        ("gh.txt", gh),
    ] {
        std::fs::write(dir.join(n), v).unwrap();
    }
    let o = Command::new(t.join("venv/bin/python"))
        .arg("-c")
        .arg(VALIDATE)
        .arg(t.join("sarif-schema-2.1.0.json"))
        .args(["doc.json", "r.sarif", "r.xml", "gh.txt"].map(|n| dir.join(n)))
        .output()
        .expect("python");
    assert!(
        o.status.success(),
        "the consumers refused a report: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into()
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-ci-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every report of `--each` over `files` (run in `dir`), checked by the consumers; returns
/// the JSON document's text and the exit code.
fn reports(dir: &Path, out: &Path, files: &[String]) -> (String, i32) {
    let mut args = vec!["-c", "--each"];
    for f in files {
        args.extend(["-f", f.as_str()]);
    }
    let run = |fmt: &str| {
        let mut a = args.clone();
        a.extend(["--format", fmt]);
        haproxide(dir, &a)
    };
    let (code, doc, _) = run("json");
    let (c2, sarif, _) = run("sarif");
    let (c3, junit, _) = run("junit");
    let (c4, gh, _) = run("github");
    assert!(code == c2 && c2 == c3 && c3 == c4, "{code} {c2} {c3} {c4}");
    validate(out, &doc, &sarif, &junit, &gh);
    (doc, code)
}

#[test]
fn every_testdata_config_in_one_call_with_the_same_verdicts() {
    let td = root().join("testdata");
    let mut names: Vec<String> = std::fs::read_dir(&td)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".cfg"))
        // Cases that need their own environment are run one by one by tests/testdata.rs.
        .filter(|n| !td.join(n.replace(".cfg", ".env")).exists())
        .collect();
    names.sort();
    assert!(names.len() > 200, "{}", names.len());
    let out = tmp("all");
    let (doc, code) = reports(&td, &out, &names);
    // Each configuration's verdict is the one a `-c` of its own gives (recorded in the
    // .expected files, themselves compared with haproxy's by tests/testdata.rs).
    let mut invalid = false;
    for n in &names {
        let expected = std::fs::read_to_string(td.join(n.replace(".cfg", ".expected"))).unwrap();
        let want: i32 = expected.lines().next().unwrap()["exit: ".len()..]
            .trim()
            .parse()
            .unwrap();
        invalid |= want == 1;
        let needle = format!("\"name\":\"{n}\",\"files\":[\"{n}\"],\"verdict\":");
        let at = doc.find(&needle).unwrap_or_else(|| panic!("{n} missing"));
        let tail = &doc[at..];
        let got = &tail[tail.find("\"exit_code\":").unwrap() + 12..][..1];
        assert_eq!(got, want.to_string(), "{n}");
    }
    assert!(invalid);
    assert_eq!(
        code, 1,
        "an invalid configuration makes the whole call fail"
    );
}

const CA_AND_FILES: &str = "global\n  h1-case-adjust-file /nonexistent/case.map\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:21000 ssl crt /nonexistent/site.pem ca-file /nonexistent/ca.pem crl-file /nonexistent/crl.pem verify required\n  acl blocked src -f /nonexistent/blocked.lst\n  http-request deny if blocked || { hdr(host) -f /nonexistent/hosts.lst }\n  errorfile 503 /nonexistent/503.http\n  default_backend be\nhttp-errors site\n  errorfile 404 /nonexistent/404.http\nbackend be\n  server s1 127.0.0.1:21001 ssl ca-file /nonexistent/ca2.pem crt /nonexistent/client.pem\n";

#[test]
fn missing_files_are_warnings_and_the_other_checks_still_run() {
    let d = tmp("files");
    std::fs::write(d.join("a.cfg"), CA_AND_FILES).unwrap();
    // Without the flag: haproxy's verdict, an alert for the first missing file.
    let (code, _, err) = haproxide(&d, &["-c", "-f", "a.cfg"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/"), "{err}");
    let (code, out, err) = haproxide(&d, &["-c", "--no-file-checks", "-f", "a.cfg"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Configuration file is valid"), "{out}");
    for (line, kw, f) in [
        (9, "crt", "site.pem"),
        (9, "ca-file", "ca.pem"),
        (9, "crl-file", "crl.pem"),
        (10, "-f", "blocked.lst"),
        (11, "-f", "hosts.lst"),
        (12, "errorfile", "503.http"),
        (15, "errorfile", "404.http"),
        (17, "ca-file", "ca2.pem"),
        (17, "crt", "client.pem"),
    ] {
        let want = format!("[a.cfg:{line}] : '{kw}' : file '/nonexistent/{f}' does not exist; not checked (--no-file-checks).");
        assert_eq!(err.matches(&want).count(), 1, "{want}\n{err}");
    }
    assert!(
        err.contains("h1-case-adjust-file : file '/nonexistent/case.map' does not exist"),
        "{err}"
    );
    // zero-warning is about the configuration, not about this machine's files.
    let (code, _, err) = haproxide(&d, &["-c", "-dW", "--no-file-checks", "-f", "a.cfg"]);
    assert_eq!(code, 0, "{err}");
    // Post-parse checks still run: an unknown backend and a bad server are still alerts.
    let broken = CA_AND_FILES.replace("default_backend be", "default_backend nowhere");
    std::fs::write(d.join("b.cfg"), broken).unwrap();
    let (code, _, err) = haproxide(&d, &["-c", "--no-file-checks", "-f", "b.cfg"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("unable to find required default_backend: 'nowhere'"),
        "{err}"
    );
    // A file that exists is still read and checked: a bad certificate stays an alert.
    std::fs::write(d.join("bad.pem"), "not a certificate\n").unwrap();
    let bad = CA_AND_FILES.replace("/nonexistent/site.pem", "bad.pem");
    std::fs::write(d.join("c.cfg"), bad).unwrap();
    let (code, _, err) = haproxide(&d, &["-c", "--no-file-checks", "-f", "c.cfg"]);
    assert_eq!(code, 1, "{err}");
    // A certificate committed without its key (kept in a secret store): the missing
    // `<crt>.key` is the warning; without the flag, haproxy's alert.
    let pem = common::self_signed_pem("ci-keyless", &["-newkey", "rsa:2048"]);
    let crt_only = pem.parent().unwrap().join("c.pem");
    let keyless = format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:21995 ssl crt {}\n  server s1 127.0.0.1:22995\n", crt_only.display());
    std::fs::write(d.join("k.cfg"), keyless).unwrap();
    let (code, _, err) = haproxide(&d, &["-c", "-f", "k.cfg"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("No Private Key found"), "{err}");
    let (code, _, err) = haproxide(&d, &["-c", "--no-file-checks", "-f", "k.cfg"]);
    assert_eq!(code, 0, "{err}");
    let want = format!(
        "'crt' : key file '{}.key' does not exist; '{}' is read but not matched with its key (--no-file-checks).",
        crt_only.display(),
        crt_only.display()
    );
    assert!(err.contains(&want), "{err}");
    // The reports name the warnings' family.
    let (_, sarif, _) = haproxide(
        &d,
        &["-c", "--no-file-checks", "--format", "sarif", "-f", "a.cfg"],
    );
    assert!(sarif.contains("\"ruleId\":\"missing-file\""), "{sarif}");
}

fn send(c: &mut TcpStream, b: &[u8]) -> Vec<u8> {
    c.write_all(b).unwrap();
    let mut buf = vec![0u8; b.len()];
    c.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn diff_says_what_a_real_reload_then_does() {
    let d = tmp("diff");
    let _e1 = common::Backend::echo("127.0.73.2:24001");
    let _e2 = common::Backend::echo("127.0.73.3:24001");
    let old = "global\n  stats timeout 10s\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\nfrontend fe\n  bind 127.0.73.1:24000\n  bind 127.0.73.1:24002\n  default_backend be\nfrontend gone\n  bind 127.0.73.1:24003\n  default_backend be\nbackend be\n  stick-table type ip size 1k\n  stick on src\n  server s1 127.0.73.2:24001 weight 5\n  server s2 127.0.73.3:24001\n";
    let new = "global\n  stats timeout 20s\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 20s\nfrontend fe\n  bind 127.0.73.1:24000\n  bind 127.0.73.1:24004\n  default_backend be\nbackend be\n  stick-table type ip size 1k\n  stick on src\n  server s1 127.0.73.2:24001 weight 10\n  server s3 127.0.73.3:24001\nbackend extra\n  server x 127.0.73.2:24001\n";
    std::fs::write(d.join("old.cfg"), old).unwrap();
    std::fs::write(d.join("new.cfg"), new).unwrap();
    let (code, text, err) = haproxide(&d, &["-c", "-f", "new.cfg", "--diff", "old.cfg"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "listeners kept (socket stays open, no connection refused):\n  127.0.73.1:24000 (fe)\n",
        "listeners opened:\n  127.0.73.1:24004 (fe)\n",
        "listeners closed (new connections refused; established sessions run on):\n  127.0.73.1:24002 (fe)\n  127.0.73.1:24003 (gone)\n",
        "frontends removed:\n  gone\n",
        "backends added:\n  extra\n",
        "backends changed:\n  be: timeout_server\n",
        "servers added:\n  be/s3\n",
        "servers removed (their sessions run on until they end):\n  be/s2\n",
        "servers changed:\n  be/s1: weight: 5 -> 10\n",
        "stick tables emptied (no peers section carries entries over):\n  be\n",
        "stats_timeout: 10s -> 20s (a master-worker reload applies it; a standalone reload keeps the old value)",
    ] {
        assert!(text.contains(want), "{want}\n---\n{text}");
    }
    let (_, doc, _) = haproxide(
        &d,
        &[
            "-c", "-f", "new.cfg", "--diff", "old.cfg", "--format", "json",
        ],
    );
    assert!(
        doc.contains(
            "\"reload\":{\"listeners\":{\"kept\":[{\"proxy\":\"fe\",\"bind\":\"127.0.73.1:24000\""
        ),
        "{doc}"
    );

    // The real reload: run old.cfg, hold a session, switch the file, SIGHUP.
    let run = d.join("run.cfg");
    std::fs::write(&run, old).unwrap();
    let p = start_file(Which::Haproxide, &run, "127.0.73.1:24003".parse().unwrap());
    let mut held = TcpStream::connect("127.0.73.1:24000").unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(send(&mut held, b"before"), b"before");
    std::fs::write(&run, new).unwrap();
    p.signal(nix::libc::SIGHUP);
    let t0 = Instant::now();
    let line = loop {
        let errs = p.errs.lock().unwrap().clone();
        if let Some(l) = errs.iter().find(|l| l.contains("Reload complete")) {
            break l.clone();
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{errs:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        line.contains("Reload complete: 1 listeners kept, 1 opened, 2 closed."),
        "{line}"
    );
    // The session held across the reload goes on; the kept and opened listeners serve;
    // the closed ones refuse.
    assert_eq!(send(&mut held, b"after"), b"after");
    for a in ["127.0.73.1:24000", "127.0.73.1:24004"] {
        let mut c = TcpStream::connect(a).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(send(&mut c, b"x"), b"x", "{a}");
    }
    for a in ["127.0.73.1:24002", "127.0.73.1:24003"] {
        assert!(TcpStream::connect(a).is_err(), "{a} still accepts");
    }
    drop(p);
}

#[test]
fn bad_input_gets_a_clear_error_in_bounded_time() {
    let d = tmp("bad");
    std::fs::write(d.join("ok.cfg"), "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:21999\n  server s1 127.0.0.1:22999\n").unwrap();
    // An OLD file that cannot be read, or is no configuration.
    let (code, _, err) = haproxide(&d, &["-c", "-f", "ok.cfg", "--diff", "missing.cfg"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--diff: 'missing.cfg' is not a valid configuration"),
        "{err}"
    );
    // Binary garbage: every format still writes a report its consumer reads.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    std::fs::write(d.join("garbage.cfg"), &garbage).unwrap();
    let (_, code) = reports(&d, &d, &["garbage.cfg".into(), "ok.cfg".into()]);
    assert_eq!(code, 1);
    let (code, _, _) = haproxide(&d, &["-c", "-f", "ok.cfg", "--diff", "garbage.cfg"]);
    assert_eq!(code, 1);
    // 100,000 lines: a result, in bounded time and memory (a guard against a blow-up,
    // not a benchmark: the limit is an order of magnitude above the usual time).
    let mut big = String::from("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend fe\n  bind 127.0.0.1:21998\n  default_backend b0\n");
    for b in 0..1000 {
        big.push_str(&format!("backend b{b}\n"));
        for s in 0..100 {
            big.push_str(&format!("  server s{s} 127.0.{}.{}:80\n", b % 250, s + 1));
        }
    }
    assert!(big.lines().count() > 100_000);
    std::fs::write(d.join("big.cfg"), &big).unwrap();
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .current_dir(&d)
        .args(["-c", "--format", "sarif", "-f", "big.cfg", "-f", "big.cfg"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("-c on 200,000 lines still running after 120 s");
        }
        let rss = common::rss_kb(child.id());
        assert!(rss < 2_000_000, "-c on 200,000 lines holds {rss} kB");
        std::thread::sleep(Duration::from_millis(100));
    };
    // The same backends twice: haproxy's duplicate-name alerts, so exit 1.
    assert_eq!(status.code(), Some(1));
    let (code, _, err) = haproxide(&d, &["-c", "-f", "big.cfg", "--diff", "big.cfg"]);
    assert_eq!(code, 0, "{err}");
}

const INVALID: &str = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:21997\n  bogus-keyword x\n  server s1 127.0.0.1:22997\n";
const FINE: &str = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:21996\n  server s1 127.0.0.1:22996\n";

/// A git work tree with a good and a bad haproxy config, both staged.
fn repo_with_configs(tag: &str) -> PathBuf {
    let d = tmp(tag);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(&d)
            .args(args)
            .output()
            .expect("git");
        assert!(o.status.success(), "git {args:?}: {o:?}");
    };
    git(&["init", "-q"]);
    std::fs::create_dir_all(d.join("lb")).unwrap();
    std::fs::write(d.join("lb/haproxy.cfg"), FINE).unwrap();
    std::fs::write(d.join("lb/haproxy-edge.cfg"), INVALID).unwrap();
    std::fs::write(d.join("notes.cfg"), "not a haproxy file\n").unwrap();
    git(&["add", "."]);
    d
}

fn bin_dir() -> String {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_haproxide"));
    format!("{}:/usr/bin:/bin", exe.parent().unwrap().display())
}

#[test]
fn pre_commit_hook_runs_with_the_real_pre_commit() {
    let d = repo_with_configs("precommit");
    let pc = tools().join("venv/bin/pre-commit");
    let run = |files: &[&str]| {
        let mut c = Command::new(&pc);
        c.current_dir(&d)
            .env_clear()
            .env("PATH", bin_dir())
            .env("HOME", &d)
            .env("PRE_COMMIT_HOME", d.join(".cache"))
            .args([
                "try-repo",
                env!("CARGO_MANIFEST_DIR"),
                "haproxide-check",
                "--files",
            ])
            .args(files);
        let o = c.output().expect("pre-commit");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    // The bad file fails the hook with haproxy's message at its line; the hook's file
    // pattern leaves notes.cfg alone.
    let (code, out) = run(&["lb/haproxy.cfg", "lb/haproxy-edge.cfg", "notes.cfg"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "parsing [lb/haproxy-edge.cfg:8] : unknown keyword 'bogus-keyword' in 'listen' section"
        ),
        "{out}"
    );
    assert!(
        out.contains("lb/haproxy.cfg: Configuration file is valid"),
        "{out}"
    );
    assert!(!out.contains("notes.cfg:"), "{out}");
    let (code, out) = run(&["lb/haproxy.cfg"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn github_action_installs_the_binary_and_annotates() {
    let d = repo_with_configs("action");
    // The composite action's step, run as the runner would: inputs substituted into its
    // env, GITHUB_ACTION_PATH at the action's checkout, the binary from `binary-url`
    // (this build, as a file:// URL, with its checksum).
    const RUN_ACTION: &str = r#"
import hashlib, os, re, subprocess, sys, yaml
action_dir, work, binary = sys.argv[1:4]
action = yaml.safe_load(open(os.path.join(action_dir, "action.yml")))
assert action["runs"]["using"] == "composite"
inputs = {k: v.get("default", "") for k, v in action["inputs"].items()}
inputs.update({"files": "lb/haproxy.cfg\nlb/haproxy-edge.cfg", "args": "--no-file-checks",
               "binary-url": "file://" + binary,
               "binary-sha256": hashlib.sha256(open(binary, "rb").read()).hexdigest()})
(step,) = action["runs"]["steps"]
env = {"PATH": "/usr/bin:/bin", "GITHUB_ACTION_PATH": action_dir, "RUNNER_TEMP": work + "/.runner"}
for k, v in step["env"].items():
    env[k] = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], v)
p = subprocess.run([step["shell"], "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True)
sys.stdout.write(p.stdout)
sys.stderr.write(p.stderr)
sys.exit(p.returncode)
"#;
    let o = Command::new(tools().join("venv/bin/python"))
        .arg("-c")
        .arg(RUN_ACTION)
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(&d)
        .arg(env!("CARGO_BIN_EXE_haproxide"))
        .output()
        .expect("python");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        out,
        "lb/haproxy.cfg: valid\n::error file=lb/haproxy-edge.cfg,line=8,title=haproxide unknown-keyword-in-section::unknown keyword 'bogus-keyword' in 'listen' section\nlb/haproxy-edge.cfg: invalid\n"
    );
    assert!(d.join(".runner/haproxide-bin/haproxide").exists());
}

#[test]
fn diff_on_the_guide_and_its_tls_variant() {
    let r = root();
    // The guide against itself: every listener kept, nothing else.
    let (code, out, err) = haproxide(
        &r,
        &[
            "-c",
            "-f",
            "examples/guide.cfg",
            "--diff",
            "examples/guide.cfg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with("Reload plan:\nlisteners kept (socket stays open, no connection refused):\n  0.0.0.0:1883 (frontend_emqx_tcp)\n  0.0.0.0:18083 (frontend_emqx_dashboard)\nno change besides that\n"),
        "{out}"
    );
    // A broker leaves and the other takes more weight.
    let d = tmp("guide");
    let guide = std::fs::read_to_string(r.join("examples/guide.cfg")).unwrap();
    let edited: String = guide
        .lines()
        .filter(|l| !l.contains("server emqx_node_2 127.0.0.109:1883"))
        .map(|l| {
            if l.contains("server emqx_node_1 127.0.0.108:18083") {
                format!("{l} weight 50\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(d.join("guide.cfg"), edited).unwrap();
    let old = r.join("examples/guide.cfg");
    let (code, out, err) = haproxide(
        &d,
        &["-c", "-f", "guide.cfg", "--diff", old.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("servers removed (their sessions run on until they end):\n  backend_emqx_tcp/emqx_node_2\n"), "{out}");
    assert!(
        out.contains("servers changed:\n  backend_emqx_dashboard/emqx_node_1: weight: 1 -> 50\n"),
        "{out}"
    );
    // The TLS variant (its certificates need not exist: --no-file-checks): the plain
    // listeners close, the TLS ones open.
    let (code, out, err) = haproxide(
        &r,
        &[
            "-c",
            "--no-file-checks",
            "-f",
            "examples/tls.cfg",
            "--diff",
            "examples/guide.cfg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("listeners opened:\n  127.0.0.1:8883 "),
        "{out}"
    );
    assert!(out.contains("listeners closed (new connections refused; established sessions run on):\n  0.0.0.0:1883 (frontend_emqx_tcp)\n"), "{out}");
}

/// The text of the JSON array after `"key":` in `doc` (strings and nesting respected).
fn json_array<'a>(doc: &'a str, key: &str) -> &'a str {
    let start = doc.find(&format!("\"{key}\":[")).expect(key) + key.len() + 4;
    let (mut depth, mut in_str, mut escaped) = (1, false, false);
    for (i, c) in doc[start..].char_indices() {
        match (in_str, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_str = false,
            (true, false, _) => {}
            (false, _, '"') => in_str = true,
            (false, _, '[') => depth += 1,
            (false, _, ']') => {
                depth -= 1;
                if depth == 0 {
                    return &doc[start..start + i];
                }
            }
            _ => {}
        }
    }
    panic!("unterminated array {key}")
}

#[test]
fn diff_on_pairs_of_testdata_configs() {
    // Every valid testdata configuration against the next one: each diff is a JSON
    // object whose listener plan accounts for every listener of both sides.
    let td = root().join("testdata");
    let mut valid: Vec<String> = std::fs::read_dir(&td)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('v') && n.ends_with(".cfg"))
        .filter(|n| !td.join(n.replace(".cfg", ".env")).exists())
        .collect();
    valid.sort();
    assert!(valid.len() > 50, "{}", valid.len());
    let listeners = |n: &str| -> usize {
        let (_, doc, _) = haproxide(&td, &["-c", "--format", "json", "-f", n, "--diff", n]);
        // Against itself: every listener kept, nothing opened or closed.
        let at = doc
            .find("\"reload\":")
            .unwrap_or_else(|| panic!("{n}: {doc}"));
        let r = &doc[at..];
        assert!(r.contains("\"opened\":[],\"closed\":[]"), "{n}: {r}");
        json_array(r, "kept").matches("\"bind\":").count()
    };
    let mut compared = 0;
    for pair in valid.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let (code, doc, err) =
            haproxide(&td, &["-c", "--format", "json", "-f", new, "--diff", old]);
        if code == 1 {
            continue;
        }
        assert!(
            err.is_empty() || !err.contains("--diff"),
            "{old} -> {new}: {err}"
        );
        let at = doc
            .find("\"reload\":")
            .unwrap_or_else(|| panic!("{old} -> {new}: {doc}"));
        let r = &doc[at..];
        let count = |key: &str| json_array(r, key).matches("\"bind\":").count();
        let (kept, opened, closed) = (count("kept"), count("opened"), count("closed"));
        assert_eq!(kept + opened, listeners(new), "{old} -> {new}: {r}");
        assert_eq!(kept + closed, listeners(old), "{old} -> {new}: {r}");
        compared += 1;
    }
    assert!(compared > 40, "{compared}");
}
