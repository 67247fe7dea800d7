//! keytui: API key/secret pairs stored in Redis.
//!
//! The library holds everything that is not the user interface: the secret generator
//! ([`keygen`]), the Redis layout ([`layout`]) and store ([`store`]), and verification
//! ([`verify`]). The CLI and the TUI are clients of it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod conn;
pub mod crypto;
pub mod error;
pub mod gate;
pub mod keygen;
pub mod layout;
pub mod record;

pub use error::{Error, Result};
pub mod app;
pub mod cli;
pub mod cli_extra;
pub mod clipboard_hold;
pub mod logging;
pub mod migrate;
pub mod sanitize;
pub mod seal;
pub mod store;
pub mod tui;
pub mod verify;
