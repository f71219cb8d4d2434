//! HTTP authentication compared with haproxy 2.6 on the same configuration and requests:
//! a `userlist` with `insecure-password` and `password` hashes of every method the
//! system's crypt(3) offers (SHA-512, SHA-256, MD5, bcrypt, yescrypt), groups given both
//! ways, `http_auth`, `http_auth_group` as an ACL and as a sample, `http_auth_user`,
//! `http_auth_pass`, `http_auth_type`, and `http-request auth` with and without a realm
//! and with an `errorfile 401` that carries a header of its own. Credentials right,
//! wrong, malformed and in other schemes; the bytes the client got, the heads the server
//! saw and the `option httplog` lines are compared.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{start, Backend, Exchanges, Which};

type Seen = Arc<Mutex<Vec<String>>>;

fn server(addr: &str, seen: Seen) -> Backend {
    common::recording_server(addr, seen, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
}

fn config(page: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n\
userlist L1\n\
  group admin users alice\n\
  group ops\n\
  user alice insecure-password secret\n\
  user bob password $6$saltsalt$vqfwhgbpDQsmrvB6w5/8F5c4CO40.Qu2BBSXMRAH03mtpJ3D3UncG8x1f8qam566S8Gqa9EQmwIXTEp9knEjA. groups ops\n\
  user fay password $5$saltsalt$zOFVkp0Kz29x0a6a4dSx8FZisA8Iwb0KzzvoRDFTN/8\n\
  user carol password $1$saltsalt$bIQc.PIdGyyoVvhKbQOAT/\n\
  user dave password $y$j9T$F5Jx5fExrKuPp53xLKQ..1$vfrMzgKICm8kiF65mdhfrEqvwXhQL6YDyc72jdMob6D groups ops,admin\n\
  user erin password $2b$05$abcdefghijklmnopqrstuuqaAhbBDn3m4RSMow48aGKhH4o1u/vF2\n\
  user gus password\n\
  user hank insecure-password plain password $5$saltsalt$zOFVkp0Kz29x0a6a4dSx8FZisA8Iwb0KzzvoRDFTN/8\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.76.100:8600\n\
  acl auth http_auth(L1)\n\
  acl admin http_auth_group(L1) admin\n\
  acl ops http_auth_group(L1) ops\n\
  http-request auth realm \"Web realm\" if {{ path_beg /r }} !auth\n\
  http-request auth if {{ path_beg /d }} !auth\n\
  http-request deny if {{ path_beg /admin }} !admin\n\
  http-request set-header X-Auth %[http_auth(L1)]\n\
  http-request set-header X-User %[http_auth_user]\n\
  http-request set-header X-Pass %[http_auth_pass]\n\
  http-request set-header X-Type %[http_auth_type]\n\
  http-request set-header X-Group-User %[http_auth_group(L1)]\n\
  http-request set-header X-Ops yes if ops\n\
  default_backend app\n\
frontend paged\n  bind 127.0.76.100:8601\n\
  errorfile 401 {page}\n\
  http-request auth realm R2 unless {{ http_auth(L1) }}\n\
  default_backend app\n\
backend app\n  server s 127.0.76.1:8000\n\
frontend probe\n  bind 127.0.76.100:8699\n  no log\n  default_backend app\n"
    )
}

/// `Authorization: Basic` for `user:pass`.
fn basic(cred: &str) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(cred);
    format!("Authorization: Basic {b}\r\n")
}

/// Requests; those in one inner list share a keep-alive connection.
fn conversations() -> Vec<(u16, Vec<String>)> {
    let r = |line: &str, headers: &str| format!("{line}\r\nHost: ex.com\r\n{headers}\r\n");
    let close = "Connection: close\r\n";
    let with = |cred: &str| format!("{}{close}", basic(cred));
    let mut v = vec![
        // No credentials: the realm given, then the proxy's name.
        (8600, vec![r("GET /r/x HTTP/1.1", close)]),
        (8600, vec![r("GET /d/x HTTP/1.1", close)]),
        (8600, vec![r("GET /r/x HTTP/1.1", &with("alice:wrong"))]),
        (8600, vec![r("GET /r/x HTTP/1.1", &with("nobody:secret"))]),
        (8600, vec![r("GET /r/x HTTP/1.1", &with("gus:"))]),
        // Schemes haproxy reads by prefix, a bearer token, base64 it refuses.
        (
            8600,
            vec![r(
                "GET /r/x HTTP/1.1",
                &format!("Authorization: bAS   YWxpY2U6c2VjcmV0\r\n{close}"),
            )],
        ),
        (
            8600,
            vec![r(
                "GET /r/x HTTP/1.1",
                &format!("Authorization: Bearer abc.def\r\n{close}"),
            )],
        ),
        (
            8600,
            vec![r(
                "GET /r/x HTTP/1.1",
                &format!("Authorization: Basic YWxpY2U6c2VjcmV0=\r\n{close}"),
            )],
        ),
        (
            8600,
            vec![r(
                "GET /x HTTP/1.1",
                &format!("Authorization: Basic YWxpY2U6c2U6Y3JldA==\r\n{close}"),
            )],
        ),
        // A kept-alive client asked again, then let in.
        (
            8600,
            vec![
                r("GET /r/a HTTP/1.1", ""),
                r("GET /r/b HTTP/1.1", &basic("alice:secret")),
                r("GET /admin/c HTTP/1.1", &with("alice:secret")),
            ],
        ),
        (8601, vec![r("GET /p HTTP/1.1", close)]),
        (8601, vec![r("GET /p HTTP/1.1", &with("fay:pw5"))]),
    ];
    // Every hash method, right and wrong; groups from both sides.
    for (cred, path) in [
        ("bob:pw6", "/r/1"),
        ("bob:pw7", "/r/1"),
        ("fay:pw5", "/r/2"),
        ("carol:pw1", "/r/3"),
        ("carol:pw2", "/r/3"),
        ("dave:pwy", "/admin/4"),
        ("dave:pwz", "/d/4"),
        ("erin:pwb", "/r/5"),
        ("erin:pwc", "/r/5"),
        ("bob:pw6", "/admin/6"),
        // insecure-password then password: the hash is the plain password.
        ("hank:pw5", "/r/7"),
        (
            "hank:$5$saltsalt$zOFVkp0Kz29x0a6a4dSx8FZisA8Iwb0KzzvoRDFTN/8",
            "/r/7",
        ),
    ] {
        v.push((8600, vec![r(&format!("GET {path} HTTP/1.1"), &with(cred))]));
    }
    v
}

fn run(which: Which, seen: &Seen, page: &str) -> (Exchanges, Vec<String>) {
    let p = start(
        which,
        "http-auth",
        &config(page),
        "127.0.76.100:8699".parse().unwrap(),
    );
    let to = |port: u16| -> SocketAddr { format!("127.0.76.100:{port}").parse().unwrap() };
    let convs = conversations().into_iter().map(|(port, c)| (to(port), c));
    common::converse_all(&p, convs, seen)
}

#[test]
fn http_auth_matches_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-http-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("401.http");
    std::fs::write(
        &page,
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nWWW-Authenticate: Bearer\r\nX-Page: mine\r\nContent-Length: 5\r\n\r\nwho?\n",
    )
    .unwrap();
    let page = page.to_str().unwrap().to_string();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let _s = server("127.0.76.1:8000", seen.clone());
    let (want, want_log) = run(Which::Haproxy, &seen, &page);
    let (got, got_log) = run(Which::Haproxide, &seen, &page);
    common::assert_same_exchanges((&want, &want_log), (&got, &got_log), &conversations());
    let _ = std::fs::remove_dir_all(&dir);
    // The rules did act: realms, the errorfile's header replaced, users let in by
    // every hash method, groups from both sides, the admin check refusing bob.
    let all: String = want.iter().flat_map(|(r, _)| r.clone()).collect();
    assert!(
        all.contains("www-authenticate: Basic realm=\"Web realm\"\r\n"),
        "{all}"
    );
    assert!(all.contains("www-authenticate: Basic realm=\"web\"\r\n"));
    assert!(
        all.contains(
            "x-page: mine\r\ncontent-length: 5\r\nwww-authenticate: Basic realm=\"R2\"\r\n"
        ) && !all.contains("Bearer\r\n")
    );
    let heads: String = want.iter().flat_map(|(_, srv)| srv.clone()).collect();
    for user in ["bob", "fay", "carol", "dave", "erin", "alice"] {
        assert!(
            heads.contains(&format!("x-auth: 1\r\nx-user: {user}\r\n")),
            "{user}: {heads}"
        );
    }
    assert!(heads.contains("x-group-user: dave\r\nx-ops: yes\r\n"));
    assert!(heads.contains("GET /admin/4 ") && heads.contains("GET /admin/c "));
    assert!(!heads.contains("GET /admin/6 "));
    assert!(
        want_log
            .iter()
            .any(|l| l.contains(" 401 ") && l.contains(" LR-- ")),
        "{want_log:#?}"
    );
    assert_eq!(want[9].0.len(), 3);
}
