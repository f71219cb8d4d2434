//! What `-c` reports, for people and for CI systems (issue: haproxy.cfg checks in CI).
//!
//! `text` is haproxy's own output; `json`, `github`, `sarif` and `junit` are written from
//! the same verdicts for the systems that read them. With `--each`, every `-f` is checked
//! as a configuration of its own and gets its own verdict.

pub mod diff;
mod formats;

use std::collections::BTreeMap;

use crate::config::diag::{Diagnostic, Level};
use crate::config::{self, FileChecks, Loaded};

/// One configuration checked: its files, its verdict and its messages.
#[derive(Debug)]
pub struct Checked {
    /// The `-f` arguments it was read from, as given.
    pub args: Vec<String>,
    /// The files read, relative to the working directory when under it.
    pub files: Vec<String>,
    /// haproxy's exit status for it: 0 valid, 1 invalid, 2 no listener.
    pub code: i32,
    /// Every message except haproxy's closing lines, file names made relative.
    pub diags: Vec<Diagnostic>,
    /// What haproxy's `-c` prints for it (text form).
    pub text: config::CheckReport,
    /// Its verdict as read (for `--json`'s lines).
    pub verdict: config::Verdict,
    /// The reading itself, for `--diff`.
    pub loaded: Loaded,
}

impl Checked {
    /// The name a report gives the configuration: its `-f` arguments.
    pub fn name(&self) -> String {
        self.args
            .iter()
            .map(|a| relative(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The verdict in words.
    pub fn verdict(&self) -> &'static str {
        match self.code {
            0 => "valid",
            2 => "no listener",
            _ => "invalid",
        }
    }
}

/// What the command line asked `-c` for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Configurations, each a list of `-f` arguments.
    pub configs: Vec<Vec<String>>,
    /// The environment `"${VAR}"` sees.
    pub env: BTreeMap<String, String>,
    /// `-dW`
    pub zero_warning: bool,
    /// How missing files are treated.
    pub file_checks: FileChecks,
    /// The executable's path, for haproxy's banner.
    pub exe: String,
}

/// Adds what applying the saved server states at start says (haproxy prints it after the
/// configuration's own messages, under `-c` too).
pub fn add_server_state(loaded: &mut Loaded) {
    let Some(cfg) = &loaded.config else { return };
    for (alert, msg) in crate::runtime::lb::server_state::preview(cfg) {
        let level = if alert { Level::Alert } else { Level::Warning };
        let d = Diagnostic::new(level, None, config::diag::LocStyle::None, msg).checked();
        loaded.diags.push(d.continuing());
    }
}

/// Reads and checks every configuration of `r`.
pub fn check_all(r: &Request) -> Vec<Checked> {
    let pid = std::process::id();
    r.configs
        .iter()
        .map(|args| {
            let mut loaded = config::load_with(args, r.env.clone(), r.file_checks);
            add_server_state(&mut loaded);
            let verdict = config::verdict(&loaded, r.zero_warning);
            let text = verdict.text(pid, &r.exe);
            let diags = verdict
                .items
                .iter()
                .filter(|d| d.code != Some(config::SUMMARY))
                .map(|d| {
                    let mut d = d.clone();
                    if let Some(l) = &mut d.loc {
                        l.file = relative(&l.file).into();
                    }
                    d
                })
                .collect();
            Checked {
                args: args.clone(),
                files: loaded.files.iter().map(|f| relative(f)).collect(),
                code: verdict.code,
                diags,
                text,
                verdict,
                loaded,
            }
        })
        .collect()
}

/// The exit status of several verdicts: invalid wins, then "no listener".
pub fn exit_code(all: &[Checked]) -> i32 {
    if all.iter().any(|c| c.code == 1) {
        1
    } else if all.iter().any(|c| c.code == 2) {
        2
    } else {
        0
    }
}

/// What a report prints.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// For standard output.
    pub stdout: String,
    /// For standard error.
    pub stderr: String,
}

/// Writes the report of `all` in `format` (one of [`crate::cli::FORMATS`]); `each` says
/// the configurations were checked one by one (the text form then names each).
/// `reload` is the `--diff` result in JSON, for the JSON document.
pub fn render(format: &str, all: &[Checked], each: bool, reload: Option<&str>) -> Output {
    match format {
        "json" => Output {
            stdout: formats::json(all, reload),
            ..Default::default()
        },
        "github" => Output {
            stdout: formats::github(all),
            ..Default::default()
        },
        "sarif" => Output {
            stdout: formats::sarif(all, exit_code(all)),
            ..Default::default()
        },
        "junit" => Output {
            stdout: formats::junit(all),
            ..Default::default()
        },
        _ if !each => Output {
            stdout: all.iter().map(|c| c.text.stdout.as_str()).collect(),
            stderr: all.iter().map(|c| c.text.stderr.as_str()).collect(),
        },
        _ => {
            let mut o = Output::default();
            for c in all {
                o.stderr.push_str(&c.text.stderr);
                let name = c.name();
                for l in c.text.stdout.lines() {
                    o.stdout.push_str(&format!("{name}: {l}\n"));
                }
                if c.code == 1 {
                    o.stdout.push_str(&format!(
                        "{name}: Configuration file is invalid => exit(1).\n"
                    ));
                }
            }
            o
        }
    }
}

/// `path` relative to the working directory when it lies under it (CI systems match
/// annotations to repository files by relative path).
pub fn relative(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rest) = p.strip_prefix(&cwd) {
                return rest.display().to_string();
            }
        }
        return path.to_string();
    }
    path.strip_prefix("./").unwrap_or(path).to_string()
}

/// A stable identifier for the family a message belongs to: haproxide's own code when it
/// has one, otherwise the message's words with its variable parts (quoted names, numbers,
/// paths, bracketed details) left out, so `unknown keyword 'foo' in 'frontend' section`
/// and `unknown keyword 'bar' in 'backend' section` share `unknown-keyword-in-section`.
pub fn rule_id(d: &Diagnostic) -> String {
    if let Some(c) = d.code {
        return c.to_string();
    }
    let words: Vec<String> = template(&d.message)
        .split(|c: char| !c.is_ascii_alphabetic() && c != '\u{2026}')
        .filter(|w| !w.is_empty() && !w.contains('\u{2026}'))
        .take(8)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() {
        return match d.level {
            Level::Alert => "alert".into(),
            Level::Warning => "warning".into(),
            Level::Notice => "notice".into(),
        };
    }
    words.join("-")
}

/// The message with its variable parts replaced by an ellipsis: quoted or bracketed
/// spans, and words holding digits, slashes or dots (numbers, addresses, paths).
pub fn template(message: &str) -> String {
    let mut out = String::new();
    let mut close: Option<char> = None;
    let mut prev = ' ';
    for c in message.chars() {
        let after = std::mem::replace(&mut prev, c);
        if let Some(end) = close {
            if c == end {
                close = None;
            }
            continue;
        }
        close = match c {
            // An apostrophe inside a word ("Couldn't") opens no quote.
            '\'' if !after.is_alphanumeric() => Some('\''),
            '"' => Some('"'),
            '<' => Some('>'),
            '[' => Some(']'),
            '(' => Some(')'),
            '{' => Some('}'),
            _ => None,
        };
        if close.is_some() {
            out.push('\u{2026}');
        } else {
            out.push(c);
        }
    }
    out.split(' ')
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit() || c == '/') {
                "\u{2026}"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Loc;

    fn alert(m: &str) -> Diagnostic {
        let loc = Loc {
            file: "a.cfg".into(),
            line: 1,
        };
        Diagnostic::alert(&loc, m)
    }

    #[test]
    fn families_leave_out_the_variable_parts() {
        let a = rule_id(&alert("unknown keyword 'foo' in 'frontend' section"));
        let b = rule_id(&alert("unknown keyword 'bar' in 'backend' section"));
        assert_eq!(a, "unknown-keyword-in-section");
        assert_eq!(a, b);
        assert_eq!(
            rule_id(&alert("'bind 127.0.0.1:80' : unable to load /x/y.pem")),
            "unable-to-load"
        );
        assert_eq!(rule_id(&alert("'' : 12")), "alert");
        assert_eq!(
            rule_id(&alert("Couldn't open the ca-file '/a' (No such file).")),
            "couldn-t-open-the-ca-file"
        );
        assert_eq!(
            rule_id(&alert("x").coded(config::MISSING_FILE)),
            "missing-file"
        );
        assert_eq!(
            template("timeout 'client' : invalid value 10x in [a.cfg:3]"),
            "timeout \u{2026} : invalid value \u{2026} in \u{2026}"
        );
    }
}
