//! `compression algo|type|offload` (haproxy's parse_compression_options).

use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind};
use crate::ir::compression::{Algo, Compression};

impl Parser {
    /// One `compression` line. The proxy's settings exist from its first such line, even
    /// one refused, as haproxy allocates them first.
    pub(super) fn parse_compression(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = &stmt.loc;
        let defaults = p.kind == ProxyKind::Defaults;
        let c = p.compression.get_or_insert_with(Compression::default);
        match stmt.arg(1) {
            "algo" => {
                if stmt.arg(2).is_empty() {
                    // haproxy's message carries its own position, after the caller's.
                    let msg = format!("parsing [{loc}] : 'compression' expects <algorithm>.");
                    return self.alert(loc, msg);
                }
                for w in &stmt.words[2..] {
                    let Some((_, a)) = Algo::ALL.iter().find(|(n, _)| n == &w.as_str()) else {
                        let msg = format!("'compression' : '{w}' is not a supported algorithm.");
                        return self.alert(loc, msg);
                    };
                    c.algos.insert(0, *a);
                }
            }
            "offload" => {
                c.offload = true;
                if defaults {
                    let msg = "'compression' : 'offload' ignored in 'defaults' section.";
                    self.warn(loc, msg);
                }
            }
            "type" => {
                if stmt.arg(2).is_empty() {
                    return self.alert(loc, "'compression' expects <type>.");
                }
                for w in &stmt.words[2..] {
                    c.types.insert(0, w.to_string());
                }
            }
            _ => self.alert(loc, "'compression' expects 'algo', 'type' or 'offload'"),
        }
    }
}
