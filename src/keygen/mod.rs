//! Generation of key ids and secrets, and the token format that carries both.
//!
//! This module owns, one file each:
//! - `alphabet`: the encodings ([`Encoding`], [`Alphabet`]) and sizes ([`Length`],
//!   [`Spec`]) of ids and secrets, with their entropy;
//! - `strength`: the shape and estimated entropy of a secret made elsewhere (imports);
//! - `sample`: uniform sampling of alphabet symbols ([`sample_indices`]: rejection
//!   sampling of bytes, never `byte % k`);
//! - `secret`: the [`Secret`] wrapper, which zeroizes its memory and never prints its
//!   value, and [`generate_secret`] (refuses fewer than [`MIN_SECRET_BITS`] bits unless
//!   asked);
//! - `id`: [`generate_id`] and [`validate_id`] (ids that the token parser can always
//!   split back out);
//! - `token`: the token format `[prefix "_"] id "_" secret [checksum]` ([`Token`],
//!   [`ParsedToken`], [`checksum`]).
//!
//! Secrets come only from [`rand::rngs::SysRng`] (the OS generator), never from a
//! userspace PRNG. Error messages never contain a secret or a token. Nothing here touches
//! Redis, files or the terminal: callers store and show what this module makes.

mod alphabet;
mod id;
mod sample;
mod secret;
mod strength;
mod token;

pub use alphabet::{Alphabet, Encoding, Length, Spec};
pub use id::{generate_id, validate_id};
pub use sample::sample_indices;
pub use secret::{Secret, generate_secret};
pub use strength::{MIN_DISTINCT_CHARS, estimated_bits, guess_spec};
pub use token::{ParsedToken, Token, checksum, validate_prefix};

/// Secrets with fewer bits than this are refused unless the caller allows weak secrets.
pub const MIN_SECRET_BITS: f64 = 128.0;

/// Longest secret [`generate_secret`] produces, in characters.
pub const MAX_SECRET_CHARS: usize = 4096;

/// Longest id, in characters (ids are ASCII, so also in bytes).
pub const MAX_ID_CHARS: usize = 128;

/// Longest token prefix, in characters.
pub const MAX_PREFIX_CHARS: usize = 32;

/// Length of a token checksum: a CRC32 in base62 (62^6 > 2^32).
pub const CHECKSUM_CHARS: usize = 6;

/// Everything that can go wrong here. Messages are one line and never contain a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeygenError {
    #[error(
        "unknown encoding {0:?}: expected hex, base64url, base62, alphanumeric, uuid or custom:<chars>"
    )]
    UnknownEncoding(String),
    #[error("alphabet has {0} characters; it needs 2 to 256")]
    AlphabetSize(usize),
    #[error("alphabet contains {0:?} more than once")]
    AlphabetDuplicate(char),
    #[error("alphabet contains the control character {0:?}")]
    AlphabetControl(char),
    #[error("uuid encoding is for ids only, not for secrets")]
    UuidSecret,
    #[error("secret would have {bits:.1} bits of entropy, below the minimum of {min} bits")]
    WeakSecret { bits: f64, min: f64 },
    #[error("length must be at least one character")]
    EmptyLength,
    #[error("length of {0} characters is above the maximum of {1}")]
    TooLong(usize, usize),
    #[error("encoding cannot be used for ids: {0}")]
    IdEncoding(&'static str),
    #[error("invalid id: {0}")]
    InvalidId(&'static str),
    #[error("invalid prefix: {0}")]
    InvalidPrefix(&'static str),
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    #[error("token checksum does not match (mistyped or truncated token?)")]
    ChecksumMismatch,
    #[error("could not draw an id that is not all lowercase letters")]
    IdRedrawExhausted,
    #[error("operating system random generator failed: {0}")]
    Rng(String),
}
