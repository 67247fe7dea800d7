//! The library's error type: one variant per kind of failure (bad input, keytui's own
//! configuration, I/O with what was being done and the path, JSON, a Redis URL, Redis
//! itself, a missing confirmation, a declined prompt...), so callers can tell them apart
//! without reading messages. Every message is one line, names what failed in the user's
//! words, and never contains a secret, a password or a token. It maps no exit codes (the
//! CLI does, in `cli/mod.rs`) and imports only leaf error types that import nothing back.

use std::path::{Path, PathBuf};

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
    /// Bad input from the person or script running keytui: an option, a typed value, the
    /// content of an input file. Found before anything is changed.
    #[error("{0}")]
    Input(String),
    /// keytui's own configuration is unusable: `KEYTUI_PEPPER`, the master key or its
    /// file. The message names the variable or file, never its value.
    #[error("{0}")]
    Config(String),
    /// Reading or writing a file, a pipe or the terminal, or starting a process, failed.
    #[error("{doing}{}: {source}", at(.path.as_deref()))]
    Io {
        /// What was being done, e.g. "cannot read master key file".
        doing: String,
        path: Option<PathBuf>,
        source: std::io::Error,
    },
    /// JSON could not be written (a value keytui made itself).
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// A Redis URL that cannot be used; `url` is already redacted (no password).
    #[error("invalid Redis URL{}{}", at_str(.url.as_deref()), colon(.reason))]
    Url {
        url: Option<String>,
        reason: Option<&'static str>,
    },
    /// The operating system's random generator or the cipher failed.
    #[error("{0}")]
    Crypto(String),
    /// The clipboard could not take the secret.
    #[error("{0}")]
    Clipboard(String),
    /// A change that needs confirmation was not confirmed: without `--yes` off a terminal,
    /// or a production namespace's name typed wrong. Nothing changed.
    #[error("{0}")]
    Unconfirmed(String),
    /// The user answered no at a prompt (a wrong name typed for a production namespace):
    /// nothing changed. Exits [`crate::exit::EXIT_DECLINED`], like any other "no".
    #[error("{0}")]
    Declined(String),
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
    /// An [`Error::Io`] about `path`: `Error::io("cannot read", path, e)`.
    pub fn io(doing: &str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            doing: doing.to_owned(),
            path: Some(path.into()),
            source,
        }
    }

    /// An [`Error::Io`] about no file (a pipe, the terminal, a process).
    pub fn io_doing(doing: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            doing: doing.into(),
            path: None,
            source,
        }
    }

    /// An error reply read off a [`crate::redis::pipe`], as [`From<redis::RedisError>`]
    /// would say it: `NOPERM` is a denial, anything else a Redis error.
    pub(crate) fn from_reply(text: &str) -> Self {
        let text = one_line(text);
        if text.starts_with("NOPERM") {
            Error::Denied(text)
        } else {
            Error::Redis(text)
        }
    }

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

/// ` <path>` for an error message, or nothing.
fn at(path: Option<&Path>) -> String {
    path.map(|p| format!(" {}", crate::sanitize::line(&p.display().to_string())))
        .unwrap_or_default()
}

/// ` <text>` for an error message, or nothing.
fn at_str(text: Option<&str>) -> String {
    text.map(|t| format!(" {t}")).unwrap_or_default()
}

/// `: <reason>` for an error message, or nothing.
fn colon(r: &Option<&'static str>) -> String {
    r.map(|r| format!(": {r}")).unwrap_or_default()
}

/// Collapses a multi-line message into one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
