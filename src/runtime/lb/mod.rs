//! Load balancing: server state shared by sessions, balance algorithms and the
//! consistent-hash ring, queues, stick tables, health checks and warm-up.

pub mod admin;
pub mod agent;
pub mod balance;
pub mod chash;
pub mod check;
pub mod counters;
pub mod endpoint;
pub mod health;
pub mod http_hash;
pub mod idle;
pub mod observe;
mod proto_expect;
pub mod queue;
pub mod server_state;
mod spop;
pub mod state;
pub mod stick;
mod tcp_check;
pub mod warmup;
