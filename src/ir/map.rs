//! Map files read by the `map_*` converters (configuration.txt §7.3.1 `map`): keys read
//! as the converter's matching method reads patterns, each with its value.

use std::net::IpAddr;

use super::acl::{IntRange, IpNet, Regex};

/// How a map's keys are matched against the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMatch {
    /// `map`, `map_str`: the whole string.
    Str,
    /// `map_beg`: the longest key the input starts with.
    Beg,
    /// `map_sub`: the first key found inside the input.
    Sub,
    /// `map_dir`: the first key that is a `/`-delimited part of the input.
    Dir,
    /// `map_dom`: the first key that is a `.`-delimited part of the input.
    Dom,
    /// `map_end`: the first key the input ends with.
    End,
    /// `map_reg`: the first regular expression that matches.
    Reg,
    /// `map_int`: the first integer or range holding the input.
    Int,
    /// `map_ip`: the longest network holding the input address.
    Ip,
}

/// A map's key, in the form its matching method reads.
#[derive(Debug, Clone, PartialEq)]
pub enum MapKey {
    /// A string.
    Str(Box<[u8]>),
    /// A regular expression.
    Reg(Regex),
    /// An integer range.
    Int(IntRange),
    /// A network.
    Net(IpNet),
}

/// A value the map gives.
#[derive(Debug, Clone, PartialEq)]
pub enum MapValue {
    /// `map_*` (string output).
    Str(Box<[u8]>),
    /// `map_*_int`
    Int(i64),
    /// `map_*_ip`
    Ip(IpAddr),
}

/// A map converter: its file read at load, its matching, its default.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// The file, as named.
    pub file: Box<str>,
    /// How keys match.
    pub how: MapMatch,
    /// Entries in file order.
    pub entries: Vec<(MapKey, MapValue)>,
    /// The value when nothing matches (else the sample is missing).
    pub default: Option<MapValue>,
    /// For exact matching: each key's first entry, so a lookup does not walk the file
    /// (haproxy indexes such maps in a tree).
    pub exact: std::collections::HashMap<Box<[u8]>, usize>,
}
