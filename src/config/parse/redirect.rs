//! `redirect` rules and `http-request redirect` (configuration.txt §4.2 `redirect`):
//! the target kind, its format, the code and the options, with haproxy's messages.

use super::acl::AclError;
use super::sample::SampleError;
use super::value_format::parse_format;
use super::{Parser, Stmt};
use crate::config::ast::ProxyConf;
use crate::ir::http_rules::{FmtPart, HttpAction, HttpRule, Redirect, RedirectKind};

impl Parser {
    /// `redirect location|prefix|scheme <to> [code <c>] [drop-query] [append-slash]
    /// [set-cookie|clear-cookie <c>] [if|unless <cond>]`.
    pub(super) fn parse_redirect(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        match self.redirect_args(p, stmt, 1, false) {
            Ok((r, cond)) => {
                p.http_rules.redirects.push(HttpRule {
                    action: HttpAction::Redirect(Box::new(r)),
                    cond,
                });
                if !p.use_backends.is_empty() {
                    self.warn(loc, "a 'redirect' rule placed after a 'use_backend' rule will still be processed before.");
                }
            }
            Err(Some(m)) => self.alert(
                loc,
                format!(
                    "error detected in {} '{}' while parsing redirect rule : {m}.",
                    p.kind.proxy_word(),
                    p.name
                ),
            ),
            Err(None) => {}
        }
    }

    /// `http_parse_redirect_rule` from word `i`: the rule, or haproxy's message (None:
    /// already reported as unsupported). `fmt`: targets are log-format strings.
    pub(super) fn redirect_args(
        &mut self,
        p: &mut ProxyConf,
        stmt: &Stmt,
        mut i: usize,
        fmt: bool,
    ) -> Result<(Redirect, Option<crate::ir::acl::Cond>), Option<String>> {
        let words = stmt.words;
        let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let (mut kind, mut to, mut code, mut cookie) = (None, "", 302u16, None);
        let (mut drop_query, mut append_slash) = (false, false);
        let mut cond = None;
        while i < words.len() {
            let w = arg(i);
            let needs = matches!(
                w,
                "location" | "prefix" | "scheme" | "set-cookie" | "clear-cookie" | "code"
            );
            if needs && arg(i + 1).is_empty() {
                return Err(Some(format!("missing argument for '{w}'")));
            }
            match w {
                "location" | "prefix" | "scheme" => {
                    kind = Some(match w {
                        "location" => RedirectKind::Location,
                        "prefix" => RedirectKind::Prefix,
                        _ => RedirectKind::Scheme,
                    });
                    to = arg(i + 1);
                    i += 1;
                }
                "set-cookie" => {
                    cookie = Some(format!("{}; path=/;", arg(i + 1)));
                    i += 1;
                }
                "clear-cookie" => {
                    cookie = Some(format!("{}; path=/; Max-Age=0;", arg(i + 1)));
                    i += 1;
                }
                "code" => {
                    let v = arg(i + 1);
                    let c = super::units::lenient_int(v);
                    if !(301..=308).contains(&c) || (c > 303 && c < 307) {
                        return Err(Some(format!("'code': unsupported HTTP code '{v}' (must be one of 301, 302, 303, 307 or 308)")));
                    }
                    code = c as u16;
                    i += 1;
                }
                "drop-query" => drop_query = true,
                "append-slash" => append_slash = true,
                "ignore-empty" => {
                    self.unsupported(stmt.loc, "'redirect … ignore-empty'", "locations are never empty here");
                    return Err(None);
                }
                "if" | "unless" => {
                    match self.read_cond(p, stmt.loc, &words[i..]) {
                        Ok(c) => cond = Some(c),
                        Err(AclError::Invalid(m)) => return Err(Some(format!("error in condition: {m}"))),
                        Err(AclError::Unsupported(what)) => {
                            self.unsupported(stmt.loc, &what, "not evaluated by haproxide yet");
                            return Err(None);
                        }
                    }
                    break;
                }
                other => return Err(Some(format!("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '{other}')"))),
            }
            i += 1;
        }
        let Some(kind) = kind else {
            return Err(Some(
                "redirection type expected ('prefix', 'location', or 'scheme')".into(),
            ));
        };
        let target = if fmt {
            match parse_format(to) {
                Ok(f) => f,
                Err(SampleError::Invalid(m)) => return Err(Some(m)),
                Err(SampleError::Unsupported(what)) => {
                    self.unsupported(stmt.loc, &what, "not evaluated by haproxide yet");
                    return Err(None);
                }
            }
        } else {
            vec![FmtPart::Text(to.as_bytes().into())]
        };
        Ok((
            Redirect {
                kind,
                target,
                // haproxy adds nothing for a prefix of "/" in both forms.
                literal_slash: to == "/",
                code,
                drop_query,
                append_slash,
                cookie: cookie.map(|c| c.into_bytes().into()),
            },
            cond,
        ))
    }
}
