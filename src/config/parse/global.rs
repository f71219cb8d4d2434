//! The `global` section: configuration.txt §3 (process management, performance tuning,
//! SSL defaults). Messages follow HAProxy 2.6's `cfgparse-global.c` wording.

use super::addr::{expand_env, parse_addr, AddrError, AddrRules, AddrSpec, Host};
use super::units::{lenient_int, parse_time_ms, parse_time_s, strtol_rest, TimeError};
use super::{Kwm, Parser, Stmt};
use crate::config::diag::{Diagnostic, LocStyle};
use crate::config::keywords::{self, Status};
use crate::ir::{ListenAddr, LogDest, LogTarget, StatsSocket, SyslogFormat};
use std::net::SocketAddr;
use std::time::Duration;

/// Syslog facility names in number order (RFC 5424).
pub const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// Syslog severity names in number order.
pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Looks a user up in `/etc/passwd` (what `getpwnam()` reads for local users).
pub fn lookup_id(file: &str, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// Parses a TLS version name as `ssl-min-ver` takes it.
pub fn tls_version(word: &str) -> Option<crate::ir::TlsVersion> {
    use crate::ir::TlsVersion::*;
    Some(match word {
        "SSLv3" => Ssl3,
        "TLSv1.0" => Tls10,
        "TLSv1.1" => Tls11,
        "TLSv1.2" => Tls12,
        "TLSv1.3" => Tls13,
        _ => return None,
    })
}

impl Parser {
    /// haproxy's own checks of a `tune.*` line: experimental and removed words, extra
    /// words, a keyword given twice (keywords::TUNE_ONCE, TUNE_CAPTURE), then its argument.
    /// False after an alert.
    fn tune_arg_ok(&mut self, stmt: &Stmt, kw: &str) -> bool {
        use keywords::TuneArg;
        let check = keywords::TUNE_ARGS
            .iter()
            .find(|(k, _)| *k == kw)
            .map(|&(_, c)| c);
        let loc = stmt.loc;
        match check {
            Some(TuneArg::Removed(by)) => {
                let msg =
                    format!("option '{kw}' is not supported any more ({by} is used instead).");
                self.push(Diagnostic::alert(loc, msg).styled(LocStyle::ParsingTight));
                return false;
            }
            Some(TuneArg::ExperimentalOnOff) if !self.experimental => {
                self.alert(loc, format!("'{kw}' directive is experimental, must be allowed via a global 'expose-experimental-directives'"));
                return false;
            }
            Some(TuneArg::Deprecated(by)) => self.push(
                Diagnostic::warning(
                    loc,
                    format!("'{kw}' is deprecated and will be removed in version 2.7. Please use '{by}' instead."),
                )
                .styled(LocStyle::ParsingTight),
            ),
            _ => {}
        }
        let words = if check == Some(TuneArg::Flag) { 0 } else { 1 };
        if !keywords::TUNE_ANY_ARGS.contains(&kw) && self.too_many(stmt, words, kw) {
            return false;
        }
        let once = keywords::TUNE_ONCE.contains(&kw);
        if once && self.tune_seen.get(kw).is_some_and(|v| *v != 0) {
            let d = Diagnostic::alert(loc, format!("'{kw}' already specified. Continuing."));
            self.push(d.continuing());
            return false;
        }
        if let Some(check) = check {
            if !self.tune_arg_valid(stmt, kw, check) {
                return false;
            }
        }
        if once {
            self.tune_seen
                .insert(kw.to_string(), lenient_int(stmt.arg(1)));
        }
        if kw == "tune.bufsize" {
            // haproxy rounds the size up to a multiple of 16 before its 256 MB check.
            let v = lenient_int(stmt.arg(1)) as i32 as i64;
            self.global.tune_bufsize = Some((v + 15) & !15);
        }
        if keywords::TUNE_CAPTURE.contains(&kw) {
            if self.tune_seen.contains_key("capture") {
                self.alert(loc, format!("'{kw}' is already configured."));
                return false;
            }
            self.tune_seen.insert("capture".to_string(), 1);
        }
        true
    }

    /// haproxy's check of a `tune.*` argument (`check`, from keywords::TUNE_ARGS); false
    /// after an alert.
    fn tune_arg_valid(&mut self, stmt: &Stmt, kw: &str, check: keywords::TuneArg) -> bool {
        use keywords::TuneArg;
        let (loc, arg) = (stmt.loc, stmt.arg(1));
        let check = match check {
            TuneArg::Deprecated(_) => keywords::at_least(0, "expects a positive numeric value."),
            c => c,
        };
        let msg = match check {
            TuneArg::OnOff | TuneArg::ExperimentalOnOff if arg == "on" || arg == "off" => {
                return true
            }
            TuneArg::OnOff | TuneArg::ExperimentalOnOff => {
                format!("'{kw}' expects either 'on' or 'off' but got '{arg}'.")
            }
            TuneArg::Flag => return true,
            TuneArg::Int {
                missing, min, max, wide, bad,
            } => {
                if arg.is_empty() {
                    if let Some(m) = missing {
                        self.alert(loc, format!("'{kw}' {m}"));
                        return false;
                    }
                }
                // atoi() keeps the low 32 bits of what atol() reads.
                let v = lenient_int(arg);
                let v = if wide { v } else { v as i32 as i64 };
                if (min..=max).contains(&v) {
                    return true;
                }
                format!("'{kw}' {bad}")
            }
            TuneArg::IdleTimer => {
                let range = format!("'{kw}' expects a timer value between 0 and 65535 ms.");
                match parse_time_ms(arg) {
                    Err(TimeError::Empty) => range,
                    Ok(ms) if ms <= 65535 => return true,
                    Ok(_) => range,
                    Err(TimeError::Unexpected(c)) => {
                        return self.tight_alert(stmt, format!("unexpected character '{c}' in argument to <{kw}>."));
                    }
                    Err(TimeError::Overflow) => {
                        return self.tight_alert(stmt, format!("timer overflow in argument <{arg}> to <{kw}>, maximum value is 65535 ms."));
                    }
                }
            }
            TuneArg::SslLifetime => match parse_time_s(arg) {
                Ok(_) => return true,
                Err(TimeError::Empty) => {
                    format!("'{kw}' expects ssl sessions <lifetime> in seconds as argument.")
                }
                Err(TimeError::Unexpected(c)) => {
                    format!("unexpected character '{c}' in argument to <{kw}>.")
                }
                Err(_) => format!("timer overflow in argument '{arg}' to <{kw}> (maximum value is 2147483647 s or ~68 years)."),
            },
            TuneArg::LuaTimeout => match parse_time_ms(arg) {
                Ok(_) => return true,
                Err(TimeError::Overflow) => format!("timer overflow in argument <{arg}> to <{kw}> (maximum value is 2147483647 ms or ~24.8 days)"),
                Err(_) => format!("{kw}: invalid timeout"),
            },
            TuneArg::Number => match strtol_rest(arg) {
                None => return true,
                Some(_) => format!("{kw}: invalid number"),
            },
            TuneArg::NumberAt(missing) => match strtol_rest(arg) {
                _ if arg.is_empty() => format!("'{kw}' {missing}"),
                None => return true,
                Some(c) => format!("{kw}: invalid number {arg} (error at '{c}')"),
            },
            TuneArg::VarsSize => match strtol_rest(arg) {
                None => return true,
                Some(_) => format!("{kw}: '{arg}' is an invalid size"),
            },
            _ if !arg.is_empty() => return true,
            TuneArg::Integer => format!("'{kw}' expects an integer argument."),
            TuneArg::Missing(text) => format!("'{kw}' {text}"),
            // Handled by tune_arg_ok before the argument is looked at.
            TuneArg::Removed(_) | TuneArg::Deprecated(_) => return true,
        };
        self.alert(loc, msg);
        false
    }

    /// An alert in haproxy's "parsing [file:line]:" spelling (no space before the colon).
    fn tight_alert(&mut self, stmt: &Stmt, msg: String) -> bool {
        self.push(Diagnostic::alert(stmt.loc, msg).styled(LocStyle::ParsingTight));
        false
    }

    pub(super) fn parse_global(&mut self, stmt: &Stmt) {
        let kw = stmt.arg(0);
        let loc = stmt.loc;
        if kw == "expose-experimental-directives" {
            self.experimental = true;
        }
        let Some(k) = keywords::lookup(keywords::GLOBAL, kw) else {
            if keywords::GLOBAL_PREFIX_IGNORED
                .iter()
                .any(|p| kw.starts_with(p))
                && keywords::GLOBAL_TUNE.contains(&kw)
            {
                if self.tune_arg_ok(stmt, kw) {
                    self.ignored(loc, &format!("'{kw}'"), "tuning has no equivalent here");
                }
                return;
            }
            // HAProxy's own hint: the closest global keyword or section name.
            let names = keywords::GLOBAL
                .iter()
                .map(|k| k.name)
                .chain(keywords::GLOBAL_TUNE.iter().copied())
                .chain(["frontend", "backend", "listen", "defaults", "global"]);
            let hint = keywords::suggest_by_edits(names, kw)
                .map(|s| format!("; did you mean '{s}' maybe ?"))
                .unwrap_or_default();
            self.alert(
                loc,
                format!("unknown keyword '{kw}' in 'global' section{hint}"),
            );
            return;
        };
        if k.status == Status::Removed {
            self.alert(
                loc,
                "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.",
            );
            return;
        }
        // Flags haproxide ignores still refuse arguments, as HAProxy does (but for a few).
        let lax = keywords::GLOBAL_FLAGS_ANY_ARGS.contains(&kw);
        if k.status == Status::Ignored && k.args.is_empty() && !lax && self.too_many(stmt, 0, kw) {
            return;
        }
        // `no <flag>` asks for the default, which is what haproxy does without the flag.
        if k.status == Status::Ignored && k.args.is_empty() && stmt.kwm == Kwm::No {
            return;
        }
        if !self.table_status(loc, k, &format!("'{kw}'")) {
            return;
        }
        match kw {
            "h1-case-adjust" => {
                if self.too_many(stmt, 2, kw) {
                    return;
                }
                let (from, to) = (stmt.arg(1), stmt.arg(2));
                if from.is_empty() || to.is_empty() {
                    return self
                        .alert(loc, "'h1-case-adjust' expects <from> and <to> as argument.");
                }
                if let Err(e) =
                    crate::config::lower_http::add_case_adjust(&mut self.global.h1_case, from, to)
                {
                    self.alert(loc, e);
                }
            }
            "h1-case-adjust-file" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'h1-case-adjust-file' expects <file> as argument.");
                }
                self.global.h1_case_file = Some(stmt.arg(1).to_string());
            }
            "maxconn" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'maxconn' expects an integer argument.");
                }
                self.global.ir.maxconn = Some(lenient_int(stmt.arg(1)).max(0) as u32);
            }
            // §3.2: accept rates; a second line is refused but the section goes on.
            "maxconnrate" | "maxsessrate" | "maxsslrate" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                let g = &mut self.global.ir;
                let slot = match kw {
                    "maxconnrate" => &mut g.maxconnrate,
                    "maxsessrate" => &mut g.maxsessrate,
                    _ => &mut g.maxsslrate,
                };
                if *slot != 0 {
                    let msg = format!("'{kw}' already specified. Continuing.");
                    return self.push(Diagnostic::alert(loc, msg).continuing());
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("'{kw}' expects an integer argument."));
                }
                // atol() stored in an int: a negative limit is as good as none.
                *slot = crate::numbers::strtol(stmt.arg(1)).0 as u32;
            }
            // §3.2: the pollers never sleep; `no busy-polling` undoes an earlier line.
            "busy-polling" => {
                if !self.too_many(stmt, 0, kw) {
                    self.global.ir.busy_polling = stmt.kwm != Kwm::No;
                }
            }
            // §3.2: on by default; `no strict-limits` lets the start go on with a warning.
            "strict-limits" => {
                if !self.too_many(stmt, 0, kw) {
                    self.global.ir.no_strict_limits = stmt.kwm == Kwm::No;
                }
            }
            "daemon" => {
                if !self.too_many(stmt, 0, kw) {
                    self.global.ir.daemon = true;
                }
            }
            "quiet" => self.global.quiet = !self.too_many(stmt, 0, kw),
            "zero-warning" => self.global.zero_warning = !self.too_many(stmt, 0, kw),
            "master-worker" => {
                if stmt.words.len() > 1 && stmt.arg(1) != "no-exit-on-failure" {
                    return self.alert(
                        loc,
                        "'master-worker' only supports 'no-exit-on-failure' option.",
                    );
                }
                self.global.ir.master_worker = true;
            }
            "chroot" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'chroot' expects a directory as an argument.");
                }
                self.global.ir.chroot = Some(stmt.arg(1).to_string());
            }
            "pidfile" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'pidfile' expects a file name as an argument.");
                }
                self.global.ir.pidfile = Some(stmt.arg(1).to_string());
            }
            "user" | "group" => self.global_user_group(stmt),
            "unix-bind" => self.global_unix_bind(stmt),
            "uid" | "gid" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if self.id_already_set(loc, kw) {
                    return;
                }
                let a = stmt.arg(1);
                if a.is_empty() {
                    return self.alert(loc, format!("'{kw}' expects an integer argument."));
                }
                if a.parse::<u32>().is_err() {
                    let mut d =
                        Diagnostic::warning(loc, format!(" {kw}: string '{a}' is not a number."));
                    let what = if kw == "uid" { "user" } else { "group" };
                    d.extra.push(format!("   | You might want to use the '{what}' parameter to use a system {what} name."));
                    self.push(d);
                }
                let v = lenient_int(a).max(0) as u32;
                if kw == "uid" {
                    self.global.ir.uid = Some(v);
                } else {
                    self.global.ir.gid = Some(v);
                }
            }
            "nbthread" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                match stmt.arg(1).parse::<i64>() {
                    Ok(n) if (1..=64).contains(&n) => self.global.ir.nbthread = Some(n as u32),
                    Ok(n) => self.alert(
                        loc,
                        format!("'nbthread' value must be between 1 and 64 (was {n})"),
                    ),
                    Err(_) => self.alert(
                        loc,
                        format!(
                            "'nbthread' passed a missing or unparsable integer value in '{}'",
                            stmt.arg(1)
                        ),
                    ),
                }
            }
            "ulimit-n" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'ulimit-n' expects an integer argument.");
                }
                self.global.ir.ulimit_n = Some(lenient_int(stmt.arg(1)).max(0) as u64);
            }
            "hard-stop-after" => {
                let a = stmt.arg(1);
                if a.is_empty() {
                    let mut d =
                        Diagnostic::alert(loc, "'hard-stop-after' expects <time> as argument.");
                    d.extra.push(String::new());
                    return self.push(d);
                }
                match parse_time_ms(a) {
                    Ok(ms) => self.global.ir.hard_stop_after = Some(Duration::from_millis(ms)),
                    Err(TimeError::Unexpected(c)) => {
                        let mut d = Diagnostic::alert(loc, format!("unexpected character '{c}' in argument to <hard-stop-after>."));
                        d.extra.push(String::new());
                        self.push(d);
                    }
                    Err(_) => self.alert(loc, format!("timer overflow in argument <{a}> to <hard-stop-after>, maximum value is 2147483647 ms (~24.8 days).")),
                }
            }
            "log" if stmt.kwm == Kwm::No => {
                if stmt.words.len() > 1 {
                    return self.alert(loc, "log : 'no log' does not expect arguments");
                }
                self.global.ir.log.clear();
            }
            "log" => {
                if let Some(t) = self.parse_log_target(stmt, true) {
                    self.global.ir.log.push(t);
                }
            }
            "log-tag" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'log-tag' expects a tag for use in syslog.");
                }
                self.global.ir.log_tag = stmt.arg(1).to_string();
            }
            "localpeer" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                let name = stmt.arg(1);
                if name.is_empty() {
                    return self.alert(loc, format!("'{kw}' expects a name as an argument."));
                }
                if self.env.contains_key(super::peers::LOCALPEER_FROM_CMDLINE) {
                    return self.warn(loc, format!("'{kw}' ignored since it is already set by using the '-L' command line argument."));
                }
                if !self.peers.is_empty() {
                    return self.warn(
                        loc,
                        format!("'{kw}' ignored since it is used after 'peers' section."),
                    );
                }
                self.env
                    .insert("HAPROXY_LOCALPEER".into(), name.to_string());
                self.global.ir.localpeer = Some(name.to_string());
            }
            "log-send-hostname" => {
                let host = match stmt.arg(1) {
                    "" => std::fs::read_to_string("/proc/sys/kernel/hostname")
                        .map(|h| h.trim().to_string())
                        .unwrap_or_default(),
                    h => h.to_string(),
                };
                self.global.ir.log_send_hostname = Some(host);
            }
            "server-state-file" | "server-state-base" => {
                let (set, what) = if kw == "server-state-file" {
                    (
                        &mut self.global.ir.server_state_file,
                        "expect one argument: a file path",
                    )
                } else {
                    (
                        &mut self.global.ir.server_state_base,
                        "expects one argument: a directory path",
                    )
                };
                // haproxy keeps the first and reads no further argument.
                if set.is_some() {
                    let d =
                        Diagnostic::alert(loc, format!("'{kw}' already specified. Continuing."));
                    return self.push(d.continuing());
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("'{kw}' {what}."));
                }
                *set = Some(stmt.arg(1).to_string());
            }
            "stats" => self.global_stats(stmt),
            "ca-base" | "crt-base" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(
                        loc,
                        format!("global statement '{kw}' expects a directory path as an argument."),
                    );
                }
                let slot = if kw == "ca-base" {
                    &mut self.global.ca_base
                } else {
                    &mut self.global.crt_base
                };
                if slot.is_some() {
                    return self.alert(loc, format!("'{kw}' already specified."));
                }
                *slot = Some(stmt.arg(1).to_string());
            }
            "ssl-default-bind-ciphers"
            | "ssl-default-bind-ciphersuites"
            | "ssl-default-server-ciphers"
            | "ssl-default-server-ciphersuites"
            | "ssl-default-bind-curves" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                let v = stmt.arg(1);
                if v.is_empty() {
                    let what = if kw.ends_with("curves") {
                        "a curves list"
                    } else {
                        "a cipher suite"
                    };
                    return self.alert(
                        loc,
                        format!("global statement '{kw}' expects {what} as an argument."),
                    );
                }
                let d = if kw.contains("-bind-") {
                    &mut self.global.ir.ssl_bind_defaults
                } else {
                    &mut self.global.ir.ssl_server_defaults
                };
                let v = Some(v.to_string());
                match kw.rsplit('-').next() {
                    Some("ciphers") => d.ciphers = v,
                    Some("ciphersuites") => d.ciphersuites = v,
                    // ssl-default-bind-curves: ignored with a warning (keyword table).
                    _ => {}
                }
            }
            "ssl-default-bind-options" | "ssl-default-server-options" => {
                self.global_ssl_options(stmt)
            }
            "ssl-server-verify" => match stmt.arg(1) {
                "none" => self.global.ir.ssl_server_verify_none = true,
                "required" => self.global.ir.ssl_server_verify_none = false,
                _ => self.alert(
                    loc,
                    "'ssl-server-verify' expects 'none' or 'required' as argument.",
                ),
            },
            "tune.ssl.default-dh-param" => {
                let v = lenient_int(stmt.arg(1));
                if v < 1024 {
                    return self.alert(loc, "'tune.ssl.default-dh-param' expects a value >= 1024.");
                }
                self.global.ir.ssl_default_dh_param = Some(v as u32);
            }
            "node" => {
                let a = stmt.arg(1);
                if a.is_empty()
                    || !a
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                {
                    self.push(Diagnostic::alert(loc, "'node' requires valid node name - non-empty string with digits(0-9), letters(A-Z, a-z), dot(.), hyphen(-) or underscode(_).").styled(LocStyle::ParsingTight));
                }
                self.global.ir.node = Some(a.to_string());
            }
            "set-var" | "set-var-fmt" => self.global_set_var(stmt),
            "description" => {
                if stmt.words.len() < 2 {
                    self.push(
                        Diagnostic::alert(loc, "'description' expects a string argument.")
                            .styled(LocStyle::ParsingTight),
                    );
                }
                // haproxy joins the words with single spaces.
                self.global.ir.description = Some(stmt.words[1..].join(" "));
            }
            "setenv" | "presetenv" => {
                if stmt.words.len() < 3 {
                    return self.push(
                        Diagnostic::alert(loc, format!("'{kw}' expects a name and a value."))
                            .styled(LocStyle::ParsingTight),
                    );
                }
                if self.too_many(stmt, 2, kw) {
                    return;
                }
                if kw == "setenv" || !self.env.contains_key(stmt.arg(1)) {
                    let (k, v) = (stmt.arg(1).to_string(), stmt.arg(2).to_string());
                    self.env.insert(k.clone(), v.clone());
                    self.global.ir.env_ops.push(crate::ir::EnvOp::Set(k, v));
                }
            }
            "unsetenv" => {
                for n in &stmt.words[1..] {
                    self.env.remove(n);
                    self.global
                        .ir
                        .env_ops
                        .push(crate::ir::EnvOp::Unset(n.clone()));
                }
            }
            "resetenv" => {
                let keep: Vec<&String> = stmt.words[1..].iter().collect();
                self.env.retain(|k, _| keep.contains(&k));
                let keep = stmt.words[1..].to_vec();
                self.global.ir.env_ops.push(crate::ir::EnvOp::Keep(keep));
            }
            _ => {}
        }
    }

    /// haproxy's check before `user`, `uid`, `group` or `gid` (`kw`): an id other than
    /// 0 already set is kept, with an alert that leaves the configuration valid (so a
    /// first `user root`, id 0, may be replaced without one).
    fn id_already_set(&mut self, loc: &crate::config::diag::Loc, kw: &str) -> bool {
        // haproxy words the `group` keyword's case differently from `gid`'s.
        let (prev, msg) = match kw {
            "user" | "uid" => (
                self.global.ir.uid,
                "user/uid already specified. Continuing.",
            ),
            "gid" => (
                self.global.ir.gid,
                "group/gid already specified. Continuing.",
            ),
            _ => (
                self.global.ir.gid,
                "gid/group was already specified. Continuing.",
            ),
        };
        if prev.is_some_and(|id| id != 0) {
            self.push(Diagnostic::alert(loc, msg).continuing());
            return true;
        }
        false
    }

    fn global_user_group(&mut self, stmt: &Stmt) {
        let kw = stmt.arg(0);
        let loc = stmt.loc;
        if self.too_many(stmt, 1, kw) {
            return;
        }
        let name = stmt.arg(1);
        let (file, what) = if kw == "user" {
            ("/etc/passwd", "user")
        } else {
            ("/etc/group", "group")
        };
        if self.id_already_set(loc, kw) {
            return;
        }
        // HAProxy resolves the name while parsing (getpwnam/getgrnam).
        match lookup_id(file, name) {
            Some(id) => {
                if kw == "user" {
                    self.global.ir.user = Some(name.to_string());
                    self.global.ir.uid = Some(id);
                } else {
                    self.global.ir.group = Some(name.to_string());
                    self.global.ir.gid = Some(id);
                }
            }
            None => {
                let short = if what == "user" { "user" } else { "group" };
                self.alert(
                    loc,
                    format!("cannot find {short} id for '{name}' (0:Success)"),
                );
            }
        }
    }

    fn global_stats(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        match stmt.arg(1) {
            "socket" => {
                let a = stmt.arg(2);
                if a.is_empty() {
                    return self.alert(loc, "'stats socket' in global section expects an address or a path to a UNIX socket");
                }
                let word = expand_env(a, &|n| self.env.get(n).cloned());
                let rules = AddrRules { port_required: true, ranges: false, names: false, offsets: false, resolve: self.resolve_names, fds: true };
                let addr = match parse_addr(&word, rules) {
                    Ok(AddrSpec::Unix(p)) => ListenAddr::Unix(p),
                    Ok(AddrSpec::Fd(n)) => ListenAddr::Fd(n),
                    // haproxy's message carries its own location prefix here, twice shown.
                    // haproxy's message carries its own location prefix and two newlines.
                    Err(e @ (AddrError::FdUnusable(..) | AddrError::FdNotInteger(_))) => {
                        let mut d = Diagnostic::alert(loc, format!("parsing [{loc}] : 'stats socket' : {}", e.message(a)));
                        d.extra = vec![String::new(), String::new()];
                        return self.push(d);
                    }
                    Ok(AddrSpec::Inet { host: Host::Ip(ip), port_lo, .. }) => ListenAddr::Inet(SocketAddr::new(ip, port_lo)),
                    Ok(_) => return,
                    Err(e) => return self.alert(loc, format!("'stats socket' : {}", e.message(a))),
                };
                let mut sock = StatsSocket { addr, mode: None, level: None, uid: None, gid: None, origin: loc.to_string(), expose_fd: false, maxconn: None, backlog: None };
                let mut i = 3;
                while i < stmt.words.len() {
                    let p = stmt.arg(i);
                    let v = stmt.arg(i + 1);
                    match p {
                        "mode" => sock.mode = u32::from_str_radix(v, 8).ok(),
                        "level" => {
                            if !matches!(v, "user" | "operator" | "admin") {
                                return self.alert(loc, format!("'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '{v}')'"));
                            }
                            sock.level = Some(v.to_string());
                        }
                        // HAProxy reads these with atol(): no error, garbage is 0 or a prefix.
                        "uid" | "gid" => {
                            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
                            let n = digits.parse::<u32>().unwrap_or(0);
                            if p == "uid" {
                                sock.uid = Some(n);
                            } else {
                                sock.gid = Some(n);
                            }
                        }
                        "user" | "group" => {
                            let file = if p == "user" { "/etc/passwd" } else { "/etc/group" };
                            match lookup_id(file, v) {
                                Some(n) if p == "user" => sock.uid = Some(n),
                                Some(n) => sock.gid = Some(n),
                                None => return self.alert(loc, format!("'stats socket' : ''{p}' : unknown {p} name '{v}''")),
                            }
                        }
                        "expose-fd" => {
                            if v != "listeners" {
                                return self.alert(loc, format!("'stats socket' : ''expose-fd' only supports 'listeners' (got '{v}')'"));
                            }
                            sock.expose_fd = true;
                        }
                        "maxconn" => sock.maxconn = Some(lenient_int(v).clamp(0, u32::MAX as i64) as u32),
                        "backlog" => sock.backlog = Some(lenient_int(v).clamp(0, u32::MAX as i64) as u32),
                        // Severity prefixes change the CLI's answers: not built.
                        "severity-output" if v != "none" => {
                            return self.unsupported(loc, &format!("'stats socket … severity-output {v}'"), "CLI answers carry no severity prefix");
                        }
                        "name" | "severity-output" | "process" | "thread" | "id" => {}
                        other => {
                            return self.alert(loc, format!("'stats socket' : unknown keyword '{other}'."));
                        }
                    }
                    i += 2;
                }
                self.global.ir.stats_sockets.push(sock);
            }
            "timeout" => match parse_time_ms(stmt.arg(2)) {
                Ok(ms) if ms > 0 => self.global.ir.stats_timeout = Some(Duration::from_millis(ms)),
                Ok(_) => self.alert(loc, "'stats timeout' expects a positive value"),
                Err(TimeError::Unexpected(c)) => self.alert(loc, format!("'stats timeout' : unexpected character '{c}'")),
                Err(TimeError::Empty) => self.alert(loc, "'stats timeout' : unexpected character '"),
                Err(_) => self.alert(loc, "'stats timeout' : timer overflow"),
            },
            "maxconn" => {
                if stmt.arg(2).is_empty() {
                    return self.alert(loc, "'stats maxconn' expects an integer argument.");
                }
                self.global.ir.stats_maxconn = Some(lenient_int(stmt.arg(2)).clamp(0, u32::MAX as i64) as u32);
            }
            "bind-process" => self.alert(loc, "'stats bind-process' is not supported anymore, please use 'process' on the 'stats socket' line instead."),
            other => self.alert(loc, format!("'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '{other}')")),
        }
    }

    fn global_ssl_options(&mut self, stmt: &Stmt) {
        let kw = stmt.arg(0);
        let loc = stmt.loc;
        let mut opts = Vec::new();
        if stmt.words.len() < 2 {
            return self.alert(
                loc,
                format!("global statement '{kw}' expects an option as an argument."),
            );
        }
        let bind = kw.contains("-bind-");
        let mut i = 1;
        while i < stmt.words.len() {
            let o = stmt.arg(i);
            match o {
                "ssl-min-ver" | "ssl-max-ver" => {
                    let v = stmt.arg(i + 1);
                    if tls_version(v).is_none() {
                        return self.alert(
                            loc,
                            format!("'{v}' : unknown ssl/tls version on global statement '{kw}'."),
                        );
                    }
                    opts.push(format!("{o} {v}"));
                    i += 1;
                }
                "no-sslv3" | "no-tlsv10" | "no-tlsv11" | "no-tlsv12" | "no-tlsv13"
                | "force-sslv3" | "force-tlsv10" | "force-tlsv11" | "force-tlsv12"
                | "force-tlsv13" | "no-tls-tickets" => opts.push(o.to_string()),
                // haproxy 2.6 takes only this one more, and for binds only.
                "prefer-client-ciphers" if bind => opts.push(o.to_string()),
                _ => {
                    return self.alert(
                        loc,
                        format!("unknown option '{o}' on global statement '{kw}'."),
                    )
                }
            }
            i += 1;
        }
        let d = if kw.contains("-bind-") {
            &mut self.global.ir.ssl_bind_defaults
        } else {
            &mut self.global.ir.ssl_server_defaults
        };
        d.options.extend(opts);
    }

    /// Parses `log <target> [len n] [format f] [sample r:n] <facility> [level [minlevel]]`.
    ///
    /// configuration.txt §3.1 `log`; shared by `global` and proxies (`in_global` picks the
    /// wording HAProxy uses for a missing argument).
    pub(super) fn parse_log_target(&mut self, stmt: &Stmt, in_global: bool) -> Option<LogTarget> {
        let loc = stmt.loc;
        let expects = if in_global {
            "log : expects <address> and <facility>  as arguments"
        } else {
            "log : expects <address> and <facility> or global as arguments"
        };
        let mut i = 1;
        let target = stmt.arg(i);
        if target.is_empty() {
            self.alert(loc, expects);
            return None;
        }
        i += 1;
        let mut format = SyslogFormat::Default;
        let mut max_len = 1024usize;
        // In haproxy's fixed order: `len`, then `format`, then `sample` (`format raw len
        // 80` reads `len` as the facility, and fails).
        if stmt.arg(i) == "len" {
            let n = lenient_int(stmt.arg(i + 1));
            if !(80..=65535).contains(&n) {
                self.alert(
                    loc,
                    format!(
                        "log : invalid log length '{}', must be between 80 and 65535",
                        stmt.arg(i + 1)
                    ),
                );
                return None;
            }
            max_len = n as usize;
            i += 2;
        }
        if stmt.arg(i) == "format" {
            format = match stmt.arg(i + 1) {
                "rfc3164" => SyslogFormat::Rfc3164,
                "local" => SyslogFormat::Local,
                "rfc5424" => SyslogFormat::Rfc5424,
                "raw" => SyslogFormat::Raw,
                "short" => SyslogFormat::Short,
                "timed" => SyslogFormat::Timed,
                "iso" => SyslogFormat::Iso,
                "priority" => SyslogFormat::Priority,
                other => {
                    self.alert(loc, format!("log : unknown log format '{other}'"));
                    return None;
                }
            };
            i += 2;
        }
        let mut sample = None;
        if stmt.arg(i) == "sample" {
            match super::log_sample::parse(stmt.arg(i + 1), loc.key(0)) {
                Ok(s) => sample = Some(s),
                Err(m) => {
                    self.alert(loc, format!("log : {m}"));
                    return None;
                }
            }
            i += 2;
        }
        let fac = stmt.arg(i);
        if fac.is_empty() {
            self.alert(loc, expects);
            return None;
        }
        let Some(facility) = FACILITIES.iter().position(|f| *f == fac) else {
            self.alert(loc, format!("log : unknown log facility '{fac}'"));
            return None;
        };
        let mut max_level = 7u8;
        let mut min_level = 0u8;
        let lvl = stmt.arg(i + 1);
        if !lvl.is_empty() {
            match LEVELS.iter().position(|l| *l == lvl) {
                Some(l) => max_level = l as u8,
                None => {
                    self.alert(loc, format!("log : unknown optional log level '{lvl}'"));
                    return None;
                }
            }
            let min = stmt.arg(i + 2);
            if !min.is_empty() {
                match LEVELS.iter().position(|l| *l == min) {
                    Some(l) => min_level = l as u8,
                    None => {
                        self.alert(
                            loc,
                            format!("log : unknown optional minimum log level '{min}'"),
                        );
                        return None;
                    }
                }
            }
            if stmt.words.len() > i + 3 {
                self.alert(
                    loc,
                    format!(
                        "log : cannot handle unexpected argument '{}'",
                        stmt.arg(i + 3)
                    ),
                );
                return None;
            }
        }
        let dest = match target {
            "stdout" => LogDest::Stdout,
            "stderr" => LogDest::Stderr,
            t => {
                let word = expand_env(t, &|n| self.env.get(n).cloned());
                let rules = AddrRules {
                    port_required: false,
                    ranges: false,
                    names: false,
                    offsets: false,
                    resolve: self.resolve_names,
                    fds: false,
                };
                let spec = word
                    .strip_prefix("udp@")
                    .or(word.strip_prefix("udp4@"))
                    .or(word.strip_prefix("udp6@"))
                    .unwrap_or(&word);
                match parse_addr(spec, rules) {
                    Ok(AddrSpec::Unix(p)) => LogDest::Unix(p),
                    Ok(AddrSpec::Inet {
                        host: Host::Ip(ip),
                        port_lo,
                        ..
                    }) => LogDest::Udp(SocketAddr::new(
                        ip,
                        if port_lo == 0 { 514 } else { port_lo },
                    )),
                    Ok(_) | Err(_) => {
                        self.alert(
                            loc,
                            format!("log : unknown address family or unresolvable address '{t}'"),
                        );
                        return None;
                    }
                }
            }
        };
        Some(LogTarget {
            dest,
            facility: facility as u8,
            max_level,
            min_level,
            max_len,
            format,
            tag: None,
            sample,
            copy: 0,
        })
    }
}

impl Parser {
    /// `set-var proc.<name> <expr>` and `set-var-fmt proc.<name> <fmt>`: stored when the
    /// process starts, from samples that need no session (vars.c
    /// `vars_parse_global_set_var`).
    fn global_set_var(&mut self, stmt: &Stmt) {
        let (kw, loc) = (stmt.arg(0), stmt.loc);
        if stmt.arg(1).is_empty() || stmt.arg(2).is_empty() {
            let what = if kw == "set-var-fmt" {
                "a format string"
            } else {
                "a sample expression"
            };
            return self.alert(
                loc,
                format!("'{kw}' requires a process-wide variable name ('proc.<name>') and {what}."),
            );
        }
        let mut words = stmt.words.to_vec();
        words[1] = format!("{kw}({})", stmt.arg(1));
        let a = match super::vars::var_action(&words, 1, None) {
            Ok((a, _)) => a,
            Err(super::sample::SampleError::Invalid(m)) => return self.alert(loc, m),
            Err(super::sample::SampleError::Unsupported(what)) => {
                return self.unsupported(loc, &format!("{what} in '{kw}'"), "sample expressions")
            }
        };
        if a.var.scope != crate::ir::vars::VarScope::Proc {
            return self.alert(loc, format!("'{kw}': cannot set variable '{}', only scope 'proc' is permitted in the global section.", stmt.arg(1)));
        }
        // Only samples that need no session: constants, the environment, variables.
        let constant = |e: &crate::ir::acl::SampleExpr| {
            use crate::ir::acl::Fetch;
            matches!(
                e.fetch,
                Fetch::Bool(_) | Fetch::Int(_) | Fetch::Str(_) | Fetch::Env(_) | Fetch::Var(..)
            )
        };
        let ok = match &a.value {
            crate::ir::vars::VarValue::Expr(e) => constant(e),
            crate::ir::vars::VarValue::Fmt(f) => f.iter().all(|p| match p {
                crate::ir::http_rules::FmtPart::Text(_) => true,
                crate::ir::http_rules::FmtPart::Sample(e) => constant(e),
                _ => false,
            }),
            crate::ir::vars::VarValue::Unset => true,
        };
        if !ok {
            return self.unsupported(
                loc,
                &format!("'{kw} {}' with a sample that needs a session", stmt.arg(1)),
                "haproxy refuses it too, in other words",
            );
        }
        // haproxy stores the value as it reads the line: `env()` sees the environment as
        // `setenv` lines above left it.
        let mut a = a;
        let env = &self.env;
        let pin = |e: &mut crate::ir::acl::SampleExpr| {
            if let crate::ir::acl::Fetch::Env(n) = &e.fetch {
                if let Some(v) = env.get(&**n) {
                    e.fetch = crate::ir::acl::Fetch::Str(v.as_bytes().into());
                }
            }
        };
        match &mut a.value {
            crate::ir::vars::VarValue::Expr(e) => pin(e),
            crate::ir::vars::VarValue::Fmt(f) => f.iter_mut().for_each(|p| {
                if let crate::ir::http_rules::FmtPart::Sample(e) = p {
                    pin(e)
                }
            }),
            crate::ir::vars::VarValue::Unset => {}
        }
        self.global.ir.set_vars.push(a);
    }
}
