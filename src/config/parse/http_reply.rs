//! The arguments of an answer a rule builds (`http-request return`), read as haproxy's
//! `http_parse_http_reply` reads them, with its messages and warnings.

use super::sample::SampleError;
use super::value_format::parse_format_on;
use super::Parser;
use crate::config::diag::Loc;
use crate::ir::http_rules::{Reply, ReplyBody};

/// Why the arguments were refused.
pub(super) enum ReplyError {
    /// haproxy refuses them: its message.
    Invalid(String),
    /// haproxy accepts them; haproxide does not: what to name.
    Unsupported(String),
}

/// The statuses haproxy has a page for (`http_err_codes`).
const ERR_CODES: [u16; 18] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503,
];

impl Parser {
    /// Reads a reply from `words[i..]` up to the first word it does not know (the
    /// condition), its status `default_status` unless given; returns it, where it
    /// stopped, and the `http-errors` section an `errorfiles <name>` payload names (its
    /// page for the status, resolved after parsing). Files are read now, as haproxy
    /// does. `stage`: Some(true) for a response rule's, whose values read what a
    /// response has, Some(false) for a request rule's; None checks no stage.
    pub(super) fn parse_reply(
        &mut self,
        loc: &Loc,
        words: &[String],
        (mut i, default_status): (usize, u16),
        stage: Option<bool>,
    ) -> Result<(Reply, usize, Option<String>), ReplyError> {
        let inv = |m: String| Err(ReplyError::Invalid(m));
        let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let mut reply = Reply {
            status: default_status,
            ctype: None,
            body: ReplyBody::Empty,
            hdrs: Vec::new(),
        };
        let mut act_arg: Option<&str> = None;
        let mut section: Option<String> = None;
        let mut obj: Option<Vec<u8>> = None;
        let mut lf = false;
        let fmt = |text: &str| {
            parse_format_on(text, stage).map_err(|e| match e {
                SampleError::Invalid(m) => ReplyError::Invalid(m),
                SampleError::Unsupported(w) => ReplyError::Unsupported(w),
            })
        };
        loop {
            let w = arg(i);
            let payload = matches!(
                w,
                "errorfiles"
                    | "default-errorfiles"
                    | "errorfile"
                    | "file"
                    | "string"
                    | "lf-file"
                    | "lf-string"
            );
            if payload {
                if let Some(prev) = act_arg {
                    return inv(format!(
                        "unexpected '{w}' argument, '{prev}' already defined"
                    ));
                }
                act_arg = Some(w);
            }
            match w {
                "status" => {
                    if arg(i + 1).is_empty() {
                        return inv(format!("'{w}' expects <status_code> as argument"));
                    }
                    let v = super::units::lenient_int(arg(i + 1));
                    if !(200..=599).contains(&v) {
                        return inv(format!("Unexpected status code '{}'", v as i32));
                    }
                    reply.status = v as u16;
                    i += 2;
                }
                "content-type" => {
                    if arg(i + 1).is_empty() {
                        return inv(format!("'{w}' expects <ctype> as argument"));
                    }
                    reply.ctype = Some(arg(i + 1).as_bytes().into());
                    i += 2;
                }
                "errorfiles" => {
                    if arg(i + 1).is_empty() {
                        return inv(format!("'{w}' expects <name> as argument"));
                    }
                    section = Some(arg(i + 1).to_string());
                    i += 2;
                }
                "default-errorfiles" => {
                    reply.body = ReplyBody::ErrorPage;
                    i += 1;
                }
                "errorfile" | "file" | "lf-file" => {
                    let path = arg(i + 1);
                    if path.is_empty() {
                        let what = if w == "errorfile" { "<fmt>" } else { "<file>" };
                        return inv(format!("'{w}' expects {what} as argument"));
                    }
                    let missing = self.missing_file(loc, w, path);
                    let bytes = super::proxy::read_errorfile(path).or(missing.then(Vec::new));
                    let bufsize = self.global.tune_bufsize.unwrap_or(16384);
                    if let (Some(b), false) = (&bytes, w == "errorfile") {
                        if b.len() as i64 > bufsize {
                            return inv(format!(
                                "file '{path}' exceeds the buffer size ({} > {bufsize})",
                                b.len()
                            ));
                        }
                    }
                    let Some(bytes) = bytes else {
                        return inv(if w == "errorfile" {
                            format!("error opening file '{path}'.")
                        } else {
                            format!("error opening file '{path}'")
                        });
                    };
                    if w == "errorfile" {
                        reply.body = ReplyBody::ErrorFile(bytes.into());
                    } else {
                        lf = w == "lf-file";
                        obj = Some(bytes);
                    }
                    i += 2;
                }
                "string" | "lf-string" => {
                    if arg(i + 1).is_empty() {
                        let what = if w == "string" { "<str>" } else { "<fmt>" };
                        return inv(format!("'{w}' expects {what} as argument"));
                    }
                    lf = w == "lf-string";
                    obj = Some(arg(i + 1).as_bytes().to_vec());
                    i += 2;
                }
                "hdr" => {
                    let (name, value) = (arg(i + 1), arg(i + 2));
                    if name.is_empty() || value.is_empty() {
                        return inv(format!("'{w}' expects <name> and <value> as arguments"));
                    }
                    i += 3;
                    let n = name.to_ascii_lowercase();
                    if matches!(
                        n.as_str(),
                        "content-length" | "transfer-encoding" | "content-type"
                    ) {
                        self.warn(
                            loc,
                            format!("header '{name}' always ignored by the http reply."),
                        );
                        continue;
                    }
                    reply.hdrs.push((n.into_bytes().into(), fmt(value)?));
                }
                _ => break,
            }
        }
        let ctype = reply
            .ctype
            .as_deref()
            .map(String::from_utf8_lossy)
            .map(|c| c.into_owned());
        match (&reply.body, obj) {
            (ReplyBody::Empty, None) if section.is_none() => {
                if let Some(c) = ctype {
                    self.warn(loc, format!("content-type '{c}' ignored by the http reply because neither errorfile nor payload defined."));
                    reply.ctype = None;
                }
            }
            (ReplyBody::Empty, None) | (ReplyBody::ErrorPage | ReplyBody::ErrorFile(_), _) => {
                if matches!(reply.body, ReplyBody::ErrorPage) && !ERR_CODES.contains(&reply.status)
                {
                    return inv(format!(
                        "status code '{}' not handled by default with '{}' argument.",
                        reply.status,
                        act_arg.unwrap_or("")
                    ));
                }
                if let Some(c) = ctype {
                    self.warn(loc, format!("content-type '{c}' ignored by the http reply when used with an erorrfile."));
                    reply.ctype = None;
                }
                if !reply.hdrs.is_empty() {
                    self.warn(
                        loc,
                        "hdr parameters ignored by the http reply when used with an erorrfile.",
                    );
                    reply.hdrs.clear();
                }
            }
            (_, Some(o)) if !lf => {
                if matches!(reply.status, 204 | 304) && !o.is_empty() {
                    return inv(format!("No body expected for {} responses", reply.status));
                }
                if ctype.is_none() && !o.is_empty() {
                    return inv(
                        "a content type must be defined when non-empty payload is configured"
                            .into(),
                    );
                }
                if let (Some(c), true) = (&ctype, o.is_empty()) {
                    self.warn(loc, format!("content-type '{c}' ignored by the http reply when used with an empty payload."));
                    reply.ctype = None;
                }
                // The buffer as haproxy sizes it while parsing (maxrewrite 1024).
                let bufsize = self.global.tune_bufsize.unwrap_or(16384);
                if bufsize - (o.len() as i64) < 1024 {
                    self.warn(loc, "http reply payload runs over the buffer space reserved to headers rewriting. It may lead to internal errors if strict rewriting mode is enabled.");
                }
                reply.body = ReplyBody::Raw(o.into());
            }
            (_, Some(o)) => {
                if matches!(reply.status, 204 | 304) {
                    return inv(format!("No body expected for {} responses", reply.status));
                }
                if ctype.is_none() {
                    return inv("a content type must be defined with a log-format payload".into());
                }
                reply.body = ReplyBody::Fmt(fmt(&String::from_utf8_lossy(&o))?);
            }
            (ReplyBody::Raw(_) | ReplyBody::Fmt(_), None) => {}
        }
        Ok((reply, i, section))
    }

    /// `http-error status <code> [content-type <type>] [<payload>] [hdr <name> <fmt>]…`:
    /// the page haproxy answers for that status, as its `proxy_parse_http_error`
    /// reads it (messages included). `errorfiles <section>` takes that section's page.
    pub(super) fn parse_http_error(
        &mut self,
        p: &mut crate::config::ast::ProxyConf,
        stmt: &super::Stmt,
    ) {
        use crate::config::ast::{ErrorPages, Spanned};
        let loc = &stmt.loc;
        // haproxy checks no stage for these formats: they may read request and response.
        let (reply, next, section) = match self.parse_reply(loc, stmt.words, (1, 0), None) {
            Ok(r) => r,
            Err(ReplyError::Invalid(m)) => return self.alert(loc, format!("http-error : {m}")),
            Err(ReplyError::Unsupported(what)) => {
                return self.unsupported(loc, &what, "not evaluated by haproxide yet")
            }
        };
        if reply.status == 0 {
            // haproxy's message ends with a line break of its own.
            return self.alert(
                loc,
                "http-error : expects at least a <status> as arguments.\n",
            );
        }
        // Every status of haproxy's table, 504 included (which default-errorfiles lacks).
        if !ERR_CODES.contains(&reply.status) && reply.status != 504 {
            let msg = format!("http-error: status code '{}' not handled.", reply.status);
            return self.alert(loc, msg);
        }
        if let Some(w) = stmt.words.get(next) {
            return self.alert(loc, format!("http-error : unknown keyword '{w}'."));
        }
        let v = match section {
            Some(name) => ErrorPages::Section(name, Some(vec![reply.status])),
            None => ErrorPages::Reply(reply.status, std::sync::Arc::new(reply)),
        };
        p.errorfiles.push(Spanned {
            v,
            loc: stmt.loc.clone(),
        });
    }
}
