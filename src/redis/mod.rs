//! Everything about talking to Redis that is not a key record's meaning: connections
//! (standalone, cluster, TLS) in [`conn`], the key names and field names of the layout in
//! [`layout`], and every Lua script in [`scripts`]. Nothing here knows about a CLI or a TUI.

pub mod conn;
pub mod layout;
pub(crate) mod scripts;
