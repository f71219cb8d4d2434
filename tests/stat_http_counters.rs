//! `show stat`'s HTTP columns against the real haproxy: each row's `mode`, a frontend's
//! requests (`req_tot`), answers by status class (`hrsp_*`) and the requests it answered
//! itself (`intercepted`: monitor, redirect, `return`, auth, the stats page), a
//! backend's and a server's requests and answers; TCP rows keep them empty. Also each
//! server's and backend's `lbtot` (the algorithm's choices), a server's `stot` (every
//! connection attempt, retries too), `lastsess`, failed connections, retries and
//! redispatches (`econ`, `wretr`, `wredis`), bytes (`bin`, `bout`), a backend's
//! `uweight` and `downtime`; what a frontend refused (`dcon`, `dses`, `dreq`, `ereq`).

mod common;

use common::{ask, start, Which};
use std::path::Path;
use std::time::Duration;

const WEB: &str = "127.0.104.1:25300";
const STATS: &str = "127.0.104.1:25301";
const RAW: &str = "127.0.104.1:25302";

fn config(sock: &Path) -> String {
    format!(
        "global\n  stats socket {} level admin\n\
userlist u\n  user a insecure-password b\n\
defaults\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n\
frontend web\n  mode http\n  bind {WEB}\n  monitor-uri /mon\n\
  http-request redirect location /x if {{ path /r }}\n\
  http-request deny if {{ path /d }}\n\
  http-request return status 202 if {{ path /ret }}\n\
  http-request auth if {{ path /auth }}\n\
  use_backend other if {{ path /other }}\n  use_backend dead if {{ path /dead }}\n  use_backend redisp if {{ path_beg /redisp }}\n  default_backend app\n\
listen st\n  mode http\n  bind {STATS}\n  stats enable\n  stats uri /\n\
frontend raw\n  mode tcp\n  bind {RAW}\n  default_backend echo\n\
frontend gate\n  mode tcp\n  bind 127.0.104.1:25307\n  tcp-request connection reject\n  default_backend echo\n\
frontend gate2\n  mode tcp\n  bind 127.0.104.1:25308\n  tcp-request session reject\n  default_backend echo\n\
backend app\n  mode http\n  http-request redirect location /y if {{ path /br }}\n\
  server s 127.0.104.2:25303\n\
backend other\n  mode http\n  server s 127.0.104.2:25304\n\
backend echo\n  mode tcp\n  server s 127.0.104.2:25305\n\
backend dead\n  mode http\n  retries 2\n  server s 127.0.104.2:25306\n\
backend redisp\n  mode http\n  option redispatch\n  retries 1\n\
  server down 127.0.104.2:25306\n  server up 127.0.104.2:25303\n\
backend unused\n  mode http\n  server s1 127.0.104.2:25303 weight 3\n  server s2 127.0.104.2:25303 weight 5\n",
        sock.display()
    )
}

/// The columns this test is about, per row, after the same traffic.
fn run(which: Which) -> Vec<String> {
    let sock = std::env::temp_dir().join(format!(
        "haproxide-stathttp-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let _p = start(which, "stathttp", &config(&sock), RAW.parse().unwrap());
    for path in [
        "/", "/a", "/mon", "/r", "/d", "/ret", "/auth", "/other", "/br", "/x", "/dead", "/redisp1",
        "/redisp2", "/redisp3",
    ] {
        let got = common::once(
            WEB,
            &format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
        );
        assert!(got.starts_with("HTTP/1.1 "), "{path}: {got}");
    }
    for _ in 0..2 {
        assert!(common::once(STATS, "GET / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
    }
    assert!(common::once(WEB, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    assert!(common::once(RAW, "ping").starts_with("ping"));
    for gate in ["127.0.104.1:25307", "127.0.104.1:25308"] {
        let mut c = std::net::TcpStream::connect(gate).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = std::io::Read::read(&mut c, &mut [0u8; 8]);
    }
    std::thread::sleep(Duration::from_millis(200));
    let stat = ask(&sock, "show stat");
    let head: Vec<&str> = stat
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let cols = [
        "mode",
        "req_tot",
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
        "hrsp_other",
        "intercepted",
        "cache_lookups",
        "cache_hits",
        "-",
        "stot",
        "lbtot",
        "uweight",
        "downtime",
        "lastsess",
        "econ",
        "wretr",
        "wredis",
        "bin",
        "bout",
        "dcon",
        "dses",
        "dreq",
        "ereq",
    ];
    let _ = std::fs::remove_file(&sock);
    stat.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let mut out = format!("{},{}", f[0], f[1]);
            for c in cols {
                let i = head.iter().position(|h| *h == c).unwrap();
                // Seconds since the last session: whether there was one.
                // The stats page is haproxide's own, shorter than haproxy's.
                let v = match (c, f[i]) {
                    ("lastsess", "" | "-1") => f[i],
                    ("lastsess", _) => "seen",
                    ("bout", _) if f[0] == "st" => "page",
                    _ => f[i],
                };
                out.push_str(&format!(" {c}={v}"));
            }
            out
        })
        .collect()
}

#[test]
fn http_counters_in_show_stat_match_haproxy() {
    let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let _app = common::recording_server("127.0.104.2:25303", seen.clone(), resp);
    let _other = common::recording_server(
        "127.0.104.2:25304",
        seen,
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    let _echo = common::Backend::echo("127.0.104.2:25305");
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(got, want);
    // haproxy's own figures: 15 requests on web (the bad one too), 4 answered by itself
    // (monitor, redirect, return, auth; not the backend's redirect).
    let web = want.iter().find(|l| l.starts_with("web,FRONTEND")).unwrap();
    assert!(web.contains(" mode=http req_tot=15 "), "{web}");
    assert!(web.contains(" intercepted=4 "), "{web}");
    assert!(web.contains(" dreq=1 ereq=1"), "{web}");
    let gate = want
        .iter()
        .find(|l| l.starts_with("gate,FRONTEND"))
        .unwrap();
    assert!(gate.contains(" dcon=1 dses=0 "), "{gate}");
    let gate2 = want
        .iter()
        .find(|l| l.starts_with("gate2,FRONTEND"))
        .unwrap();
    assert!(gate2.contains(" dcon=0 dses=1 "), "{gate2}");
    let other = want.iter().find(|l| l.starts_with("other,s")).unwrap();
    assert!(
        other.contains(" req_tot=1 ") && other.contains(" hrsp_4xx=1 "),
        "{other}"
    );
    let dead = want.iter().find(|l| l.starts_with("dead,s")).unwrap();
    assert!(dead.contains(" stot=3 lbtot=1 "), "{dead}");
    let unused = want
        .iter()
        .find(|l| l.starts_with("unused,BACKEND"))
        .unwrap();
    assert!(
        unused.contains(" uweight=8 ") && unused.contains(" lastsess=-1"),
        "{unused}"
    );
    let raw = want.iter().find(|l| l.starts_with("raw,FRONTEND")).unwrap();
    assert!(
        raw.contains(" mode=tcp ") && raw.contains(" hrsp_2xx= "),
        "{raw}"
    );
}
