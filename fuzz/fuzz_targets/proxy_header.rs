//! Fuzz target: the PROXY v1/v2 header decoder of `accept-proxy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, n)) = haproxide::runtime::proto::proxy_protocol::decode(data) {
        assert!(n <= data.len());
    }
});
