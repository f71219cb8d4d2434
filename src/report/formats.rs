//! The machine-read report formats: one JSON document, GitHub Actions workflow commands,
//! SARIF 2.1.0 and JUnit XML, written by hand (each is a small, fixed shape).

use std::fmt::Write as _;

use super::{rule_id, template, Checked};
use crate::config::diag::{json_str, Diagnostic, Level};

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Alert => "alert",
        Level::Warning => "warning",
        Level::Notice => "notice",
    }
}

/// The message with its extra lines (caret lines, explanations) below it.
fn full_message(d: &Diagnostic) -> String {
    let mut m = d.message.trim_end_matches(':').to_string();
    for e in &d.extra {
        if !e.is_empty() {
            m.push('\n');
            m.push_str(e);
        }
    }
    m
}

/// `--format json`: one document with a verdict per configuration.
/// `reload`: the `--diff` object, added as `"reload"`.
pub fn json(all: &[Checked], reload: Option<&str>) -> String {
    let mut s = format!(
        "{{\"tool\":\"haproxide\",\"version\":{},\"exit_code\":{},\"configs\":[",
        json_str(env!("CARGO_PKG_VERSION")),
        super::exit_code(all)
    );
    for (i, c) in all.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let files: Vec<String> = c.files.iter().map(|f| json_str(f)).collect();
        let _ = write!(
            s,
            "{{\"name\":{},\"files\":[{}],\"verdict\":{},\"exit_code\":{},\"diagnostics\":[",
            json_str(&c.name()),
            files.join(","),
            json_str(c.verdict()),
            c.code
        );
        for (j, d) in c.diags.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            let (file, line) = match &d.loc {
                Some(l) => (json_str(&l.file), l.line.to_string()),
                None => ("null".into(), "null".into()),
            };
            let column = d.column.map_or("null".into(), |c| (c + 1).to_string());
            let _ = write!(
                s,
                "{{\"level\":\"{}\",\"rule\":{},\"file\":{file},\"line\":{line},\"column\":{column},\"message\":{}}}",
                level_word(d.level),
                json_str(&rule_id(d)),
                json_str(&full_message(d))
            );
        }
        s.push_str("]}");
    }
    s.push(']');
    if let Some(r) = reload {
        let _ = write!(s, ",\"reload\":{r}");
    }
    s.push_str("}\n");
    s
}

/// Escapes a workflow command's message (GitHub's rules: `%`, CR and LF).
fn gh_data(v: &str) -> String {
    v.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (the message's rules plus `:` and `,`).
fn gh_prop(v: &str) -> String {
    gh_data(v).replace(':', "%3A").replace(',', "%2C")
}

/// `--format github`: one `::error`/`::warning`/`::notice` workflow command per message,
/// then a plain verdict line per configuration.
pub fn github(all: &[Checked]) -> String {
    let mut s = String::new();
    for c in all {
        for d in &c.diags {
            let cmd = match d.level {
                Level::Alert => "error",
                Level::Warning => "warning",
                Level::Notice => "notice",
            };
            let mut props = Vec::new();
            let file = d.loc.as_ref().map(|l| l.file.to_string());
            if let Some(f) = file.or_else(|| c.files.first().cloned()) {
                props.push(format!("file={}", gh_prop(&f)));
            }
            if let Some(l) = &d.loc {
                props.push(format!("line={}", l.line));
                if let Some(col) = d.column {
                    props.push(format!("col={}", col + 1));
                }
            }
            props.push(format!(
                "title={}",
                gh_prop(&format!("haproxide {}", rule_id(d)))
            ));
            let _ = writeln!(
                s,
                "::{cmd} {}::{}",
                props.join(","),
                gh_data(&full_message(d))
            );
        }
        let _ = writeln!(s, "{}: {}", c.name(), c.verdict());
    }
    s
}

/// Percent-encodes a relative path as a URI reference (RFC 3986 unreserved and `/` kept).
fn uri_path(p: &str) -> String {
    let mut s = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// A file's SARIF artifact location: relative paths against `%SRCROOT%` (the working
/// directory), absolute ones as `file://` URIs.
fn artifact(file: &str) -> String {
    if file.starts_with('/') {
        format!(
            "{{\"uri\":{}}}",
            json_str(&format!("file://{}", uri_path(file)))
        )
    } else {
        format!(
            "{{\"uri\":{},\"uriBaseId\":\"%SRCROOT%\"}}",
            json_str(&uri_path(file))
        )
    }
}

/// `--format sarif`: one SARIF 2.1.0 run; rule ids are the messages' families.
pub fn sarif(all: &[Checked], code: i32) -> String {
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut results = Vec::new();
    for c in all {
        for d in &c.diags {
            let id = rule_id(d);
            let index = match rules.iter().position(|(r, _)| *r == id) {
                Some(i) => i,
                None => {
                    rules.push((id.clone(), template(&d.message)));
                    rules.len() - 1
                }
            };
            let level = match d.level {
                Level::Alert => "error",
                Level::Warning => "warning",
                Level::Notice => "note",
            };
            let file = d
                .loc
                .as_ref()
                .map(|l| l.file.to_string())
                .or_else(|| c.files.first().cloned());
            let mut r = format!(
                "{{\"ruleId\":{},\"ruleIndex\":{index},\"level\":\"{level}\",\"message\":{{\"text\":{}}}",
                json_str(&id),
                json_str(&full_message(d))
            );
            if let Some(f) = file {
                let _ = write!(
                    r,
                    ",\"locations\":[{{\"physicalLocation\":{{\"artifactLocation\":{}",
                    artifact(&f)
                );
                if let Some(l) = &d.loc {
                    let _ = write!(r, ",\"region\":{{\"startLine\":{}", l.line.max(1));
                    if let Some(col) = d.column {
                        let _ = write!(r, ",\"startColumn\":{}", col + 1);
                    }
                    r.push('}');
                }
                r.push_str("}}]");
            }
            r.push('}');
            results.push(r);
        }
    }
    let rules: Vec<String> = rules
        .iter()
        .map(|(id, text)| {
            format!(
                "{{\"id\":{},\"shortDescription\":{{\"text\":{}}}}}",
                json_str(id),
                json_str(text)
            )
        })
        .collect();
    let root = std::env::current_dir()
        .map(|d| {
            format!(
                "file://{}/",
                uri_path(&d.display().to_string()).trim_end_matches('/')
            )
        })
        .unwrap_or_else(|_| "file:///".into());
    let v = env!("CARGO_PKG_VERSION");
    format!(
        "{{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{{\
\"tool\":{{\"driver\":{{\"name\":\"haproxide\",\"version\":{},\"semanticVersion\":{},\"rules\":[{}]}}}},\
\"originalUriBaseIds\":{{\"%SRCROOT%\":{{\"uri\":{}}}}},\
\"invocations\":[{{\"executionSuccessful\":true,\"exitCode\":{code}}}],\
\"columnKind\":\"unicodeCodePoints\",\"results\":[{}]}}]}}\n",
        json_str(v),
        json_str(v),
        rules.join(","),
        json_str(&root),
        results.join(",")
    )
}

/// Escapes text for XML 1.0 (which has no way to carry most control characters: they are
/// written as `\xNN`).
fn xml(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' => s.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(s, "\\x{:02X}", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

/// `--format junit`: a test case per file of each configuration; a file fails with the
/// fatal alerts found in it (messages without a file go to the configuration's first).
pub fn junit(all: &[Checked]) -> String {
    let mut cases = Vec::new();
    let mut failures = 0;
    for c in all {
        let files = if c.files.is_empty() {
            c.args.clone()
        } else {
            c.files.clone()
        };
        let home = |d: &Diagnostic| {
            d.loc
                .as_ref()
                .and_then(|l| files.iter().position(|f| **f == *l.file))
                .unwrap_or(0)
        };
        let alerted = c.diags.iter().any(|d| d.level == Level::Alert && d.fatal);
        for (i, f) in files.iter().enumerate() {
            let mine: Vec<&Diagnostic> = c.diags.iter().filter(|d| home(d) == i).collect();
            let line = |d: &&Diagnostic| {
                let at = d
                    .loc
                    .as_ref()
                    .map(|l| format!("{}:{}: ", l.file, l.line))
                    .unwrap_or_default();
                format!("{at}{}: {}", level_word(d.level), full_message(d))
            };
            let alerts: Vec<String> = mine
                .iter()
                .filter(|d| d.level == Level::Alert && d.fatal)
                .map(line)
                .collect();
            let others: Vec<String> = mine
                .iter()
                .filter(|d| !(d.level == Level::Alert && d.fatal))
                .map(line)
                .collect();
            // A configuration that fails with no alert of its own in a file (no
            // listener, zero-warning) fails on its first file.
            let failure = if !alerts.is_empty() {
                Some((alerts.len(), "invalid", alerts.join("\n")))
            } else if c.code != 0 && i == 0 && !alerted {
                Some((1, c.verdict(), format!("{}: {}", c.name(), c.verdict())))
            } else {
                None
            };
            let mut case = format!(
                "    <testcase classname=\"haproxide.check\" name=\"{}\" file=\"{}\">\n",
                xml(f),
                xml(f)
            );
            if let Some((n, kind, body)) = failure {
                failures += 1;
                let _ = writeln!(
                    case,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    xml(kind),
                    xml(&format!("{n} problem(s) in {f}")),
                    xml(&body)
                );
            }
            if !others.is_empty() {
                let _ = writeln!(
                    case,
                    "      <system-out>{}</system-out>",
                    xml(&others.join("\n"))
                );
            }
            case.push_str("    </testcase>\n");
            cases.push(case);
        }
    }
    let n = cases.len();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"haproxide -c\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"haproxide -c\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{}  </testsuite>\n</testsuites>\n",
        cases.concat()
    )
}
