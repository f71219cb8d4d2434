//! Reads configuration files line by line, as HAProxy's `readcfgfile()` does, and hands each
//! statement to the keyword parser of its section.
//!
//! configuration.txt §2 (file format) and §3/§4 (sections). Errors never stop the reading:
//! every line is parsed and every problem collected, as HAProxy does.

// One match arm per keyword reads better than guards that fall through to a catch-all arm.
#![allow(clippy::collapsible_match)]

pub mod acl;
pub mod addr;
mod balance;
mod bind;
pub(crate) mod capture;
mod check;
mod compression;
mod convert;
mod cookie;
pub mod counters;
mod global;
mod http_errors;
mod http_reply;
mod http_rules;
mod keepalive;
pub mod log_format;
mod log_sample;
mod map;
pub use global::lookup_id;
pub use global::tls_version as global_tls_version;
pub mod peers;
mod proxy;
mod redirect;
mod resolvers;
mod retry_on;
pub(crate) mod rules;
pub mod sample;
mod server;
mod server_state;
mod source;
mod stats;
mod switching;
mod tcp_response;
mod tcpka;
pub mod units;
mod unix_bind;
pub mod userlist;
pub mod value_format;
pub mod vars;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::ast::{ProxyConf, ProxyKind};
use super::diag::{Diagnostic, Diagnostics, Level, Loc, LocStyle};
use super::keywords::{self, cap, Status};
use super::lexer::{split_words, text, LexError};
use super::source::SourceFile;

/// Settings of `global` as written, with the few that only matter while parsing.
#[derive(Debug, Clone, Default)]
pub struct GlobalConf {
    /// The values that go into the IR.
    pub ir: crate::ir::Global,
    /// `crt-base`
    pub crt_base: Option<String>,
    /// `ca-base`
    pub ca_base: Option<String>,
    /// `quiet`
    pub quiet: bool,
    /// `zero-warning`
    pub zero_warning: bool,
    /// `log-send-hostname` seen.
    pub seen_log: bool,
    /// `tune.bufsize` as haproxy stores it (rounded up to 16), checked after parsing.
    pub tune_bufsize: Option<i64>,
    /// `h1-case-adjust <from> <to>` lines, in order.
    pub h1_case: Vec<(String, String)>,
    /// `h1-case-adjust-file`, read once the files are (the last line wins).
    pub h1_case_file: Option<String>,
    /// `unix-bind prefix` given (a second one is an alert that lets parsing go on).
    pub unix_bind_prefix: bool,
}

/// The result of reading every file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The global section(s), merged.
    pub global: GlobalConf,
    /// Frontend, backend and listen sections in order (defaults applied).
    pub proxies: Vec<ProxyConf>,
    /// Everything said about the files.
    pub diags: Diagnostics,
    /// Parsing stopped early (HAProxy's `ERR_ABORT`).
    pub aborted: bool,
    /// Names of the `resolvers` sections.
    pub resolvers: Vec<String>,
    /// `peers` sections, in configuration order.
    pub peers: Vec<peers::PeersConf>,
    /// The local peer's name once every file is read.
    pub localpeer: String,
    /// `http-errors` sections.
    pub http_errors: Vec<crate::config::ast::HttpErrorsConf>,
    /// `userlist` sections.
    pub userlists: Vec<crate::config::ast::UserlistConf>,
    /// Userlist arguments of fetches: where, the proxy, the statement's keyword.
    pub userlist_refs: Vec<(Loc, String, String, sample::PendingUserlist)>,
    /// Table arguments of fetches and converters: where, the proxy, the statement's
    /// keyword.
    pub table_refs: Vec<(Loc, String, String, counters::PendingTable)>,
    /// How files named by the configuration are treated (post-parse reads too).
    pub file_checks: crate::config::FileChecks,
}

/// The section a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before any section keyword.
    None,
    /// `global`
    Global,
    /// Current defaults section.
    Defaults,
    /// Index into `proxies`.
    Proxy(usize),
    /// A proxy section whose header was refused: every line is rejected.
    Broken(&'static str),
    /// A section kind haproxide does not support: lines are skipped.
    Skipped,
    /// A `resolvers` section.
    Resolvers,
    /// A `peers` section (lines go to the last one created).
    Peers,
    /// An `http-errors` section (index into the parser's list).
    HttpErrors(usize),
    /// A `userlist` section (lines go to the last one created).
    Userlist,
}

/// A statement: its words and where it stands.
pub struct Stmt<'a> {
    /// The words after lexing, without a leading `no` or `default` (see [`Kwm`]).
    pub words: &'a [String],
    /// The same words as bytes, for arguments that are data (`tcp-check send`).
    pub bytes: &'a [Vec<u8>],
    /// Where.
    pub loc: &'a Loc,
    /// The `no` / `default` prefix the statement had.
    pub kwm: Kwm,
}

/// A statement's keyword modifier: `no option x`, `default option x` (configuration.txt
/// §4 "option"; HAProxy takes the prefix off in every section before the keyword is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kwm {
    /// No prefix.
    Std,
    /// `no`: negate.
    No,
    /// `default`: back to the defaults section's setting.
    Def,
}

/// Keywords that take `no` / `default`; others get HAProxy's alert (and are parsed anyway).
const MODIFIABLE: [&str; 7] = [
    "option",
    "log",
    "busy-polling",
    "set-dumpable",
    "strict-limits",
    "insecure-fork-wanted",
    "numa-cpu-mapping",
];

/// Takes a `no` / `default` prefix off `words` the way cfgparse.c shifts its argument
/// array: after `no` the last slot is emptied, after `default` the last word stays
/// duplicated (so `default option x` reads as `option x x`, as HAProxy reads it).
fn take_modifier<W: Clone + Default + AsRef<[u8]>>(words: &mut Vec<W>) -> Kwm {
    match words[0].as_ref() {
        b"no" => {
            words.remove(0);
            if words.is_empty() {
                words.push(W::default());
            }
            Kwm::No
        }
        b"default" => {
            if words.len() > 1 {
                words.remove(0);
                let last = words[words.len() - 1].clone();
                words.push(last);
            }
            Kwm::Def
        }
        _ => Kwm::Std,
    }
}

impl Stmt<'_> {
    /// The word at `i`, or "" when absent (HAProxy's `args[i]` is an empty string).
    pub fn arg(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// The word at `i` as bytes, or empty when absent.
    pub fn bytes(&self, i: usize) -> &[u8] {
        self.bytes.get(i).map(Vec::as_slice).unwrap_or(b"")
    }
}

/// Reads configuration text into sections and settings, collecting diagnostics.
pub struct Parser {
    /// Environment variables visible to `"${VAR}"`, changed by `setenv` and friends.
    pub env: BTreeMap<String, String>,
    global: GlobalConf,
    defaults: ProxyConf,
    named_defaults: HashMap<String, ProxyConf>,
    /// Defaults sections with tcp-request rules, by line: which sides took them.
    rule_defaults_users: HashMap<Loc, u8>,
    proxies: Vec<ProxyConf>,
    section: Section,
    diags: Vec<Diagnostic>,
    /// Alerts about keywords haproxide does not implement: reported, but semantic checks go on.
    unsupported: Vec<Diagnostic>,
    aborted: bool,
    /// Nesting of `.if` blocks: (this branch active, some branch already taken).
    cond: Vec<(bool, bool)>,
    /// Host names in `bind`, `log` and `source` may be resolved while parsing.
    resolve_names: bool,
    /// The rank, in haproxy's post-parse checks, of the rule list the statement being
    /// read adds to (see [`rule_rank`]).
    rule_rank: u8,
    /// `resolvers` sections seen: name and where.
    resolvers: Vec<(String, Loc)>,
    /// `peers` sections seen.
    peers: Vec<peers::PeersConf>,
    /// `http-errors` sections seen.
    http_errors: Vec<crate::config::ast::HttpErrorsConf>,
    /// `userlist` sections seen.
    userlists: Vec<crate::config::ast::UserlistConf>,
    /// The `http-request` parser is reading a `stats http-request` line.
    stats_rules: bool,
    /// Userlist arguments of fetches, see [`Parsed::userlist_refs`].
    userlist_refs: Vec<(Loc, String, String, sample::PendingUserlist)>,
    /// Table arguments, see [`Parsed::table_refs`].
    table_refs: Vec<(Loc, String, String, counters::PendingTable)>,
    /// `expose-experimental-directives` seen: experimental keywords after it are allowed.
    experimental: bool,
    /// `tune.*` settings haproxy takes once, with the value read (see keywords::TUNE_ONCE).
    tune_seen: HashMap<String, i64>,
    /// A `server-template` line is being read (its server has no name yet in messages).
    in_template: bool,
    /// How files named by the configuration are treated.
    file_checks: crate::config::FileChecks,
}

/// The warning `--no-file-checks` gives a file `keyword` names that does not exist
/// (None when checks are strict or the path exists: it is then read as haproxy reads it).
pub(crate) fn missing_file_warning(
    checks: crate::config::FileChecks,
    loc: &Loc,
    keyword: &str,
    path: &str,
) -> Option<Diagnostic> {
    // An empty name is no file on any machine: haproxy's own check decides.
    if checks == crate::config::FileChecks::Strict || path.is_empty() {
        return None;
    }
    let p = std::path::Path::new(path);
    if keyword == "crt" && p.is_file() {
        // Certificates are often committed with their keys kept elsewhere: a PEM without
        // a key whose `<crt>.key` is missing is read, but cannot be matched with its key.
        let key = format!("{path}.key");
        let keyless =
            crate::tls_files::read_pem(path).is_ok_and(|c| c.key.is_none() && !c.certs.is_empty());
        if keyless && !std::path::Path::new(&key).exists() {
            return Some(
                Diagnostic::warning(
                    loc,
                    format!("'crt' : key file '{key}' does not exist; '{path}' is read but not matched with its key (--no-file-checks)."),
                )
                .coded(crate::config::MISSING_FILE),
            );
        }
    }
    if p.exists() {
        return None;
    }
    Some(
        Diagnostic::warning(
            loc,
            format!("'{keyword}' : file '{path}' does not exist; not checked (--no-file-checks)."),
        )
        .coded(crate::config::MISSING_FILE),
    )
}

impl Parser {
    /// Under `--no-file-checks`, an ACL pattern file (`-f <file>` on an `acl` line or in a
    /// condition) that does not exist reads as an empty one, after the warning.
    fn relax_pattern_files(&mut self, loc: &Loc, words: &mut [String]) {
        if self.file_checks == crate::config::FileChecks::Strict {
            return;
        }
        let mut in_acl = words.first().is_some_and(|w| w == "acl");
        for i in 0..words.len().saturating_sub(1) {
            in_acl |= matches!(words[i].as_str(), "if" | "unless" | "{");
            if in_acl && words[i] == "-f" && self.missing_file(loc, "-f", &words[i + 1]) {
                words[i + 1] = "/dev/null".into();
            }
        }
    }
}

/// Where a statement's rule list comes in haproxy's check_config_validity, which warns
/// about each list's conditions in turn: switching rules, server rules, sticking rules,
/// then the action lists (tcp-request connection, session, content, tcp-response,
/// http-request with redirects, http-response, http-after-response).
pub(super) fn rule_rank(kw: &str, first: &str) -> u8 {
    match (kw, first) {
        ("use_backend", _) => 0,
        ("use-server", _) => 1,
        ("stick", "match" | "on") => 2,
        ("tcp-request", "connection") => 3,
        ("tcp-request", "session") => 4,
        ("tcp-request", _) => 5,
        ("tcp-response", _) => 6,
        ("http-request" | "redirect", _) => 7,
        ("http-response", _) => 8,
        ("http-after-response", _) => 9,
        _ => 10,
    }
}

fn anon_defaults(loc: Loc) -> ProxyConf {
    ProxyConf::new(ProxyKind::Defaults, String::new(), loc)
}

impl Parser {
    /// A parser seeing `env` as its environment.
    pub fn new(env: BTreeMap<String, String>) -> Self {
        // A previous parse on this thread may have left a reference it never took.
        sample::take_userlist_refs();
        counters::take_table_refs();
        vars::take_proc_names();
        let loc = Loc {
            file: Arc::from(""),
            line: 0,
        };
        Parser {
            env,
            global: GlobalConf::default(),
            defaults: anon_defaults(loc),
            named_defaults: HashMap::new(),
            rule_defaults_users: HashMap::new(),
            proxies: Vec::new(),
            section: Section::None,
            diags: Vec::new(),
            unsupported: Vec::new(),
            aborted: false,
            cond: Vec::new(),
            resolve_names: true,
            rule_rank: 0,
            resolvers: Vec::new(),
            peers: Vec::new(),
            http_errors: Vec::new(),
            userlists: Vec::new(),
            stats_rules: false,
            userlist_refs: Vec::new(),
            table_refs: Vec::new(),
            experimental: false,
            tune_seen: HashMap::new(),
            in_template: false,
            file_checks: crate::config::FileChecks::Strict,
        }
    }

    /// The same parser with `checks` for the files the configuration names.
    pub fn with_file_checks(mut self, checks: crate::config::FileChecks) -> Self {
        self.file_checks = checks;
        self
    }

    /// Under `--no-file-checks`, a file `keyword` names that does not exist: one warning,
    /// and true so the caller goes on as if it had been read. False otherwise (the file
    /// is then read and checked as haproxy does).
    pub(crate) fn missing_file(&mut self, loc: &Loc, keyword: &str, path: &str) -> bool {
        match missing_file_warning(self.file_checks, loc, keyword, path) {
            Some(d) => {
                self.push(d);
                true
            }
            None => false,
        }
    }

    /// The same parser, but no host name is ever resolved (property tests, fuzzing).
    pub fn without_resolver(mut self) -> Self {
        self.resolve_names = false;
        self
    }

    fn env_lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |n: &str| self.env.get(n).cloned()
    }

    /// Records a parse-time diagnostic.
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Parse-time alert in the `parsing [f:l] : ` shape.
    pub(crate) fn alert(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags.push(Diagnostic::alert(loc, msg));
    }

    /// Parse-time warning in the `parsing [f:l] : ` shape.
    pub(crate) fn warn(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(loc, msg));
    }

    /// haproxy's `invalid_char` check of a section's name: letters, digits, `.-_:`.
    pub(super) fn check_section_name(&mut self, loc: &Loc, kw: &str, name: &str) {
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
        {
            self.alert(
                loc,
                format!("character '{bad}' is not permitted in '{kw}' name '{name}'."),
            );
        }
    }

    /// Parse-time alert in the `parsing [f:l]: ` shape (no space before the colon).
    pub(crate) fn alert_tight(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::alert(loc, msg).styled(LocStyle::ParsingTight));
    }

    /// Parse-time warning in the `parsing [f:l]: ` shape.
    pub(crate) fn warn_tight(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(loc, msg).styled(LocStyle::ParsingTight));
    }

    /// Reports a keyword haproxide does not implement (HAProxy would accept it).
    pub(crate) fn unsupported(&mut self, loc: &Loc, what: &str, note: &str) {
        let why = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        let d = Diagnostic::alert(
            loc,
            format!("{what} is not supported by haproxide{why}; see grammar/keywords.md."),
        )
        .checked();
        self.unsupported.push(d);
    }

    /// Reports a keyword accepted for compatibility that has no effect here.
    pub(crate) fn ignored(&mut self, loc: &Loc, what: &str, note: &str) {
        let why = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        self.warn(
            loc,
            format!("{what} is accepted but ignored by haproxide{why}."),
        );
    }

    /// Applies a keyword table row: returns true when the caller should parse the keyword.
    pub(crate) fn table_status(&mut self, loc: &Loc, k: &keywords::Keyword, what: &str) -> bool {
        match k.status {
            Status::Supported => true,
            Status::Ignored => {
                self.ignored(loc, what, k.note);
                false
            }
            Status::Unsupported => {
                self.unsupported(loc, what, k.note);
                false
            }
            Status::Removed => true,
        }
    }

    /// Reads every source in order.
    pub fn parse_sources(mut self, sources: &[SourceFile]) -> Parsed {
        for src in sources {
            if self.aborted {
                break;
            }
            // Each file starts outside any section, as in HAProxy.
            self.section = Section::None;
            self.parse_file(src);
        }
        let mut diags = Diagnostics::default();
        // Parse-time messages in source order (files in load order, then line).
        let order: HashMap<Arc<str>, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let mut parse = std::mem::take(&mut self.diags);
        parse.sort_by_key(|d| {
            d.loc
                .as_ref()
                .map(|l| (order.get(&l.file).copied().unwrap_or(0), l.line))
        });
        for d in parse {
            diags.push(d);
        }
        let mut unsupported = std::mem::take(&mut self.unsupported);
        unsupported.sort_by_key(|d| {
            d.loc
                .as_ref()
                .map(|l| (order.get(&l.file).copied().unwrap_or(0), l.line))
        });
        for d in unsupported {
            diags.push(d);
        }
        self.global.ir.proc_vars = vars::take_proc_names();
        Parsed {
            global: self.global,
            proxies: self.proxies,
            diags,
            aborted: self.aborted,
            resolvers: self.resolvers.into_iter().map(|(n, _)| n).collect(),
            localpeer: self
                .env
                .get("HAPROXY_LOCALPEER")
                .cloned()
                .unwrap_or_default(),
            peers: self.peers,
            http_errors: self.http_errors,
            userlists: self.userlists,
            userlist_refs: self.userlist_refs,
            table_refs: self.table_refs,
            file_checks: self.file_checks,
        }
    }

    fn parse_file(&mut self, src: &SourceFile) {
        let text = &src.text;
        let mut lineno = 0;
        let mut start = 0;
        while start < text.len() {
            lineno += 1;
            let (end, next, has_lf) = match text[start..].iter().position(|&b| b == b'\n') {
                Some(p) => (start + p, start + p + 1, true),
                None => (text.len(), text.len(), false),
            };
            let raw = &text[start..end];
            let loc = Loc {
                file: src.name.clone(),
                line: lineno,
            };
            if !has_lf {
                self.push(
                    Diagnostic::alert(
                        &loc,
                        format!("Missing LF on last line, file might have been truncated at position {}.", raw.len() + 1),
                    )
                    .styled(LocStyle::ParsingTight),
                );
            }
            self.parse_line(raw, &loc);
            if self.aborted {
                return;
            }
            start = next;
        }
    }

    fn parse_line(&mut self, raw: &[u8], loc: &Loc) {
        let lexed = split_words(raw, &self.env_lookup());
        let mut bytes = match lexed {
            Ok(w) => w,
            Err(e) => {
                self.lex_error(raw, loc, &e);
                return;
            }
        };
        if bytes.is_empty() {
            return;
        }
        let words: Vec<String> = bytes.iter().map(|w| text(w)).collect();
        if words[0].starts_with('.') && self.directive(&words, loc) {
            return;
        }
        if self.cond.iter().any(|(active, _)| !active) {
            return;
        }
        let mut words = words;
        let kwm = take_modifier(&mut words);
        take_modifier(&mut bytes);
        if kwm != Kwm::Std && !MODIFIABLE.contains(&words[0].as_str()) {
            self.push(
                Diagnostic::alert(
                    loc,
                    "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
                )
                .styled(LocStyle::ParsingTight),
            );
        }
        self.relax_pattern_files(loc, &mut words);
        let stmt = Stmt {
            words: &words,
            bytes: &bytes,
            loc,
            kwm,
        };
        if self.section_start(&stmt) {
            return;
        }
        match self.section {
            Section::None => self.push(
                Diagnostic::alert(
                    loc,
                    format!("unknown keyword '{}' out of section.", words[0]),
                )
                .styled(LocStyle::ParsingTight),
            ),
            Section::Global => self.parse_global(&stmt),
            Section::Defaults => {
                let mut p = std::mem::replace(&mut self.defaults, anon_defaults(loc.clone()));
                self.parse_proxy(&mut p, &stmt);
                self.take_userlist_refs(&p.name, &stmt);
                self.take_table_refs(&p.name, true, &stmt);
                // A named section is found again by `from <name>`: keep that copy current.
                if !p.name.is_empty() {
                    self.named_defaults.insert(p.name.clone(), p.clone());
                }
                self.defaults = p;
            }
            Section::Proxy(i) => {
                let mut p = std::mem::replace(&mut self.proxies[i], anon_defaults(loc.clone()));
                self.parse_proxy(&mut p, &stmt);
                self.take_userlist_refs(&p.name, &stmt);
                self.take_table_refs(&p.name, false, &stmt);
                self.proxies[i] = p;
            }
            Section::Broken(_) => self.alert(loc, "'listen' or 'defaults' expected."),
            Section::Skipped => {}
            Section::Resolvers => self.parse_resolvers(&stmt),
            Section::Peers => self.parse_peers(&stmt),
            Section::HttpErrors(i) => self.parse_http_errors(i, &stmt),
            Section::Userlist => self.parse_userlist(&stmt),
        }
    }

    /// Records the userlist arguments `stmt` parsed, for resolution after every file.
    fn take_userlist_refs(&mut self, proxy: &str, stmt: &Stmt) {
        for mut r in sample::take_userlist_refs() {
            if stmt.arg(0) == "acl" {
                r.acl_name = stmt.arg(1).to_string();
            }
            let entry = (
                stmt.loc.clone(),
                proxy.to_string(),
                stmt.arg(0).to_string(),
                r,
            );
            self.userlist_refs.push(entry);
        }
    }

    /// Records the table arguments `stmt` parsed in `proxy` (a defaults section when
    /// `defaults`).
    fn take_table_refs(&mut self, proxy: &str, defaults: bool, stmt: &Stmt) {
        for mut r in counters::take_table_refs() {
            r.in_defaults = defaults;
            let entry = (
                stmt.loc.clone(),
                proxy.to_string(),
                stmt.arg(0).to_string(),
                r,
            );
            self.table_refs.push(entry);
        }
    }

    fn lex_error(&mut self, raw: &[u8], loc: &Loc, e: &LexError) {
        let mut d = Diagnostic::alert(loc, e.message()).styled(LocStyle::ParsingTight);
        if let Some(at) = e.caret() {
            let lead = raw
                .iter()
                .take_while(|c| **c == b' ' || **c == b'\t')
                .count();
            let shown = String::from_utf8_lossy(&raw[lead..])
                .trim_end_matches('\r')
                .to_string();
            d.message.push(':');
            d.column = Some(at);
            d.extra.push(format!("  {shown}"));
            d.extra
                .push(format!("  {}^", " ".repeat(at.saturating_sub(lead))));
        }
        self.push(d);
    }

    /// `.if`/`.elif`/`.else`/`.endif` and `.notice`/`.warning`/`.alert`; true when handled.
    fn directive(&mut self, words: &[String], loc: &Loc) -> bool {
        let active = self.cond.iter().all(|(a, _)| *a);
        match words[0].as_str() {
            ".if" => {
                let v = active && self.eval_cond(&words[1..], loc, ".if");
                self.cond.push((v, v));
            }
            ".elif" => match self.cond.pop() {
                Some((_, taken)) => {
                    let outer = self.cond.iter().all(|(a, _)| *a);
                    let v = outer && !taken && self.eval_cond(&words[1..], loc, ".elif");
                    self.cond.push((v, taken || v));
                }
                None => self.alert(loc, "'.elif' without matching '.if'."),
            },
            ".else" => match self.cond.pop() {
                Some((_, taken)) => {
                    let outer = self.cond.iter().all(|(a, _)| *a);
                    self.cond.push((outer && !taken, true));
                }
                None => self.alert(loc, "'.else' without matching '.if'."),
            },
            ".endif" => {
                if self.cond.pop().is_none() {
                    self.alert(loc, "'.endif' without matching '.if'.");
                }
            }
            ".notice" | ".warning" | ".alert" if active => {
                let level = match words[0].as_str() {
                    ".notice" => Level::Notice,
                    ".warning" => Level::Warning,
                    _ => Level::Alert,
                };
                let msg = format!("'{}'.", words.get(1).map(String::as_str).unwrap_or(""));
                self.push(Diagnostic::new(
                    level,
                    Some(loc.clone()),
                    LocStyle::ParsingTight,
                    msg,
                ));
                // `.alert` stops haproxy at once (ERR_ABORT): nothing after it is read and
                // no post-parse check runs.
                if level == Level::Alert {
                    self.aborted = true;
                }
            }
            ".notice" | ".warning" | ".alert" => {}
            _ => return false,
        }
        true
    }

    /// Evaluates a `.if`/`.elif` condition (the words after the keyword, joined by single
    /// spaces as haproxy joins them), reporting a bad one as haproxy does: the message,
    /// the 1-based position, the line and a caret.
    fn eval_cond(&mut self, words: &[String], loc: &Loc, kw: &str) -> bool {
        let text = words.join(" ");
        let env = &self.env;
        let defined = |n: &str| env.contains_key(n);
        let cx = crate::config::cond::Context {
            defined: &defined,
            features: crate::config::cond::FEATURES,
            version: crate::config::cond::VERSION,
        };
        match crate::config::cond::eval(&text, &cx) {
            Ok(v) => v,
            Err(e) => {
                let mut d = Diagnostic::new(
                    Level::Alert,
                    Some(loc.clone()),
                    LocStyle::ParsingTight,
                    format!("{} in '{kw}' at position {}:", e.msg, e.at + 1),
                );
                d.extra.push(format!("  {kw} {text}"));
                d.extra
                    .push(format!("  {}^", " ".repeat(kw.len() + 1 + e.at)));
                self.push(d);
                // haproxy stops reading the configuration there.
                self.aborted = true;
                false
            }
        }
    }

    /// Starts a section when the line's first word is a section keyword; true when it was.
    fn section_start(&mut self, stmt: &Stmt) -> bool {
        let kw = stmt.arg(0);
        let Some(k) = keywords::lookup(keywords::SECTIONS, kw) else {
            return false;
        };
        let loc = stmt.loc;
        match kw {
            "global" => {
                self.section = Section::Global;
                if stmt.words.len() > 1 {
                    self.alert(
                        loc,
                        format!(
                            "'global' cannot handle unexpected argument '{}'.",
                            stmt.arg(1)
                        ),
                    );
                }
            }
            "defaults" | "frontend" | "backend" | "listen" => self.proxy_section(stmt),
            "resolvers" => self.resolvers_section(stmt),
            "peers" => self.peers_section(stmt),
            "http-errors" => self.http_errors_section(stmt),
            "userlist" => self.userlist_section(stmt),
            _ => {
                self.section = Section::Skipped;
                let what = format!("section '{kw}'");
                self.table_status(loc, k, &what);
            }
        }
        true
    }

    fn proxy_section(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        let kind = match kw {
            "defaults" => ProxyKind::Defaults,
            "frontend" => ProxyKind::Frontend,
            "backend" => ProxyKind::Backend,
            _ => ProxyKind::Listen,
        };
        let name = stmt.arg(1).to_string();
        let (name, from_idx) = if kind == ProxyKind::Defaults && name == "from" {
            (String::new(), 1)
        } else {
            (name, 2)
        };
        if kind != ProxyKind::Defaults && name.is_empty() {
            self.alert(loc, format!("'{kw}' expects an <id> argument"));
            self.section = Section::Broken("listen");
            self.aborted = true;
            return;
        }
        // haproxy goes on reading the section's lines as keywords of that section.
        self.check_section_name(loc, kw, &name);
        // `listen name addr:port` is the pre-1.5 syntax HAProxy 2.6 refuses.
        let rest = &stmt.words[from_idx.min(stmt.words.len())..];
        let (from, extra): (Option<&str>, &[String]) = match rest.first().map(String::as_str) {
            Some("from") => (Some(stmt.arg(from_idx + 1)), rest.get(2..).unwrap_or(&[])),
            _ => (None, rest),
        };
        if kind != ProxyKind::Defaults
            && kind != ProxyKind::Backend
            && from.is_none()
            && !extra.is_empty()
        {
            self.alert(
                loc,
                "please use the 'bind' keyword for listening addresses.",
            );
            self.section = Section::Broken("listen");
            return;
        }
        if let Some(x) = extra.first() {
            self.alert(
                loc,
                format!("'{kw}' cannot handle unexpected argument '{x}'."),
            );
        }
        let base = match from {
            Some(f) => match self.named_defaults.get(f) {
                Some(d) => d.clone(),
                None => {
                    let what = if kind == ProxyKind::Defaults {
                        "defaults"
                    } else {
                        kind.word()
                    };
                    self.alert(
                        loc,
                        format!("defaults section '{f}' not found for {what} '{name}'."),
                    );
                    self.aborted = true;
                    return;
                }
            },
            // A defaults section without `from` starts from haproxy's own defaults
            // (cfgparse-listen.c resets curr_defproxy for it); proxies take the last one.
            None if kind == ProxyKind::Defaults => anon_defaults(loc.clone()),
            None => self.defaults.clone(),
        };
        if kind == ProxyKind::Defaults {
            let mut d = ProxyConf::inherit(ProxyKind::Defaults, name.clone(), loc.clone(), &base);
            d.default_backend = base.default_backend.clone();
            self.defaults = d.clone();
            if !name.is_empty() {
                self.named_defaults.insert(name, d);
            }
            self.section = Section::Defaults;
            return;
        }
        // Rules of a defaults section run in the proxies that take it, so haproxy lets
        // only one side (frontends or backends) take a defaults section that has some.
        if !base.inspect.rules.is_empty()
            || !base.http_rules.is_empty()
            || !base.response.0.rules.is_empty()
        {
            let users = self
                .rule_defaults_users
                .entry(base.loc.clone())
                .or_insert(0);
            *users |= kind.caps();
            let msg = if kind == ProxyKind::Listen {
                Some("a listen section cannot inherit from a defaults section defining TCP/HTTP rules.".to_string())
            } else if *users & cap::FE != 0 && *users & cap::BE != 0 {
                Some(format!("frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at {}).", base.loc))
            } else if kind == ProxyKind::Frontend && !base.response.0.rules.is_empty() {
                Some(format!("a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at {}).", base.loc))
            } else {
                None
            };
            if let Some(m) = msg {
                self.push(Diagnostic::alert(loc, m).styled(LocStyle::ParsingTight));
                self.aborted = true;
                return;
            }
        }
        self.check_duplicate_name(kind, &name, loc);
        let mut p = ProxyConf::inherit(kind, name, loc.clone(), &base);
        if kind == ProxyKind::Backend {
            p.default_backend = None;
        }
        self.proxies.push(p);
        self.section = Section::Proxy(self.proxies.len() - 1);
    }

    fn check_duplicate_name(&mut self, kind: ProxyKind, name: &str, loc: &Loc) {
        let caps = kind.caps();
        let clash = self
            .proxies
            .iter()
            .find(|p| p.name == name && p.kind.caps() & caps != 0)
            .map(|p| (p.kind.proxy_word(), p.loc.clone()));
        if let Some((other, at)) = clash {
            self.push(
                Diagnostic::alert(
                    loc,
                    format!(
                        "{} '{name}' has the same name as {other} '{name}' declared at {at}.",
                        kind.proxy_word()
                    ),
                )
                .styled(LocStyle::CapParsing),
            );
        }
    }

    /// Reports words beyond the `max` allowed ones, HAProxy's `too_many_args()`; true if any.
    pub(crate) fn too_many(&mut self, stmt: &Stmt, max: usize, kw: &str) -> bool {
        if stmt.words.len() > max + 1 {
            self.alert(
                stmt.loc,
                format!(
                    "'{kw}' cannot handle unexpected argument '{}'.",
                    stmt.arg(max + 1)
                ),
            );
            return true;
        }
        false
    }
}

#[cfg(test)]
mod modifier_tests {
    /// `no` and `default` reach the IR: `no log` empties a target list (the global one and
    /// a proxy's inherited `log global`), `default option` goes back to the defaults section.
    #[test]
    fn no_and_default_prefixes_reach_the_ir() {
        let dir = std::env::temp_dir().join(format!("haproxide-kwm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k.cfg");
        let text = "global\n  log 127.0.0.1:514 local0\n  log 127.0.0.1:515 local1\ndefaults\n  mode tcp\n  log global\n  option redispatch\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nlisten a\n  bind 127.0.0.1:25999\n  no option redispatch\n  default option redispatch\n  no log\n  server s 127.0.0.2:1\nlisten b\n  bind 127.0.0.1:25998\n  no option redispatch\n  server s 127.0.0.2:1\n";
        std::fs::write(&f, text).unwrap();
        let load = |t: &str| {
            std::fs::write(&f, t).unwrap();
            crate::config::load(&[f.display().to_string()], Default::default())
                .config
                .expect("valid")
        };
        let c = load(text);
        assert_eq!(c.global.log.len(), 2);
        let (a, b) = (&c.backends[0], &c.backends[1]);
        assert!(a.redispatch == Some(-1) && b.redispatch.is_none());
        assert!(c.frontends[0].log.is_empty());
        assert_eq!(c.frontends[1].log.len(), 2);
        let c = load(&text.replacen("local1\n", "local1\n  no log\n", 1));
        assert!(c.global.log.is_empty() && c.frontends[1].log.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
