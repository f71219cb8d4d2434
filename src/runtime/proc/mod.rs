//! Process management: master-worker, daemon and pid file, reload planning and the
//! configuration loader, busy-polling, memory trimming.

pub mod busy;
pub mod master;
pub mod memory;
pub mod process;
pub mod reload;
