//! The condition language compared with haproxy 2.6 on the same configuration and
//! traffic: named and anonymous ACLs, derived keywords (`path_beg`, `hdr_dom`, …),
//! matching methods and flags, operators, converters, `!`/`or`, predefined ACLs, in
//! `use_backend` rules of an HTTP frontend (per request) and of a TCP frontend routing
//! TLS by SNI without terminating it, after `tcp-request content` rules that wait for
//! the ClientHello. Servers answer with their backend's name, so the backend each proxy
//! chose is compared request by request.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{start, Backend, Which};

const BACKENDS: [&str; 8] = [
    "static",
    "api",
    "post",
    "versioned",
    "cookie",
    "local",
    "old",
    "app",
];

/// An HTTP server answering every request with `name`, then closing.
fn http_server(addr: String, name: &'static str) -> Backend {
    Backend::with(&addr, move |mut c: TcpStream, _| {
        if common::read_http_message(&mut c, &mut Vec::new()).is_none() {
            return;
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
            name.len()
        );
        let _ = c.write_all(resp.as_bytes());
    })
}

/// A TCP server that reads the client's first bytes, answers `name` and closes.
fn tcp_server(addr: String, name: &'static str) -> Backend {
    Backend::with(&addr, move |mut c: TcpStream, rec| {
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut b = [0u8; 4096];
        let n = c.read(&mut b).unwrap_or(0);
        rec.lock().unwrap().push(b[..n].to_vec());
        let _ = c.write_all(name.as_bytes());
    })
}

fn config() -> String {
    let mut c = String::from(
        "defaults\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  mode http\n  bind 127.0.69.100:8400\n\
  acl static path_end -i .jpg .gif .png .css .js\n\
  acl static path_beg -i /static /images\n\
  acl api hdr_beg(host) -i api.\n\
  acl api req.hdr(x-api) -m found\n\
  acl dom hdr_dom(host) -i example.com\n\
  acl post method POST PUT\n\
  acl versioned path_reg ^/v[0-9]+/\n\
  acl big_id url_param(id) -m int gt 4\n\
  acl long_session cook(session) -m len ge 8\n\
  acl encoded path,url_dec -m sub a/b\n\
  acl subdir path_dir sub\n\
  acl host_port req.hdr(host),field(2,:) -m int 8080\n\
  acl lower_ua req.fhdr(user-agent),lower -m beg curl/\n\
  use_backend static if static !api\n\
  use_backend api if api || { path_beg /api/ }\n\
  use_backend post if post !dom\n\
  use_backend versioned if versioned big_id or encoded\n\
  use_backend cookie if long_session or subdir\n\
  use_backend local if HTTP_1.0 LOCALHOST\n\
  use_backend old if host_port || lower_ua\n\
  use_backend app unless METH_GET\n\
  default_backend app\n\
frontend tls\n  mode tcp\n  bind 127.0.69.100:8401\n\
  tcp-request inspect-delay 2s\n\
  tcp-request content accept if { req.ssl_hello_type 1 }\n\
  tcp-request content accept if { req.payload(0,4) -m str PING }\n\
  tcp-request content reject if { req.payload(0,4) -m bin 00000000 }\n\
  acl www req_ssl_sni -i www.example.com\n\
  acl api_sni req.ssl_sni -m end .api.example.com\n\
  acl tls13 req.ssl_ver ge 3.3\n\
  use_backend tls_www if www\n\
  use_backend tls_api if api_sni tls13\n\
  use_backend plain if !{ req.ssl_hello_type 1 } !{ req.len 0 }\n\
  default_backend other\n",
    );
    for (i, b) in BACKENDS.iter().enumerate() {
        c.push_str(&format!(
            "backend {b}\n  mode http\n  server s 127.0.69.{}:8000\n",
            i + 1
        ));
    }
    for (i, b) in ["tls_www", "tls_api", "plain", "other"].iter().enumerate() {
        c.push_str(&format!(
            "backend {b}\n  mode tcp\n  server s 127.0.69.{}:8001\n",
            i + 11
        ));
    }
    c
}

fn requests() -> Vec<String> {
    let r = |line: &str, headers: &str| format!("{line}\r\n{headers}Connection: close\r\n\r\n");
    vec![
        r("GET /static/a.txt HTTP/1.1", "Host: www.example.com\r\n"),
        r("GET /img/logo.PNG HTTP/1.1", "Host: h\r\n"),
        r("GET /static/x HTTP/1.1", "Host: api.example.com\r\n"),
        r("GET /api/users HTTP/1.1", "Host: h\r\n"),
        r("GET /x HTTP/1.1", "Host: h\r\nX-Api: 1\r\n"),
        r("PUT /x HTTP/1.1", "Host: h\r\nContent-Length: 0\r\n"),
        r(
            "POST /x HTTP/1.1",
            "Host: www.example.com\r\nContent-Length: 0\r\n",
        ),
        r("GET /v2/item?id=5 HTTP/1.1", "Host: h\r\n"),
        r("GET /v2/item?id=3 HTTP/1.1", "Host: h\r\n"),
        r("GET /x/a%2Fb HTTP/1.1", "Host: h\r\n"),
        r(
            "GET /x HTTP/1.1",
            "Host: h\r\nCookie: a=1; session=abcdefghij\r\n",
        ),
        r("GET /x HTTP/1.1", "Host: h\r\nCookie: session=abc\r\n"),
        r("GET /a/sub/c HTTP/1.1", "Host: h\r\n"),
        r("GET /a/subx/c HTTP/1.1", "Host: h\r\n"),
        r("GET /x HTTP/1.0", ""),
        r("GET /x HTTP/1.1", "Host: h:8080\r\n"),
        r("GET /x HTTP/1.1", "Host: h\r\nUser-Agent: CURL/8.0, x\r\n"),
        r("DELETE /x HTTP/1.1", "Host: h\r\n"),
        r("OPTIONS /x HTTP/1.1", "Host: h\r\n"),
        r("GET /x HTTP/1.1", "Host: h\r\n"),
    ]
}

/// A real TLS 1.3 ClientHello (rustls) naming `sni`.
fn client_hello(sni: &str) -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(common::tls_client_config(), name).unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

/// What the TCP frontend's backends answered for each client.
fn tls_routes(to: SocketAddr) -> Vec<String> {
    let mut out = Vec::new();
    let hellos: Vec<Vec<u8>> = vec![
        client_hello("www.example.com"),
        client_hello("WWW.Example.COM"),
        client_hello("x.api.example.com"),
        client_hello("other.example"),
        b"PING and more".to_vec(),
        b"plain text".to_vec(),
        vec![0, 0, 0, 0, 1],
    ];
    for h in hellos {
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // The hello in two parts: the rules must wait for the whole of it.
        let cut = h.len() / 2;
        c.write_all(&h[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        c.write_all(&h[cut..]).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        out.push(String::from_utf8_lossy(&got).into_owned());
    }
    out
}

/// The backend names each proxy's servers answered with: HTTP requests, then TCP clients,
/// then an openssl s_client ClientHello (whose backend is told by the accept counts).
fn run(which: Which, tls_backends: &[Backend]) -> (Vec<String>, Vec<String>, Vec<usize>) {
    let p = start(
        which,
        "acl",
        &config(),
        "127.0.69.100:8400".parse().unwrap(),
    );
    let to: SocketAddr = "127.0.69.100:8400".parse().unwrap();
    let mut seq = Vec::new();
    for req in requests() {
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        let got = String::from_utf8_lossy(&got).into_owned();
        seq.push(got.rsplit("\r\n\r\n").next().unwrap_or("").to_string());
    }
    let tls = tls_routes("127.0.69.100:8401".parse().unwrap());
    let before: Vec<usize> = tls_backends.iter().map(Backend::count).collect();
    let st = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            "127.0.69.100:8401",
            "-servername",
            "www.example.com",
            "-tls1_3",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl s_client");
    let _ = st;
    std::thread::sleep(Duration::from_millis(200));
    let after: Vec<usize> = tls_backends.iter().map(Backend::count).collect();
    drop(p);
    let delta = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    (seq, tls, delta)
}

#[test]
fn acl_routing_matches_haproxy() {
    let _http: Vec<Backend> = BACKENDS
        .iter()
        .enumerate()
        .map(|(i, b)| http_server(format!("127.0.69.{}:8000", i + 1), b))
        .collect();
    let tls: Vec<Backend> = ["tls_www", "tls_api", "plain", "other"]
        .iter()
        .enumerate()
        .map(|(i, b)| tcp_server(format!("127.0.69.{}:8001", i + 11), b))
        .collect();
    let want = run(Which::Haproxy, &tls);
    let got = run(Which::Haproxide, &tls);
    for (i, (w, g)) in want.0.iter().zip(&got.0).enumerate() {
        assert_eq!(g, w, "HTTP request {i}: {:?}", requests()[i]);
    }
    assert_eq!(got.1, want.1, "TCP clients routed by their first bytes");
    assert_eq!(got.2, want.2, "openssl s_client routed by SNI");
    // The traffic reaches every backend: the rules are not all falling through.
    for b in BACKENDS {
        assert!(want.0.iter().any(|n| n == b), "no request reached {b}");
    }
    for b in ["tls_www", "tls_api", "plain", "other"] {
        assert!(want.1.iter().any(|n| n == b), "no client reached {b}");
    }
    assert_eq!(want.2, vec![1, 0, 0, 0], "s_client's hello goes to tls_www");
    assert!(want.1.iter().any(String::is_empty), "a client was rejected");
}
