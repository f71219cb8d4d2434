//! HTTP mode with real peers, compared with haproxy 2.6: nginx as the origin, curl as the
//! client. The guide's dashboard path (a TCP frontend with `option tcplog` upgraded for
//! an HTTP backend with checks, round robin and `balance source`) and a stock Debian
//! HTTP frontend (`mode http`, `option httplog`, `dontlognull`, the errorfiles): what
//! curl prints, what nginx logs it received, the proxy's log lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{start, Kill, Which};

const BOTH: [Which; 2] = [Which::Haproxy, Which::Haproxide];

fn need(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: ./run-tests installs nginx and curl"
    );
}

/// Two nginx origins (`net`.1 and `net`.2, port 8080) serving the same pages; each logs
/// the request line, the headers a proxy adds or rewrites, and its own address.
fn origins(dir: &Path, net: &str) -> Kill {
    need("/usr/sbin/nginx");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("assets")).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<html><body>dashboard</body></html>\n",
    )
    .unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(www.join("assets/app.js"), &big).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let conf = format!(
        "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{\n  log_format seen '$server_addr \"$request\" xff=$http_x_forwarded_for conn=$http_connection host=$http_host';\n  keepalive_requests 1000;\n\
           server {{ listen {net}.1:8080; listen {net}.2:8080; root {d}/www; access_log {d}/logs/access.log seen;\n\
             location = /api/echo {{ return 200 \"echo $request_method $request_uri\\n\"; }} }}\n}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .args(["-g", "daemon off;", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx");
    common::wait_port(&format!("{net}.1:8080"));
    common::wait_port(&format!("{net}.2:8080"));
    Kill(child)
}

/// curl's output for `urls` on one connection: status lines, headers (sorted out of
/// the date and server lines the origin varies), bodies' sizes.
fn curl(args: &[&str]) -> String {
    need("/usr/bin/curl");
    let out = Command::new("/usr/bin/curl")
        .args(["-s", "-i", "--http1.1", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The origin's own varying headers are not the proxy's doing.
    text.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("date:") && !l.starts_with("last-modified:") && !l.starts_with("etag:")
        })
        .map(|l| {
            if l.len() > 200 {
                format!("<{} bytes>", l.len())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A log line without what differs between runs: ports, dates, timers.
fn mask(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            if w.starts_with('[') || w.ends_with(']') {
                "[D]".to_string()
            } else if let Some((ip, port)) = w.rsplit_once(':') {
                if ip.starts_with("127.") && port.parse::<u16>().is_ok() {
                    format!("{ip}:P")
                } else {
                    w.to_string()
                }
            } else if w.split('/').count() >= 3 && w.split('/').all(|p| p.parse::<i64>().is_ok()) {
                // Times and counts are the machine's; -1 (never happened) is kept.
                w.split('/')
                    .map(|p| if p == "-1" { p } else { "T" })
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Run {
    curl: Vec<String>,
    origin: Vec<String>,
    log: Vec<String>,
}

fn run(which: Which, dir: &Path, cfg: &str, probe: &str, clients: &[Vec<&str>]) -> Run {
    // Each test's own directory name: tests run in parallel.
    let tag = dir
        .file_name()
        .map_or("x".into(), |n| n.to_string_lossy().into_owned());
    let access = dir.join("logs/access.log");
    let before = std::fs::read_to_string(&access)
        .unwrap_or_default()
        .lines()
        .count();
    let p = start(which, &tag, cfg, probe.parse().unwrap());
    let curl_out: Vec<String> = clients.iter().map(|a| curl(a)).collect();
    thread::sleep(Duration::from_millis(300));
    let origin = std::fs::read_to_string(&access)
        .unwrap_or_default()
        .lines()
        .skip(before)
        // Health checks (no request line, or the check's OPTIONS) are not the clients'.
        .filter(|l| !l.contains("\"OPTIONS") && !l.contains("\"\""))
        .map(|l| l.to_string())
        .collect();
    let log = p.lines.lock().unwrap().iter().map(|l| mask(l)).collect();
    Run {
        curl: curl_out,
        origin,
        log,
    }
}

fn compare(tag: &str, dir: &Path, cfg: &str, probe: &str, clients: &[Vec<&str>]) {
    let runs: Vec<Run> = BOTH
        .iter()
        .map(|&w| run(w, dir, cfg, probe, clients))
        .collect();
    let (h, o) = (&runs[0], &runs[1]);
    for (i, (a, b)) in h.curl.iter().zip(&o.curl).enumerate() {
        assert_eq!(b, a, "{tag}: curl {:?} printed other things", clients[i]);
    }
    assert!(
        h.curl[0].contains("200 OK"),
        "{tag}: the pages were not served: {:?}",
        h.curl
    );
    assert_eq!(
        o.origin, h.origin,
        "{tag}: nginx received other requests\nhaproxy log: {:#?}\nhaproxide log: {:#?}",
        h.log, o.log
    );
    assert!(!h.log.is_empty(), "{tag}: haproxy logged nothing");
    let (mut hl, mut ol) = (h.log.clone(), o.log.clone());
    hl.sort();
    ol.sort();
    assert_eq!(ol, hl, "{tag}: log lines differ");
}

fn base_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-peers-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_guides_dashboard_path_serves_nginx_as_haproxy_does() {
    let dir = base_dir("dash");
    let _o = origins(&dir, "127.0.63");
    for balance in ["roundrobin", "source"] {
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode http\n  option httplog\n  option dontlognull\n  timeout connect 5000\n  timeout client 50000\n  timeout server 50000\n  errorfile 503 /etc/haproxy/errors/503.http\n\
             backend backend_emqx_dashboard\n  balance {balance}\n  server emqx_node_1 127.0.63.1:8080 check inter 10s\n  server emqx_node_2 127.0.63.2:8080 check inter 10s\n\
             frontend frontend_emqx_dashboard\n  bind 127.0.63.100:18083\n  option tcplog\n  mode tcp\n  default_backend backend_emqx_dashboard\n\
             frontend probe\n  bind 127.0.63.100:18099\n  mode tcp\n  no log\n  default_backend backend_emqx_dashboard\n"
        );
        let page = "http://127.0.63.100:18083/";
        let clients = vec![
            // One connection: the page, its script, an API call (kept alive by curl).
            vec![
                page,
                "http://127.0.63.100:18083/assets/app.js",
                "http://127.0.63.100:18083/api/echo?x=1",
            ],
            vec!["-H", "Connection: close", page],
            vec![
                "-X",
                "POST",
                "--data",
                "a=1",
                "http://127.0.63.100:18083/api/echo",
            ],
            vec!["http://127.0.63.100:18083/missing"],
        ];
        compare(
            &format!("dashboard {balance}"),
            &dir,
            &cfg,
            "127.0.63.100:18099",
            &clients,
        );
    }
}

#[test]
fn a_stock_debian_http_frontend_serves_nginx_as_haproxy_does() {
    let dir = base_dir("debian");
    let _o = origins(&dir, "127.0.64");
    // Debian's stock defaults, an HTTP frontend added, and forwardfor.
    let cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode http\n  option httplog\n  option dontlognull\n  timeout connect 5000\n  timeout client 50000\n  timeout server 50000\n\
         errorfile 400 /etc/haproxy/errors/400.http\n  errorfile 403 /etc/haproxy/errors/403.http\n  errorfile 408 /etc/haproxy/errors/408.http\n  errorfile 500 /etc/haproxy/errors/500.http\n  errorfile 502 /etc/haproxy/errors/502.http\n  errorfile 503 /etc/haproxy/errors/503.http\n  errorfile 504 /etc/haproxy/errors/504.http\n\
         frontend web\n  bind 127.0.64.100:8080\n  option forwardfor\n  default_backend app\n\
         frontend probe\n  bind 127.0.64.100:8099\n  mode tcp\n  no log\n  default_backend app\n\
         backend app\n  server a 127.0.64.1:8080\n  server b 127.0.64.2:8080\n\
         backend none\n  server gone 127.0.64.3:8080\n\
         frontend down\n  bind 127.0.64.100:8081\n  default_backend none\n";
    let clients = vec![
        vec![
            "http://127.0.64.100:8080/",
            "http://127.0.64.100:8080/assets/app.js",
        ],
        vec![
            "-H",
            "X-Forwarded-For: 10.0.0.1",
            "http://127.0.64.100:8080/api/echo",
        ],
        vec!["-0", "http://127.0.64.100:8080/"],
    ];
    compare("debian", &dir, cfg, "127.0.64.100:8099", &clients);
    // A server that is not there: Debian's 503 page, the same bytes.
    let down: Vec<String> = BOTH
        .iter()
        .map(|&w| {
            let _p = start(
                w,
                "httppeers-down",
                cfg,
                "127.0.64.100:8099".parse().unwrap(),
            );
            curl(&["http://127.0.64.100:8081/"])
        })
        .collect();
    assert_eq!(down[1], down[0], "the 503 page differs");
    assert!(down[0].contains("503 Service Unavailable"), "{}", down[0]);
}

#[test]
fn http_over_a_tls_bind_serves_nginx_as_haproxy_does() {
    let dir = base_dir("tls");
    let _o = origins(&dir, "127.0.65");
    let pem = common::self_signed_pem("httppeers", &["-newkey", "rsa:2048"]);
    // The client side is TLS (`bind … ssl`): the same HTTP through both proxies, logged
    // with the frontend name and its `~`.
    let cfg = format!(
        "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode http\n  option httplog\n  timeout connect 5000\n  timeout client 50000\n  timeout server 50000\n\
         frontend web\n  bind 127.0.65.100:8443 ssl crt {}\n  default_backend app\n\
         frontend probe\n  bind 127.0.65.100:8099\n  mode tcp\n  no log\n  default_backend app\n\
         backend app\n  server a 127.0.65.1:8080\n  server b 127.0.65.2:8080\n",
        pem.display()
    );
    let clients = vec![
        vec![
            "-k",
            "https://127.0.65.100:8443/",
            "https://127.0.65.100:8443/assets/app.js",
            "https://127.0.65.100:8443/api/echo?tls=1",
        ],
        vec![
            "-k",
            "-X",
            "POST",
            "--data",
            "x=2",
            "https://127.0.65.100:8443/api/echo",
        ],
    ];
    compare("tls", &dir, &cfg, "127.0.65.100:8099", &clients);
}

/// Until HTTP/2 exists, an HTTP frontend's `alpn h2,http/1.1` does not offer h2: curl
/// asking for HTTP/2 gets HTTP/1.1 (haproxy would answer in HTTP/2), and `-c` says so.
#[test]
fn alpn_h2_on_an_http_frontend_negotiates_http_1_1() {
    let dir = base_dir("alpn");
    let _o = origins(&dir, "127.0.65");
    let pem = common::self_signed_pem("httppeers-alpn", &["-newkey", "rsa:2048"]);
    let cfg = format!(
        "defaults\n  mode http\n  timeout connect 5000\n  timeout client 50000\n  timeout server 50000\n\
         frontend web\n  bind 127.0.65.100:8444 ssl crt {} alpn h2,http/1.1\n  default_backend app\n\
         backend app\n  server a 127.0.65.1:8080\n",
        pem.display()
    );
    let path = dir.join("alpn.cfg");
    std::fs::write(&path, &cfg).unwrap();
    let check = Command::new(Which::Haproxide.path())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && said.contains("ALPN 'h2' is not offered by haproxide yet"),
        "{said}"
    );
    let _p = common::start_file(
        Which::Haproxide,
        &path,
        "127.0.65.100:8444".parse().unwrap(),
    );
    need("/usr/bin/curl");
    let out = Command::new("/usr/bin/curl")
        .args(["-s", "-k", "--http2", "--max-time", "5", "-o", "/dev/null"])
        .args(["-w", "%{http_version} %{http_code}"])
        .arg("https://127.0.65.100:8444/")
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1.1 200");
}
