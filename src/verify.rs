//! Verifying presented keys inside an app: the one-round-trip check of
//! `docs/redis-layout.md` ("Verifying a key") and the optional recording of use.
//!
//! This module owns the verification logic; [`crate::store::Store::verify`] and the CLI
//! call it too. It only reads records, except for `last_used_at`, which it writes with an
//! `EXISTS`-guarded script so that an unknown id never gets a record. It never logs or
//! returns a presented secret.
//!
//! Two ways in:
//! - [`verify`] / [`verify_token`]: free functions over any Redis connection, for apps that
//!   manage their own connections (no pepper, no recording of use).
//! - [`Verifier`]: a cheap-to-clone handle to keep in an app's shared state, with a pepper
//!   and an optional, throttled recording of use that never delays the caller.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionLike;

use crate::conn::Conn;
use crate::crypto::{self, Pepper};
use crate::error::{Error, Result};
use crate::keygen::{ParsedToken, Token};
use crate::layout::{Namespace, field};
use crate::meta::GatedConn;
use crate::meta::NamespaceMeta;
use crate::record::{RecordError, SecretAlg, UnixMs, now_ms, verify_field};

/// ARGV: now. Records a use without creating a record for an unknown id.
const TOUCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) end
return 1";

/// Outcome of verifying a presented secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid { id: String, name: String },
    Rejected(Rejection),
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }
}

/// Why a key was rejected. The wrong-secret check comes first, so a caller without the
/// secret learns nothing about a key's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No record, an id that cannot exist, or a token that does not split.
    Unknown,
    WrongSecret,
    /// The token's checksum does not match (a typo or a truncated token).
    BadChecksum,
    Revoked,
    Expired,
}

impl Rejection {
    /// Words for people: `unknown key`, `wrong secret`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Unknown => "unknown key",
            Rejection::WrongSecret => "wrong secret",
            Rejection::BadChecksum => "bad checksum",
            Rejection::Revoked => "revoked",
            Rejection::Expired => "expired",
        }
    }

    /// A stable machine-readable code (`unknown`, `wrong_secret`, `bad_checksum`,
    /// `revoked`, `expired`), the same as `keytui verify --json` prints.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::Unknown => "unknown",
            Rejection::WrongSecret => "wrong_secret",
            Rejection::BadChecksum => "bad_checksum",
            Rejection::Revoked => "revoked",
            Rejection::Expired => "expired",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verifies a key id and secret in one round trip (`HMGET` of the record): constant-time
/// comparison of the secret's digest, then status, then expiry.
///
/// Namespaces that hash with a pepper (`hmac-sha256`) need a [`Verifier`] with
/// [`Verifier::with_pepper`]; here they give [`Error::Setup`]. This function does not read
/// the namespace's layout version: call [`crate::meta::check_layout`] once at startup (a
/// [`Verifier`] does that by itself).
pub async fn verify(
    conn: &mut impl ConnectionLike,
    ns: &Namespace,
    id: &str,
    secret: &str,
) -> Result<Verdict> {
    Ok(
        check(conn, ns, id, Presented::Secret(secret), None, false, None)
            .await?
            .verdict,
    )
}

/// Verifies a whole token (`[prefix_]id_secret[checksum]`): splits it, checks the checksum
/// when the record says tokens carry one, then the secret, in one round trip. A string
/// that is not a token is [`Rejection::Unknown`].
pub async fn verify_token(
    conn: &mut impl ConnectionLike,
    ns: &Namespace,
    token: &str,
) -> Result<Verdict> {
    let Ok(parsed) = Token::parse(token) else {
        return Ok(Verdict::Rejected(Rejection::Unknown));
    };
    Ok(check(
        conn,
        ns,
        &parsed.id,
        Presented::Token(&parsed),
        None,
        false,
        None,
    )
    .await?
    .verdict)
}

/// Records that a key was just used (`last_used_at` = now). An unknown id stays unknown:
/// no record is created.
pub async fn touch(conn: &mut impl ConnectionLike, ns: &Namespace, id: &str) -> Result<()> {
    redis::Script::new(TOUCH)
        .key(ns.record_key(id))
        .arg(now_ms())
        .invoke_async::<()>(conn)
        .await?;
    Ok(())
}

/// What was presented: a secret for a known id, or a token split by [`Token::parse`].
pub(crate) enum Presented<'a> {
    Secret(&'a str),
    Token(&'a ParsedToken),
}

/// A verdict and the record's `last_used_at`, read in the same `HMGET`.
pub(crate) struct Checked {
    pub verdict: Verdict,
    pub last_used_at: Option<UnixMs>,
}

/// The verification of the layout document, step by step; the one implementation that
/// [`verify`], [`Verifier`] and [`Store::verify`] share.
///
/// In a namespace of layout 2 (`layout`, as the gate found it) it reads the record's
/// `verify` field alone (`HGET`), plus `last_used_at` when `want_last_used` (a [`Verifier`]
/// that records use). Otherwise it reads the fields of layout 1: `status`, `secret_alg`,
/// `secret`, `expires_at` and `name`, plus `token_checksum` for a token; both answer the
/// same, since keytui keeps `verify` in step with those fields. Values are borrowed from
/// the reply's bytes: a field holding invalid UTF-8 (written by someone else) must not
/// turn the whole verification into an error.
pub(crate) async fn check(
    conn: &mut impl ConnectionLike,
    ns: &Namespace,
    id: &str,
    presented: Presented<'_>,
    pepper: Option<&Pepper>,
    want_last_used: bool,
    layout: Option<u32>,
) -> Result<Checked> {
    let rejected = |why| {
        Ok(Checked {
            verdict: Verdict::Rejected(why),
            last_used_at: None,
        })
    };
    let malformed = |reason: &str| -> Error {
        RecordError {
            id: id.to_owned(),
            reason: reason.into(),
        }
        .into()
    };
    if !crate::layout::is_lookup_safe_id(id) {
        return rejected(Rejection::Unknown);
    }
    let one_field = layout.is_some_and(|l| l >= 2);
    let is_token = matches!(presented, Presented::Token(_));
    let key = ns.record_key(id);
    let mut cmd = redis::Cmd::with_capacity(9, key.len() + 120);
    if one_field && !want_last_used {
        cmd.arg("HGET").arg(key).arg(field::VERIFY);
    } else if one_field {
        cmd.arg("HMGET").arg(key).arg(field::VERIFY);
    } else {
        cmd.arg("HMGET")
            .arg(key)
            .arg(field::STATUS)
            .arg(field::SECRET_ALG)
            .arg(field::SECRET)
            .arg(field::EXPIRES_AT)
            .arg(field::NAME);
        if is_token {
            cmd.arg(field::TOKEN_CHECKSUM);
        }
    }
    if want_last_used {
        cmd.arg(field::LAST_USED_AT);
    }
    let reply = match cmd.query_async::<redis::Value>(conn).await {
        Ok(reply) => reply,
        // Another program wrote something else under the record's key: malformed, like
        // an unreadable field, never a raw Redis error.
        Err(e) if e.code() == Some("WRONGTYPE") => {
            return Err(malformed("the record key is not a hash"));
        }
        Err(e) => return Err(e.into()),
    };
    let values = match &reply {
        redis::Value::Array(values) => values.as_slice(),
        one @ (redis::Value::BulkString(_) | redis::Value::Nil) => std::slice::from_ref(one),
        // Named by its kind only: the value could be the stored secret.
        other => {
            return Err(Error::Redis(format!(
                "{} of the record of {id} answered a {} instead of a value",
                if one_field && !want_last_used {
                    "HGET"
                } else {
                    "HMGET"
                },
                value_kind(other)
            )));
        }
    };
    let bytes = |i: usize| match values.get(i) {
        Some(redis::Value::BulkString(b)) => Some(b.as_slice()),
        _ => None,
    };
    let (stored, last_used) = if one_field {
        let Some(raw) = bytes(0) else {
            return rejected(Rejection::Unknown);
        };
        let parts =
            verify_field::parse(raw).ok_or_else(|| malformed("field verify is malformed"))?;
        (
            Stored {
                active: parts.active,
                alg: parts.secret_alg,
                secret: parts.secret,
                expires_at: parts.expires_at,
                token_checksum: parts.token_checksum,
                name: parts.name,
            },
            bytes(1),
        )
    } else {
        let (status, alg, secret) = (bytes(0), bytes(1), bytes(2));
        let (Some(status), Some(alg), Some(secret)) = (status, alg, secret) else {
            if status.is_none() && alg.is_none() && secret.is_none() {
                return rejected(Rejection::Unknown);
            }
            return Err(malformed(
                "some of status, secret_alg and secret are missing",
            ));
        };
        let checksum = if is_token { bytes(5) } else { None };
        (
            Stored {
                active: status == b"active",
                alg,
                secret,
                expires_at: bytes(3).unwrap_or_default(),
                token_checksum: checksum == Some(b"1"),
                name: bytes(4).unwrap_or_default(),
            },
            bytes(if is_token { 6 } else { 5 }),
        )
    };
    let alg = std::str::from_utf8(stored.alg)
        .ok()
        .and_then(SecretAlg::parse)
        .ok_or_else(|| malformed("unknown secret_alg"))?;
    let from_token;
    let secret = match presented {
        Presented::Secret(s) => s,
        Presented::Token(t) if stored.token_checksum => match t.secret_checked() {
            Ok(s) => {
                from_token = s;
                from_token.expose()
            }
            Err(_) => return rejected(Rejection::BadChecksum),
        },
        Presented::Token(t) => t.rest(),
    };
    match crypto::matches(alg, stored.secret, secret, pepper) {
        None => {
            return Err(Error::Setup(format!(
                "namespace {ns} hashes secrets with a pepper: set KEYTUI_PEPPER"
            )));
        }
        Some(false) => return rejected(Rejection::WrongSecret),
        Some(true) => {}
    }
    if !stored.active {
        return rejected(Rejection::Revoked);
    }
    if !stored.expires_at.is_empty() {
        let e: UnixMs = std::str::from_utf8(stored.expires_at)
            .ok()
            .and_then(|e| e.parse().ok())
            .ok_or_else(|| malformed("field expires_at is not a unix time in ms"))?;
        if e <= now_ms() {
            return rejected(Rejection::Expired);
        }
    }
    Ok(Checked {
        verdict: Verdict::Valid {
            id: id.to_owned(),
            name: String::from_utf8_lossy(stored.name).into_owned(),
        },
        // A malformed value counts as never used, so the next write repairs it.
        last_used_at: last_used
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok()),
    })
}

/// The kind of an unexpected reply, for an error that must not show its content.
fn value_kind(v: &redis::Value) -> &'static str {
    use redis::Value;
    match v {
        Value::Nil => "nil",
        Value::Int(_) => "number",
        Value::BulkString(_) => "string",
        Value::Array(_) => "array",
        Value::SimpleString(_) => "simple string",
        Value::Okay => "OK",
        Value::Map(_) => "map",
        Value::Attribute { .. } => "attribute",
        Value::Set(_) => "set",
        Value::Double(_) => "double",
        Value::Boolean(_) => "boolean",
        Value::VerbatimString { .. } => "verbatim string",
        Value::BigNumber(_) => "big number",
        Value::Push { .. } => "push",
        Value::ServerError(_) => "error",
        _ => "reply of another kind",
    }
}

/// What a record says about verification, read from either layout.
struct Stored<'a> {
    active: bool,
    alg: &'a [u8],
    /// The digest (or the secret itself, `plain`), compared as bytes.
    secret: &'a [u8],
    /// Empty: never expires.
    expires_at: &'a [u8],
    token_checksum: bool,
    name: &'a [u8],
}

/// Verifies keys of one namespace for an app. Cheap to clone (the connection is shared
/// and reconnects on its own); keep one in the app's state. Before its first round trip it
/// checks the namespace's layout version once ([`crate::meta::check_layout`]) and refuses a
/// newer layout with [`Error::Setup`] on every call.
///
/// ```no_run
/// # async fn demo() -> keytui::Result<()> {
/// use std::time::Duration;
/// use keytui::conn::{ConnectOptions, connect};
/// use keytui::layout::Namespace;
/// use keytui::verify::{Verdict, Verifier};
///
/// let conn = connect(&ConnectOptions::new("redis://127.0.0.1:6379")).await?;
/// let verifier = Verifier::new(conn, Namespace::new("prod")?)
///     .record_use(Duration::from_secs(60));
/// match verifier.verify_token("sk_live_4fQx0bZ9LmP2sT7a_...").await? {
///     Verdict::Valid { id, name } => println!("hello {name} ({id})"),
///     Verdict::Rejected(why) => println!("401: {}", why.code()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// Refuses a namespace of a newer layout, once per verifier (see [`crate::gate`]).
    conn: GatedConn,
    ns: Namespace,
    pepper: Option<Arc<Pepper>>,
    /// `Some(throttle)`: record use, at most once per `throttle` per key.
    record_use: Option<Duration>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("namespace", &self.ns.as_str())
            .field("cluster", &self.conn.is_cluster())
            .field("pepper", &self.pepper.is_some())
            .field("record_use", &self.record_use)
            .finish()
    }
}

impl Verifier {
    /// A verifier that records nothing and uses no pepper.
    pub fn new(conn: Conn, ns: Namespace) -> Self {
        Self {
            conn: GatedConn::new(conn, ns.clone()),
            ns,
            pepper: None,
            record_use: None,
        }
    }

    /// The pepper of an `hmac-sha256` namespace (`KEYTUI_PEPPER` of the keytui that
    /// created it). Accepts a `Pepper` or an `Option<Pepper>`.
    pub fn with_pepper(mut self, pepper: impl Into<Option<Pepper>>) -> Self {
        self.pepper = pepper.into().map(Arc::new);
        self
    }

    /// Records `last_used_at` after each valid verification, unless the record says it was
    /// recorded less than `throttle` ago (`Duration::ZERO` records every use).
    ///
    /// The write is spawned on the current tokio runtime and never delays or fails the
    /// verification; its errors are logged (with the key id, never the secret). Requests
    /// for the same key that are in flight at once may each write once.
    pub fn record_use(mut self, throttle: Duration) -> Self {
        self.record_use = Some(throttle);
        self
    }

    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    /// Checks that the namespace can be verified against: its layout version is known and,
    /// for `hmac-sha256`, the pepper is given and matches the stored check value. `None`
    /// when the namespace has no settings yet (no key was ever created in it). Call it at
    /// startup to fail fast instead of rejecting every key.
    pub async fn check_namespace(&self) -> Result<Option<NamespaceMeta>> {
        self.conn.check().await?;
        let Some(meta) = crate::meta::read_meta(&mut self.conn.inner(), &self.ns).await? else {
            return Ok(None);
        };
        // Stricter than the store: a peppered namespace without a stored check value is
        // refused here too, since a verifier cannot tell a wrong pepper from wrong secrets.
        if meta.secret_alg == SecretAlg::HmacSha256
            && self.pepper.is_some()
            && meta.pepper_check.is_none()
        {
            return Err(Error::Setup(format!(
                "KEYTUI_PEPPER does not match the pepper of namespace {}",
                self.ns
            )));
        }
        crate::meta::check_pepper(&self.ns, &meta, self.pepper.as_deref())?;
        Ok(Some(meta))
    }

    /// Verifies a key id and secret in one round trip; see [`verify`].
    pub async fn verify(&self, id: &str, secret: &str) -> Result<Verdict> {
        self.run(id, Presented::Secret(secret)).await
    }

    /// Verifies a whole token in one round trip; see [`verify_token`].
    pub async fn verify_token(&self, token: &str) -> Result<Verdict> {
        let Ok(parsed) = Token::parse(token) else {
            return Ok(Verdict::Rejected(Rejection::Unknown));
        };
        self.run(&parsed.id, Presented::Token(&parsed)).await
    }

    async fn run(&self, id: &str, presented: Presented<'_>) -> Result<Verdict> {
        // The gate's answer picks the read (one field from layout 2 on); past the check,
        // its connection alone.
        self.conn.check().await?;
        let checked = check(
            &mut self.conn.inner(),
            &self.ns,
            id,
            presented,
            self.pepper.as_deref(),
            self.record_use.is_some(),
            self.conn.layout(),
        )
        .await?;
        // A namespace that did not exist when the gate looked may exist now: once a
        // record is found, learn its layout (at most once per 10 s while still missing).
        if self.conn.layout().is_none() && checked.verdict != Verdict::Rejected(Rejection::Unknown)
        {
            self.conn.recheck_missing().await?;
        }
        if let (Some(throttle), Verdict::Valid { id, .. }) = (self.record_use, &checked.verdict) {
            let now = now_ms();
            let throttle_ms = i64::try_from(throttle.as_millis()).unwrap_or(i64::MAX);
            let recent = checked
                .last_used_at
                .is_some_and(|last| last > now.saturating_sub(throttle_ms));
            if !recent {
                self.spawn_touch(id.clone());
            }
        }
        Ok(checked.verdict)
    }

    /// Writes `last_used_at` off the hot path. Outside a tokio runtime there is nothing to
    /// spawn on, and the use goes unrecorded (logged).
    fn spawn_touch(&self, id: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %id, "not recording use: no tokio runtime");
            return;
        };
        let mut conn = self.conn.clone();
        let ns = self.ns.clone();
        runtime.spawn(async move {
            if let Err(e) = touch(&mut conn, &ns, &id).await {
                tracing::warn!(key = %id, namespace = %ns, "recording use failed: {e}");
            }
        });
    }
}
