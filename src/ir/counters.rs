//! Stick counters (configuration.txt §4.2 `stick-table … store`, `track-sc*`, §7.3.3 the
//! `sc_*`/`src_*` fetches and `table_*` converters): what a table stores per key, the
//! rules that track a key, and the fetches that read or change the counters.

use std::sync::{Arc, OnceLock};

use super::acl::SampleExpr;

/// How many counters a session tracks (`sc0` to `sc2`: haproxy 2.6's MAX_SESS_STKCTR).
pub const SLOTS: usize = 3;

/// Declares the data types with the name `store` takes, in haproxy's order.
macro_rules! data_types {
    ($($v:ident = $name:literal,)*) => {
        /// A data type a table can store (haproxy's `STKTABLE_DT_*`, in its order; each
        /// named as `store` takes it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DataType {
            $(#[doc = concat!("`", $name, "`")] $v,)*
        }

        /// Every data type, in haproxy's order (its index is the type's number).
        pub const DATA_TYPES: &[DataType] = &[$(DataType::$v,)*];

        impl DataType {
            /// The name `store` takes.
            pub fn name(self) -> &'static str {
                match self {
                    $(DataType::$v => $name,)*
                }
            }
        }
    };
}

data_types! {
    ServerId = "server_id",
    Gpt0 = "gpt0",
    Gpc0 = "gpc0",
    Gpc0Rate = "gpc0_rate",
    ConnCnt = "conn_cnt",
    ConnRate = "conn_rate",
    ConnCur = "conn_cur",
    SessCnt = "sess_cnt",
    SessRate = "sess_rate",
    HttpReqCnt = "http_req_cnt",
    HttpReqRate = "http_req_rate",
    HttpErrCnt = "http_err_cnt",
    HttpErrRate = "http_err_rate",
    BytesInCnt = "bytes_in_cnt",
    BytesInRate = "bytes_in_rate",
    BytesOutCnt = "bytes_out_cnt",
    BytesOutRate = "bytes_out_rate",
    Gpc1 = "gpc1",
    Gpc1Rate = "gpc1_rate",
    ServerKey = "server_key",
    HttpFailCnt = "http_fail_cnt",
    HttpFailRate = "http_fail_rate",
    Gpt = "gpt",
    Gpc = "gpc",
    GpcRate = "gpc_rate",
}

impl DataType {
    /// The type's number (its place in [`DATA_TYPES`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// A rate over a period (haproxy's `STD_T_FRQP`): it takes the period as argument.
    pub fn is_rate(self) -> bool {
        use DataType::*;
        matches!(
            self,
            Gpc0Rate
                | ConnRate
                | SessRate
                | HttpReqRate
                | HttpErrRate
                | BytesInRate
                | BytesOutRate
                | Gpc1Rate
                | HttpFailRate
                | GpcRate
        )
    }

    /// An array, whose size is the first argument.
    pub fn is_array(self) -> bool {
        matches!(self, DataType::Gpt | DataType::Gpc | DataType::GpcRate)
    }
}

/// One `store` item: the type, its array size (1 for a scalar) and a rate's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    /// The data type.
    pub ty: DataType,
    /// Elements (arrays: 1 to 100).
    pub n: u8,
    /// A rate's period in milliseconds.
    pub period_ms: u32,
}

/// A reference to a stick table by its proxy's name, resolved once every section is
/// read (haproxy's `ARGT_TAB`).
#[derive(Debug, Clone)]
pub struct TableRef {
    /// The name as written; empty: the proxy the reference is in.
    pub name: Box<str>,
    /// The index into [`super::Config::tables`], once resolved.
    pub id: Arc<OnceLock<usize>>,
}

impl TableRef {
    /// An unresolved reference.
    pub fn new(name: &str) -> TableRef {
        TableRef {
            name: name.into(),
            id: Arc::new(OnceLock::new()),
        }
    }

    /// The table's index; 0 only before resolution, which a valid configuration never
    /// leaves undone.
    pub fn get(&self) -> usize {
        self.id.get().copied().unwrap_or(0)
    }
}

impl PartialEq for TableRef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A table of the configuration: its proxy's name and definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The proxy that declares it.
    pub name: Box<str>,
    /// Its definition.
    pub table: super::StickTable,
}

/// Which entry an `sc*`/`src_*` fetch reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `sc<n>_*` or `sc_*(<n>)`: the tracked counter `n` (its stream's, else its
    /// session's); with a table, the same key looked up there.
    Slot(u8, Option<TableRef>),
    /// `src_*([<table>])`: the client address looked up in that table.
    Src(TableRef),
}

/// What an `sc*`/`src_*` fetch or a `table_*` converter gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// `conn_cnt`
    ConnCnt,
    /// `conn_cur`
    ConnCur,
    /// `conn_rate`
    ConnRate,
    /// `sess_cnt`
    SessCnt,
    /// `sess_rate`
    SessRate,
    /// `http_req_cnt`
    HttpReqCnt,
    /// `http_req_rate`
    HttpReqRate,
    /// `http_err_cnt`
    HttpErrCnt,
    /// `http_err_rate`
    HttpErrRate,
    /// `http_fail_cnt`
    HttpFailCnt,
    /// `http_fail_rate`
    HttpFailRate,
    /// `get_gpt0` (a `gpt` array's first element when the table has no `gpt0`)
    Gpt0,
    /// `get_gpt(<idx>)`
    Gpt(u8),
    /// `get_gpc0` (the `gpc` array's element 0 as a fallback)
    Gpc0,
    /// `get_gpc1` (the `gpc` array's element 1 as a fallback)
    Gpc1,
    /// `get_gpc(<idx>)`
    Gpc(u8),
    /// `gpc0_rate`
    Gpc0Rate,
    /// `gpc1_rate`
    Gpc1Rate,
    /// `gpc_rate(<idx>)`
    GpcRate(u8),
    /// `inc_gpc0`: adds one, gives the new value (creates a `src_` entry).
    IncGpc0,
    /// `inc_gpc1`
    IncGpc1,
    /// `inc_gpc(<idx>)`
    IncGpc(u8),
    /// `clr_gpc0`: sets zero, gives the old value (creates a `src_` entry).
    ClrGpc0,
    /// `clr_gpc1`
    ClrGpc1,
    /// `clr_gpc(<idx>)`
    ClrGpc(u8),
    /// `tracked`: the counter is tracked (a boolean).
    Tracked,
    /// `trackers`: sessions tracking the entry now.
    Trackers,
}

/// `track-sc<n> <key> [table <table>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The counter, 0 to 2.
    pub slot: u8,
    /// The key.
    pub key: SampleExpr,
    /// The key's type, which the table's type must be a cast of.
    pub key_type: super::acl::SmpType,
    /// The table; without `table <name>`, the rule's proxy's (a `tcp-request` rule's
    /// `table` with no name names the empty name, as in haproxy).
    pub table: TableRef,
    /// `table` was written.
    pub named: bool,
}

/// `sc-inc-gpc0(<n>)`, `sc-inc-gpc1(<n>)`, `sc-inc-gpc(<idx>,<n>)`, `sc-set-gpt0(<n>)
/// <value>`, `sc-set-gpt(<idx>,<n>) <value>`.
#[derive(Debug, Clone, PartialEq)]
pub enum ScAction {
    /// Adds one to a general purpose counter (and its rate).
    IncGpc {
        /// Which counter.
        which: Gp,
        /// The tracked counter, 0 to 2.
        slot: u8,
    },
    /// Sets a general purpose tag.
    SetGpt {
        /// Which tag.
        which: Gp,
        /// The tracked counter, 0 to 2.
        slot: u8,
        /// The value: an integer or an expression cast to one.
        value: GptValue,
    },
}

/// A general purpose counter or tag: the legacy `0`/`1` names, or an array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gp {
    /// `gpc0`/`gpt0`
    Zero,
    /// `gpc1`
    One,
    /// `gpc(<idx>)`/`gpt(<idx>)`
    Idx(u8),
}

/// The value `sc-set-gpt*` stores.
#[derive(Debug, Clone, PartialEq)]
pub enum GptValue {
    /// A literal integer.
    Int(i64),
    /// An expression, cast to an integer when the rule runs (no value: nothing set).
    Expr(SampleExpr),
}
