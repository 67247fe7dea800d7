//! Everything about talking to Redis that is not a key record's meaning: connections
//! (standalone, cluster, TLS) in [`conn`], the key names and field names of the layout in
//! [`layout`], every Lua script in [`scripts`], and the
//! connection of its own that bulk reads use on a standalone server in [`pipe`]. Nothing here knows about a CLI or a TUI.

pub mod conn;
pub mod layout;
pub mod pipe;
pub(crate) mod scripts;
