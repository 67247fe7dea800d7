//! keytui: API key/secret pairs stored in Redis.
//!
//! The library's core is the verification path an app needs: the secret generator and
//! token format ([`keygen`]), the Redis layout ([`layout`]) and store ([`store`]), and
//! verification ([`verify`]). The CLI ([`cli`], feature `cli`) and the terminal UI
//! ([`tui`], feature `tui`) are clients of it; with `default-features = false` neither is
//! built, nor ratatui, crossterm, arboard or clap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod crypto;
pub mod error;
pub mod exit;
pub mod keygen;
pub mod meta;
pub mod open;
pub mod record;
pub mod redis;
pub mod sanitize;
pub mod seal;
pub mod store;
pub mod verify;

pub use error::{Error, Result};

// Paths kept from before the `redis/`, `meta` and `store/` split (apps and the TUI use them).
pub use self::meta as gate;
pub use self::redis::{conn, layout};
pub use self::store::migrate;

#[cfg(any(feature = "cli", feature = "tui"))]
pub mod input;

#[cfg(all(feature = "cli", feature = "tui"))]
pub mod app;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod clipboard_hold;
#[cfg(feature = "cli")]
pub mod logging;
// The CLI's `scan`, and the TUI's check of a pasted token.
#[cfg(any(feature = "cli", feature = "tui"))]
pub mod scan;
#[cfg(feature = "tui")]
pub mod tui;

#[cfg(test)]
mod test_rng;
