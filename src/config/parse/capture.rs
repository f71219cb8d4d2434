//! `capture cookie|request header|response header …`, `declare capture` and the
//! `http-request|http-response capture` actions (configuration.txt §4.2), with
//! HAProxy 2.6's messages from `cfgparse-listen.c`, `proxy.c` and `http_act.c`.

use super::units::lenient_int;
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, Spanned};
use crate::config::diag::{Diagnostic, Loc};

impl Parser {
    /// `capture …`: read in a backend too (haproxy warns first, then checks the line).
    pub(super) fn parse_capture(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let what = stmt.arg(1);
        let header = matches!(what, "request" | "response") && stmt.arg(2) == "header";
        if what != "cookie" && !header {
            return self.alert(
                loc,
                "'capture' expects 'cookie' or 'request header' or 'response header'.",
            );
        }
        if p.kind == ProxyKind::Defaults {
            return self.alert(
                loc,
                format!("'capture {what}' not allowed in 'defaults' section."),
            );
        }
        // At most four words after the second one.
        if let Some(extra) = stmt.words.get(6) {
            return self.alert(
                loc,
                format!("'capture {what}' cannot handle unexpected argument '{extra}'."),
            );
        }
        // atol(): a length that is not a number is 0.
        let len = |w: &str| lenient_int(w).max(0) as usize;
        if what == "cookie" {
            if stmt.arg(4).is_empty() {
                return self.alert(loc, "'capture' expects 'cookie' <cookie_name> 'len' <len>.");
            }
            p.captures.cookie = Some((stmt.arg(2).to_string(), len(stmt.arg(4))));
            // haproxy's one warning for captures in TCP mode is about this one.
            p.http_only.push(Spanned {
                v: "'capture' statement".into(),
                loc: loc.clone(),
            });
            return;
        }
        if stmt.arg(3).is_empty() || stmt.arg(4) != "len" || stmt.arg(5).is_empty() {
            return self.alert(
                loc,
                format!("'capture {what}' expects 'header' <header_name> 'len' <len>."),
            );
        }
        let cap = (stmt.arg(3).to_ascii_lowercase(), len(stmt.arg(5)));
        if what == "request" {
            p.captures.request.push(cap);
        } else {
            p.captures.response.push(cap);
        }
    }
}

impl Parser {
    /// `declare capture request|response len <n>`: a capture slot a rule fills by `id`.
    pub(super) fn parse_declare(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let err = |m: String| Diagnostic::alert(loc, m);
        let kw = stmt.arg(0);
        let d = if p.kind == ProxyKind::Defaults {
            err(format!("'{kw}' not available in default section"))
        } else if p.kind.caps() & 2 == 0 {
            err(format!(
                "'{kw}' only available in frontend or listen section"
            ))
        } else if stmt.arg(1).is_empty() {
            err(format!(
                "'{kw}' needs a second keyword that specify the type of declaration ('capture')"
            ))
        } else if stmt.arg(1) != "capture" {
            err(format!(
                "unknown declaration type '{}' (supports 'capture')",
                stmt.arg(1)
            ))
        } else if !matches!(stmt.arg(2), "request" | "response") {
            err(format!(
                "'{kw} capture' requires a direction ('request' or 'response')"
            ))
        } else if stmt.arg(3) != "len" {
            err(format!("'{kw} capture' requires a capture length ('len')"))
        } else if stmt.arg(4).is_empty() {
            err(format!(
                "'{kw} capture': 'len' requires a numeric value that represents the capture length"
            ))
        } else {
            let (n, rest) = crate::numbers::strtol(stmt.arg(4));
            if !rest.is_empty() {
                err(format!("'{kw} capture': cannot parse the length 'len'."))
            } else if n <= 0 {
                err("length must be > 0".to_string())
            } else {
                let slot = (String::new(), n as usize);
                if stmt.arg(2) == "request" {
                    p.captures.request.push(slot);
                } else {
                    p.captures.response.push(slot);
                }
                return;
            }
        };
        self.push(d);
    }

    /// `http-request capture <sample> len <n>|id <n>` or `http-response capture <sample>
    /// id <n>` from word 2: the action and where its condition starts. Err(Some) is
    /// haproxy's message; Err(None) an error already said.
    pub(super) fn http_capture(
        &mut self,
        p: &mut ProxyConf,
        (loc, words): (&Loc, &[String]),
        response: bool,
    ) -> Result<(crate::ir::http_rules::Capture, usize), Option<String>> {
        let shape = if response {
            "expects <expression> id <idx>"
        } else {
            "expects <expression> [ 'len' <length> | id <idx> ]"
        };
        // Three words at least before a condition.
        let before = words[2..]
            .iter()
            .take(3)
            .take_while(|w| !w.is_empty() && *w != "if" && *w != "unless")
            .count();
        if before < 3 {
            return Err(Some(shape.to_string()));
        }
        let (text, mut i) = super::sample::expr_words(words, 2);
        let expr = match super::sample::parse(&text, None) {
            Ok(e) => e.expr,
            Err(super::sample::SampleError::Invalid(m)) => return Err(Some(m)),
            Err(super::sample::SampleError::Unsupported(what)) => {
                self.unsupported(loc, &what, "not evaluated by haproxide yet");
                return Err(None);
            }
        };
        if let Some(src) = super::value_format::unavailable(&expr.fetch, response) {
            let last = &words[i - 1];
            return Err(Some(format!("fetch method '{last}' extracts information from '{src}', none of which is available here")));
        }
        let arg = |i: usize| words.get(i).map_or("", String::as_str);
        match arg(i) {
            "" => Err(Some(if response {
                "expects 'id'".to_string()
            } else {
                "expects 'len or 'id'".to_string()
            })),
            "len" if !response => {
                if p.kind.caps() & 2 == 0 {
                    return Err(Some(format!(
                        "proxy '{}' has no frontend capability",
                        p.name
                    )));
                }
                // atoi into an int: what is no number is 0, past 2^31 it wraps.
                let n = i64::from(crate::numbers::strtol(arg(i + 1)).0 as i32);
                if n <= 0 {
                    return Err(Some("length must be > 0".into()));
                }
                i += 2;
                let slots = &mut p.captures.request;
                slots.push((String::new(), n as usize));
                let c = crate::ir::http_rules::Capture {
                    expr,
                    slot: slots.len() - 1,
                    len: Some(n as usize),
                };
                Ok((c, i))
            }
            "id" => {
                let v = arg(i + 1);
                let (n, rest) = crate::numbers::strtol(v);
                if !rest.is_empty() {
                    return Err(Some(format!("cannot parse id '{v}'")));
                }
                i += 2;
                // A negative id names no slot: accepted, it captures nothing.
                let c = crate::ir::http_rules::Capture {
                    expr,
                    slot: usize::try_from(n as i32).unwrap_or(usize::MAX),
                    len: None,
                };
                Ok((c, i))
            }
            w if response => Err(Some(format!("expects 'id', found '{w}'"))),
            w => Err(Some(format!("expects 'len' or 'id', found '{w}'"))),
        }
    }
}

/// haproxy's check_http_req_capture and check_http_res_capture: in a frontend, a rule's
/// `id` must name one of its capture slots (a backend's refer to whatever frontend
/// sends it requests, unknown until then).
pub(crate) fn capture_id_checks(p: &ProxyConf) -> Vec<String> {
    use crate::ir::http_rules::HttpAction;
    if p.kind.caps() & 2 == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let sides = [
        (&p.http_rules.request, p.captures.request.len(), "request"),
        (
            &p.http_rules.response,
            p.captures.response.len(),
            "response",
        ),
        (&p.http_rules.after, p.captures.response.len(), "response"),
    ];
    for (rules, n, side) in sides {
        for r in rules {
            if let HttpAction::Capture(c) = &r.action {
                if c.len.is_none() && c.slot >= n && c.slot != usize::MAX {
                    out.push(format!(
                        "Proxy '{}': unable to find capture id '{}' referenced by http-{side} capture rule.",
                        p.name, c.slot
                    ));
                }
            }
        }
    }
    out
}
