//! The stats socket against haproxy's: the same commands on the same configuration give
//! the same answers, the same log messages and the same effect on where traffic goes.

mod common;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use common::{ask, start, Backend, Which};

/// Which server answers each of `n` connections (each server replies with its name); the
/// sessions have ended when it returns ("N sessions active" in messages must not race).
fn who(front: &str, n: usize) -> String {
    let got = (0..n)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(front).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut b = [0u8; 1];
            match c.read(&mut b) {
                Ok(1) => b[0] as char,
                _ => '-',
            }
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    got
}

fn replier(addr: &str, name: &'static [u8]) -> Backend {
    Backend::with(addr, move |mut c, _| {
        let _ = c.write_all(name);
    })
}

/// What one proxy answers and logs over a scripted operator session.
fn session(which: Which, port: u16) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let dir =
        std::env::temp_dir().join(format!("haproxide-stats-{}-{which:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("admin.sock");
    let front = format!("127.0.185.1:{port}");
    let cfg = format!(
        "global\n  stats socket {} mode 600 level admin\n  log stdout format short local0 notice\ndefaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind {front}\n  balance roundrobin\n  server a 127.0.185.2:24001\n  server b 127.0.185.3:24001 weight 2\n\
backend be\n  server c 127.0.185.4:24001 disabled\n",
        sock.display()
    );
    let p = start(which, "stats", &cfg, front.parse().unwrap());
    let mut answers = Vec::new();
    let mut routes = vec![who(&front, 6)];
    // Each phase's commands, then where four connections go.
    let phases: [&[&str]; 4] = [
        &[
            "show backend",
            "get weight li/a",
            "get weight li/nosuch",
            "get weight nosuch/a",
            "set weight li/b 300",
            "set weight li/b 1e17%",
            "set weight li/b 100000000000000000%",
            "get weight li/b",
            "set weight li/b -5%",
            "set weight li/b 50x",
            "set weight li/b x",
            "set weight li/b 1",
            "get weight li/b",
            "set server li/a state bogus",
            "set server li/a state maint",
        ],
        &["set server li/a state ready", "set server li/b state drain"],
        &[
            "set server li/b state drain",
            "set server li/b state maint",
            "set server li/b state drain",
            "set server li/b state ready",
            "disable server li/a",
            "disable server li/b",
            "enable server li/a",
            "enable server be/c",
            "disable server li",
        ],
        // `enable server` leaves forced drain too (srv_adm_set_ready).
        &[
            "set server li/a state drain",
            "enable server li/a",
            "set server li/a state drain",
            "disable server li/a",
            "enable server li/a",
        ],
    ];
    for cmds in phases {
        for cmd in cmds {
            answers.push(format!("{cmd} -> {}", ask(&sock, cmd)));
        }
        routes.push(who(&front, 4));
    }
    let stat = ask(&sock, "show stat");
    let columns = [0usize, 1, 17, 18, 19, 20, 32, 73, 75, 76];
    let mut rows: Vec<String> = stat
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!(
                "{} fields: {}",
                f.len(),
                columns
                    .iter()
                    .map(|&i| f.get(i).copied().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    rows.extend(routes);
    thread::sleep(Duration::from_millis(200));
    let errs: Vec<String> = p
        .errs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| !l.contains("NOTICE"))
        .map(|l| l.split_once(") : ").map_or(l.clone(), |x| x.1.to_string()))
        .collect();
    // The log lines of state changes, with their severity (`short`: `<sev>`).
    let mut logs: Vec<String> = p.early.clone();
    logs.extend(p.lines.lock().unwrap().iter().cloned());
    (answers, rows, errs, logs)
}

#[test]
fn stats_socket_answers_and_acts_like_haproxy() {
    let _a = replier("127.0.185.2:24001", b"a");
    let _b = replier("127.0.185.3:24001", b"b");
    let (ha, hrows, herrs, hlogs) = session(Which::Haproxy, 24000);
    let (xa, xrows, xerrs, xlogs) = session(Which::Haproxide, 24002);
    assert_eq!(xa, ha, "answers");
    assert_eq!(xrows, hrows, "show stat columns and routing");
    assert_eq!(xerrs, herrs, "messages");
    assert!(hlogs.iter().any(|l| l.starts_with("<1>")), "{hlogs:?}");
    assert_eq!(xlogs, hlogs, "log lines and their severity");
}

/// `show info`'s `node` and `description`: the configured ones, and haproxy's defaults
/// (the host name; no description line) when the configuration has none.
#[test]
fn show_info_node_description_and_listeners_match_haproxy() {
    let fields = |which: Which, extra: &str, net: u8| {
        let dir = std::env::temp_dir().join(format!(
            "haproxide-stats-node-{}-{which:?}-{net}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("admin.sock");
        let front = format!("127.0.{net}.1:24002");
        let cfg = format!(
            "global\n  stats socket {}\n{extra}defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind {front}\n  server a 127.0.{net}.2:24001\n",
            sock.display()
        );
        let p = start(which, "node", &cfg, front.parse().unwrap());
        let info = ask(&sock, "show info");
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
        info.lines()
            .filter(|l| {
                l.starts_with("node:")
                    || l.starts_with("description:")
                    || l.starts_with("Listeners:")
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (k, extra) in [
        "",
        "  node lb-1.example\n  description MQTT   balancer, rack 4\n",
    ]
    .iter()
    .enumerate()
    {
        let want = fields(Which::Haproxy, extra, 243 + 2 * k as u8);
        let got = fields(Which::Haproxide, extra, 244 + 2 * k as u8);
        // The listen's bind and the stats socket.
        assert!(want.contains(&"Listeners: 2".to_string()), "{want:?}");
        assert_eq!(want.len(), 2 + k, "haproxy's lines: {want:?}");
        assert_eq!(got, want, "with {extra:?}");
    }
}

/// `show stat`'s check columns after a few checks: status, code, description, last
/// check info, failed checks and DOWN transitions, as haproxy fills them (timers and
/// durations left out: they are timing).
#[test]
fn check_columns_match_haproxy() {
    let up = Backend::echo("127.0.251.2:0");
    let http = Backend::with("127.0.251.3:0", |mut c, _| {
        let mut b = [0u8; 512];
        let _ = c.read(&mut b);
        let _ = c.write_all(b"HTTP/1.0 503 Service Unavailable\r\n\r\n");
    });
    let columns = [
        "status",
        "check_status",
        "check_code",
        "last_chk",
        "check_desc",
        "check_health",
        "chkfail",
        "chkdown",
    ];
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let dir = std::env::temp_dir().join(format!(
            "haproxide-stats-chk-{}-{which:?}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("admin.sock");
        let front = "127.0.251.1:24003";
        let cfg = format!(
            "global\n  stats socket {}\ndefaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\nlisten li\n  bind {front}\n  server up {} check inter 200ms\n  server refused 127.0.251.4:1 check inter 200ms\nbackend web\n  option httpchk GET /\n  server sick {} check inter 200ms\n",
            sock.display(),
            up.addr,
            http.addr
        );
        let p = start(which, "chkcols", &cfg, front.parse().unwrap());
        thread::sleep(Duration::from_millis(1500));
        let stat = ask(&sock, "show stat");
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
        out.push(
            ["up", "refused", "sick"]
                .iter()
                .map(|sv| {
                    columns
                        .iter()
                        .map(|c| format!("{sv}.{c}={}", common::stat_field(&stat, sv, c)))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert!(out[0][1].contains("check_status=L4CON"), "{:?}", out[0]);
}

/// A stats socket's `maxconn` and `backlog` (and `stats maxconn`): the listen backlog the
/// kernel holds, and a second CLI session waiting while `maxconn 1` is taken.
#[test]
fn stats_socket_maxconn_and_backlog_match_haproxy() {
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let dir = std::env::temp_dir().join(format!(
            "haproxide-stats-mc-{}-{which:?}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (one, two, three) = (
            dir.join("one.sock"),
            dir.join("two.sock"),
            dir.join("three.sock"),
        );
        let front = "127.0.225.1:24004";
        let cfg = format!(
            "global\n  stats maxconn 4\n  stats socket {} maxconn 1\n  stats socket {} backlog 6\n  stats socket {}\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind {front}\n  server a 127.0.225.2:24001\n",
            one.display(),
            two.display(),
            three.display()
        );
        let p = start(which, "statsmc", &cfg, front.parse().unwrap());
        let ss = String::from_utf8_lossy(
            &std::process::Command::new("ss")
                .args(["-lxH"])
                .output()
                .expect("ss")
                .stdout,
        )
        .to_string();
        let backlogs: Vec<String> = [&one, &two, &three]
            .iter()
            .map(|s| {
                ss.lines()
                    .find(|l| l.contains(&*s.display().to_string()))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        // maxconn 1: a held session keeps the next one waiting until it leaves.
        let mut held = std::os::unix::net::UnixStream::connect(&one).unwrap();
        held.write_all(b"prompt\n").unwrap();
        thread::sleep(Duration::from_millis(200));
        let mut next = std::os::unix::net::UnixStream::connect(&one).unwrap();
        next.write_all(b"show info\n").unwrap();
        next.set_read_timeout(Some(Duration::from_millis(400)))
            .unwrap();
        let mut b = [0u8; 16];
        let early = matches!(next.read(&mut b), Ok(n) if n > 0);
        drop(held);
        next.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let later = matches!(next.read(&mut b), Ok(n) if n > 0);
        out.push(format!("backlogs {backlogs:?} early={early} later={later}"));
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(
        out[0],
        "backlogs [\"1\", \"6\", \"4\"] early=false later=true"
    );
}
