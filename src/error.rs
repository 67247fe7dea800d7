//! The library's error type. Every message is one line, names what failed in the user's
//! words, and never contains a secret or a password.

use crate::keygen::KeygenError;
use crate::layout::InvalidNamespace;
use crate::record::RecordError;

/// The error code a layout refusal ([`crate::meta::check_layout`]) travels under inside
/// the redis client; the conversion below turns it back into [`Error::Setup`]. Defined
/// here, not in `meta`, so that this module depends on no module that depends on it.
pub(crate) const REFUSED_CODE: &str = "KEYTUI-LAYOUT";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad options or configuration, found before talking to Redis.
    #[error("{0}")]
    Config(String),
    /// Redis could not be reached or refused the login.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The Redis ACL user may not run a command.
    #[error("permission denied by Redis: {0}")]
    Denied(String),
    /// Any other failure reported by Redis or the connection.
    #[error("redis: {0}")]
    Redis(String),
    #[error("no key with id {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Malformed(#[from] RecordError),
    #[error(transparent)]
    Keygen(#[from] KeygenError),
    #[error(transparent)]
    Namespace(#[from] InvalidNamespace),
    /// The namespace is missing, of another layout version, or set up differently.
    #[error("{0}")]
    Setup(String),
    /// Standard output was closed early (`keytui list | head`): stop quietly.
    #[error("output closed")]
    OutputClosed,
    /// A request that contradicts the stored state.
    #[error("{0}")]
    Conflict(String),
    /// A write that stopped midway: the message says what was written and how to finish.
    #[error("{0}")]
    Partial(String),
}

impl Error {
    pub(crate) fn connect(url: &str, e: &redis::RedisError) -> Self {
        let reason = one_line(&e.to_string());
        match e.kind() {
            redis::ErrorKind::AuthenticationFailed => Error::Connect {
                url: url.to_owned(),
                reason: format!("authentication failed ({reason})"),
            },
            _ => Error::Connect {
                url: url.to_owned(),
                reason,
            },
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        if e.code() == Some(REFUSED_CODE) {
            return Error::Setup(one_line(e.detail().unwrap_or("namespace refused")));
        }
        let text = one_line(&e.to_string());
        if e.code() == Some("NOPERM") || text.contains("NOPERM") {
            return Error::Denied(text);
        }
        match e.kind() {
            redis::ErrorKind::AuthenticationFailed => Error::Denied(text),
            _ if e.is_timeout() => Error::Redis(format!("timed out ({text})")),
            _ if e.is_connection_dropped() || e.is_connection_refusal() => {
                Error::Redis(format!("connection lost ({text})"))
            }
            _ => Error::Redis(text),
        }
    }
}

/// Collapses a multi-line message into one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
