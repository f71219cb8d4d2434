//! A reload keeps the health state of the servers present in both configurations.

use std::collections::BTreeMap;
use std::sync::Arc;

use haproxide::ir::Config;
use haproxide::runtime::lb::state::Shared;
use haproxide::runtime::log::Logger;

fn cfg(text: &str) -> Config {
    haproxide::config::check_offline("t.cfg", text.as_bytes().to_vec(), BTreeMap::new())
        .expect("valid")
}

#[test]
fn successor_keeps_health_of_the_same_servers_only() {
    let base = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:1\n";
    let old = Shared::new(
        &cfg(&format!(
            "{base}  server a 127.0.0.2:1 check\n  server b 127.0.0.3:1 check\n"
        )),
        Logger::new("t", None, false),
    );
    // b goes DOWN in the old generation.
    old.backends[0].servers[1]
        .health
        .lock()
        .unwrap()
        .record(false);
    old.backends[0].lb.lock().unwrap().set_down(1);
    // New config: same a and b, plus b moved to another address under the name c.
    let new_cfg = cfg(&format!("{base}  server a 127.0.0.2:1 check\n  server b 127.0.0.3:1 check\n  server c 127.0.0.4:1 check\n"));
    let next = Shared::successor(&new_cfg, Logger::new("t", None, false), &old);
    let lb = next.backends[0].lb.lock().unwrap();
    assert!(lb.slots[0].usable, "a stays UP");
    assert!(!lb.slots[1].usable, "b stays DOWN: no flap");
    assert!(lb.slots[2].usable, "c is new: UP as at start-up");
    assert!(!next.backends[0].servers[1].health.lock().unwrap().up());
    assert!(
        Arc::ptr_eq(&next.actconn, &old.actconn),
        "process-wide counters are shared"
    );
}
