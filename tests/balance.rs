//! Hash-based and random balancing, and `server-template`, run on haproxy and haproxide
//! with the same clients: the server each client lands on must be the same (`hash-type
//! consistent` and map-based, every hash function, `avalanche`, server `id`s, a server
//! leaving the ring), and `random` must follow the weights. Every test uses its own
//! 127.0.N.x addresses.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{assert_logs_match, connect_from, mask_tcplog, start, Backend, Which};
use haproxide::runtime::proto::mqtt::connect_packet;

const DEFAULTS: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// One client: where it connects from, and what it sends first.
struct Client {
    src: String,
    hello: Vec<u8>,
}

/// The backend each client reached (None: closed without a server), one client at a time.
fn landing(
    which: Which,
    tag: &str,
    cfg: &str,
    front: SocketAddr,
    backends: &[Backend],
    clients: &[Client],
) -> Vec<Option<usize>> {
    let p = start(which, tag, cfg, front);
    let out = clients
        .iter()
        .map(|c| land(front, backends, &c.src, &c.hello).1)
        .collect();
    drop(p);
    out
}

/// One client from `src` sending `hello` to `front`: its connection (still open) and
/// the backend whose echo answered (None: closed without a server).
fn land(
    front: SocketAddr,
    backends: &[Backend],
    src: &str,
    hello: &[u8],
) -> (TcpStream, Option<usize>) {
    let before: Vec<usize> = backends.iter().map(Backend::count).collect();
    let mut s = connect_from(src, front).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(hello).unwrap();
    let mut got = vec![0u8; hello.len()];
    let echoed = s.read_exact(&mut got).is_ok();
    let hit = (0..backends.len()).find(|&i| backends[i].count() > before[i]);
    assert_eq!(
        echoed,
        hit.is_some(),
        "echo without a server, or the reverse"
    );
    (s, hit)
}

fn servers(backends: &[Backend], params: &[&str]) -> String {
    backends
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (b, p))| format!("  server s{} {} {p}\n", i + 1, b.addr))
        .collect()
}

/// Compares where each client lands under haproxy and haproxide for each variant of the
/// backend section; returns how many servers haproxy used in each.
fn compare(
    net: u8,
    variants: &[(&str, &str, &[&str])],
    inspect: bool,
    clients: &[Client],
) -> Vec<usize> {
    let mut spread = Vec::new();
    let backends: Vec<Backend> = (1..=4)
        .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
        .collect();
    let front: SocketAddr = format!("127.0.{net}.100:24700").parse().unwrap();
    for (tag, head, params) in variants {
        let rules = if inspect {
            "  tcp-request inspect-delay 2s\n  tcp-request content accept if { req.payload(0,0),mqtt_is_valid }\n"
        } else {
            ""
        };
        let cfg = format!(
            "{DEFAULTS}frontend f\n  bind {front}\n{rules}  default_backend b\nbackend b\n{head}{}",
            servers(&backends[..params.len()], params)
        );
        let want = landing(Which::Haproxy, tag, &cfg, front, &backends, clients);
        let got = landing(Which::Haproxide, tag, &cfg, front, &backends, clients);
        assert_eq!(got, want, "{tag}: server per client differs from haproxy's");
        let mut used: Vec<_> = want.iter().flatten().collect();
        used.sort();
        used.dedup();
        spread.push(used.len());
    }
    spread
}

#[test]
fn consistent_source_hashing_matches_haproxy() {
    let clients: Vec<Client> = (10..70)
        .map(|i| Client {
            src: format!("127.0.230.{i}"),
            hello: b"x".to_vec(),
        })
        .collect();
    let four = ["", "", "", ""];
    let spread = compare(
        230,
        &[
            (
                "consistent",
                "  balance source\n  hash-type consistent\n",
                &four,
            ),
            (
                "consistent-weights-ids",
                "  balance source\n  hash-type consistent\n",
                &["weight 3", "id 9", "weight 2 id 4", ""],
            ),
            // A server leaving the ring moves only its own clients (compared with the
            // first variant by the test below, with haproxy deciding both).
            (
                "consistent-one-down",
                "  balance source\n  hash-type consistent\n",
                &["", "disabled", "", ""],
            ),
            (
                "consistent-avalanche",
                "  balance source\n  hash-type consistent sdbm avalanche\n",
                &four,
            ),
            (
                "map-avalanche",
                "  balance source\n  hash-type map-based sdbm avalanche\n",
                &four,
            ),
        ],
        false,
        &clients,
    );
    assert!(spread.iter().all(|&n| n > 1), "servers used: {spread:?}");
}

#[test]
fn a_broker_leaving_moves_only_its_clients() {
    let net = 231;
    let backends: Vec<Backend> = (1..=4)
        .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
        .collect();
    let front: SocketAddr = format!("127.0.{net}.100:24700").parse().unwrap();
    let clients: Vec<Client> = (10..60)
        .map(|i| Client {
            src: format!("127.0.{net}.{i}"),
            hello: b"x".to_vec(),
        })
        .collect();
    let run = |third: &str| {
        let cfg = format!(
            "{DEFAULTS}frontend f\n  bind {front}\n  default_backend b\nbackend b\n  balance source\n  hash-type consistent\n{}",
            servers(&backends, &["", "", third, ""])
        );
        landing(Which::Haproxide, "leave", &cfg, front, &backends, &clients)
    };
    let (all, without) = (run(""), run("disabled"));
    for (i, (a, w)) in all.iter().zip(&without).enumerate() {
        if *a == Some(2) {
            assert_ne!(*w, Some(2), "client {i} still on the server that left");
        } else {
            assert_eq!(a, w, "client {i} moved though its server stayed");
        }
    }
    assert!(all.contains(&Some(2)), "the third server had no client");
}

#[test]
fn balance_hash_on_the_mqtt_client_id_matches_haproxy() {
    let clients: Vec<Client> = (0..40)
        .map(|i| Client {
            src: "127.0.232.50".into(),
            hello: connect_packet(&format!("device-{i:04}")),
        })
        .collect();
    let expr = "  balance hash req.payload(0,0),mqtt_field_value(connect,client_identifier)\n";
    let four = ["", "", "", ""];
    let variants: Vec<(String, String)> = [
        ("map-sdbm", "map-based sdbm"),
        ("map-djb2", "map-based djb2"),
        ("map-wt6", "map-based wt6"),
        ("map-crc32", "map-based crc32"),
        ("consistent-sdbm", "consistent sdbm"),
        ("consistent-crc32-avalanche", "consistent crc32 avalanche"),
    ]
    .iter()
    .map(|(t, h)| (t.to_string(), format!("{expr}  hash-type {h}\n")))
    .collect();
    let v: Vec<(&str, &str, &[&str])> = variants
        .iter()
        .map(|(t, h)| (t.as_str(), h.as_str(), &four[..]))
        .collect();
    // haproxy picks the server after the inspected bytes went to the forwarder: the
    // MQTT field is never found there and every variant goes round robin.
    let spread = compare(232, &v, true, &clients);
    assert!(spread.iter().all(|&n| n == 4), "servers used: {spread:?}");
    // The whole payload as the key, and the client address.
    let v: [(&str, &str, &[&str]); 2] = [
        ("payload", "  balance hash req.payload(0,0)\n", &four),
        (
            "src",
            "  balance hash src\n  hash-type map-based djb2\n",
            &four,
        ),
    ];
    let by_src: Vec<Client> = (10..40)
        .map(|i| Client {
            src: format!("127.0.233.{i}"),
            hello: connect_packet(&format!("d{i}")),
        })
        .collect();
    // The payload is empty by then: one hash, one server. The address spreads.
    assert_eq!(compare(233, &v, true, &by_src), [1, 4]);
}

#[test]
fn random_follows_weights_and_skips_down_servers() {
    // One draw: the pick follows the weights alone. (The default two draws take the less
    // loaded of two picks, so a previous session the proxy is still closing under a busy
    // host skews the count.)
    let net = 234;
    let backends: Vec<Backend> = (1..=3)
        .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
        .collect();
    let front: SocketAddr = format!("127.0.{net}.100:24700").parse().unwrap();
    let cfg = format!(
        "{DEFAULTS}frontend f\n  bind {front}\n  default_backend b\nbackend b\n  balance random(1)\n{}",
        servers(&backends, &["weight 1", "weight 3", "disabled"])
    );
    let clients: Vec<Client> = (0..400)
        .map(|i| Client {
            src: format!("127.0.{net}.{}", 10 + i % 50),
            hello: b"x".to_vec(),
        })
        .collect();
    let got = landing(Which::Haproxide, "random", &cfg, front, &backends, &clients);
    let n = |s| got.iter().filter(|x| **x == Some(s)).count();
    assert_eq!(n(2), 0, "a disabled server was chosen");
    assert_eq!(n(0) + n(1), 400);
    // Weight 1 against 3: a quarter (expected 100, sd ≈ 8.7; the bounds are 5 sd).
    assert!((57..=143).contains(&n(0)), "s1 took {} of 400", n(0));
}

#[test]
fn server_template_servers_match_haproxy() {
    let net = 235;
    let b = Backend::echo(&format!("127.0.{net}.1:0"));
    let front: SocketAddr = format!("127.0.{net}.100:24700").parse().unwrap();
    let cfg = format!(
        "{DEFAULTS}listen l\n  bind {front}\n  balance roundrobin\n  server-template app 1-3 {} weight 2\n  server-template alt 0-1 {}\n",
        b.addr, b.addr
    );
    let mut logs = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let p = start(which, "template", &cfg, front);
        for _ in 0..10 {
            let mut s = TcpStream::connect(front).unwrap();
            s.write_all(b"x").unwrap();
            let mut one = [0u8; 1];
            s.read_exact(&mut one).unwrap();
            drop(s);
            thread::sleep(Duration::from_millis(20));
        }
        let lines = p.wait_lines(10, Duration::from_secs(5));
        logs.push(lines.iter().map(|l| mask_tcplog(l)).collect::<Vec<_>>());
    }
    assert_logs_match(&logs[0], &logs[1]);
    for name in ["l/app1 ", "l/app3 ", "l/alt0 ", "l/alt1 "] {
        assert!(
            logs[0].iter().any(|l| l.contains(name)),
            "{name} never used"
        );
    }
}

/// The backend each client reached, one client at a time, with every connection kept
/// open (so that servers fill up); after `first` clients, the first `closing` of them
/// leave before the rest come.
fn held_landing(
    which: Which,
    cfg: &str,
    front: SocketAddr,
    backends: &[Backend],
    src: &str,
    (first, closing, total): (usize, usize, usize),
) -> Vec<Option<usize>> {
    let p = start(which, "factor", cfg, front);
    let mut open = Vec::new();
    let mut out = Vec::new();
    for i in 0..total {
        if i == first {
            open.drain(..closing);
            // The proxy counts them gone once it has seen their ends.
            thread::sleep(Duration::from_millis(300));
        }
        let (s, hit) = land(front, backends, src, b"x");
        out.push(hit);
        open.push(s);
    }
    drop(open);
    drop(p);
    out
}

#[test]
fn hash_balance_factor_bounds_loads_as_haproxy() {
    // Every client from one address: without a bound, all on one server; with it, each
    // server takes its weight's share of the load times the factor, and the next ones
    // along the ring take the rest, as in haproxy (which also counts the departed).
    let net = 117;
    let backends: Vec<Backend> = (1..=3)
        .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
        .collect();
    let front: SocketAddr = format!("127.0.{net}.100:24700").parse().unwrap();
    let mut spread = Vec::new();
    for (algo, factor, weights) in [
        (
            "source\n  hash-type consistent",
            150,
            ["weight 1", "weight 1", "weight 1"],
        ),
        (
            "source\n  hash-type consistent",
            125,
            ["weight 1", "weight 2", "weight 3"],
        ),
        ("random(1)", 101, ["weight 2", "weight 1", "weight 1"]),
    ] {
        let cfg = format!(
            "{DEFAULTS}frontend f\n  bind {front}\n  default_backend b\nbackend b\n  balance {algo}\n  hash-balance-factor {factor}\n{}",
            servers(&backends, &weights)
        );
        let src = format!("127.0.{net}.10");
        if !algo.starts_with("random") {
            let counts = (12, 5, 20);
            let want = held_landing(Which::Haproxy, &cfg, front, &backends, &src, counts);
            let got = held_landing(Which::Haproxide, &cfg, front, &backends, &src, counts);
            assert_eq!(got, want, "{algo} factor {factor}: server per client");
            spread.push(distinct(&want));
        } else {
            // Random draws differ; the bound does not: every pick, on either proxy, went
            // to a server still under its share at that moment (a tight factor, so an
            // unbounded random pick would soon break it).
            let counts = (24, 0, 24);
            let want = held_landing(Which::Haproxy, &cfg, front, &backends, &src, counts);
            let got = held_landing(Which::Haproxide, &cfg, front, &backends, &src, counts);
            for (who, picks) in [("haproxy", &want), ("haproxide", &got)] {
                assert_all_eligible(picks, &[2, 1, 1], factor, who);
            }
            spread.push(distinct(&want));
        }
    }
    // Without the bound, one address's clients would all be on one server.
    assert!(
        spread.iter().all(|&n| n >= 2),
        "haproxy spread the load: {spread:?}"
    );
}

/// How many servers a run used.
fn distinct(picks: &[Option<usize>]) -> usize {
    let mut used: Vec<_> = picks.iter().flatten().collect();
    used.sort();
    used.dedup();
    used.len()
}

/// Replays picks made while every earlier connection stayed open, checking each against
/// haproxy's bounded-load share (chash_server_is_eligible, weights in sixteenths).
fn assert_all_eligible(picks: &[Option<usize>], weights: &[u64], factor: u64, who: &str) {
    let eweights: Vec<u64> = weights.iter().map(|w| w * 16).collect();
    let tot: u64 = eweights.iter().sum();
    let mut served = vec![0u64; weights.len()];
    for (i, pick) in picks.iter().enumerate() {
        let s = pick.unwrap_or_else(|| panic!("{who}: client {i} got no server"));
        let tot_slots = ((i as u64 + 1) * factor).div_ceil(100);
        let (per, rem) = (tot_slots / tot, tot_slots % tot);
        let cum: u64 = eweights[..s].iter().sum();
        let w = eweights[s];
        let slots = (w * per + (cum + w) * rem / tot - cum * rem / tot).max(1);
        assert!(
            served[s] < slots,
            "{who}: client {i} went to s{} holding {} of {slots} slots: {picks:?}",
            s + 1,
            served[s]
        );
        served[s] += 1;
    }
}
