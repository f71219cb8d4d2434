//! Diagnostics collected while reading a configuration, printed the way HAProxy prints them.
//!
//! HAProxy puts the location inside the message text in a few different shapes
//! (`parsing [f:l] : `, `parsing [f:l]: `, `[f:l] : `, `Parsing [f:l]: `); [`LocStyle`] keeps
//! which one a message uses so `-c` output lines up with haproxy's, while the JSON output
//! keeps the file, line and bare message apart.

use std::fmt::Write as _;
use std::sync::Arc;

/// A position in a configuration source: file name as given on the command line, 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// The file name exactly as it was given with `-f` (or found in a `-f` directory).
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: usize,
}

impl Loc {
    /// A number naming the `n`th thing declared at this place (a `log` line's target, a
    /// proxy's copy of its targets), the same from one parse to the next.
    pub fn key(&self, n: usize) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self, n).hash(&mut h);
        h.finish()
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Severity, as HAProxy's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `[NOTICE]`
    Notice,
    /// `[WARNING]`
    Warning,
    /// `[ALERT]`: makes the configuration invalid.
    Alert,
}

impl Level {
    /// The tag padded to HAProxy's 11 columns.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Notice => "[NOTICE]   ",
            Level::Warning => "[WARNING]  ",
            Level::Alert => "[ALERT]    ",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Alert => "alert",
        }
    }
}

/// How the location is written into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocStyle {
    /// `parsing [f:l] : msg`
    Parsing,
    /// `parsing [f:l]: msg`
    ParsingTight,
    /// `[f:l] : msg`
    Bare,
    /// `Parsing [f:l]: msg`
    CapParsing,
    /// `Parsing [f:l]; msg`
    CapParsingSemicolon,
    /// The message carries no location prefix (it may still have a location for JSON).
    None,
}

/// When a diagnostic was found; HAProxy's closing lines depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// While reading lines: closes with "Error(s) found in configuration file".
    Parse,
    /// Cross-checks after all files were read.
    Check,
}

/// A message of the checks after reading, with no location (HAProxy's `config : …`).
pub fn check(level: Level, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(level, None, LocStyle::None, message).checked()
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub level: Level,
    /// Where, when known.
    pub loc: Option<Loc>,
    /// How the location is shown in text output.
    pub style: LocStyle,
    /// The message without location prefix.
    pub message: String,
    /// Extra lines printed verbatim after the message (caret lines, explanations).
    pub extra: Vec<String>,
    /// When it was found.
    pub phase: Phase,
    /// 0-based byte column in the line, for lexical errors.
    pub column: Option<usize>,
    /// An alert that makes the configuration invalid (false: haproxy's "Continuing."
    /// alerts, printed as alerts but leaving the verdict alone).
    pub fatal: bool,
    /// A stable name for haproxide's own kinds of message (CI reports use it as the rule
    /// id); None for haproxy's messages, whose family comes from their text.
    pub code: Option<&'static str>,
}

impl Diagnostic {
    /// An alert in HAProxy's most common `parsing [f:l] : ` shape.
    pub fn alert(loc: &Loc, message: impl Into<String>) -> Self {
        Self::new(Level::Alert, Some(loc.clone()), LocStyle::Parsing, message)
    }

    /// A warning in the `parsing [f:l] : ` shape.
    pub fn warning(loc: &Loc, message: impl Into<String>) -> Self {
        Self::new(
            Level::Warning,
            Some(loc.clone()),
            LocStyle::Parsing,
            message,
        )
    }

    /// A diagnostic with every field chosen.
    pub fn new(
        level: Level,
        loc: Option<Loc>,
        style: LocStyle,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            level,
            loc,
            style,
            message: message.into(),
            extra: Vec::new(),
            phase: Phase::Parse,
            column: None,
            fatal: true,
            code: None,
        }
    }

    /// Same diagnostic, with a stable code of haproxide's own.
    pub fn coded(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Same diagnostic, not changing the verdict (haproxy's "already specified.
    /// Continuing." alerts).
    pub fn continuing(mut self) -> Self {
        self.fatal = false;
        self
    }

    /// Same diagnostic with another location style.
    pub fn styled(mut self, style: LocStyle) -> Self {
        self.style = style;
        self
    }

    /// Same diagnostic, marked as found by the post-parse checks.
    pub fn checked(mut self) -> Self {
        self.phase = Phase::Check;
        self
    }

    /// The text after `config : `, location included as HAProxy writes it.
    pub fn text(&self) -> String {
        match (&self.loc, self.style) {
            (Some(l), LocStyle::Parsing) => format!("parsing [{l}] : {}", self.message),
            (Some(l), LocStyle::ParsingTight) => format!("parsing [{l}]: {}", self.message),
            (Some(l), LocStyle::Bare) => format!("[{l}] : {}", self.message),
            (Some(l), LocStyle::CapParsing) => format!("Parsing [{l}]: {}", self.message),
            (Some(l), LocStyle::CapParsingSemicolon) => format!("Parsing [{l}]; {}", self.message),
            _ => self.message.clone(),
        }
    }

    /// The full HAProxy-style line(s), `pid` in the parentheses.
    pub fn render(&self, pid: u32) -> String {
        let mut s = format!("{}({pid}) : config : {}\n", self.level.tag(), self.text());
        for e in &self.extra {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// One JSON object (a line of `-c --json` output).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        let _ = write!(s, "\"level\":\"{}\"", self.level.word());
        match &self.loc {
            Some(l) => {
                let _ = write!(s, ",\"file\":{},\"line\":{}", json_str(&l.file), l.line);
            }
            None => s.push_str(",\"file\":null,\"line\":null"),
        }
        match self.column {
            Some(c) => {
                let _ = write!(s, ",\"column\":{c}");
            }
            None => s.push_str(",\"column\":null"),
        }
        let _ = write!(
            s,
            ",\"message\":{}}}",
            json_str(self.message.trim_end_matches(':'))
        );
        s
    }
}

/// Escapes a string as a JSON string literal.
pub fn json_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// All diagnostics of one configuration load, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    /// The messages.
    pub items: Vec<Diagnostic>,
    /// Files in which a parse-time alert was found, in order (for the closing lines).
    pub files_with_errors: Vec<Arc<str>>,
}

impl Diagnostics {
    /// Records one message.
    pub fn push(&mut self, d: Diagnostic) {
        if d.level == Level::Alert && d.fatal && d.phase == Phase::Parse {
            if let Some(l) = &d.loc {
                if !self.files_with_errors.contains(&l.file) {
                    self.files_with_errors.push(l.file.clone());
                }
            }
        }
        self.items.push(d);
    }

    /// True when any alert was recorded.
    pub fn has_alerts(&self) -> bool {
        self.items
            .iter()
            .any(|d| d.level == Level::Alert && d.fatal)
    }

    /// True when any parse-time alert was recorded.
    pub fn has_parse_alerts(&self) -> bool {
        self.items
            .iter()
            .any(|d| d.level == Level::Alert && d.fatal && d.phase == Phase::Parse)
    }

    /// True when any warning was recorded.
    pub fn has_warnings(&self) -> bool {
        self.items.iter().any(|d| d.level == Level::Warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_haproxy() {
        let loc = Loc {
            file: "a.cfg".into(),
            line: 10,
        };
        let d = Diagnostic::alert(&loc, "unknown keyword 'foo' in 'frontend' section");
        assert_eq!(
            d.render(42),
            "[ALERT]    (42) : config : parsing [a.cfg:10] : unknown keyword 'foo' in 'frontend' section\n"
        );
        let w = Diagnostic::warning(&loc, "x").styled(LocStyle::Bare);
        assert_eq!(w.render(1), "[WARNING]  (1) : config : [a.cfg:10] : x\n");
        assert_eq!(
            w.to_json(),
            r#"{"level":"warning","file":"a.cfg","line":10,"column":null,"message":"x"}"#
        );
    }
}
