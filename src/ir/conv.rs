//! The converters of sample.c beyond the string basics (configuration.txt §7.3.1):
//! integer arithmetic, string building and rewriting, hashes.

use super::acl::Regex;
use super::vars::VarName;

/// `add`, `sub`, `mul`, `div`, `mod`, `and`, `or`, `xor`: capped 64-bit arithmetic as
/// haproxy's `arith_*` functions do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `add`
    Add,
    /// `sub`
    Sub,
    /// `mul`
    Mul,
    /// `div` (by 0: the largest integer)
    Div,
    /// `mod` (by 0: 0)
    Mod,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
}

/// The second operand of an [`Arith`] converter.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// An integer given in the configuration.
    Int(i64),
    /// A variable read when the converter runs (missing or not an integer: no value).
    Var(VarName),
}

/// Converters of one integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    /// `neg`
    Neg,
    /// `cpl`
    Cpl,
    /// `bool`
    Bool,
    /// `not`
    Not,
    /// `odd`
    Odd,
    /// `even`
    Even,
}

/// `concat([<start>],[<var>],[<end>])`, or `add_item(<delim>,[<var>],[<suffix>])`.
#[derive(Debug, Clone, PartialEq)]
pub struct Concat {
    /// The first string (`add_item`: the delimiter).
    pub start: Box<[u8]>,
    /// The variable appended when it has a value.
    pub var: Option<VarName>,
    /// The last string.
    pub end: Box<[u8]>,
    /// `add_item`: the delimiter goes in only after a non-empty input, and only when
    /// something follows it.
    pub item: bool,
}

/// `regsub(<regex>,<subst>[,<flags>])`
#[derive(Debug, Clone, PartialEq)]
pub struct Regsub {
    /// The expression (`i`: compiled without case).
    pub re: Regex,
    /// The replacement, with `\1`… references.
    pub subst: Box<[u8]>,
    /// `g`: every match, not only the first.
    pub global: bool,
}

/// How `json` reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonInput {
    /// `ascii` (default): each byte is a character.
    Ascii,
    /// `utf8`: invalid UTF-8 fails the conversion.
    Utf8,
    /// `utf8s`: invalid sequences are skipped.
    Utf8s,
    /// `utf8p`: overlong encodings accepted, other errors fail.
    Utf8p,
    /// `utf8ps`: overlong encodings accepted, other errors skipped.
    Utf8ps,
}

/// The xxHash converters (`[<seed>]`, 0 when not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xxh {
    /// `xxh32`
    X32,
    /// `xxh64`
    X64,
    /// `xxh3` (64-bit)
    X3,
}

/// The digests `sha1` and `sha2(<bits>)` give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-1
    Sha1,
    /// SHA-2 of 224, 256, 384 or 512 bits.
    Sha2(u16),
}

/// Hash converters (`[<avalanche>]` applies haproxy's `full_hash` after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// `djb2`
    Djb2,
    /// `sdbm`
    Sdbm,
    /// `wt6`
    Wt6,
    /// `crc32`
    Crc32,
    /// `crc32c`
    Crc32c,
}

/// Converters without arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simple {
    /// `ub64enc`: binary to base64url text (no padding).
    Ub64Enc,
    /// `ub64dec`: base64url text to binary.
    Ub64Dec,
    /// `cut_crlf`: up to the first CR or LF.
    CutCrlf,
    /// `host_only`: a Host value without its port, lower-cased.
    HostOnly,
    /// `port_only`: a Host value's port (0 without one).
    PortOnly,
    /// `hex2i`: hexadecimal text to an integer.
    Hex2i,
    /// `b64dec`: base64 text to binary.
    B64Dec,
    /// `htonl`: an integer's low 32 bits, big-endian.
    Htonl,
}
