//! The HTTP statistics page of a `mode http` proxy that does nothing else (`stats enable`,
//! `stats uri`, configuration.txt §4.2): HAProxy's CSV at `<uri>;csv`, an HTML table of
//! the same figures at `<uri>`, Basic authentication with `stats auth`, `stats
//! http-request allow|deny|auth` rules, `stats admin` (a POSTed form changes servers'
//! states, answered with haproxy's 303), and HAProxy's 503 page for any other path. One
//! request per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::ir::http_rules::HttpAction;
use crate::ir::StatsPage;
use crate::runtime::lb::state::Shared;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::auth::Credentials;
use crate::runtime::rules::{self, Ctx, Who};
use crate::runtime::stream::http1::answers::layer_answer;
use crate::runtime::stream::http1::head::Head;

/// The request head is read within this size, as HAProxy's buffer bounds it.
const MAX_HEAD: usize = 15360;

fn response(status: &str, ctype: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: {ctype}\r\n{extra}connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn error_page(code: &str, text: &str, extra: &str) -> Vec<u8> {
    let body = format!("<html><body><h1>{code}</h1>\n{text}\n</body></html>\n");
    response(code, "text/html", extra, &body)
}

/// The request's Basic credentials are one of the `stats auth` accounts. haproxy turns
/// those into a userlist read by `http_auth`, so they are read as it reads them.
fn authorized(head: &Head, auth: &[String]) -> bool {
    if auth.is_empty() {
        return true;
    }
    match crate::runtime::rules::auth::credentials(head) {
        Some(Credentials::Basic(u, p)) => {
            let acct = [&u[..], b":", &p[..]].concat();
            auth.iter().any(|a| a.as_bytes() == acct)
        }
        _ => false,
    }
}

/// The CSV as an HTML table, one table per proxy.
fn html(shared: &Shared, page: &StatsPage, csv: &str) -> String {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |n: &str| head.iter().position(|h| *h == n);
    let shown = [
        "svname",
        "status",
        "scur",
        "smax",
        "slim",
        "stot",
        "bin",
        "bout",
        "weight",
        "throttle",
        "check_status",
    ];
    let idx: Vec<Option<usize>> = shown.iter().map(|n| col(n)).collect();
    let title = if page.hide_version {
        "Statistics Report".to_string()
    } else {
        format!(
            "Statistics Report for haproxide {}",
            env!("CARGO_PKG_VERSION")
        )
    };
    let mut out = format!("<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>\n<p>pid = {} ; {} frontends, {} backends</p>\n", std::process::id(), shared.frontends.len(), shared.backends.iter().filter(|b| !b.ir.disabled).count());
    let mut current = String::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let px = f.first().copied().unwrap_or("");
        if px != current {
            if !current.is_empty() {
                out.push_str("</table>\n");
            }
            current = px.to_string();
            out.push_str(&format!("<h2>{}</h2>\n<table border=1>\n<tr>", escape(px)));
            for n in shown {
                out.push_str(&format!("<th>{n}</th>"));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("<tr>");
        for i in &idx {
            let v = i.and_then(|i| f.get(i)).copied().unwrap_or("");
            out.push_str(&format!("<td>{}</td>", escape(v)));
        }
        out.push_str("</tr>\n");
    }
    if !current.is_empty() {
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Answers one HTTP request on `client`. `limit` bounds each read (`timeout client`);
/// `page.request_timeout` bounds the whole request (a POST's body too), so a client
/// dribbling a byte now and then cannot hold a connection slot for days: it gets
/// HAProxy's 408.
pub async fn serve(
    shared: &Arc<Shared>,
    mut client: TcpStream,
    page: &StatsPage,
    limit: Duration,
    fe_name: &str,
) {
    let whole = page.request_timeout.unwrap_or(limit);
    let (head, body) = match timeout(whole, read_request(&mut client, limit, page)).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(_) => {
            let _ = client
                .write_all(&crate::runtime::stream::http1::answers::answer(408).wire)
                .await;
            return;
        }
    };
    let (Ok(peer), Ok(local)) = (client.peer_addr(), client.local_addr()) else {
        return;
    };
    let ssl = SslInfo::default();
    let who = Who {
        peer,
        local,
        fe_name,
        be: None,
        ssl: &ssl,
        proc: None,
        tables: None,
        uid: None,
        comp: None,
    };
    let mut ctx = Ctx::tcp(&who, &[], true);
    ctx.req = Some(&head);
    let mut reply = answer(shared, page, &head, body.as_deref(), &ctx);
    // A HEAD gets the head only, as haproxy's H1 layer sends it.
    if head.method() == b"HEAD" {
        if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            reply.truncate(end + 4);
        }
    }
    // Its frontend counts the request, the answer, and the page as intercepted.
    if let Some(f) = shared.frontends.iter().find(|f| f.ir.name == fe_name) {
        f.http_request();
        let status = reply.get(9..12).and_then(|d| std::str::from_utf8(d).ok());
        f.http
            .response(status.and_then(|d| d.parse().ok()).unwrap_or(0));
        if for_page(&head, page) {
            f.intercepted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    // The bytes as haproxy counts them (the heads' HTX size, then the bodies).
    let up = head.htx_size() + body.as_ref().map_or(0, |b| b.len() as u64);
    let down = match Head::response(&reply, 101) {
        Ok(Some((h, n))) => h.htx_size() + (reply.len() - n) as u64,
        _ => reply.len() as u64,
    };
    if let Some(f) = shared.frontends.iter().find(|f| f.ir.name == fe_name) {
        f.traffic.bytes(up, down);
    }
    // The stats applet is the listen's backend's session (be_set_sess_last).
    if let Some(b) = shared.backends.iter().find(|b| b.ir.name == fe_name) {
        b.last_sess
            .touch(crate::runtime::lb::counters::LastSession::now());
        b.traffic.bytes(up, down);
    }
    let _ = client.write_all(&reply).await;
    let _ = client.shutdown().await;
}

fn bad_request() -> Vec<u8> {
    error_page(
        "400 Bad request",
        "Your browser sent an invalid request.",
        "",
    )
}

/// The request head and, for an admin POST, its body (a length or chunks; None when it
/// does not fit haproxy's buffer).
type Request = (Head, Option<Vec<u8>>);

/// Reads the request head and, for an admin POST, its body; None when the client left,
/// went silent or sent what cannot be read (then answered with a 400).
async fn read_request(
    client: &mut TcpStream,
    limit: Duration,
    page: &StatsPage,
) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let mut read_more = async |client: &mut TcpStream, buf: &mut Vec<u8>| match timeout(
        limit,
        client.read(&mut chunk),
    )
    .await
    {
        Ok(Ok(n)) if n > 0 => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
        _ => false,
    };
    let (head, n) = loop {
        match Head::request(&buf, 101) {
            Ok(Some(h)) => break h,
            Ok(None) if buf.len() <= MAX_HEAD => {}
            _ => {
                let _ = client.write_all(&bad_request()).await;
                return None;
            }
        }
        if !read_more(client, &mut buf).await {
            return None;
        }
    };
    buf.drain(..n);
    // Only an admin POST reads its body; haproxy answers any other at once.
    if head.method() != b"POST" || page.admin.is_empty() {
        return Some((head, Some(Vec::new())));
    }
    loop {
        if head.flags.chunked {
            match dechunk(&buf) {
                Ok(Some(body)) => return Some((head, Some(body))),
                Ok(None) => {}
                Err(()) => {
                    let _ = client.write_all(&bad_request()).await;
                    return None;
                }
            }
        } else if !head.flags.clen || buf.len() as u64 >= head.content_length {
            buf.truncate(head.content_length as usize);
            return Some((head, Some(buf)));
        }
        if buf.len() > MAX_HEAD || head.content_length > MAX_HEAD as u64 {
            return Some((head, None));
        }
        if !read_more(client, &mut buf).await {
            return None;
        }
    }
}

/// A whole chunked body's data; None while it is not all there.
fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        // The engine's chunk-size reader: hex digits only, no overflow.
        let size = crate::runtime::stream::http1::body::chunk_size(&b[..eol]).ok_or(())?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(b.windows(2).any(|w| w == b"\r\n").then_some(out));
        }
        // More than the buffer could ever hold: refused, as haproxy does.
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= MAX_HEAD)
            .ok_or(())?;
        if b.len().saturating_sub(2) < size {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// haproxy's `http_stats_check_uri`: a GET, HEAD or POST whose path (or URI, for a
/// prefix not starting with '/') starts with the page's URI.
fn for_page(head: &Head, page: &StatsPage) -> bool {
    if !matches!(head.method(), b"GET" | b"HEAD" | b"POST") {
        return false;
    }
    let uri = head.part(1);
    let uri = if page.uri.starts_with('/') {
        crate::runtime::stream::http1::authority::path(uri).unwrap_or(b"")
    } else {
        uri
    };
    uri.starts_with(page.uri.as_bytes())
}

/// Where haproxy sends the browser after a POST: the page with the action's status and
/// the flags the request's URI carried (`;up`, `;norefresh`, `?scope=`).
fn after_post(page: &StatsPage, head: &Head, status: &str) -> Vec<u8> {
    // haproxy looks past the prefix's length from the URI's start, whatever it holds.
    let rest = head.part(1).get(page.uri.len()..).unwrap_or(b"");
    let has = |w: &[u8]| rest.windows(w.len()).any(|x| x == w);
    let mut loc = format!("{};st={status}", page.uri).into_bytes();
    if has(b";up") {
        loc.extend_from_slice(b";up");
    }
    if page.refresh.is_some() && has(b";norefresh") {
        loc.extend_from_slice(b";norefresh");
    }
    // haproxy only looks for it where two more bytes could follow.
    let scope_at = rest
        .windows(6)
        .enumerate()
        .position(|(p, w)| w == b"scope=" && p + 8 <= rest.len());
    if let Some(p) = scope_at {
        let s = &rest[p + 6..];
        let s = &s[..s
            .iter()
            .position(|c| b";& ".contains(c))
            .unwrap_or(s.len())
            .min(20)];
        let ok = s
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b".-_:".contains(&c));
        if ok && !s.is_empty() {
            loc.extend_from_slice(b"?scope=");
            loc.extend_from_slice(s);
        }
    }
    let mut out = b"HTTP/1.1 303 See Other\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nlocation: ".to_vec();
    out.extend_from_slice(&loc);
    out.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    out
}

/// The page, the CSV, a POST's redirect, or HAProxy's 401/403/503 for the request.
fn answer(
    shared: &Arc<Shared>,
    page: &StatsPage,
    head: &Head,
    body: Option<&[u8]>,
    ctx: &Ctx,
) -> Vec<u8> {
    if !for_page(head, page) {
        return error_page(
            "503 Service Unavailable",
            "No server is available to handle this request.",
            "",
        );
    }
    // `stats http-request` rules, the first that applies decides; else `stats auth`.
    for r in &page.rules {
        if !rules::holds(r.cond.as_ref(), ctx).unwrap_or(false) {
            continue;
        }
        match &r.action {
            HttpAction::Deny(s) => return layer_answer(*s).with_connection(Some("close"), None),
            HttpAction::Auth(realm) => {
                let value = [&b"Basic realm=\""[..], realm, b"\""].concat();
                let a = layer_answer(401).with_header(b"www-authenticate", &value);
                return a.with_connection(Some("close"), None);
            }
            _ => break,
        }
    }
    if !authorized(head, &page.auth) {
        let realm = format!("www-authenticate: Basic realm=\"{}\"\r\n", page.realm);
        return error_page(
            "401 Unauthorized",
            "You need a valid user and password to access this content.",
            &realm,
        );
    }
    if head.method() == b"POST" {
        let admin = page
            .admin
            .iter()
            .any(|c| rules::holds(Some(c), ctx).unwrap_or(false));
        let status = match (admin, body) {
            (false, _) => "DENY",
            // More than haproxy's buffer holds.
            (true, None) => "EXCD",
            (true, Some(b)) => crate::runtime::ctl::stats_admin::process(shared, b),
        };
        return after_post(page, head, status);
    }
    let csv = crate::runtime::ctl::show_stat::show_stat(shared);
    let refresh = page
        .refresh
        .map(|r| format!("refresh: {}\r\n", r.as_secs().max(1)))
        .unwrap_or_default();
    let rest = head.part(1).get(page.uri.len()..).unwrap_or(b"");
    if rest.windows(4).any(|w| w == b";csv") {
        response("200 OK", "text/plain", "", &csv)
    } else {
        response("200 OK", "text/html", &refresh, &html(shared, page, &csv))
    }
}
