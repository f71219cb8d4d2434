//! `agent-check` against the real haproxy: an agent answering a scripted series of lines
//! (health words, drain/ready/maint, weight, maxconn, errors, an empty answer) moves the
//! server through the same states, with the same log lines, in both.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

/// One answer per agent connection, in order; then "up" for ever.
const ANSWERS: &[&[u8]] = &[
    b"up\n",
    b"50%\n",
    b"drain\n",
    b"ready\n",
    b"down # maintenance window\n",
    b"down\n",
    b"up 100%\n",
    b"maint\n",
    // Leaves maintenance while already down: no second DOWN.
    b"ready down\n",
    b"up\n",
    b"bogus\n",
    b"fail bogus\n",
    b"",
    b"up maxconn:x\n",
    b"UP\r\n",
    // Quotes and angle brackets are encoded in the line.
    b"fail # say \"no\" <now>\n",
];

/// The log lines (durations masked) of a proxy running `cfg` for `ms` milliseconds while a
/// fresh agent answers [`ANSWERS`]; and what the agent read on its first connection.
fn run(w: Which, cfg_of: &dyn Fn(&str, &str) -> String, ms: u64) -> (Vec<String>, String) {
    let agent = Backend::with("127.0.93.5:0", |mut c: TcpStream, rec| {
        let n = rec.lock().unwrap().len();
        c.set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        let mut buf = [0u8; 128];
        let got = c.read(&mut buf).unwrap_or(0);
        let _ = c.write_all(ANSWERS.get(n).copied().unwrap_or(b"up\n"));
        rec.lock().unwrap().push(buf[..got].to_vec());
    });
    let server = Backend::echo("127.0.93.6:0");
    let cfg = cfg_of(&agent.addr.to_string(), &server.addr.to_string());
    let p = start(w, "agentchk", &cfg, "127.0.93.1:24170".parse().unwrap());
    thread::sleep(Duration::from_millis(ms));
    let lines: Vec<String> = p
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| common::mask_duration(l))
        .collect();
    drop(p);
    let first = agent
        .accepted
        .lock()
        .unwrap()
        .first()
        .cloned()
        .unwrap_or_default();
    (lines, String::from_utf8_lossy(&first).into_owned())
}

fn config(log_checks: bool) -> impl Fn(&str, &str) -> String {
    move |agent: &str, server: &str| {
        let (ip, port) = agent.split_once(':').unwrap();
        format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n{}\
listen l\n  bind 127.0.93.1:24170\n  server s1 {server} check inter 1s agent-check agent-port {port} agent-addr {ip} agent-inter 200 agent-send \"hello\\n\"\n  server s2 {server}\n",
            if log_checks { "  option log-health-checks\n" } else { "" }
        )
    }
}

#[test]
fn agent_answers_move_the_server_as_in_haproxy() {
    for log_checks in [true, false] {
        let cfg = config(log_checks);
        let theirs = run(Which::Haproxy, &cfg, 5000);
        let ours = run(Which::Haproxide, &cfg, 5000);
        assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
        let all = theirs.0.join("\n");
        assert_eq!(theirs.1, "hello\n");
        for want in [
            "is DOWN/READY (leaving forced maintenance)",
            "enters drain state",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
        if log_checks {
            for want in [
                "info: \"via agent : down (maintenance window)\"",
                "info: \"via agent : fail (bogus)\"",
                "TCPCHK got an empty response at step 2",
                "via agent : up (maxconn string empty or preceded by garbage)",
                "via agent : fail (say <22>no<22> <3C>now<3E>)",
            ] {
                assert!(all.contains(want), "{want} in {all}");
            }
        }
    }
}

/// What `show stat` says of servers whose agent answers always the same: DOWN (agent),
/// DRAIN (agent), a weight and a maxconn it set, and the agent columns.
#[test]
fn agent_state_in_show_stat_matches_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-agentstat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("stats.sock");
    let cols = [
        "status",
        "weight",
        "slim",
        "agent_status",
        "agent_code",
        "agent_desc",
        "last_agt",
        "agent_rise",
        "agent_fall",
        "agent_health",
    ];
    for answer in [&b"down # gone\n"[..], b"drain\n", b"50% maxconn:5\n"] {
        let mut rows = Vec::new();
        for w in [Which::Haproxy, Which::Haproxide] {
            let agent = Backend::with("127.0.93.7:0", move |mut c: TcpStream, _| {
                let _ = c.write_all(answer);
            });
            let server = Backend::echo("127.0.93.8:0");
            let cfg = format!(
                "global\n  stats socket {} level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen l\n  bind 127.0.93.1:24171\n  server s1 {} weight 10 agent-check agent-port {} agent-addr 127.0.93.7 agent-inter 200\n",
                sock.display(),
                server.addr,
                agent.addr.port()
            );
            let p = start(w, "agentstat", &cfg, "127.0.93.1:24171".parse().unwrap());
            thread::sleep(Duration::from_millis(700));
            let stat = common::ask(&sock, "show stat");
            drop(p);
            rows.push(
                cols.iter()
                    .map(|c| format!("{c}={}", common::stat_field(&stat, "s1", c)))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(rows[1], rows[0], "haproxide (left), haproxy (right)");
    }
}
