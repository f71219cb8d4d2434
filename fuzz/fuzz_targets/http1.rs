//! Fuzz target: the HTTP/1 engine's parts on arbitrary bytes. The first byte picks the
//! part: a request head, a response head (each written back out and parsed again: the
//! same head), or a chunked body (decoded, re-chunked, decoded again: the same data).
#![no_main]

use std::sync::OnceLock;

use haproxide::runtime::stream::http1::body::{copy, Framing, Inbuf, Limits};
use haproxide::runtime::stream::http1::head::Head;
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

/// Decodes `input` as a chunked body: the bytes written and the data count.
fn dechunk(input: &[u8]) -> (Vec<u8>, u64, bool) {
    runtime().block_on(async {
        let mut inb = Inbuf::default();
        let mut r = input;
        let mut out = Vec::new();
        let (n, res) = copy(
            Framing::Chunked,
            true,
            &mut inb,
            &mut r,
            &mut out,
            Limits::default(),
        )
        .await;
        (out, n, res.is_ok())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 3 {
        0 | 1 => {
            let parse = if pick % 3 == 0 {
                Head::request
            } else {
                Head::response
            };
            if let Ok(Some((head, n))) = parse(rest, 101) {
                assert!(n <= rest.len());
                let mut out = Vec::new();
                head.write(&mut out, None);
                // What haproxide writes, it reads back as the same message.
                let again = parse(&out, 101);
                let Ok(Some((h2, m))) = again else {
                    panic!("written head not read back: {again:?} {out:?}");
                };
                assert_eq!(m, out.len());
                assert_eq!(h2.status, head.status);
                // `te` is written reduced to "trailers": the other headers come back as sent.
                let names = |h: &Head| {
                    h.headers()
                        .filter(|(n, _)| *n != b"te")
                        .map(|(n, v)| (n.to_vec(), v.to_vec()))
                        .collect::<Vec<_>>()
                };
                if head.status >= 200 && head.status != 204 {
                    assert_eq!(names(&h2), names(&head));
                }
            }
        }
        _ => {
            let (out, n, ok) = dechunk(rest);
            assert!(n as usize <= rest.len());
            if ok {
                let (again, m, ok2) = dechunk(&out);
                assert!(ok2, "re-chunked body not read back: {out:?}");
                assert_eq!(m, n);
                assert_eq!(again, out);
            }
        }
    }
});
