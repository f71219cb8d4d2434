//! `show table`, `set table`, `clear table` on the stats socket: haproxy and haproxide
//! get the same connections and the same commands (listings, key look-ups, data filters,
//! entries set and cleared, every refusal) and must answer the same, entry addresses and
//! the milliseconds left before expiry aside.

mod common;

use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{ask, start, Which};

const FRONT: &str = "127.0.86.1:24910";

fn config(sock: &Path) -> String {
    format!(
        "global\n  stats socket {} level admin\n  stats socket {}.user level user\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind {FRONT}\n  stick-table type ip size 100 expire 30s store conn_cnt,conn_cur,conn_rate(10s),gpc0,gpt0,http_req_rate(10s),gpc1\n  tcp-request connection track-sc0 src\n  default_backend b1\n\
backend b1\n  stick-table type ip size 10 expire 1m\n  stick on src\n  server s1 127.0.86.2:24911\n  server s2 127.0.86.3:24911 id 7\n\
backend t3\n  stick-table type integer size 10\n\
backend t4\n  stick-table type binary len 4 size 10\n\
backend t5\n  stick-table type string len 5 size 10 store gpc0\n\
backend t6\n  stick-table type ipv6 size 10 store gpc0\n",
        sock.display(),
        sock.display()
    )
}

const COMMANDS: &[&str] = &[
    "show table",
    "show table fe",
    "show table fe key 127.0.86.21",
    "show table fe data.conn_cnt gt 1",
    "show table fe data.conn_cnt",
    "show table fe data.nope eq 1",
    "show table fe data.http_err_cnt eq 1",
    "show table fe data.conn_cnt eq x",
    "show table fe data.conn_cnt eq 1 data.gpc0 eq 0 data.gpc1 eq 0 data.gpt0 eq 0",
    "show table fe data.conn_cnt eq 1 data.gpc0 eq 0 data.gpc1 eq 0 data.gpt0 eq 0 data.conn_cur eq 0",
    "show table fe foo",
    "show table nope",
    "set table fe key 127.0.0.9 data.gpc0 5 data.conn_rate 7",
    "set table fe key 127.0.0.9 data.gpc 5",
    "set table fe key 127.0.0.9 data.gpc0",
    "set table fe key 127.0.0.9 foo 1",
    "show table fe key 127.0.0.9",
    "set table fe key 1.2",
    "set table fe key",
    "set table fe data.conn_cnt eq 1",
    "set table t3 key 42",
    "set table t3 key x",
    "set table t3 key 4294967296",
    "set table t4 key ab",
    "show table t4 key ab",
    "clear table t4 key ab",
    "set table t5 key a\\ b=cdefgh data.gpc0 3",
    "set table t5 key zz",
    "set table t6 key ::ffff:1.2.3.4",
    "set table t6 key 1.2.3.4",
    "set table b1 key 10.0.0.1 data.server_id 7",
    "show table b1",
    "show table b1 data.server_id eq 7",
    "show table t3",
    "show table t5",
    "show table t6",
    "clear table fe key 127.0.0.9",
    "clear table fe data.conn_cnt gt 1",
    "show table fe",
    "clear table",
    "set table",
    "set table fe",
    "clear table t3",
    "show table t3",
];

/// Entry addresses and expiry countdowns differ between any two runs.
fn mask(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = match l.split_once(": key=") {
                Some((_, rest)) => format!("P: key={rest}"),
                None => l.to_string(),
            };
            l.split(' ')
                .map(|w| match w.strip_prefix("exp=") {
                    Some(ms) if ms != "0" => {
                        let v: u64 = ms.parse().expect("exp is a number");
                        assert!(v <= 60_000, "exp {v} beyond the table's expire");
                        "exp=E".to_string()
                    }
                    _ => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(w: Which) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("haproxide-table-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let user = dir.join("s.sock.user");
    let s1 = common::Backend::echo("127.0.86.2:24911");
    let p = start(w, "table", &config(&sock), FRONT.parse().unwrap());
    // Two connections from one address, one from another; the b1 table learns both.
    for src in ["127.0.86.20", "127.0.86.21", "127.0.86.20"] {
        let c = common::connect_from(src, FRONT.parse().unwrap()).unwrap();
        thread::sleep(Duration::from_millis(50));
        drop(c);
    }
    // The start-up probe's entry (from 127.0.0.1) goes, so both start alike.
    thread::sleep(Duration::from_millis(300));
    ask(&sock, "clear table fe key 127.0.0.1");
    ask(&sock, "clear table b1 key 127.0.0.1");
    let mut out: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("{c}\n{}", mask(&ask(&sock, c))))
        .collect();
    // A user-level socket sees tables but not their entries, and changes nothing.
    for c in [
        "show table fe",
        "show table fe key 127.0.86.21",
        "set table t3 key 5",
        "clear table fe",
        "show table t3",
    ] {
        out.push(format!("user: {c}\n{}", mask(&ask(&user, c))));
    }
    drop(p);
    drop(s1);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn table_commands_answer_as_haproxy() {
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }
    assert_eq!(want.len(), got.len());
    // The listing shows what the connections did.
    assert!(want
        .iter()
        .any(|l| l.contains("key=127.0.86.20 use=0 exp=E gpt0=0 gpc0=0 conn_cnt=2")));
}
