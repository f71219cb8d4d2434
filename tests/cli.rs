//! The command line around `-c`: exit codes, quiet/verbose, directories, zero-warning,
//! JSON diagnostics, version, usage, and the man page listing every flag.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_haproxide"));
    c.env_clear().env("PATH", "/usr/bin:/bin");
    c
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o: Output = c.output().expect("run haproxide");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

const VALID: &str = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:21999\n  server s1 127.0.0.1:22999\n";

#[test]
fn exit_codes_and_quiet() {
    let d = tmpdir("codes");
    let ok = write(&d, "ok.cfg", VALID);
    let bad = write(&d, "bad.cfg", "frontend fe\n  bogus\n");
    let none = write(&d, "none.cfg", "global\n  maxconn 10\n");
    let (c, out, err) = run(bin().args(["-c", "-f", &ok]));
    assert_eq!(
        (c, out.as_str(), err.as_str()),
        (0, "Configuration file is valid\n", "")
    );
    let (c, _, err) = run(bin().args(["-c", "-f", &bad]));
    assert_eq!(c, 1);
    assert!(
        err.contains("unknown keyword 'bogus' in 'frontend' section"),
        "{err}"
    );
    let (c, out, err) = run(bin().args(["-c", "-q", "-f", &bad]));
    assert_eq!((c, out.as_str(), err.as_str()), (1, "", ""));
    let (c, _, err) = run(bin().args(["-c", "-q", "-V", "-f", &bad]));
    assert!(c == 1 && err.contains("bogus"), "-V must override -q");
    let (c, out, _) = run(bin().args(["-c", "-f", &none]));
    assert_eq!(c, 2);
    assert!(out.contains("no listener"));
    let (c, _, err) = run(bin().args(["-c", "-f", "/nonexistent/x.cfg"]));
    assert_eq!(c, 1);
    assert!(err.contains("Cannot open configuration file/directory /nonexistent/x.cfg : No such file or directory"), "{err}");
}

#[test]
fn directories_load_cfg_files_in_order() {
    let d = tmpdir("dir");
    // The backend file sorts first, then the defaults: the backend gets no timeouts.
    write(
        &d,
        "10-backend.cfg",
        "backend be\n  mode tcp\n  server s1 127.0.0.1:22998\n",
    );
    write(&d, "20-front.cfg", "defaults\n  mode tcp\n  timeout client 1s\nfrontend fe\n  bind 127.0.0.1:21998\n  default_backend be\n");
    write(&d, "30-ignored.CFG", "this is not read\n");
    write(&d, ".hidden.cfg", "nor is this\n");
    let (c, out, err) = run(bin().args(["-c", "-f", d.to_str().unwrap()]));
    assert_eq!(c, 0, "{err}");
    assert!(err.contains("missing timeouts for backend 'be'"), "{err}");
    assert!(out.starts_with("Warnings were found."));
    let (c, _, err) = run(bin().args(["-c", "-dW", "-f", d.to_str().unwrap()]));
    assert_eq!(c, 1);
    assert!(
        err.contains("Some warnings were found and 'zero-warning' is set. Aborting."),
        "{err}"
    );
}

#[test]
fn json_diagnostics() {
    let d = tmpdir("json");
    let bad = write(
        &d,
        "bad.cfg",
        "frontend fe\n  bind 127.0.0.1:21997 \"abc\n  bogus\n",
    );
    let (c, out, err) = run(bin().args(["-c", "--json", "-f", &bad]));
    assert_eq!(c, 1);
    assert_eq!(err, "");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(r#"{"level":"alert","file":""#),
        "{out}"
    );
    assert!(
        lines[0].contains(r#""line":2,"column":23,"message":"unmatched quote at position 24"}"#),
        "{out}"
    );
    assert!(
        lines[1].contains(r#""line":3,"#) && lines[1].contains("unknown keyword 'bogus'"),
        "{out}"
    );
}

#[test]
fn version_usage_and_unknown_flags() {
    let (c, out, _) = run(bin().arg("-v"));
    assert_eq!(c, 0);
    // haproxy's shape (tools read the version from it), saying it is haproxide.
    assert!(
        out.starts_with("HAProxy version 2.6.12-haproxide-"),
        "{out}"
    );
    let (c, _, err) = run(bin().arg("-Z"));
    assert_eq!(c, 1);
    assert!(err.contains("unknown option '-Z'") && err.contains("Usage : haproxide"));
    let (c, _, err) = run(&mut bin());
    assert_eq!(c, 1);
    assert!(err.contains("Usage : haproxide"));
}

/// `-vv` has the headings tools look for in haproxy's, in the same order.
#[test]
fn verbose_version_has_haproxys_headings() {
    let heads = [
        "HAProxy version 2.6.",
        "Running on:",
        "Build options :",
        "Feature list :",
        "Default settings :",
        "Available polling systems :",
        "Available multiplexer protocols :",
        "Available services :",
        "Available filters :",
    ];
    let order = |out: &str| -> Vec<usize> {
        heads
            .iter()
            .map(|h| {
                out.find(h)
                    .unwrap_or_else(|| panic!("{h} missing in:\n{out}"))
            })
            .collect()
    };
    let theirs = Command::new("/usr/sbin/haproxy")
        .arg("-vv")
        .output()
        .expect("haproxy");
    let theirs = order(&String::from_utf8_lossy(&theirs.stdout));
    let (c, ours, _) = run(bin().arg("-vv"));
    assert_eq!(c, 0);
    let ours_pos = order(&ours);
    assert!(theirs.windows(2).all(|w| w[0] < w[1]));
    assert!(ours_pos.windows(2).all(|w| w[0] < w[1]), "{ours}");
    assert!(ours.contains("+RUSTLS") && ours.contains("-OPENSSL"));
}

#[test]
fn man_page_lists_every_flag() {
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/haproxide.1")).unwrap();
    // roff writes '-' as '\-'.
    let man = man.replace("\\-", "-");
    for (flag, _) in haproxide::cli::FLAGS {
        let found = man.lines().any(|l| {
            l.split(|c: char| {
                c.is_whitespace() || c == ',' || c == '"' || c == '[' || c == ']' || c == '|'
            })
            .any(|w| w.trim_start_matches("\\fB").trim_end_matches("\\fR") == *flag)
        });
        assert!(found, "man/haproxide.1 does not document {flag}");
    }
}

#[test]
fn examples_check_like_haproxy() {
    // Every example configuration is valid, for haproxy and haproxide alike (run from the
    // repository root, as the examples' README says; certificates made by examples/certs.sh).
    let root = env!("CARGO_MANIFEST_DIR");
    let st = Command::new("bash")
        .arg("examples/certs.sh")
        .current_dir(root)
        .status()
        .expect("bash");
    assert!(st.success(), "examples/certs.sh (needs openssl)");
    let haproxy = "/usr/sbin/haproxy";
    assert!(
        Path::new(haproxy).exists(),
        "{haproxy} missing: ./run-tests installs it"
    );
    let mut names: Vec<String> = std::fs::read_dir(Path::new(root).join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".cfg"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for n in names {
        let path = format!("examples/{n}");
        let ours = Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-c", "-q", "-f", &path])
            .current_dir(root)
            .status()
            .unwrap();
        let theirs = Command::new(haproxy)
            .args(["-c", "-q", "-f", &path])
            .current_dir(root)
            .status()
            .unwrap();
        assert_eq!(ours.code(), theirs.code(), "{n}");
        assert_eq!(ours.code(), Some(0), "{n} is valid");
    }
}

/// `-cc <cond>` against haproxy's own: the same exit code for each condition (0 true,
/// 1 false, 2 invalid), and for an invalid one the same alert after the banner.
#[test]
fn condition_check_matches_haproxy() {
    let conds = [
        "version_atleast(2.4)",
        "version_atleast(3.0)",
        "version_before(2.7) && !version_before(2.6)",
        "defined(HAPROXIDE_CC_SET) && !defined(HAPROXIDE_CC_UNSET)",
        "streq(a,a) || 0",
        "(0 || 0x10) && feature(EPOLL)",
        "",
        "0",
        "bogus(1)",
        "1 &&& 1",
        "streq(a)",
        "1 x",
    ];
    for c in conds {
        let mut h = Command::new("/usr/sbin/haproxy");
        let mut o = bin();
        for cmd in [&mut h, &mut o] {
            cmd.env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("HAPROXIDE_CC_SET", "1")
                .args(["-cc", c]);
        }
        let (hc, _, he) = run(&mut h);
        let (oc, _, oe) = run(&mut o);
        assert_eq!(oc, hc, "exit code for -cc '{c}'");
        let alert = |e: &str| {
            e.lines()
                .find(|l| l.contains("[ALERT]"))
                .map(|l| l.split_once(") : ").map_or(l, |x| x.1).to_string())
        };
        assert_eq!(alert(&oe), alert(&he), "alert for -cc '{c}'");
    }
}
