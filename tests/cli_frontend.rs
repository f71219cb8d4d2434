//! `disable frontend`, `enable frontend` and `shutdown frontend` on the stats socket,
//! compared with haproxy: the answers, whether new clients are accepted or refused, the
//! status `show stat` gives, an established session going on, and the warning a
//! shutdown prints.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::{ask, start, stat_field, Backend, Which};

const FE: &str = "127.0.91.90:25190";
const LI: &str = "127.0.91.90:25191";
const SERVER: &str = "127.0.91.91:25192";

fn config(sock: &std::path::Path) -> String {
    format!(
        "global\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind {FE}\n  default_backend b\n\
listen li\n  bind {LI}\n  server s1 {SERVER}\n\
backend b\n  server s1 {SERVER}\n",
        sock.display()
    )
}

/// What a new client of `to` gets: its echo, or why it could not connect.
fn client(to: &str) -> String {
    match TcpStream::connect_timeout(&to.parse().unwrap(), Duration::from_secs(1)) {
        Err(e) => format!("{:?}", e.kind()),
        Ok(mut c) => {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = c.write_all(b"k");
            let mut b = [0u8; 1];
            match c.read(&mut b) {
                Ok(1) => "echo".into(),
                Ok(_) => "closed".into(),
                Err(e) => format!("{:?}", e.kind()),
            }
        }
    }
}

fn run(which: Which) -> Vec<String> {
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-clife-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let p = start(which, "clife", &config(&sock), FE.parse().unwrap());
    let mut seen = Vec::new();
    let mut say = |cmd: &str| seen.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
    let status = |px: &str| stat_field(&ask(&sock, "show stat"), "FRONTEND", "status") + " " + px;
    let mut open = TcpStream::connect(FE).unwrap();
    open.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    for cmd in [
        "disable frontend",
        "disable frontend nope",
        "operator; disable frontend fe",
        "disable frontend fe",
        "disable frontend fe",
    ] {
        say(cmd);
    }
    let mut seen2 = vec![format!("paused: {} {}", client(FE), status("fe"))];
    open.write_all(b"o").unwrap();
    let mut b = [0u8; 1];
    seen2.push(format!(
        "established: {:?}",
        open.read(&mut b).map(|n| n == 1)
    ));
    let mut say = |cmd: &str| seen2.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
    for cmd in ["enable frontend fe", "enable frontend fe"] {
        say(cmd);
    }
    seen2.push(format!("enabled: {} {}", client(FE), status("fe")));
    let mut say = |cmd: &str| seen2.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
    for cmd in [
        "shutdown frontend li",
        "shutdown frontend li",
        "enable frontend li",
        "disable frontend li",
    ] {
        say(cmd);
    }
    seen2.push(format!("shut: {} / fe {}", client(LI), client(FE)));
    let st = ask(&sock, "show stat");
    seen2.push(format!(
        "status fe {} li {}",
        common::proxy_field(&st, "fe", "FRONTEND", "status"),
        common::proxy_field(&st, "li", "FRONTEND", "status")
    ));
    drop(open);
    std::thread::sleep(Duration::from_millis(200));
    seen.extend(seen2);
    seen.extend(p.warnings());
    seen
}

#[test]
fn frontends_paused_resumed_and_shut_down_as_haproxy() {
    let _s = Backend::echo(SERVER);
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(got, want);
    assert!(
        want.iter()
            .any(|l| l == "paused: ConnectionRefused PAUSED fe"),
        "{want:#?}"
    );
    assert!(
        want.iter().any(|l| l.starts_with("Proxy li stopped")),
        "{want:#?}"
    );
}
