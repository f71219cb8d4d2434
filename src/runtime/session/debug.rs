//! `-d`: one line per session event on stdout, in haproxy's debug shape
//! (`00000000:fe.accept(0004)=000a from [127.0.0.1:58524] ALPN=<none>`, then `clicls`,
//! `srvcls`, `closed` with the client and server descriptors, `ffff` once closed). The
//! end lines are printed when the session ends, in the order haproxy shows for a clean end.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Turns debug output on (`-d`).
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

/// Whether `-d` is on.
pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// The next session number, as haproxy numbers them in debug lines.
pub fn next_id() -> u32 {
    NEXT_ID.fetch_add(1, Relaxed)
}

/// An accepted client.
pub fn accept(id: u32, fe: &str, lfd: i32, cfd: i32, peer: std::net::SocketAddr) {
    let peer = crate::runtime::log::fmt_addr(peer);
    println!("{id:08x}:{fe}.accept({lfd:04x})={cfd:04x} from [{peer}] ALPN=<none>");
}

/// The session ended: the side seen closing first, the other, then the session itself.
/// A client that sent nothing is seen after its server (haproxy forwards its FIN at once).
pub fn closed(id: u32, fe: &str, server_fd: Option<i32>, client_sent: bool) {
    let s = server_fd.map_or("ffff".to_string(), |f| format!("{f:04x}"));
    if client_sent {
        println!("{id:08x}:{fe}.clicls[ffff:{s}]");
        println!("{id:08x}:{fe}.srvcls[ffff:ffff]");
    } else {
        println!("{id:08x}:{fe}.srvcls[ffff:{s}]");
        println!("{id:08x}:{fe}.clicls[ffff:ffff]");
    }
    println!("{id:08x}:{fe}.closed[ffff:ffff]");
}
