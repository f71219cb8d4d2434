//! The TLS 1.3 key schedule's HKDF on aws-lc's HMAC with a keyed state made once per secret.
//!
//! rustls' aws-lc provider hands each secret to aws-lc-rs' `Salt::extract`, which keeps the
//! salt and input and runs the whole HKDF (extract, then expand, each keying HMAC anew) at
//! every derivation. A full TLS 1.3 handshake derives about twenty values, so SHA-384 was
//! 14% of a handshake's CPU time. rustls' own `HkdfUsingHmac` extracts once and keys one
//! HMAC per secret; each derivation then copies that keyed state. Same bytes on the wire.

use std::sync::LazyLock;

use aws_lc_rs::hmac;
use rustls::crypto::hmac::{Hmac, Key, Tag};
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::CipherSuiteCommon;
use rustls::{SupportedCipherSuite, Tls13CipherSuite};

/// aws-lc's HMAC as rustls' `Hmac`.
struct AwsLcHmac(hmac::Algorithm);

/// A key whose inner and outer pads are hashed once, when it is made.
struct AwsLcHmacKey(hmac::Key);

impl Hmac for AwsLcHmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn Key> {
        Box::new(AwsLcHmacKey(hmac::Key::new(self.0, key)))
    }

    fn hash_output_len(&self) -> usize {
        self.0.digest_algorithm().output_len
    }
}

impl Key for AwsLcHmacKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> Tag {
        let mut cx = hmac::Context::with_key(&self.0);
        cx.update(first);
        for m in middle {
            cx.update(m);
        }
        cx.update(last);
        Tag::new(cx.sign().as_ref())
    }

    fn tag_len(&self) -> usize {
        self.0.algorithm().digest_algorithm().output_len
    }
}

static HMAC_SHA256: AwsLcHmac = AwsLcHmac(hmac::HMAC_SHA256);
static HMAC_SHA384: AwsLcHmac = AwsLcHmac(hmac::HMAC_SHA384);
static HKDF_SHA256: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA256);
static HKDF_SHA384: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA384);

/// The provider's TLS 1.3 suites with the HKDF above, made once per process.
static SUITES: LazyLock<Vec<SupportedCipherSuite>> = LazyLock::new(|| {
    rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .filter_map(|s| match s {
            SupportedCipherSuite::Tls13(t) => Some(SupportedCipherSuite::Tls13(Box::leak(
                Box::new(Tls13CipherSuite {
                    common: CipherSuiteCommon {
                        suite: t.common.suite,
                        hash_provider: t.common.hash_provider,
                        confidentiality_limit: t.common.confidentiality_limit,
                    },
                    hkdf_provider: match t.common.hash_provider.output_len() {
                        48 => &HKDF_SHA384,
                        _ => &HKDF_SHA256,
                    },
                    aead_alg: t.aead_alg,
                    quic: t.quic,
                }),
            ))),
            SupportedCipherSuite::Tls12(_) => None,
        })
        .collect()
});

/// The suite to configure for `s`: TLS 1.3 suites take the HKDF above, TLS 1.2 ones are
/// the provider's (their PRF runs a few times per handshake, not twenty).
pub fn faster(s: SupportedCipherSuite) -> SupportedCipherSuite {
    SUITES
        .iter()
        .find(|f| f.suite() == s.suite())
        .copied()
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivations must give the provider's bytes, or no peer could talk to us.
    #[test]
    fn same_output_as_the_provider() {
        for s in rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES {
            let SupportedCipherSuite::Tls13(ours) = faster(*s) else {
                continue;
            };
            let SupportedCipherSuite::Tls13(theirs) = s else {
                unreachable!()
            };
            assert!(!std::ptr::eq(ours, *theirs), "{:?} not replaced", s.suite());
            let secret = [7u8; 48];
            let salt = [3u8; 32];
            for (a, b) in [
                (
                    ours.hkdf_provider.extract_from_secret(Some(&salt), &secret),
                    theirs
                        .hkdf_provider
                        .extract_from_secret(Some(&salt), &secret),
                ),
                (
                    ours.hkdf_provider.extract_from_zero_ikm(None),
                    theirs.hkdf_provider.extract_from_zero_ikm(None),
                ),
            ] {
                let info: &[&[u8]] = &[b"tls13 ", b"c hs traffic"];
                assert_eq!(a.expand_block(info).as_ref(), b.expand_block(info).as_ref());
                let (mut x, mut y) = ([0u8; 100], [0u8; 100]);
                a.expand_slice(info, &mut x).expect("expand");
                b.expand_slice(info, &mut y).expect("expand");
                assert_eq!(x, y);
            }
            let key = rustls::crypto::tls13::OkmBlock::new(
                &secret[..ours.common.hash_provider.output_len()],
            );
            assert_eq!(
                ours.hkdf_provider.hmac_sign(&key, b"finished").as_ref(),
                theirs.hkdf_provider.hmac_sign(&key, b"finished").as_ref()
            );
        }
    }
}
