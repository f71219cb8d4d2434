//! `http-check connect ssl` (the Kubernetes control-plane recipe: `option httpchk`,
//! `http-check connect ssl`, `http-check send meth GET uri /healthz`, `http-check expect
//! status 200`, servers `check verify none` whose traffic passes through in TCP mode):
//! the checks alone go over TLS, against the real openssl, and the health lines match
//! haproxy's; a server that does not speak TLS fails at the handshake.

mod common;

use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

#[test]
fn http_check_connect_ssl_matches_haproxy() {
    let pem = common::self_signed_pem("httpchkssl", &["-newkey", "rsa:2048"]);
    // openssl's `-www` answers any GET with a 200 status page.
    let mut s_server = common::s_server("127.0.84.20:24191", &pem, &["-www"], &[]);
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        // A plain listener: the TLS check's handshake fails there.
        let plain = Backend::with("127.0.84.21:0", |c, _| {
            thread::sleep(Duration::from_millis(50));
            drop(c)
        });
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\n\
listen l\n  bind 127.0.84.1:24190\n  option httpchk\n  http-check connect ssl\n  http-check send meth GET uri /healthz\n  http-check expect status 200\n  default-server inter 1s rise 1 fall 1\n  server api 127.0.84.20:24191 check verify none\n  server plain {} check verify none\n",
            plain.addr
        );
        let p = start(w, "httpchkssl", &cfg, "127.0.84.1:24190".parse().unwrap());
        thread::sleep(Duration::from_millis(1500));
        let lines = p.all_lines();
        drop(p);
        outputs.push(common::health_lines(&lines, &["api", "plain"]));
    }
    let _ = s_server.kill();
    let _ = s_server.wait();
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    assert_eq!(outputs[0].len(), 2, "{:?}", outputs[0]);
    assert!(
        outputs[0][0].contains("Layer7 check passed"),
        "{:?}",
        outputs[0]
    );
    assert!(outputs[0][1].contains("Layer6"), "{:?}", outputs[0]);
}
