//! Unit tests of stick tables: keys, purging, tracked entries, rates.

use super::*;

fn table(key: StickKey, size: u64, nopurge: bool) -> Table {
    Table::new(
        "t",
        StickTable {
            key,
            size,
            expire: None,
            nopurge,
            store: Vec::new(),
            peers: None,
        },
    )
}

#[test]
fn string_keys_truncate_and_stick() {
    let t = table(StickKey::String(4), 10, false);
    let k = t.key(&Raw::Str(b"device-1")).unwrap();
    assert_eq!(&*k, b"devi");
    t.store(k.clone(), 2);
    assert_eq!(t.lookup(&t.key(&Raw::Str(b"devi-other")).unwrap()), Some(2));
    t.store(k.clone(), 1);
    assert_eq!(t.lookup(&k), Some(1));
}

#[test]
fn full_tables_purge_oldest_or_refuse() {
    let t = table(StickKey::Integer, 3, false);
    for i in 0..4u8 {
        t.store(Box::new([i]), i as usize);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(t.len(), 3);
    assert_eq!(t.lookup(&[0]), None);
    assert_eq!(t.lookup(&[3]), Some(3));
    let t = table(StickKey::Integer, 2, true);
    for i in 0..3u8 {
        t.store(Box::new([i]), i as usize);
    }
    assert_eq!(t.lookup(&[2]), None);
    assert_eq!(t.lookup(&[0]), Some(0));
}

#[test]
fn tracked_entries_are_never_purged() {
    let t = table(StickKey::Integer, 1, false);
    let held = t.get(&[1]).unwrap();
    assert!(t.get(&[2]).is_none(), "the only entry is tracked");
    drop(held);
    assert!(t.get(&[2]).is_some());
}

#[test]
fn addresses() {
    let t = table(StickKey::Ip, 10, false);
    let ip: IpAddr = "127.0.0.9".parse().unwrap();
    assert_eq!(&*t.key(&Raw::Addr(ip)).unwrap(), &[127, 0, 0, 9]);
    assert!(t.key(&Raw::Str(b"not an ip")).is_none());
    assert!(t.key(&Raw::Str(b"::1")).is_none());
    assert!(t.key(&Raw::Bool(true)).is_none());
    let b = table(StickKey::Binary(6), 10, false);
    assert_eq!(&*b.key(&Raw::Addr(ip)).unwrap(), &[127, 0, 0, 9, 0, 0]);
    let i = table(StickKey::Integer, 10, false);
    assert_eq!(&*i.key(&Raw::Str(b"12x")).unwrap(), &[0, 0, 0, 12]);
    assert_eq!(&*i.key(&Raw::Str(b"abc")).unwrap(), &[0, 0, 0, 0]);
}

#[test]
fn rates_weigh_the_previous_period() {
    let mut f = Freq::default();
    let t0 = 1 << 32;
    assert_eq!(f.add(1000, 1, t0), 1);
    for _ in 0..9 {
        f.add(1000, 1, t0 + 10);
    }
    assert_eq!(f.read(1000, t0 + 500), 10);
    // Half way through the next period, half of the previous one counts.
    assert_eq!(f.add(1000, 4, t0 + 1500), 4);
    assert_eq!(f.read(1000, t0 + 1500), 5 + 4);
    // Two periods later everything is forgotten.
    assert_eq!(f.read(1000, t0 + 4000), 0);
    // One event and nothing since: the flapping correction keeps it at 1.
    let mut g = Freq::default();
    g.add(1000, 1, t0);
    assert_eq!(g.read(1000, t0 + 1700), 1);
}
