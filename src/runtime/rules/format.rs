//! Log-format values of rules (header values, redirect targets, `return` payloads,
//! `use_backend %[…]`) rendered for one transaction.

use super::fetch::sample;
use super::Ctx;
use crate::ir::acl::{Fetch, SampleExpr};
use crate::ir::http_rules::{FmtPart, Format};

/// A sample expression's one value outside an ACL: a header or cookie fetch gives its
/// last value, others their first.
pub fn single<'a>(e: &'a SampleExpr, ctx: &'a Ctx) -> Option<super::Value<'a>> {
    single_or_wait(e, ctx).ok().flatten()
}

/// [`single`], or NotYet while the bytes that decide it may still come.
pub fn single_or_wait<'a>(
    e: &'a SampleExpr,
    ctx: &'a Ctx,
) -> Result<Option<super::Value<'a>>, super::fetch::NotYet> {
    let last = matches!(e.fetch, Fetch::Hdr(_) | Fetch::Cook(_));
    let v = sample(e, ctx)?;
    Ok(if last {
        v.into_iter().last()
    } else {
        v.into_iter().next()
    })
}

/// Renders a log-format value: a missing sample renders nothing (haproxy's logs print
/// `-` there; its header values do not).
pub fn render(f: &[FmtPart], ctx: &Ctx) -> Vec<u8> {
    let mut out = Vec::new();
    for p in f {
        match p {
            FmtPart::Text(t) => out.extend_from_slice(t),
            FmtPart::Sample(e) => {
                if let Some(v) = single(e, ctx) {
                    encode_into(&v.to_bytes(), &mut out);
                }
            }
            FmtPart::ClientIp => out.extend_from_slice(ctx.peer.ip().to_string().as_bytes()),
            FmtPart::ClientPort => out.extend_from_slice(ctx.peer.port().to_string().as_bytes()),
            FmtPart::FrontendIp => out.extend_from_slice(ctx.local.ip().to_string().as_bytes()),
            FmtPart::FrontendPort => out.extend_from_slice(ctx.local.port().to_string().as_bytes()),
            FmtPart::Frontend => out.extend_from_slice(ctx.fe_name.as_bytes()),
        }
    }
    out
}

/// Renders a format as a variable stores it (`set-var-fmt`): sample output as it is, cut
/// at a NUL as haproxy's C string is.
pub fn render_raw(f: &Format, ctx: &Ctx) -> Vec<u8> {
    let mut out = Vec::new();
    for p in f {
        match p {
            FmtPart::Sample(e) => {
                if let Some(v) = single(e, ctx) {
                    let b = v.to_bytes();
                    out.extend_from_slice(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]);
                }
            }
            other => out.extend(render(std::slice::from_ref(other), ctx)),
        }
    }
    out
}

/// Appends `v` with the bytes a header value cannot carry (controls but tab, DEL)
/// written `%XX`, as haproxy's `http_encode_map` does for sample output: a sample never
/// ends a header early.
pub(crate) fn encode_into(v: &[u8], out: &mut Vec<u8>) {
    for &c in v {
        if (c < 0x20 && c != b'\t') || c == 0x7f {
            out.extend_from_slice(format!("%{c:02X}").as_bytes());
        } else {
            out.push(c);
        }
    }
}
