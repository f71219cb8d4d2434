//! HAProxy-style command line (management.txt §3): single-dash words such as `-Ws`, `-db`,
//! `-sf PID…`. A table maps each flag to what it takes; generic parsers such as clap would
//! read `-Ws` as `-W -s`, so this one is written out.

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cli {
    /// `-f` sources (and files after `--`), in order.
    pub files: Vec<String>,
    /// `-c`
    pub check: bool,
    /// `-cc <cond>`: evaluate a condition and exit.
    pub check_cond: Option<String>,
    /// `-q`
    pub quiet: bool,
    /// `-V`
    pub verbose: bool,
    /// `-v` (1) or `-vv` (2).
    pub version: u8,
    /// `-d`
    pub debug: bool,
    /// `-db`
    pub foreground: bool,
    /// `-D`
    pub daemon: bool,
    /// `-W`
    pub master_worker: bool,
    /// `-Ws`
    pub systemd: bool,
    /// `-p <file>`
    pub pidfile: Option<String>,
    /// `-sf <pid>…`
    pub soft_finish: Vec<u32>,
    /// `-st <pid>…`
    pub hard_terminate: Vec<u32>,
    /// `-C <dir>`
    pub chdir: Option<String>,
    /// `-L <name>`
    pub local_peer: Option<String>,
    /// `-N <n>`
    pub default_maxconn: Option<u32>,
    /// `-n <n>`
    pub maxconn: Option<u32>,
    /// `-m <MB>`
    pub mem_mb: Option<u32>,
    /// `-dW`
    pub zero_warning: bool,
    /// `-S <bind>`
    pub master_cli: Vec<String>,
    /// `-x <socket>`
    pub fd_socket: Option<String>,
    /// `-dr`
    pub ignore_resolve_failures: bool,
    /// `--json`: `-c` diagnostics as JSON lines on stdout (haproxide extension).
    pub json: bool,
    /// `--format <text|json|github|sarif|junit>`: how `-c` reports (haproxide extension).
    pub format: Option<String>,
    /// `--each`: with `-c`, every `-f` is a configuration of its own.
    pub each: bool,
    /// `--no-file-checks`: with `-c`, a referenced file that is missing is a warning.
    pub no_file_checks: bool,
    /// `--diff <old.cfg>`: with `-c`, what a reload from that configuration would change.
    pub diff: Option<String>,
    /// `-h` / `--help`
    pub help: bool,
}

/// What a flag takes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// Nothing.
    None,
    /// One word.
    One,
    /// Every following word that is a number (`-sf 12 34`).
    Pids,
}

/// Every flag haproxide recognises, with a one-line description (used by `-h` and the man page test).
pub const FLAGS: &[(&str, &str)] = &[
    (
        "-f",
        "<cfgfile|cfgdir>  load a configuration file or every *.cfg of a directory (repeatable)",
    ),
    (
        "--",
        "<cfgfile>*  the remaining words are configuration files",
    ),
    (
        "-c",
        "check mode: only check the configuration and exit (0 valid, 1 invalid, 2 no listener)",
    ),
    (
        "-cc",
        "<cond>  evaluate a condition as .if does and exit (0 true, 1 false, 2 invalid)",
    ),
    (
        "--json",
        "with -c: print diagnostics as JSON lines on stdout",
    ),
    (
        "--format",
        "<text|json|github|sarif|junit>  with -c: the report's format (text is haproxy's)",
    ),
    (
        "--each",
        "with -c: each -f (or file after --) is a configuration of its own, with its verdict",
    ),
    (
        "--no-file-checks",
        "with -c: a missing certificate, CA, CRL, errorfile or pattern file is a warning",
    ),
    (
        "--diff",
        "<old.cfg>  with -c: what a reload from old.cfg to this configuration would change",
    ),
    ("-q", "quiet mode: print nothing"),
    ("-V", "verbose mode (overrides -q)"),
    ("-v", "print the version"),
    ("-vv", "print the version and build options"),
    ("-d", "debug mode: stay in foreground, print debug output"),
    ("-db", "stay in foreground without debug output"),
    ("-D", "run as a daemon"),
    ("-W", "master-worker mode"),
    ("-Ws", "master-worker mode with systemd notify support"),
    ("-p", "<pidfile>  write the process id to this file"),
    (
        "-sf",
        "<pid>*  after start, ask these processes to finish (SIGUSR1)",
    ),
    (
        "-st",
        "<pid>*  after start, terminate these processes (SIGTERM)",
    ),
    (
        "-x",
        "<unix_socket>  get listening sockets from this socket",
    ),
    ("-S", "<bind>[,<opts>]  master CLI socket"),
    ("-C", "<dir>  change to this directory before loading files"),
    ("-L", "<name>  local peer name"),
    ("-N", "<n>  default per-proxy maxconn"),
    ("-n", "<n>  global maxconn"),
    ("-m", "<MB>  memory limit"),
    ("-dW", "fail when any warning is emitted"),
    ("-dr", "ignore server address resolution failures"),
    ("-de", "disable epoll (accepted, no effect)"),
    ("-dp", "disable poll (accepted, no effect)"),
    ("-dS", "disable splice (accepted, no effect)"),
    ("-dG", "disable getaddrinfo (accepted, no effect)"),
    ("-dR", "disable SO_REUSEPORT (accepted, no effect)"),
    ("-dV", "disable SSL verify on servers (accepted, no effect)"),
    ("-dD", "diagnostic mode (accepted, no effect)"),
    ("-dL", "dump loaded objects (accepted, no effect)"),
    ("-h", "print this help"),
];

fn takes(flag: &str) -> Option<Arg> {
    Some(match flag {
        "-f" | "-p" | "-C" | "-L" | "-N" | "-n" | "-m" | "-S" | "-x" | "-cc" | "--format"
        | "--diff" => Arg::One,
        "-sf" | "-st" => Arg::Pids,
        "-c" | "-q" | "-V" | "-v" | "-vv" | "-d" | "-db" | "-D" | "-W" | "-Ws" | "-dW" | "-dr"
        | "-de" | "-dp" | "-dS" | "-dG" | "-dR" | "-dV" | "-dD" | "-dL" | "--json" | "-h"
        | "--help" | "--each" | "--no-file-checks" => Arg::None,
        _ => return None,
    })
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// An unknown flag.
    Unknown(String),
    /// A flag missing its value.
    MissingValue(String),
    /// A value that must be a number.
    NotANumber(String, String),
    /// A value outside the flag's choices.
    BadValue(String, String, &'static str),
    /// A flag that needs another one, or excludes it.
    Conflict(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Unknown(a) => write!(f, "unknown option '{a}'"),
            CliError::MissingValue(a) => write!(f, "option '{a}' expects an argument"),
            CliError::NotANumber(a, v) => write!(f, "option '{a}' expects a number, got '{v}'"),
            CliError::BadValue(a, v, choices) => {
                write!(f, "option '{a}' expects one of {choices}, got '{v}'")
            }
            CliError::Conflict(m) => f.write_str(m),
        }
    }
}

fn number(flag: &str, v: &str) -> Result<u32, CliError> {
    v.parse()
        .map_err(|_| CliError::NotANumber(flag.into(), v.into()))
}

/// Parses argv (without the program name).
pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    let mut c = Cli::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if a == "--" {
            c.files.extend(args[i..].iter().cloned());
            break;
        }
        // `-dK…` and `-dM…` take glued or following words HAProxy uses for debugging.
        if a.starts_with("-dK") || a.starts_with("-dM") {
            continue;
        }
        let Some(kind) = takes(a) else {
            return Err(CliError::Unknown(a.to_string()));
        };
        let value = |i: &mut usize| -> Result<String, CliError> {
            let v = args
                .get(*i)
                .cloned()
                .ok_or_else(|| CliError::MissingValue(a.to_string()))?;
            *i += 1;
            Ok(v)
        };
        match kind {
            Arg::None => match a {
                "-c" => c.check = true,
                "-q" => c.quiet = true,
                "-V" => c.verbose = true,
                "-v" => c.version = c.version.max(1),
                "-vv" => c.version = 2,
                "-d" => c.debug = true,
                "-db" => c.foreground = true,
                "-D" => c.daemon = true,
                "-W" => c.master_worker = true,
                "-Ws" => {
                    c.master_worker = true;
                    c.systemd = true;
                }
                "-dW" => c.zero_warning = true,
                "-dr" => c.ignore_resolve_failures = true,
                "--json" => c.json = true,
                "--each" => c.each = true,
                "--no-file-checks" => c.no_file_checks = true,
                "-h" | "--help" => c.help = true,
                _ => {}
            },
            Arg::One => {
                let v = value(&mut i)?;
                match a {
                    "-f" => c.files.push(v),
                    "-p" => c.pidfile = Some(v),
                    "-C" => c.chdir = Some(v),
                    "-L" => c.local_peer = Some(v),
                    "-N" => c.default_maxconn = Some(number(a, &v)?),
                    "-n" => c.maxconn = Some(number(a, &v)?),
                    "-m" => c.mem_mb = Some(number(a, &v)?),
                    "-S" => c.master_cli.push(v),
                    "-x" => c.fd_socket = Some(v),
                    "-cc" => c.check_cond = Some(v),
                    "--format" => {
                        if !FORMATS.contains(&v.as_str()) {
                            return Err(CliError::BadValue(
                                a.into(),
                                v,
                                "text, json, github, sarif, junit",
                            ));
                        }
                        c.format = Some(v)
                    }
                    "--diff" => c.diff = Some(v),
                    _ => {}
                }
            }
            Arg::Pids => {
                let list = if a == "-sf" {
                    &mut c.soft_finish
                } else {
                    &mut c.hard_terminate
                };
                while let Some(p) = args.get(i).and_then(|w| w.parse::<u32>().ok()) {
                    list.push(p);
                    i += 1;
                }
            }
        }
    }
    check_extensions(&c)?;
    Ok(c)
}

/// The report formats `--format` takes.
pub const FORMATS: [&str; 5] = ["text", "json", "github", "sarif", "junit"];

/// The `-c` extensions only make sense together in some ways: refused otherwise, so a
/// CI job never runs a proxy or prints a report it did not ask for.
fn check_extensions(c: &Cli) -> Result<(), CliError> {
    let named = [
        (c.format.is_some(), "--format"),
        (c.each, "--each"),
        (c.no_file_checks, "--no-file-checks"),
        (c.diff.is_some(), "--diff"),
    ];
    if !c.check {
        if let Some((_, n)) = named.iter().find(|(on, _)| *on) {
            return Err(CliError::Conflict(format!("option '{n}' needs -c")));
        }
    }
    if c.json && c.format.is_some() {
        return Err(CliError::Conflict(
            "options '--json' and '--format' exclude each other ('--format json' is one document, '--json' one line per diagnostic)".into(),
        ));
    }
    if c.diff.is_some() {
        if c.each {
            return Err(CliError::Conflict(
                "options '--diff' and '--each' exclude each other (a diff compares one configuration)".into(),
            ));
        }
        if !matches!(c.format.as_deref(), None | Some("text") | Some("json")) || c.json {
            return Err(CliError::Conflict(
                "option '--diff' prints text or '--format json' only".into(),
            ));
        }
    }
    Ok(())
}

/// The version banner (`-v`): says what the binary is and which HAProxy it follows.
pub fn version_text(verbose: bool) -> String {
    // The first lines have haproxy's shape, which scripts and tools parse ("HAProxy
    // version 2.6.12…", "Feature list :", "Available services :"); every value is
    // haproxide's own, and the version says which binary this is.
    let v = env!("CARGO_PKG_VERSION");
    let kernel = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    };
    let mut s = format!(
        "HAProxy version 2.6.12-haproxide-{v} - haproxide {v}, HAProxy 2.6 in Rust (TCP/TLS subset)
         Status: haproxide development version; configuration and command line of HAProxy 2.6.12.
         Running on: {} {} {} {}
",
        kernel("ostype"),
        kernel("osrelease"),
        kernel("version"),
        std::env::consts::ARCH,
    );
    if verbose {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        s.push_str(&format!(
            "Build options :
  TARGET  = {}-{}
  CC      = rustc
  OPTIONS = (Rust crates: tokio, rustls with aws-lc-rs, nom, regex)

",
            std::env::consts::OS,
            if cfg!(target_env = "gnu") {
                "glibc"
            } else {
                "other"
            },
        ));
        s.push_str(&format!(
            "Feature list : {}\n\n",
            crate::config::cond::FEATURES
        ));
        s.push_str(
            "Default settings :
  bufsize = 16384, maxrewrite = 1024

",
        );
        s.push_str(&format!(
            "Built with multi-threading support (default={threads}).
"
        ));
        s.push_str(
            "Built with rustls (aws-lc-rs provider) instead of OpenSSL.
",
        );
        s.push_str(
            "TLS library supports TLS extensions : yes
TLS library supports SNI : yes
TLS library supports : TLSv1.2 TLSv1.3
",
        );
        s.push_str(
            "Built with transparent proxy support using: IP_TRANSPARENT IPV6_TRANSPARENT
",
        );
        s.push_str(
            "Support for malloc_trim() is enabled.

",
        );
        s.push_str(
            "Available polling systems :
      epoll : pref=300,  test result OK
Total: 1 (1 usable), will use epoll.

",
        );
        s.push_str(
            "Available multiplexer protocols :
(protocols marked as <default> cannot be specified using 'proto' keyword)
  <default> : mode=TCP   side=FE|BE  mux=PASS  flags=

",
        );
        s.push_str(
            "Available services : none

Available filters : none
",
        );
    }
    s
}

/// Usage text printed on stderr for `-h` and bad command lines, shaped like haproxy's.
pub fn usage_text() -> String {
    let mut s = String::from("Usage : haproxide [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]\n        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]\n");
    for (flag, help) in FLAGS {
        s.push_str(&format!("        {flag} {help}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn haproxy_words_are_whole_flags() {
        let c = parse(&argv("-Ws -f a.cfg -f dir -p /run/x.pid -sf 12 34 -c -q")).unwrap();
        assert!(c.master_worker && c.systemd && c.check && c.quiet);
        assert_eq!(c.files, vec!["a.cfg", "dir"]);
        assert_eq!(c.soft_finish, vec![12, 34]);
        assert_eq!(c.pidfile.as_deref(), Some("/run/x.pid"));
        let c = parse(&argv("-c -- a.cfg b.cfg")).unwrap();
        assert_eq!(c.files, vec!["a.cfg", "b.cfg"]);
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(parse(&argv("-Z")), Err(CliError::Unknown("-Z".into())));
        assert_eq!(parse(&argv("-f")), Err(CliError::MissingValue("-f".into())));
        assert!(matches!(
            parse(&argv("-n x")),
            Err(CliError::NotANumber(..))
        ));
        assert!(matches!(
            parse(&argv("-c --format yaml -f a")),
            Err(CliError::BadValue(..))
        ));
        for bad in [
            "--format json -f a",
            "-c --json --format json -f a",
            "-c --diff o.cfg --each -f a",
            "-c --diff o.cfg --format sarif -f a",
            "--no-file-checks -f a",
        ] {
            assert!(
                matches!(parse(&argv(bad)), Err(CliError::Conflict(_))),
                "{bad}"
            );
        }
        let c = parse(&argv("-c --each --no-file-checks --format junit -f a -f b")).unwrap();
        assert!(c.each && c.no_file_checks && c.format.as_deref() == Some("junit"));
    }
}
