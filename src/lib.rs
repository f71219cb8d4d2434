//! haproxide: a drop-in replacement for HAProxy 2.6's TCP/TLS subset.
//!
//! `config` turns haproxy.cfg text into the plain-data [`ir::Config`]; the runtime (listeners,
//! balancing, checks, TLS, PROXY protocol, logging, reload) is driven by that IR only.
// Denied everywhere; `sys` is the one module that allows it (fork before threads).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod ir;
pub mod numbers;
pub mod report;
pub mod runtime;
pub mod sys;
pub mod tls_files;
