//! `%[…]` samples in `log-format` against the real haproxy: what a line prints of the
//! session (addresses, names, TLS facts, variables set by rules, the transaction's
//! method and status, converters), in TCP, HTTP and TLS frontends.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const GLOBAL: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// The log lines of `which` running `cfg` while `client` runs against it.
fn lines(which: Which, cfg: &str, probe: &str, client: &dyn Fn()) -> Vec<String> {
    let p = start(which, "logsamples", cfg, probe.parse().unwrap());
    client();
    thread::sleep(Duration::from_millis(300));
    let out = p.lines.lock().unwrap().clone();
    drop(p);
    out
}

#[test]
fn samples_in_tcp_and_http_lines_match_haproxy() {
    let tcp = Backend::echo("127.0.96.2:0");
    let http = Backend::with("127.0.96.3:0", |mut c: TcpStream, _| {
        let mut buf = [0u8; 2048];
        let _ = c.read(&mut buf);
        let _ =
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nContent-Length: 2\r\n\r\nok");
        thread::sleep(Duration::from_millis(100));
    });
    let cfg = format!(
        "{GLOBAL}frontend ft\n  mode tcp\n  bind 127.0.96.1:24180\n  tcp-request inspect-delay 1s\n  tcp-request content set-var(sess.who) str(alice)\n  tcp-request content set-var(txn.n) int(42)\n  tcp-request content accept if {{ req.len gt 0 }}\n  log-format \"T %[src] %[src,ipmask(24)] %[dst] %[dst_port] %[fe_name,upper] %[be_name] %[var(sess.who)] %[var(txn.n),hex] %[var(txn.none)] %{{+Q}}[var(sess.who)] %[ssl_fc] %[method] %[status] %[bool(1),base64] %[str(),length] %[env(HAPROXIDE_NOPE)] %[src,hex]\"\n  default_backend bt\n\
backend bt\n  mode tcp\n  server s {}\n\
frontend fh\n  mode http\n  bind 127.0.96.1:24181\n  http-request set-var(txn.path) path\n  http-response set-var(txn.ct) res.hdr(content-type)\n  log-format \"H %[method] %[method,lower] %[status] %[var(txn.path)] %[var(txn.ct)] %[be_name] %[ssl_fc_protocol] %[var(txn.path),length]\"\n  default_backend bh\n\
backend bh\n  mode http\n  server s {}\n",
        tcp.addr, http.addr
    );
    let client = || {
        let got = common::roundtrip("127.0.96.1:24180".parse().unwrap(), b"ping");
        assert_eq!(got, b"ping");
        let mut c = TcpStream::connect("127.0.96.1:24181").unwrap();
        c.write_all(b"GET /a/b?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
    };
    let theirs = lines(Which::Haproxy, &cfg, "127.0.96.1:24181", &client);
    let ours = lines(Which::Haproxide, &cfg, "127.0.96.1:24181", &client);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    let all = theirs.join("\n");
    for want in [
        "FT bt alice 000000000000002A - \"alice\" 0 - - AAAAAAAAAAE= 0 - 7F000001",
        "H GET get 200 /a/b text/x bh - 4",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
}

/// A TLS frontend's line: the name the client asked for and the protocol.
#[test]
fn tls_facts_in_lines_match_haproxy() {
    let pem = common::self_signed_pem("logsni", &["-newkey", "rsa:2048"]);
    let echo = Backend::echo("127.0.96.5:0");
    let cfg = format!(
        "{GLOBAL}listen l\n  mode tcp\n  bind 127.0.96.4:24182 ssl crt {}\n  log-format \"S %[ssl_fc] %[ssl_fc_sni] %[ssl_fc_sni,upper] %[ssl_fc_protocol] %[ssl_c_used]\"\n  server s {}\n",
        pem.display(),
        echo.addr
    );
    let to: SocketAddr = "127.0.96.4:24182".parse().unwrap();
    let client = || {
        for sni in ["logs.example", "other.test"] {
            let tcp = TcpStream::connect(to).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
            let conn = rustls::ClientConnection::new(common::tls_client_config(), name).unwrap();
            let mut s = rustls::StreamOwned::new(conn, tcp);
            s.write_all(b"hi").unwrap();
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    };
    let theirs = lines(Which::Haproxy, &cfg, "127.0.96.4:24182", &client);
    let ours = lines(Which::Haproxide, &cfg, "127.0.96.4:24182", &client);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    assert!(
        theirs
            .iter()
            .any(|l| l == "S 1 logs.example LOGS.EXAMPLE TLSv1.3 0"),
        "{theirs:?}"
    );
}
