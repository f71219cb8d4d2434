//! `log-format` and `unique-id-format` lines compared with haproxy 2.6 on the same
//! sessions: every TCP-mode variable, flags (`+Q`, `+X`, `+E`, `%o`), absent values,
//! merged spaces, `%[src]`, a PROXY header (addresses and `%Th`), a refused server.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const BOTH: [Which; 2] = [Which::Haproxy, Which::Haproxide];

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cfg(front: SocketAddr, fe_extra: &str, server: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  timeout connect 300ms\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind {front}{fe_extra}\n  default_backend be\nbackend be\n  server s1 {server}\n"
    )
}

/// How one `|`-separated field of the line is compared between the two proxies.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Byte for byte.
    Same,
    /// A timer in ms: -1 on both sides or within 150 ms; 0 on one side only if the
    /// other is within jitter too.
    Timer,
    /// The client's port (known to the test): printed as decimal or 4 hex digits.
    ClientPort { hex: bool },
    /// A port haproxy picks (source of the server connection): a number, or `-` on both.
    AnyPort { hex: bool },
    /// The process id: each proxy's own.
    Pid { hex: bool },
    /// A date: same shape, within 2 s.
    Date,
}

/// Runs `client` against each proxy started with `config`; the single log line of each.
fn lines_of(
    tag: &str,
    config: &str,
    front: SocketAddr,
    client: &dyn Fn() -> u16,
) -> Vec<(String, u16, i32)> {
    BOTH.iter()
        .map(|&w| {
            let p = start(w, &format!("lf-{tag}"), config, front);
            let port = client();
            let v = p.wait_lines(1, Duration::from_secs(6));
            assert_eq!(v.len(), 1, "{w:?} {tag}: {v:?}");
            (v[0].clone(), port, p.pid())
        })
        .collect()
}

fn shape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect()
}

fn compare(tag: &str, kinds: &[Kind], got: &[(String, u16, i32)]) {
    let (want, wport, wpid) = &got[0];
    let (have, hport, hpid) = &got[1];
    let (wf, hf): (Vec<&str>, Vec<&str>) = (want.split('|').collect(), have.split('|').collect());
    assert_eq!(
        wf.len(),
        hf.len(),
        "{tag}: fields differ\nhaproxy:   {want}\nhaproxide: {have}"
    );
    assert_eq!(wf.len(), kinds.len(), "{tag}: kinds table: {want}");
    for (i, ((w, h), k)) in wf.iter().zip(&hf).zip(kinds).enumerate() {
        let ok = match *k {
            Kind::Same => w == h,
            Kind::Timer => match (w.parse::<i64>(), h.parse::<i64>()) {
                (Ok(-1), Ok(-1)) => true,
                (Ok(a), Ok(b)) => a >= 0 && b >= 0 && (a - b).abs() <= 150,
                _ => false,
            },
            Kind::ClientPort { hex: false } => *w == wport.to_string() && *h == hport.to_string(),
            Kind::ClientPort { hex: true } => {
                *w == format!("{wport:04X}") && *h == format!("{hport:04X}")
            }
            Kind::AnyPort { hex } => {
                let good = |s: &str| {
                    if hex {
                        s.len() == 4 && u16::from_str_radix(s, 16).is_ok()
                    } else {
                        s.parse::<u16>().is_ok_and(|p| p > 0)
                    }
                };
                (w == h && *w == "-") || (good(w) && good(h))
            }
            Kind::Pid { hex: false } => *w == wpid.to_string() && *h == hpid.to_string(),
            Kind::Pid { hex: true } => *w == format!("{wpid:04X}") && *h == format!("{hpid:04X}"),
            Kind::Date => shape(w) == shape(h) && w.len() == h.len() && w[..10] == h[..10],
        };
        assert!(
            ok,
            "{tag}: field {i} ({k:?}) differs: haproxy '{w}', haproxide '{h}'\nhaproxy:   {want}\nhaproxide: {have}"
        );
    }
}

/// A client connection that gives up reading after 5 s.
fn client(front: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(front).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

/// An echo round trip; returns the client's port.
fn echo(front: SocketAddr) -> u16 {
    let mut c = client(front);
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).unwrap();
    let port = c.local_addr().unwrap().port();
    drop(c);
    port
}

#[test]
fn every_tcp_variable_as_haproxy_renders_it() {
    use Kind::*;
    let front = addr("127.0.40.1:24100");
    let _b = Backend::echo("127.0.40.2:24101");
    let vars: &[(&str, Kind)] = &[
        ("%ci", Same),
        ("%cp", ClientPort { hex: false }),
        ("%fi", Same),
        ("%fp", Same),
        ("%bi", Same),
        ("%bp", AnyPort { hex: false }),
        ("%si", Same),
        ("%sp", Same),
        ("%t", Date),
        ("%T", Date),
        ("%Tl", Date),
        ("%f", Same),
        ("%ft", Same),
        ("%b", Same),
        ("%s", Same),
        ("%Th", Timer),
        ("%Tw", Timer),
        ("%Tc", Timer),
        ("%Td", Timer),
        ("%Tt", Timer),
        ("%Tu", Timer),
        ("%B", Same),
        ("%U", Same),
        ("%ts", Same),
        ("%tsc", Same),
        ("%ac", Same),
        ("%fc", Same),
        ("%bc", Same),
        ("%sc", Same),
        ("%rc", Same),
        ("%sq", Same),
        ("%bq", Same),
        ("%ID", Same),
        ("%H", Same),
        ("%pid", Pid { hex: false }),
        ("%ST", Same),
        ("%hr%hs%hrl%hsl", Same),
        ("%[src]", Same),
        ("%%", Same),
        ("a%-b", Same),
    ];
    let fmt: Vec<&str> = vars.iter().map(|v| v.0).collect();
    let kinds: Vec<Kind> = vars.iter().map(|v| v.1).collect();
    let config = cfg(
        front,
        &format!("\n  log-format \"{}\"", fmt.join("|")),
        "127.0.40.2:24101",
    );
    let got = lines_of("all", &config, front, &|| echo(front));
    compare("all", &kinds, &got);
    assert!(got[0].0.contains("|fe|fe|be|s1|"), "{}", got[0].0);
}

#[test]
fn flags_quotes_hex_escapes_and_spaces_as_haproxy() {
    use Kind::*;
    let front = addr("127.0.41.1:24100");
    let _b = Backend::echo("127.0.41.2:24101");
    // `%o` flags apply to what follows; a node's own flags win; `-M` leaves empty values
    // empty; spaces are merged and leading ones dropped.
    let fmt = "  %{+X}ci|%{+X}cp|%{+X}fi|%{+X}fp|%{+X}si|%{+X}sp|%{+X}pid|%{+X}Ts|%{+X}ms|%{+Q}o%ci|%f|%ft|%s|%ID|%[src]|%{-Q}b|%{+E}H|%{+Q,-Q}f|%{+Q+X}ci|%{-M}ID|%{-M,-Q}ID|%{+M}ID|  x   y  ";
    let kinds = [
        Same,
        ClientPort { hex: true },
        Same,
        Same,
        Same,
        Same,
        Pid { hex: true },
        Same, // %Ts in hex: same second unless the runs straddle one.
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
        Same,
    ];
    let config = cfg(
        front,
        &format!("\n  log-format \"{fmt}\"\n  unique-id-format \"%{{+X}}o%ci_%si\""),
        "127.0.41.2:24101",
    );
    let mut got = lines_of("flags", &config, front, &|| echo(front));
    // %Ts in hex (field 7) and %ms (field 8) depend on when each run happened: same shape.
    for (line, _, _) in got.iter_mut() {
        let mut f: Vec<String> = line.split('|').map(str::to_string).collect();
        assert!(
            f[7].len() == 8 && u32::from_str_radix(&f[7], 16).is_ok(),
            "{line}"
        );
        assert!(
            (1..=3).contains(&f[8].len()) && u16::from_str_radix(&f[8], 16).is_ok_and(|m| m < 1000),
            "{line}"
        );
        f[7] = "TS".into();
        f[8] = "MS".into();
        *line = f.join("|");
    }
    compare("flags", &kinds, &got);
    assert!(got[0].0.starts_with("7F000001|"), "{}", got[0].0);
    assert!(got[0].0.ends_with("| x y "), "{}", got[0].0);
}

#[test]
fn absent_server_proxy_header_and_refused_connect_as_haproxy() {
    use Kind::*;
    let fields =
        "%ci|%cp|%fi|%fp|%bi|%si|%sp|%s|%Th|%Tw|%Tc|%Td|%Tt|%B|%U|%ts|%rc|%ID|%{+Q}si|%{+Q}ID";
    let kinds = [
        Same, Same, Same, Same, Same, Same, Same, Same, Timer, Timer, Timer, Timer, Timer, Same,
        Same, Same, Same, Same, Same, Same,
    ];
    // A PROXY v1 header sent 200 ms after the connect: the addresses come from it and
    // %Th counts the wait. The server is disabled: <NOSRV>, no server connection.
    let front = addr("127.0.42.1:24100");
    let config = cfg(
        front,
        &format!(" accept-proxy\n  log-format \"{fields}\"\n  unique-id-format \"%si\""),
        "127.0.42.2:24101 disabled",
    );
    let proxied = || {
        let mut c = client(front);
        thread::sleep(Duration::from_millis(200));
        c.write_all(b"PROXY TCP4 10.1.2.3 10.9.8.7 5555 443\r\nhi")
            .unwrap();
        let _ = c.read(&mut [0u8; 8]);
        5555
    };
    let got = lines_of("nosrv", &config, front, &proxied);
    compare("nosrv", &kinds, &got);
    assert!(
        got[0]
            .0
            .starts_with("10.1.2.3|5555|10.9.8.7|443|-|-|-|<NOSRV>|"),
        "{}",
        got[0].0
    );

    // A server that refuses: the connection was tried (retries), then SC.
    let front = addr("127.0.43.1:24100");
    let config = cfg(
        front,
        &format!("\n  log-format \"{fields}\""),
        "127.0.43.2:24109",
    );
    let refused = || {
        let mut c = client(front);
        let port = c.local_addr().unwrap().port();
        let _ = c.read(&mut [0u8; 8]);
        port
    };
    let kinds_refused: Vec<Kind> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if i == 1 {
                ClientPort { hex: false }
            } else {
                *k
            }
        })
        .collect();
    let got = lines_of("refused", &config, front, &refused);
    compare("refused", &kinds_refused, &got);
}
