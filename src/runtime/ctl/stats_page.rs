//! The HTTP statistics page of a `mode http` proxy that does nothing else (`stats enable`,
//! `stats uri`, configuration.txt §4.2): HAProxy's CSV at `<uri>;csv`, an HTML table of
//! the same figures at `<uri>`, Basic authentication with `stats auth`, and HAProxy's 503
//! page for any other path. One request per connection.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::ir::StatsPage;
use crate::runtime::lb::state::Shared;

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

/// The account in an `Authorization: Basic` header, when it is one of `auth`.
fn authorized(head: &str, auth: &[String]) -> bool {
    if auth.is_empty() {
        return true;
    }
    head.lines().any(|l| {
        let Some((name, value)) = l.split_once(':') else {
            return false;
        };
        let Some(b64) = value.trim().strip_prefix("Basic ") else {
            return false;
        };
        name.eq_ignore_ascii_case("authorization")
            && base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .is_some_and(|acct| auth.contains(&acct))
    })
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
    let mut out = format!("<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>\n<p>pid = {} ; {} frontends, {} backends</p>\n", std::process::id(), shared.frontends.len(), shared.backends.len());
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
/// `page.request_timeout` bounds the whole request head, so a client dribbling a byte
/// now and then cannot hold a connection slot for days: it gets HAProxy's 408.
pub async fn serve(shared: &Arc<Shared>, mut client: TcpStream, page: &StatsPage, limit: Duration) {
    let whole = page.request_timeout.unwrap_or(limit);
    let head = match timeout(whole, read_head(&mut client, limit)).await {
        Ok(Some(h)) => h,
        Ok(None) => return,
        Err(_) => {
            let _ = client
                .write_all(&crate::runtime::stream::http1::answers::answer(408).wire)
                .await;
            return;
        }
    };
    answer(shared, client, page, &head).await;
}

/// Reads the request head; None when the client left, went silent or sent too much (then
/// answered with a 400).
async fn read_head(client: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        if buf.len() > MAX_HEAD {
            let _ = client
                .write_all(&error_page(
                    "400 Bad request",
                    "Your browser sent an invalid request.",
                    "",
                ))
                .await;
            return None;
        }
        match timeout(limit, client.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Sends the page, the CSV, or HAProxy's 401/503 for `head`, then closes.
async fn answer(shared: &Arc<Shared>, mut client: TcpStream, page: &StatsPage, head: &str) {
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    let reply = if !target.starts_with(&page.uri) {
        error_page(
            "503 Service Unavailable",
            "No server is available to handle this request.",
            "",
        )
    } else if !authorized(head, &page.auth) {
        let realm = format!("www-authenticate: Basic realm=\"{}\"\r\n", page.realm);
        error_page(
            "401 Unauthorized",
            "You need a valid user and password to access this content.",
            &realm,
        )
    } else {
        let csv = crate::runtime::ctl::stats::show_stat(shared);
        let refresh = page
            .refresh
            .map(|r| format!("refresh: {}\r\n", r.as_secs().max(1)))
            .unwrap_or_default();
        if target[page.uri.len()..].contains(";csv") {
            response("200 OK", "text/plain", "", &csv)
        } else {
            response("200 OK", "text/html", &refresh, &html(shared, page, &csv))
        }
    };
    let _ = client.write_all(&reply).await;
    let _ = client.shutdown().await;
}
