//! A backend's own state in `show stat`, compared with haproxy 2.6: `lastchg` counts
//! from its last change between UP and DOWN (the start, the first server back, the last
//! one gone, by checks or by maintenance), `downtime` adds up the time it spent DOWN
//! (the current stay included; a stay ended by a server's check is added, one ended
//! by a server leaving maintenance is not, as haproxy does not).

mod common;

use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{ask, proxy_field, start, Backend, Which};

/// `lastchg` and `downtime` of backend `px` (seconds).
fn times(sock: &Path, px: &str) -> (i64, i64) {
    let st = ask(sock, "show stat");
    let num = |c: &str| {
        proxy_field(&st, px, "BACKEND", c)
            .parse::<i64>()
            .unwrap_or(-1)
    };
    (num("lastchg"), num("downtime"))
}

/// The backend times after each step: at start (a server in maintenance, another
/// backend up), out of maintenance, back into it.
fn run(which: Which, echo: &Backend) -> Vec<(i64, i64)> {
    let sock = std::env::temp_dir().join(format!("haproxide-bedown-{which:?}.sock"));
    let _ = std::fs::remove_file(&sock);
    let cfg = format!(
        "global\n  stats socket {} level admin\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
         listen l\n  bind 127.0.122.1:25430\n  server s {} disabled\n\
         listen m\n  bind 127.0.122.1:25431\n  server s {}\n\
         listen c\n  bind 127.0.122.1:25432\n  server s 127.0.122.8:25438 check inter 100 fall 1 rise 1\n",
        sock.display(),
        echo.addr,
        echo.addr
    );
    let _p = start(which, "bedown", &cfg, "127.0.122.1:25430".parse().unwrap());
    let mut seen = Vec::new();
    thread::sleep(Duration::from_millis(2200));
    seen.push(times(&sock, "l"));
    seen.push(times(&sock, "m"));
    seen.push(times(&sock, "c"));
    // The checked server comes up: its backend's time DOWN is counted.
    let up = Backend::echo("127.0.122.8:25438");
    ask(&sock, "enable server l/s");
    thread::sleep(Duration::from_millis(1200));
    seen.push(times(&sock, "l"));
    seen.push(times(&sock, "c"));
    drop(up);
    ask(&sock, "disable server l/s");
    thread::sleep(Duration::from_millis(1200));
    seen.push(times(&sock, "l"));
    seen
}

#[test]
fn backend_lastchg_and_downtime_as_haproxy() {
    let echo = Backend::echo("127.0.122.9:0");
    let want = run(Which::Haproxy, &echo);
    let got = run(Which::Haproxide, &echo);
    // Whole seconds of two clocks a moment apart: one second either way.
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(
            (w.0 - g.0).abs() <= 1 && (w.1 - g.1).abs() <= 1,
            "step {i}: haproxy {want:?}, haproxide {got:?}"
        );
    }
    // What haproxy shows: DOWN since the start; UP again out of maintenance, which
    // does not count the time DOWN (haproxy adds it only when a server's checks bring
    // the backend back); DOWN again since; the backend that stayed UP.
    let near = |v: i64, t: i64| (v - t).abs() <= 1;
    assert!(near(want[0].0, 2) && near(want[0].1, 2), "{want:?}");
    assert!(near(want[1].1, 0), "{want:?}");
    assert!(near(want[3].0, 1) && want[3].1 == 0, "{want:?}");
    assert!(near(want[5].0, 1) && want[5].1 == want[5].0, "{want:?}");
    // The checked server's backend: DOWN since its first check, then UP by its check,
    // that stay counted.
    assert!(near(want[2].0, 2) && near(want[2].1, 2), "{want:?}");
    assert!(near(want[4].0, 1) && near(want[4].1, 2), "{want:?}");
}

/// A backend's `slim` is its `fullconn`: its own, else a tenth (rounded up) of the
/// maxconn of the frontends that reach it by default or by a fixed rule, each once.
#[test]
fn backend_slim_is_fullconn_as_haproxy() {
    let rows = |which: Which| {
        let sock = std::env::temp_dir().join(format!("haproxide-slim-{which:?}.sock"));
        let _ = std::fs::remove_file(&sock);
        let cfg = format!(
            "global\n  maxconn 1000\n  stats socket {} level admin\n\
             defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
             frontend f1\n  bind 127.0.122.1:25433\n  default_backend b1\n\
             frontend f2\n  bind 127.0.122.1:25434\n  maxconn 100\n\
               use_backend b1 if {{ src 10.0.0.1 }}\n  use_backend b1 if {{ src 10.0.0.2 }}\n\
               use_backend b2 if {{ src 10.0.0.3 }}\n  default_backend b3\n\
             listen l\n  bind 127.0.122.1:25435\n  maxconn 33\n  server s 127.0.122.9:25439\n\
             backend b1\n  server s 127.0.122.9:25439\n\
             backend b2\n  server s 127.0.122.9:25439\n\
             backend b3\n  fullconn 77\n  server s 127.0.122.9:25439\n\
             backend b4\n  server s 127.0.122.9:25439\n",
            sock.display()
        );
        let _p = start(which, "slim", &cfg, "127.0.122.1:25433".parse().unwrap());
        let st = ask(&sock, "show stat");
        ["l", "b1", "b2", "b3", "b4"]
            .iter()
            .map(|px| format!("{px}={}", proxy_field(&st, px, "BACKEND", "slim")))
            .collect::<Vec<_>>()
    };
    let want = rows(Which::Haproxy);
    assert_eq!(want, ["l=4", "b1=110", "b2=10", "b3=77", "b4=1"]);
    assert_eq!(rows(Which::Haproxide), want);
}
