//! `source` with port ranges, `usesrc clientip|client|<addr>|hdr_ip()` and `interface`,
//! compared with haproxy on the same config and traffic: the address each server
//! connection comes from (as the server sees it, and as `ss` shows its device), the
//! log lines and alerts when no source can be bound, and health checks leaving from
//! the source address. Also a server without an address, which takes the client's
//! destination (the shared corpus's `56-momentum-…` config).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{connect_from, start, Backend, Which};

/// Each frontend's port on 127.0.94.1, with the backend it leads to.
const CONFIG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode tcp\n  log global\n  option tcplog\n  retries 1\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
frontend range\n  bind 127.0.94.1:25201\n  default_backend range\n\
backend range\n  server s 127.0.94.10:25210 source 127.0.94.3:25215-25216\n\
frontend clientip\n  bind 127.0.94.1:25202\n  default_backend clientip\n\
backend clientip\n  source 0.0.0.0 usesrc clientip\n  server s 127.0.94.10:25210\n\
frontend client\n  bind 127.0.94.1:25203\n  default_backend client\n\
backend client\n  server s 127.0.94.10:25210 source 0.0.0.0 usesrc client\n\
frontend fixed\n  bind 127.0.94.1:25204\n  default_backend fixed\n\
backend fixed\n  source 127.0.94.3 usesrc 127.0.94.60:25217\n  server s 127.0.94.10:25210\n\
frontend device\n  bind 127.0.94.1:25205\n  default_backend device\n\
backend device\n  server s 127.0.94.11:25211 source 127.0.94.4 interface lo\n\
frontend hdr\n  bind 127.0.94.1:25206\n  mode http\n  option httplog\n  default_backend hdr\n\
backend hdr\n  mode http\n  server s 127.0.94.12:25212 source 0.0.0.0 usesrc hdr_ip(x-src,-1)\n\
frontend hdrtcp\n  bind 127.0.94.1:25207\n  default_backend hdrtcp\n\
backend hdrtcp\n  server s 127.0.94.10:25210 source 0.0.0.0 usesrc hdr_ip(x-src)\n\
frontend momentum\n  bind 127.0.94.1:25208 accept-proxy\n  default_backend out\n\
backend out\n  source 0.0.0.0 usesrc clientip\n  server foo 0.0.0.0\n\
backend checked\n  option httpchk GET /\n  server s 127.0.94.13:25213 check inter 300 source 127.0.94.5\n";

/// A server that records where each connection comes from and holds it until the
/// client leaves.
fn recorder(addr: &str) -> Backend {
    Backend::with(addr, |mut c: TcpStream, rec| {
        let from = c.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        rec.lock().unwrap().push(from.into_bytes());
        let mut b = [0u8; 4096];
        while let Ok(n) = c.read(&mut b) {
            if n == 0 {
                break;
            }
            if b[..n].starts_with(b"GET") {
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
            }
        }
    })
}

/// What `b` saw since `from`, ports replaced by `P` except those listed in `keep`.
fn seen(b: &Backend, from: usize, keep: &[&str]) -> Vec<String> {
    b.accepted.lock().unwrap()[from..]
        .iter()
        .map(|v| {
            let a = String::from_utf8_lossy(v).to_string();
            match a.rsplit_once(':') {
                Some((ip, port)) if !keep.contains(&port) => format!("{ip}:P"),
                _ => a,
            }
        })
        .collect()
}

/// Opens `n` sessions from `src` to `to`, each sending a byte, 300 ms apart, and keeps
/// them open.
fn hold(src: &str, to: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut c = connect_from(src, to.parse().unwrap()).unwrap();
            c.write_all(b"x").unwrap();
            std::thread::sleep(Duration::from_millis(300));
            c
        })
        .collect()
}

/// Ends `held` sessions one by one (two ending in one poll loop would be counted
/// differently from one run to the next), letting the proxy log each.
fn release(held: Vec<TcpStream>) {
    for c in held {
        drop(c);
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One HTTP request with `headers`; the status code, once the proxy has logged it.
fn get(to: &str, headers: &str) -> String {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let req = format!("GET / HTTP/1.1\r\nhost: h\r\n{headers}connection: close\r\n\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    std::thread::sleep(Duration::from_millis(200));
    String::from_utf8_lossy(&v)
        .chars()
        .skip(9)
        .take(3)
        .collect()
}

/// The device `ss` shows for established connections to `dst`: `%lo` after the address.
fn devices(dst: &str) -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args(["-tnH", "state", "established", "dst", dst])
        .output()
        .expect("ss (iproute2, installed by ./run-tests)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string())
        .collect()
}

/// A log line or alert without what differs between runs: the pid, the client port,
/// the date and the timers.
fn mask(l: &str) -> String {
    let l = match l.split_once(") : ") {
        Some((_, m)) if l.starts_with('[') => format!("[ALERT] {m}"),
        _ => l.to_string(),
    };
    l.split(' ')
        .enumerate()
        .map(|(i, w)| {
            let ints = w.split('/').all(|t| t.parse::<i64>().is_ok());
            if w.starts_with("[0") || w.starts_with("[1") || w.starts_with("[2") {
                "[DATE]".to_string()
            } else if w.starts_with("127.0.") && w.contains(':') {
                format!("{}:P", w.rsplit_once(':').unwrap().0)
            } else if i == 4 && ints && w.contains('/') {
                "T".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds what `b` saw since `from` to `out`, once the connections have settled.
fn step(out: &mut Vec<String>, what: &str, b: &Backend, from: usize, keep: &[&str]) {
    std::thread::sleep(Duration::from_millis(300));
    out.push(format!("{what}: {:?}", seen(b, from, keep)));
}

fn run(which: Which, servers: &[&Backend; 4]) -> Vec<String> {
    let [main, dev, http, checked] = servers;
    let p = start(which, "source", CONFIG, "127.0.94.1:25201".parse().unwrap());
    let mut out = Vec::new();
    // Two ports for three sessions: the third finds none.
    let n = main.count();
    let held = hold("127.0.94.50", "127.0.94.1:25201", 3);
    step(&mut out, "range", main, n, &["25215", "25216"]);
    release(held);
    let n = main.count();
    let held = hold("127.0.94.51", "127.0.94.1:25202", 2);
    step(&mut out, "clientip", main, n, &[]);
    release(held);
    // The client's own port is taken by the client's socket on this host.
    let n = main.count();
    let held = hold("127.0.94.52", "127.0.94.1:25203", 1);
    step(&mut out, "client", main, n, &[]);
    release(held);
    let n = main.count();
    let held = hold("127.0.94.53", "127.0.94.1:25204", 2);
    step(&mut out, "fixed", main, n, &["25217"]);
    release(held);
    let n = dev.count();
    let held = hold("127.0.94.54", "127.0.94.1:25205", 1);
    out.push(format!("device: {:?}", devices("127.0.94.11:25211")));
    step(&mut out, "device", dev, n, &[]);
    release(held);
    let n = http.count();
    out.push(format!(
        "hdr: {} {} {}",
        get(
            "127.0.94.1:25206",
            "x-src: 127.0.94.70\r\nx-src: 127.0.94.71, 127.0.94.72\r\n"
        ),
        get("127.0.94.1:25206", ""),
        get("127.0.94.1:25206", "x-src: junk\r\n"),
    ));
    step(&mut out, "hdr", http, n, &[]);
    let n = main.count();
    let held = hold("127.0.94.55", "127.0.94.1:25207", 1);
    step(&mut out, "hdr in tcp", main, n, &[]);
    release(held);
    // A server without an address or port goes where the client was going (here, as
    // the PROXY header says), from where the client came.
    let n = main.count();
    let mut c = TcpStream::connect("127.0.94.1:25208").unwrap();
    c.write_all(b"PROXY TCP4 127.0.94.56 127.0.94.10 40000 25210\r\nx")
        .unwrap();
    step(&mut out, "transparent", main, n, &["40000"]);
    release(vec![c]);
    out.push(format!(
        "checks from: {:?}",
        seen(checked, 0, &[]).last().cloned()
    ));
    // Each held session ends by the client's leaving: wait for every line.
    std::thread::sleep(Duration::from_millis(500));
    out.extend(p.lines.lock().unwrap().iter().map(|l| mask(l)));
    out.extend(
        p.errs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.starts_with("[NOTICE]"))
            .map(|l| mask(l)),
    );
    out
}

#[test]
fn source_usesrc_and_interface_as_haproxy() {
    let main = recorder("127.0.94.10:25210");
    let dev = recorder("127.0.94.11:25211");
    let http = recorder("127.0.94.12:25212");
    let checked = recorder("127.0.94.13:25213");
    let servers = [&main, &dev, &http, &checked];
    let want = run(Which::Haproxy, &servers);
    let got = run(Which::Haproxide, &servers);
    let show = |v: &[String]| v.join("\n");
    assert_eq!(
        show(&got),
        show(&want),
        "haproxide, then haproxy:\n{}\n----\n{}",
        show(&got),
        show(&want)
    );
    // What the comparison rests on, seen in haproxy's own run.
    let all = show(&want);
    for s in [
        // The readiness probe's session took the first port and gave it back.
        "range: [\"127.0.94.3:25216\", \"127.0.94.3:25215\"]",
        "clientip: [\"127.0.94.51:P\", \"127.0.94.51:P\"]",
        "fixed: [\"127.0.94.60:25217\"]",
        "device: [\"127.0.94.4%lo\"]",
        "hdr: 200 500 200",
        "hdr: [\"127.0.94.72:P\", \"127.0.0.1:P\"]",
        "checks from: Some(\"127.0.94.5:P\")",
        "transparent: [\"127.0.94.56:P\"]",
        "Cannot bind to source address before connect() for backend range.",
        "Cannot bind to tproxy source address before connect() for backend client.",
        "Connect() failed for backend fixed: no free ports.",
        " IC ",
    ] {
        assert!(all.contains(s), "{s:?} in haproxy's run:\n{all}");
    }
}

/// `usesrc` or `source … interface` with `uid`: haproxy will not give up root, which
/// those need on every connection, and neither does haproxide: the same alert and exit.
#[test]
fn net_admin_options_keep_root_as_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-netadm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("t.cfg");
    std::fs::write(
        &cfg,
        "global\n  uid 65534\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n\
listen l\n  bind 127.0.94.1:25209\n  server s 127.0.94.10:25210 source 0.0.0.0 interface lo\n",
    )
    .unwrap();
    let run = |which: Which| {
        let out = std::process::Command::new(which.path())
            .args(["-db", "-f"])
            .arg(&cfg)
            .output()
            .unwrap();
        let alerts: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("[ALERT]"))
            // haproxy names itself as invoked (argv[0]), haproxide by its name.
            .map(|l| {
                let l = mask(l);
                match (l.find('['), l.find(".main()]")) {
                    (Some(_), Some(e)) => {
                        let s = l[..e].rfind('[').unwrap_or(0);
                        format!("{}[PROG{}", &l[..s], &l[e..])
                    }
                    _ => l,
                }
            })
            .collect();
        (out.status.code(), alerts)
    };
    let want = run(Which::Haproxy);
    assert_eq!(want.0, Some(1), "{want:?}");
    assert!(want
        .1
        .iter()
        .any(|l| l.contains("so global.uid cannot be changed")));
    assert_eq!(run(Which::Haproxide), want);
}
