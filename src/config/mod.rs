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
mod lower_tls;
pub mod parse;
pub mod source;

use std::collections::BTreeMap;

use diag::{Diagnostic, Diagnostics, Level, Phase};

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
}

/// Reads `files` (as `-f` gives them) with `env` as the environment, and validates them.
pub fn load(files: &[String], env: BTreeMap<String, String>) -> Loaded {
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
            };
        }
    };
    let mut parsed = parse::Parser::new(env).parse_sources(&sources);
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
    let mut items: Vec<Diagnostic> = l.diags.items.clone();
    let zero_warning = zero_warning || l.zero_warning;
    let mut code = if l.config.is_some() { 0 } else { 1 };
    let closing = |m: &str| {
        Diagnostic::new(Level::Alert, None, diag::LocStyle::None, m.to_string()).checked()
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
    if code == 0 && zero_warning && l.diags.has_warnings() {
        items.push(closing(
            "Some warnings were found and 'zero-warning' is set. Aborting.",
        ));
        code = 1;
    }
    let mut stderr = String::new();
    let mut stdout = String::new();
    if json {
        for d in &items {
            if d.phase == Phase::Check
                && d.loc.is_none()
                && d.level == Level::Alert
                && (d.message.starts_with("Error(s) found")
                    || d.message.starts_with("Fatal errors"))
            {
                continue;
            }
            stdout.push_str(&d.to_json());
            stdout.push('\n');
        }
    } else {
        // As haproxy, the version lines come with the first warning or alert: notices
        // (`.notice`) before it are printed first, and notices alone bring none.
        let mut banner = false;
        for d in &items {
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
    }
    if code == 0 {
        if l.listeners == 0 {
            code = 2;
            if !json {
                if l.diags.has_warnings() {
                    stdout.push_str("Warnings were found.\n");
                }
                stdout.push_str("Configuration file has no error but will not start (no listener) => exit(2).\n");
            }
        } else if !json {
            if l.diags.has_warnings() {
                stdout.push_str("Warnings were found.\n");
            }
            stdout.push_str("Configuration file is valid\n");
        }
    }
    CheckReport {
        code,
        stderr,
        stdout,
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
