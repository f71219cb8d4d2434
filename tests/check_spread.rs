//! When each server's first health check or agent check runs: haproxy spreads them over
//! the shortest interval of a second or more, by their rank among every configured
//! check (a disabled server's included), compared here on the first connection each
//! agent receives.

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{start, Which};

/// Ranks: c/s1 check 0, c/s3 agent 1, a/s1 check 2 and agent 3, a/s3 check 4 (disabled,
/// default `inter` 2 s: the shortest of a second or more).
const CONFIG: &str = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
backend c\n  server s1 127.0.98.2:25251 check inter 200\n\
  server s3 127.0.98.3:25252 agent-check agent-port 25253 agent-inter 200\n\
backend a\n  server s1 127.0.98.4:25254 check inter 6s agent-check agent-port 25255 agent-inter 6s\n\
  server s2 127.0.98.4:25254 disabled\n  server s3 127.0.98.4:25254 check port 25256 disabled\n\
listen x\n  bind 127.0.98.1:25250\n  server s1 127.0.98.4:25254\n";

/// An agent answering `up` that notes when its first connection came.
fn agent(addr: &str, since: Instant) -> Arc<Mutex<Option<Duration>>> {
    let first = Arc::new(Mutex::new(None));
    let l = TcpListener::bind(addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let f = first.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(6);
        while Instant::now() < end {
            match l.accept() {
                Ok((mut c, _)) => {
                    f.lock().unwrap().get_or_insert(since.elapsed());
                    let _ = std::io::Write::write_all(&mut c, b"up\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    first
}

/// When each agent (c/s3, a/s1) was first asked, from the proxy's start.
fn firsts(which: Which) -> [Duration; 2] {
    let since = Instant::now();
    let c3 = agent("127.0.98.3:25253", since);
    let a1 = agent("127.0.98.4:25255", since);
    let _p = start(which, "spread", CONFIG, "127.0.98.1:25250".parse().unwrap());
    std::thread::sleep(Duration::from_millis(4500));
    let at = |m: &Mutex<Option<Duration>>| m.lock().unwrap().unwrap_or(Duration::MAX);
    // The agents' threads end by themselves within 6 s: the next run waits for that.
    let got = [at(&c3), at(&a1)];
    std::thread::sleep(Duration::from_millis(1600));
    got
}

#[test]
fn first_checks_are_spread_as_haproxy_spreads_them() {
    let want = firsts(Which::Haproxy);
    let got = firsts(Which::Haproxide);
    // haproxy's own schedule: 2 s × 1/5 and 6 s × 3/5 after its start.
    assert!(want[0] < Duration::from_millis(900), "haproxy: {want:?}");
    assert!(want[1] > Duration::from_millis(3300), "haproxy: {want:?}");
    for (w, g) in want.iter().zip(&got) {
        let diff = w.abs_diff(*g);
        assert!(
            diff < Duration::from_millis(300),
            "haproxy {want:?}, haproxide {got:?}"
        );
    }
}
