//! Log target options against haproxy's output on the same events: `len` cuts the line
//! (newline included), `<minlevel>` caps the severity, and each `format`'s header.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{start, Which};

fn lines(which: Which, net: u8) -> Vec<String> {
    let front: SocketAddr = format!("127.0.{net}.1:24730").parse().unwrap();
    // Nothing listens on the checked server: it goes DOWN, the backend has none left.
    let cfg = format!(
        "global\n  log stdout len 80 format raw local0 info\n  log stdout format short local0 info err\n  log stdout format priority local1 info\n  log stdout format timed local0 info\n\
         defaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         backend b\n  server s 127.0.{net}.2:24731 check inter 300ms\n\
         listen l\n  bind {front}\n  server s 127.0.{net}.2:24731\n"
    );
    let p = start(which, &format!("logt-{net}"), &cfg, front);
    thread::sleep(Duration::from_millis(800));
    let mut out: Vec<String> = p.early.clone();
    out.extend(p.lines.lock().unwrap().iter().cloned());
    out.into_iter()
        .filter(|l| l.contains("Server b/s") || l.contains("backend b "))
        .map(|l| {
            // The check's duration and the timed format's date vary between runs.
            let l = l.replace("duration: 1ms", "duration: 0ms");
            match l.split_once('>') {
                Some((pri, rest))
                    if l.starts_with('<') && rest.as_bytes().get(4) == Some(&b'-') =>
                {
                    let after = rest.split_once(' ').map_or("", |x| x.1);
                    format!("{pri}>DATE {after}")
                }
                _ => l,
            }
        })
        .collect()
}

#[test]
fn len_minlevel_and_formats_as_haproxy_writes_them() {
    let want = lines(Which::Haproxy, 215);
    assert!(
        want.iter()
            .any(|l| l.len() == 79 && l.starts_with("Server b/s is DOWN")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|l| l.starts_with("<3>Server b/s is DOWN")),
        "{want:?}"
    );
    let mut got = lines(Which::Haproxide, 216);
    let mut want = want;
    // Each target writes its own line: their order on the shared stdout is not fixed.
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// The tag (and host, with `format rfc3164`) each line carries with a global `log-tag`
/// and proxies' own, by priority.
fn tags(which: Which, net: u8) -> Vec<String> {
    let front: SocketAddr = format!("127.0.{net}.1:24732").parse().unwrap();
    let be = common::Backend::echo(&format!("127.0.{net}.2:24733"));
    let cfg = format!(
        "global\n  log stdout local0\n  log stdout format rfc3164 local1\n  log-tag gtag\n\
         defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  log-tag fetag\n  default_backend b\n\
         backend b\n  log-tag betag\n  server s {}\n  server dead 127.0.{net}.3:24734 check inter 200ms fall 1\n",
        be.addr
    );
    let p = start(which, &format!("logtag-{net}"), &cfg, front);
    assert_eq!(common::roundtrip(front, b"x"), b"x");
    thread::sleep(Duration::from_millis(800));
    let mut out: Vec<String> = p.early.clone();
    out.extend(p.lines.lock().unwrap().iter().cloned());
    let mut t: Vec<String> = out
        .iter()
        .filter_map(|l| {
            // After "<pri>Mmm dd hh:mm:ss": an optional host, then tag[pid]:.
            let words: Vec<&str> = l.split_whitespace().skip(3).collect();
            let at = words.iter().position(|w| w.contains('['))?;
            let tag = words[at].split('[').next()?;
            let pri = l.split('>').next()?;
            let hosts: String = words[..at].iter().map(|h| format!(" host={h}")).collect();
            Some(format!("{pri}> {tag}{hosts}"))
        })
        .collect();
    t.sort();
    t.dedup();
    t
}

#[test]
fn proxies_log_with_their_own_log_tag_as_haproxy() {
    let want = tags(Which::Haproxy, 223);
    let all = want.join("|");
    assert!(
        all.contains("fetag") && all.contains("betag host=localhost"),
        "{want:?}"
    );
    assert_eq!(tags(Which::Haproxide, 224), want);
}

/// RFC 5424 lines as `log-format-sd` fills their structured data: escaped (`+E`),
/// quoted, trailing spaces cut, `-` when empty or unset, for TCP and HTTP frontends.
fn structured(which: Which) -> Vec<String> {
    let be = common::Backend::echo("127.0.116.9:25419");
    let cfg = format!(
        "global\n  log stdout format rfc5424 local0\n\
         defaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f1\n  mode tcp\n  bind 127.0.116.1:25410\n  option tcplog\n\
           log-format-sd \"[x@1 src=\\\"%ci\\\" q=\\\"%{{+Q}}o%[str(a\\\\\\\"b])]\\\" e=\\\"%{{+E}}o%[str(a\\\\\\\"b]c\\\\\\\\d)]\\\" b=\\\"%B\\\"]   \"\n\
           default_backend b1\n\
         frontend f2\n  mode tcp\n  bind 127.0.116.1:25411\n  option tcplog\n  log-format-sd \"%[str()]  \"\n  default_backend b1\n\
         frontend f3\n  mode http\n  bind 127.0.116.1:25412\n  option httplog\n\
           log-format-sd \"[m@2 method=\\\"%HM\\\" status=\\\"%ST\\\"]\"\n  default_backend b2\n\
         frontend f4\n  mode tcp\n  bind 127.0.116.1:25413\n  option tcplog\n  default_backend b1\n\
         backend b1\n  mode tcp\n  log-format-sd \"[never]\"\n  server s {0}\n\
         backend b2\n  mode http\n  server s {0}\n",
        be.addr
    );
    let p = start(which, "logsd", &cfg, "127.0.116.1:25410".parse().unwrap());
    for port in [25410, 25411, 25413] {
        let to: SocketAddr = format!("127.0.116.1:{port}").parse().unwrap();
        assert_eq!(common::roundtrip(to, b"x"), b"x");
    }
    let got = common::once(
        "127.0.116.1:25412",
        "GET /a HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    );
    assert!(got.starts_with("HTTP/1.1 "), "{got}");
    let lines = p.wait_lines(4, Duration::from_secs(5));
    // Without the date, host, pid, client port and times.
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let rest = l.splitn(7, ' ').nth(6).unwrap_or("");
            let sd_and_msg: Vec<&str> = rest.split(" 127.0.0.1:").collect();
            let frontend = w
                .iter()
                .find(|x| x.starts_with('f') && x.len() == 2)
                .copied();
            let sd = sd_and_msg.first().copied().unwrap_or("");
            format!(
                "{} {} {} <{sd}> {}",
                w[0],
                w[3],
                w[5],
                frontend.unwrap_or("?")
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn structured_data_as_haproxy_writes_it() {
    let want = structured(Which::Haproxy);
    assert_eq!(want.len(), 4, "{want:?}");
    let all = want.join("|");
    assert!(all.contains(r#"e=""a\"b\]c\\d"""#), "{want:?}");
    // The echo server is no HTTP server: haproxy's 502.
    assert!(
        all.contains(r#"[m@2 method="GET" status="502"]"#),
        "{want:?}"
    );
    assert!(all.contains("<-> f2"), "{want:?}");
    assert!(all.contains("<-> f4"), "{want:?}");
    assert_eq!(structured(Which::Haproxide), want);
}

/// `log … sample`: which sessions' lines each sampled target takes, two frontends
/// taking turns (each with its own copy of the global targets, whose ranges' progress
/// the copies share, as in haproxy).
fn sampled(which: Which) -> Vec<String> {
    let be = common::Backend::echo("127.0.124.9:25449");
    let cfg = format!(
        "global\n  log stdout format raw sample 1-2,5:6 local0\n  log stdout format priority sample 3:3 local1\n\
         defaults\n  mode tcp\n  log global\n  log-format \"%[src] %ft\"\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend fa\n  bind 127.0.124.1:25440\n  default_backend b\n\
         frontend fb\n  bind 127.0.124.1:25441\n  default_backend b\n\
         backend b\n  server s {}\n",
        be.addr
    );
    let p = start(
        which,
        "logsample",
        &cfg,
        "127.0.124.1:25440".parse().unwrap(),
    );
    for n in 1..=16 {
        let to: SocketAddr = format!("127.0.124.1:{}", 25440 + n % 2).parse().unwrap();
        let mut c = common::connect_from(&format!("127.0.124.{}", 10 + n), to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        std::io::Write::write_all(&mut c, b"x").unwrap();
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut c, &mut b).unwrap();
        drop(c);
        thread::sleep(Duration::from_millis(60));
    }
    thread::sleep(Duration::from_millis(300));
    let out = p.lines.lock().unwrap().clone();
    out
}

#[test]
fn sampled_targets_take_the_lines_haproxy_sends() {
    let want = sampled(Which::Haproxy);
    assert!(want.len() >= 8, "{want:?}");
    assert!(want.iter().any(|l| l.starts_with("<142>")), "{want:?}");
    assert_eq!(sampled(Which::Haproxide), want);
}
