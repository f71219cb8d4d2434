//! HTTP compression settings (`compression algo|type|offload`), as haproxy keeps them per
//! proxy.

/// A compression algorithm haproxy 2.6 (built with libslz, as Debian's) offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// `identity`: the body as it is, but re-chunked and marked `vary`.
    Identity,
    /// `deflate`: zlib-wrapped deflate (RFC 1950).
    Deflate,
    /// `raw-deflate`: bare deflate (RFC 1951), announced as `deflate`.
    RawDeflate,
    /// `gzip` (RFC 1952).
    Gzip,
}

impl Algo {
    /// Every algorithm, by its configuration name.
    pub const ALL: [(&'static str, Algo); 4] = [
        ("identity", Algo::Identity),
        ("deflate", Algo::Deflate),
        ("raw-deflate", Algo::RawDeflate),
        ("gzip", Algo::Gzip),
    ];

    /// The name `compression algo` and `res.comp_algo` use.
    pub fn cfg_name(self) -> &'static str {
        match self {
            Algo::Identity => "identity",
            Algo::Deflate => "deflate",
            Algo::RawDeflate => "raw-deflate",
            Algo::Gzip => "gzip",
        }
    }

    /// The content-coding the client names in `accept-encoding` and the response's
    /// `content-encoding` carries.
    pub fn coding(self) -> &'static str {
        match self {
            Algo::Identity => "identity",
            Algo::Deflate | Algo::RawDeflate => "deflate",
            Algo::Gzip => "gzip",
        }
    }
}

/// A proxy's `compression` lines. Lists are in haproxy's order: each word is put in
/// front of the ones before it (a proxy's own before those of its defaults), and the
/// order decides which algorithm a client's `*` or a tie gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compression {
    /// `compression algo …`
    pub algos: Vec<Algo>,
    /// `compression type …`: content-type prefixes, compared without case.
    pub types: Vec<String>,
    /// `compression offload`: the request's `accept-encoding` is removed once an
    /// algorithm is chosen, so that the server sends the body plain.
    pub offload: bool,
}
