//! The process exit codes, in one place: scripts tell outcomes apart by them, and the README
//! documents them (a table under "Exit codes"). Nothing else in the crate defines a code.

/// The command did what was asked (a key verified, a change made, a healthy namespace).
pub const EXIT_OK: u8 = 0;
/// A check said no: `verify` rejected the secret, `check` found the token malformed,
/// `doctor` found problems it left in place, `scan` found a live key's token.
pub const EXIT_REJECTED: u8 = 1;
/// An error: bad input or options, a change that needs `--yes` off a terminal, Redis
/// unreachable or refusing, a failed write. One line on stderr says what.
pub const EXIT_ERROR: u8 = 2;
/// The user answered no at a confirmation prompt, or typed the wrong name of a production
/// namespace ([`crate::error::Error::Declined`]): nothing changed.
pub const EXIT_DECLINED: u8 = 3;
