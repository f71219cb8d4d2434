//! The control plane: stats socket (CLI), stats page, master CLI and the socket
//! hand-over (`-x`) to a new process.

pub mod handover;
mod limits;
pub mod master_cli;
pub mod server_status;
mod set_server;
pub mod show_stat;
pub mod stats;
pub mod stats_admin;
pub mod stats_page;
pub mod table;
