//! Configuration front end: text → words → positioned sections → validated IR.
//!
//! `load()` is the only entry point the rest of haproxide uses; it never stops at the first
//! problem and returns every diagnostic with the IR (when the configuration is valid).

pub mod ast;
pub mod cond;
pub mod diag;
pub mod keywords;
pub mod lexer;
pub mod lower;
mod lower_backend;
mod lower_counters;
mod lower_http;
mod lower_peers;
mod lower_tls;
mod lower_track;
pub mod parse;
mod proto_checks;
mod server_state;
pub mod source;

use std::collections::BTreeMap;

use diag::{Diagnostic, Diagnostics, Level};

/// The outcome of reading a configuration.
#[derive(Debug)]
pub struct Loaded {
    /// The IR, when the configuration is valid.
    pub config: Option<crate::ir::Config>,
    /// Every message, in HAProxy's order.
    pub diags: Diagnostics,
    /// Reading stopped early (HAProxy prints no "Fatal errors" line then).
    pub aborted: bool,
    /// `quiet` was set in `global`.
    pub quiet: bool,
    /// `zero-warning` was set in `global`.
    pub zero_warning: bool,
    /// Listeners that would be opened (binds plus stats sockets).
    pub listeners: usize,
    /// The files read, in order (a `-f` directory stands for its `*.cfg` files).
    pub files: Vec<String>,
}

/// How [`load_with`] treats the files a configuration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileChecks {
    /// haproxy's: a file that cannot be read is an alert.
    #[default]
    Strict,
    /// `-c --no-file-checks`: a file that does not exist is one warning, and every other
    /// check still runs (CI machines rarely hold the production certificates).
    MissingIsWarning,
}

/// The code of the warning [`FileChecks::MissingIsWarning`] gives a missing file.
pub const MISSING_FILE: &str = "missing-file";

/// The code of the closing lines haproxy adds after the messages ("Fatal errors found").
pub const SUMMARY: &str = "summary";

/// Reads `files` (as `-f` gives them) with `env` as the environment, and validates them.
pub fn load(files: &[String], env: BTreeMap<String, String>) -> Loaded {
    load_with(files, env, FileChecks::Strict)
}

/// [`load`] with a choice of how missing files are treated.
pub fn load_with(files: &[String], env: BTreeMap<String, String>, checks: FileChecks) -> Loaded {
    let sources = match source::load(files) {
        Ok(s) => s,
        Err(d) => {
            let mut diags = Diagnostics::default();
            diags.push(d);
            return Loaded {
                config: None,
                diags,
                aborted: true,
                quiet: false,
                zero_warning: false,
                listeners: 0,
                files: files.to_vec(),
            };
        }
    };
    let mut parsed = parse::Parser::new(env)
        .with_file_checks(checks)
        .parse_sources(&sources);
    let config = lower::lower(&mut parsed);
    let listeners = config
        .as_ref()
        .map(|c| c.listener_count() + c.global.stats_sockets.len())
        .unwrap_or(0);
    Loaded {
        config,
        aborted: parsed.aborted,
        quiet: parsed.global.quiet,
        zero_warning: parsed.global.zero_warning,
        listeners,
        diags: parsed.diags,
        files: sources.iter().map(|s| s.name.to_string()).collect(),
    }
}

/// A configuration's verdict: haproxy's exit status and every message, the closing ones
/// (coded [`SUMMARY`]) included.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// 0 valid, 1 invalid, 2 valid but nothing to listen on.
    pub code: i32,
    /// The messages in haproxy's order.
    pub items: Vec<Diagnostic>,
    /// Warnings were found (the ones `--no-file-checks` adds count too).
    pub warnings: bool,
}

/// The verdict `-c` gives `l` (`zero_warning`: `-dW`).
pub fn verdict(l: &Loaded, zero_warning: bool) -> Verdict {
    let mut items: Vec<Diagnostic> = l.diags.items.clone();
    let zero_warning = zero_warning || l.zero_warning;
    let mut code = if l.config.is_some() { 0 } else { 1 };
    let closing = |m: &str| {
        Diagnostic::new(Level::Alert, None, diag::LocStyle::None, m.to_string())
            .checked()
            .coded(SUMMARY)
    };
    if l.config.is_none()
        && !l
            .diags
            .items
            .iter()
            .any(|d| d.message.starts_with("Cannot open configuration file"))
    {
        for f in &l.diags.files_with_errors {
            items.push(closing(&format!(
                "Error(s) found in configuration file : {f}"
            )));
        }
        let addr_only = items
            .last()
            .is_some_and(|d| d.message == "Failed to initialize server(s) addr.");
        if !l.aborted && !addr_only {
            items.push(closing("Fatal errors found in configuration."));
        }
    }
    // Files missing on a CI machine are not what zero-warning is about.
    let real_warnings = l
        .diags
        .items
        .iter()
        .any(|d| d.level == Level::Warning && d.code != Some(MISSING_FILE));
    if code == 0 && zero_warning && real_warnings {
        items.push(
            Diagnostic::new(
                Level::Alert,
                None,
                diag::LocStyle::None,
                "Some warnings were found and 'zero-warning' is set. Aborting.",
            )
            .checked()
            .coded("zero-warning"),
        );
        code = 1;
    }
    if code == 0 && l.listeners == 0 {
        code = 2;
    }
    Verdict {
        code,
        items,
        warnings: l.diags.has_warnings(),
    }
}

/// Exit status and the lines `-c` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// 0 valid, 1 invalid, 2 valid but nothing to listen on.
    pub code: i32,
    /// Text for stderr.
    pub stderr: String,
    /// Text for stdout.
    pub stdout: String,
}

/// Builds what `haproxide -c` prints, as `haproxy -c` would (`pid` goes in the tags).
pub fn check_report(
    l: &Loaded,
    pid: u32,
    exe: &str,
    zero_warning: bool,
    json: bool,
) -> CheckReport {
    let v = verdict(l, zero_warning);
    if json {
        CheckReport {
            code: v.code,
            stderr: String::new(),
            stdout: v.json_lines(),
        }
    } else {
        v.text(pid, exe)
    }
}

impl Verdict {
    /// `-c --json`: one object per message, haproxy's closing lines left out.
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        for d in self.items.iter().filter(|d| d.code != Some(SUMMARY)) {
            out.push_str(&d.to_json());
            out.push('\n');
        }
        out
    }

    /// What `haproxy -c` prints for it (`pid` goes in the tags).
    pub fn text(&self, pid: u32, exe: &str) -> CheckReport {
        let mut stderr = String::new();
        let mut stdout = String::new();
        // As haproxy, the version lines come with the first warning or alert: notices
        // (`.notice`) before it are printed first, and notices alone bring none.
        let mut banner = false;
        for d in &self.items {
            if !banner && d.level != Level::Notice {
                banner = true;
                stderr.push_str(&format!(
                    "[NOTICE]   ({pid}) : haproxide version is {}\n",
                    env!("CARGO_PKG_VERSION")
                ));
                stderr.push_str(&format!(
                    "[NOTICE]   ({pid}) : path to executable is {exe}\n"
                ));
            }
            stderr.push_str(&d.render(pid));
        }
        if self.code != 1 && self.warnings {
            stdout.push_str("Warnings were found.\n");
        }
        match self.code {
            0 => stdout.push_str("Configuration file is valid\n"),
            2 => stdout.push_str(
                "Configuration file has no error but will not start (no listener) => exit(2).\n",
            ),
            _ => {}
        }
        CheckReport {
            code: self.code,
            stderr,
            stdout,
        }
    }
}

/// Parses and validates one in-memory file without resolving any host name (nothing leaves
/// the machine): what the property tests and the fuzz target run.
pub fn check_offline(
    name: &str,
    text: Vec<u8>,
    env: BTreeMap<String, String>,
) -> Option<crate::ir::Config> {
    let src = source::SourceFile {
        name: std::sync::Arc::from(name),
        text,
    };
    let mut parsed = parse::Parser::new(env)
        .without_resolver()
        .parse_sources(&[src]);
    lower::lower_with(&mut parsed, &|_| None)
}
