//! The statistics page's access rules and admin actions compared with haproxy 2.6, on the
//! pattern of the harisekhon configs in the corpus: a `userlist` with groups,
//! `stats http-request deny` by source address, `stats http-request auth unless
//! <http_auth>`, `stats admin if <http_auth_group>`. The answers (401, 403, 503, and the
//! 303 after each POSTed form with its status), the servers' states in the CSV after
//! each action, and the state-change lines on standard error must be the same bytes.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use base64::Engine;
use common::{start, Which};

fn config(net: u8) -> String {
    format!(
        "userlist stats-auth\n  group admin users admin\n  group readonly users viewer\n  user admin insecure-password test\n  user viewer insecure-password test\n\
defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n\
backend app\n  server s1 127.0.{net}.2:8000\n  server s2 127.0.{net}.3:8000\n\
listen stats\n  bind 127.0.{net}.1:1936\n  stats enable\n  stats uri /admin\n\
  acl blocked src 127.0.{net}.9\n  stats http-request deny if blocked\n\
  acl AUTH http_auth(stats-auth)\n  acl AUTH_ADMIN http_auth_group(stats-auth) admin\n\
  stats http-request auth unless AUTH\n  stats admin if AUTH_ADMIN\n"
    )
}

/// One request from `from`, answered and closed: the whole answer.
fn ask(net: u8, from: u8, method: &str, path: &str, user: Option<&str>, body: &str) -> String {
    let to: SocketAddr = format!("127.0.{net}.1:1936").parse().unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let src: SocketAddr = format!("127.0.{net}.{from}:0").parse().unwrap();
    sock.bind(&src.into()).unwrap();
    sock.connect(&to.into()).unwrap();
    let mut c: TcpStream = sock.into();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(u) = user {
        let b = base64::engine::general_purpose::STANDARD.encode(u);
        req.push_str(&format!("Authorization: Basic {b}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    c.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The servers' states in the CSV.
fn states(net: u8) -> String {
    let csv = ask(net, 10, "GET", "/admin;csv", Some("viewer:test"), "");
    csv.lines()
        .filter(|l| l.starts_with("app,s"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{}={}", f[1], f[17])
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(which: Which, net: u8) -> (Vec<String>, Vec<String>) {
    let p = start(
        which,
        &format!("stats-admin-{net}"),
        &config(net),
        format!("127.0.{net}.1:1936").parse().unwrap(),
    );
    let mut out = vec![
        ask(net, 10, "GET", "/admin", None, ""),
        ask(net, 10, "GET", "/admin", Some("admin:wrong"), ""),
        ask(net, 9, "GET", "/admin", Some("admin:test"), ""),
        ask(net, 10, "PUT", "/admin", Some("admin:test"), ""),
        ask(net, 10, "GET", "/other", Some("admin:test"), ""),
        // A HEAD gets the head alone.
        ask(net, 10, "HEAD", "/admin", None, ""),
        // A user outside the admin group may read, not post.
        ask(
            net,
            10,
            "POST",
            "/admin",
            Some("viewer:test"),
            "s=s1&action=maint&b=app",
        ),
    ];
    let forms = [
        ("/admin", "s=s1&action=maint&b=app"),
        ("/admin", "s=s1&action=disable&b=app"),
        ("/admin", "s=s1&action=enable&b=app"),
        ("/admin", "s=s1&action=drain&b=app"),
        ("/admin", "s=s1&action=stop&b=app"),
        ("/admin", "s=s1&action=maint&b=app"),
        ("/admin", "s=s1&action=start&b=app"),
        ("/admin", "s=s1&action=ready&b=app"),
        ("/admin", "s=s1&action=stop&b=app"),
        ("/admin", "s=s1&action=disable&b=app"),
        ("/admin", "s=s1&action=enable&b=app"),
        ("/admin", "s=s1&action=start&b=app"),
        ("/admin;up?scope=app", "s=s1&s=nosuch&action=maint&b=app"),
        ("/admin", "s=s1&action=bogus&b=app"),
        ("/admin", "action=ready&b=app"),
        ("/admin", "s=s1&action=ready&b=nope"),
        ("/admin", "s=s2&action=drain&b=app&s=s1"),
        ("/admin", "s=s1&s=s2&action=eagent&b=app"),
        ("/admin", "s=s1&s=s2&action=ready&b=app"),
    ];
    for (path, form) in forms {
        out.push(ask(net, 10, "POST", path, Some("admin:test"), form));
        out.push(states(net));
    }
    thread::sleep(Duration::from_millis(200));
    let errs: Vec<String> = p
        .errs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("Server app/") || l.contains("no server available"))
        .map(|l| {
            l.split_once(" : ")
                .map_or(l.clone(), |(_, m)| m.to_string())
        })
        .collect();
    (out, errs)
}

#[test]
fn stats_admin_matches_haproxy() {
    let (want, want_errs) = run(Which::Haproxy, 78);
    let (got, got_errs) = run(Which::Haproxide, 79);
    assert_eq!(want.len(), got.len());
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let w = w.replace("127.0.78.", "127.0.79.");
        assert_eq!(g, &w, "answer {i}");
    }
    assert_eq!(got_errs, want_errs, "state-change messages");
    // The page did act: a 401, a 403, the viewer's DENY, a DONE, a PART, an ERRP, and
    // servers in maintenance and drain along the way.
    let all = want.join("\n");
    for s in [
        "401 Unauthorized",
        "403 Forbidden",
        "st=DENY",
        "st=DONE",
        "st=PART;up?scope=app",
        "st=ERRP",
        "st=NONE",
        "s1=MAINT",
        "s1=DRAIN",
    ] {
        assert!(all.contains(s), "{s}: {all}");
    }
    assert!(want_errs.len() >= 8, "{want_errs:#?}");
}

/// A chunked POST whose chunk size overflows, and a URI whose prefix ends inside a
/// UTF-8 character: haproxy answers 400 and the page; haproxide the same, and stays up.
#[test]
fn hostile_stats_requests_get_haproxys_answers() {
    let run = |which: Which, net: u8| -> Vec<String> {
        let to: SocketAddr = format!("127.0.{net}.1:1936").parse().unwrap();
        let _p = start(which, &format!("stats-hostile-{net}"), &config(net), to);
        let raw = |req: &str| {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            c.write_all(req.as_bytes()).unwrap();
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            let s = String::from_utf8_lossy(&out).into_owned();
            s.lines().next().unwrap_or("").to_string()
        };
        let auth = "Authorization: Basic YWRtaW46dGVzdA==\r\n";
        vec![
            raw(&format!("POST /admin HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nab\r\n0\r\n\r\n")),
            raw(&format!("POST /admin HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffe\r\nab\r\n0\r\n\r\n")),
            raw(&format!("GET http://aaaé/admin;csv HTTP/1.1\r\nHost: aaaé\r\n{auth}Connection: close\r\n\r\n")),
            raw(&format!("GET /admin;csv HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")),
        ]
    };
    let want = run(Which::Haproxy, 82);
    let got = run(Which::Haproxide, 83);
    assert_eq!(got, want);
    assert_eq!(want[3], "HTTP/1.1 200 OK");
}
