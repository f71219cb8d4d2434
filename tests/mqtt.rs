//! The guide end to end: `examples/guide.cfg` (Debian's stock config plus the EMQX guide's
//! sections) run as-is in the foreground, real MQTT clients (mosquitto_pub/sub) through
//! `frontend_emqx_tcp` to two "nodes" on 127.0.0.108/109. The nodes are nginx stream
//! listeners with `proxy_protocol` (an independent PROXY v2 parser: mosquitto 2.0 has none)
//! in front of one mosquitto broker; nginx logs the client address the header carried.
//! The same scenario runs through the real haproxy and the logs must agree.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{wait_port, Kill, Which};

fn need(path: &str) {
    assert!(Path::new(path).exists(), "{path} is missing: ./run-tests installs mosquitto, mosquitto-clients, nginx and libnginx-mod-stream");
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-mqtt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("logs")).unwrap();
    d
}

/// A mosquitto broker listening on `ip`:11883 (each test its own address: tests run in parallel).
fn broker(d: &Path, ip: &str) -> Kill {
    let conf = format!("listener 11883 {ip}\nallow_anonymous true\n");
    common::mosquitto(d, &conf, &[&format!("{ip}:11883")])
}

/// mosquitto on 127.0.0.110:11883 and nginx "nodes" on 127.0.0.108/109:1883 with PROXY v2.
fn nodes(d: &Path) -> (Kill, Kill) {
    nodes_on(d, "127.0.0.110", ["127.0.0.108", "127.0.0.109"])
}

/// A broker on `mq`:11883 and two nginx PROXY-v2 nodes on `node`:1883 in front of it.
fn nodes_on(d: &Path, mq_ip: &str, node: [&str; 2]) -> (Kill, Kill) {
    need("/usr/sbin/nginx");
    need("/usr/lib/nginx/modules/ngx_stream_module.so");
    let mq = broker(d, mq_ip);
    let conf = format!(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{ worker_connections 256; }}\n\
stream {{\n  log_format pp '$server_addr $proxy_protocol_addr:$proxy_protocol_port via $remote_addr:$remote_port';\n  access_log {d}/logs/access.log pp;\n\
  server {{ listen {n1}:1883 proxy_protocol; proxy_pass {mq_ip}:11883; }}\n  server {{ listen {n2}:1883 proxy_protocol; proxy_pass {mq_ip}:11883; }}\n}}\n",
        d = d.display(),
        n1 = node[0],
        n2 = node[1],
    );
    std::fs::write(d.join("nginx.conf"), conf).unwrap();
    let ng = Kill(
        Command::new("/usr/sbin/nginx")
            .args(["-p"])
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx"),
    );
    wait_port(&format!("{}:1883", node[0]));
    wait_port(&format!("{}:1883", node[1]));
    (mq, ng)
}

/// Subscribes through the balancer, publishes 3 messages through it, returns what the
/// subscriber received and nginx's access log (one line per MQTT connection).
fn scenario(which: Which, d: &Path) -> (String, Vec<String>) {
    need("/usr/bin/mosquitto_pub");
    // The guide binds *:1883, which cannot coexist with the nodes' 127.0.0.108:1883 on one
    // machine: only the bind lines move to 127.0.0.1 (as the spec's own guide run does).
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/guide.cfg"))
            .unwrap();
    let guide = d.join("guide.cfg");
    std::fs::write(&guide, text.replace("bind *:", "bind 127.0.0.1:")).unwrap();
    let proxy = Kill(
        Command::new(which.path())
            .arg("-db")
            .arg("-f")
            .arg(&guide)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("proxy"),
    );
    wait_port("127.0.0.1:1883");
    let sub = Command::new("/usr/bin/mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "1883",
            "-t",
            "devices/#",
            "-C",
            "3",
            "-W",
            "10",
            "-v",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    thread::sleep(Duration::from_millis(500));
    for i in 1..=3 {
        let st = Command::new("/usr/bin/mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                "1883",
                "-t",
                &format!("devices/d{i}"),
                "-m",
                &format!("temp={i}"),
            ])
            .status()
            .expect("mosquitto_pub");
        assert!(st.success(), "publish {i} through {which:?}");
    }
    let out = sub.wait_with_output().expect("subscriber");
    drop(proxy);
    thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(d.join("logs/access.log")).unwrap_or_default();
    std::fs::write(d.join("logs/access.log"), "").unwrap();
    let lines = log.lines().map(str::to_string).collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), lines)
}

/// "SERVER CLIENTIP:PORT via PROXYIP:PORT" -> "SERVER CLIENTIP via PROXYIP", checking that
/// the PROXY header carried the MQTT client's own port, not the proxy's.
fn mask(l: &str) -> String {
    let f: Vec<&str> = l.split(' ').collect();
    assert_eq!(f.len(), 4, "{l}");
    let (cip, cport) = f[1].rsplit_once(':').unwrap();
    let (pip, pport) = f[3].rsplit_once(':').unwrap();
    assert_ne!(cport, pport, "the header must carry the client's port: {l}");
    format!("{} {cip} via {pip}", f[0])
}

#[test]
fn guide_carries_mqtt_with_proxy_v2_like_haproxy() {
    let d = dir("guide");
    let _nodes = nodes(&d);
    std::fs::write(d.join("logs/access.log"), "").unwrap();
    let mut results = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let (got, log) = scenario(w, &d);
        assert_eq!(
            got, "devices/d1 temp=1\ndevices/d2 temp=2\ndevices/d3 temp=3\n",
            "messages through {w:?}"
        );
        // Health checks reach nginx too (LOCAL headers, logged with an empty address);
        // keep the MQTT connections, which carry the client's address.
        let conns: Vec<&String> = log.iter().filter(|l| !l.contains(" -:- ")).collect();
        let mqtt: Vec<String> = conns.iter().map(|l| mask(l)).collect();
        assert_eq!(
            mqtt.len(),
            5,
            "readiness probe + 1 subscriber + 3 publishers through {w:?}: {log:?}"
        );
        assert!(
            log.iter().any(|l| l.contains(" -:- ")),
            "health checks (PROXY v2 LOCAL) reached a node through {w:?}"
        );
        // nginx logs at connection end and ports are not allocated in order: compare the
        // connections per node (round robin gives 3 and 2 for 5 connections).
        let mut mqtt = mqtt;
        mqtt.sort();
        results.push(mqtt);
    }
    assert_eq!(
        results[1], results[0],
        "same connections per node, same client addresses"
    );
    // Round robin over the two nodes, as the guide's backend asks.
    assert!(
        results[0].iter().any(|l| l.starts_with("127.0.0.108"))
            && results[0].iter().any(|l| l.starts_with("127.0.0.109"))
    );
}

/// Check lines of `lines` with PIDs and durations masked, sorted.
fn check_lines(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("Health check") || l.contains(" is UP") || l.contains(" is DOWN"))
        .map(|l| {
            let l = l.split_once(") : ").map(|x| x.1).unwrap_or(l);
            match l.find("check duration: ") {
                Some(i) => {
                    let rest = &l[i + 16..];
                    let end = rest.find("ms").unwrap_or(0);
                    format!("{}check duration: Nms{}", &l[..i], &rest[end + 2..])
                }
                None => l.to_string(),
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn mqtt_tcp_check_connect_connack_like_haproxy() {
    let d = dir("tcpcheck");
    let _broker = broker(&d, "127.0.0.112");
    // A port that answers garbage to anything.
    let garbage = std::net::TcpListener::bind("127.0.0.111:11883").unwrap();
    let g = thread::spawn(move || {
        garbage.set_nonblocking(true).unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(8) {
            if let Ok((mut c, _)) = garbage.accept() {
                use std::io::Write;
                let _ = c.write_all(b"HTTP/1.0 400 Bad\r\n\r\n");
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    // MQTT 3.1.1 CONNECT (client id "hc"), then CONNACK "accepted" expected.
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 1s\n\
listen mqtt\n  bind 127.0.0.116:21883\n  option tcp-check\n  option log-health-checks\n  tcp-check connect\n\
  tcp-check send-binary 100e00044d5154540402003c00026863\n  tcp-check expect binary 20020000\n\
  server broker 127.0.0.112:11883 check inter 300 rise 1 fall 1\n  server junk 127.0.0.111:11883 check inter 300 rise 1 fall 1\n";
    std::fs::write(d.join("check.cfg"), cfg).unwrap();
    let mut outs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let p = Command::new(w.path())
            .arg("-db")
            .arg("-f")
            .arg(d.join("check.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(1500));
        let mut k = Kill(p);
        let _ = common::kill(k.0.id(), nix::libc::SIGTERM);
        let out = std::mem::replace(&mut k.0, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>();
        outs.push(check_lines(&text));
    }
    g.join().unwrap();
    assert_eq!(outs[1], outs[0]);
    let all = outs[0].join("\n");
    assert!(
        all.contains("Health check for server mqtt/broker succeeded, reason: Layer7 check passed"),
        "{all}"
    );
    assert!(all.contains("Server mqtt/junk is DOWN"), "{all}");
}

#[test]
fn guide_tls_frontend_carries_mqtt_like_haproxy() {
    let d = dir("guidetls");
    let _nodes = nodes_on(&d, "127.0.0.113", ["127.0.0.114", "127.0.0.115"]);
    // The guide's PEM: `cat emqx.crt emqx.key > emqx.pem`, signed by a test CA.
    let ssl = |args: &[&str]| {
        assert!(Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success())
    };
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ca",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
    ]);
    ssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=emqx.test",
        "-keyout",
        &p("emqx.key"),
        "-out",
        &p("emqx.csr"),
    ]);
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName=DNS:emqx.test,IP:127.0.0.1\n",
    )
    .unwrap();
    ssl(&[
        "x509",
        "-req",
        "-in",
        &p("emqx.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("san.ext"),
        "-out",
        &p("emqx.crt"),
    ]);
    std::fs::write(
        d.join("emqx.pem"),
        [
            std::fs::read(p("emqx.crt")).unwrap(),
            std::fs::read(p("emqx.key")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat-tests/guide-tls.cfg");
    let text =
        std::fs::read_to_string(&spec).unwrap_or_else(|_| panic!("{} is missing", spec.display()));
    let cfg = text
        .replace("bind *:", "bind 127.0.0.1:")
        .replace("/opt/certs/emqx.pem", &p("emqx.pem"))
        .replace("127.0.0.108:1883", "127.0.0.114:1883")
        .replace("127.0.0.109:1883", "127.0.0.115:1883")
        .replace(":1883\n", ":21883\n")
        .replace(":8883 ", ":28883 ")
        .replace(":18083\n", ":28083\n");
    std::fs::write(d.join("guide-tls.cfg"), cfg).unwrap();
    for w in [Which::Haproxy, Which::Haproxide] {
        let proxy = Kill(
            Command::new(w.path())
                .arg("-db")
                .arg("-f")
                .arg(d.join("guide-tls.cfg"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_port("127.0.0.1:28883");
        let sub = Command::new("/usr/bin/mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                "28883",
                "--cafile",
                &p("ca.crt"),
                "-t",
                "t/#",
                "-C",
                "1",
                "-W",
                "10",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(500));
        let st = Command::new("/usr/bin/mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                "28883",
                "--cafile",
                &p("ca.crt"),
                "-t",
                "t/x",
                "-m",
                "over-tls",
            ])
            .status()
            .unwrap();
        assert!(st.success(), "publish over TLS through {w:?}");
        let out = sub.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "over-tls\n",
            "through {w:?}"
        );
        drop(proxy);
        thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(d.join("logs/access.log")).unwrap_or_default();
    // Every MQTT connection reached a node with the client's own address (127.0.0.1).
    assert!(
        log.lines().filter(|l| !l.contains(" -:- ")).all(|l| l
            .split(' ')
            .nth(1)
            .is_some_and(|a| a.starts_with("127.0.0.1:"))),
        "{log}"
    );
}
