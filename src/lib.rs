//! keytui: API key/secret pairs stored in Redis.
//!
//! The library holds everything that is not the user interface: the secret generator
//! ([`keygen`]), the Redis layout ([`layout`]) and store ([`store`]), and verification
//! ([`verify`]). The CLI and the TUI are clients of it.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod keygen;
