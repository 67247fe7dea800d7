//! A namespace's own record (`{ns}:meta`) and every check made against it: the storage
//! mode, the layout gate (the one place that decides whether this keytui may read or write a
//! namespace), and whether a pepper or master key fits the namespace. It reads `{ns}:meta`
//! and never writes it (creating the namespace is [`crate::store::Store::init`]).
//!
//! `docs/redis-layout.md` says a reader that finds a newer layout must stop. Rather than
//! trusting every command to ask, the check sits in the connection a [`crate::store::Store`]
//! (and a [`crate::verify::Verifier`]) talks through: a [`GatedConn`] sends nothing for a
//! namespace until [`check_layout`] has passed once, so a command added later cannot forget
//! it, and a refused namespace never sees a write. It never changes anything in Redis.

use std::sync::Arc;

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::OnceCell;

use crate::conn::Conn;
use crate::crypto::Pepper;
use crate::error::Result;
use std::collections::HashMap;

use crate::error::{Error, REFUSED_CODE};
use crate::layout::{LAYOUT_VERSION, Namespace, meta_field};
use crate::record::{SecretAlg, UnixMs};

/// Reads the namespace's layout version and refuses what this build cannot handle: a meta
/// key that is not a hash, a meta hash without a layout or with one that is not a whole
/// number from 1 to [`LAYOUT_VERSION`]. `Ok(None)`: the namespace has no meta yet (nothing
/// was created in it), which any command may start.
///
/// Needs only `HGET` and `EXISTS` on `{ns}:meta`. Apps that verify keys with their own
/// connection ([`crate::verify::verify`]) call it once at startup.
pub async fn check_layout(conn: &mut impl ConnectionLike, ns: &Namespace) -> Result<Option<u32>> {
    Ok(layout_or_refusal(conn, ns).await?)
}

/// [`check_layout`] with a refusal as a redis error of code [`REFUSED_CODE`], so that it
/// can travel through the redis client like any other failure.
async fn layout_or_refusal(
    conn: &mut impl ConnectionLike,
    ns: &Namespace,
) -> redis::RedisResult<Option<u32>> {
    let refuse = |why: String| {
        Err(redis::make_extension_error(
            REFUSED_CODE.into(),
            Some(format!(
                "namespace {ns}: {why}; keytui does not touch it (nothing was changed)"
            )),
        ))
    };
    let meta = ns.meta_key();
    let layout: Option<Vec<u8>> = match redis::cmd("HGET")
        .arg(&meta)
        .arg(meta_field::LAYOUT)
        .query_async(conn)
        .await
    {
        Ok(v) => v,
        Err(e) if e.code() == Some("WRONGTYPE") => {
            return refuse(format!("{meta} is not a hash"));
        }
        Err(e) => return Err(e),
    };
    let layout = match layout {
        Some(raw) => Some(raw),
        None => {
            let exists: bool = redis::cmd("EXISTS").arg(&meta).query_async(conn).await?;
            if !exists {
                return Ok(None);
            }
            // Another writer may have created the namespace between the two reads (its
            // meta is written whole, layout included, by one script): read it again.
            redis::cmd("HGET")
                .arg(&meta)
                .arg(meta_field::LAYOUT)
                .query_async(conn)
                .await?
        }
    };
    let Some(raw) = layout else {
        return refuse(format!("{meta} has no layout field"));
    };
    let text = String::from_utf8_lossy(&raw);
    match text.parse::<u32>() {
        Ok(v) if (1..=LAYOUT_VERSION).contains(&v) => Ok(Some(v)),
        Ok(v) if v > LAYOUT_VERSION => refuse(format!(
            "it uses layout version {v} and this keytui knows up to {LAYOUT_VERSION}: upgrade keytui"
        )),
        _ => refuse(format!(
            "its layout version {:?} is not a version number this keytui knows",
            crate::sanitize::line(&text.chars().take(40).collect::<String>())
        )),
    }
}

/// A connection that lets nothing through until the namespace's layout passed
/// [`check_layout`]. The check runs once per handle (clones share it) and its answer, the
/// layout version (`None`: no namespace yet), is kept; a refusal is not remembered, so
/// every later command is refused again. Cheap to clone.
#[derive(Clone)]
pub struct GatedConn {
    inner: Conn,
    /// Shared by the clones: one reference count to bump per clone (a verification clones
    /// the connection it sends through).
    gate: Arc<Gate>,
}

/// What the clones of a [`GatedConn`] share.
struct Gate {
    ns: Namespace,
    passed: OnceCell<Option<u32>>,
    /// A layout learnt after the check found no namespace ([`GatedConn::recheck_missing`]).
    found_later: std::sync::atomic::AtomicU32,
    /// The refusal [`GatedConn::recheck_missing`] met (a newer layout): kept, so that
    /// every later command is refused as after a failed check.
    refused_later: std::sync::OnceLock<String>,
    /// When [`GatedConn::recheck_missing`] may read the meta hash again (ms since
    /// [`EPOCH`]).
    next_recheck: std::sync::atomic::AtomicU64,
}

/// A monotonic origin for [`GatedConn`]'s rate limit (a wall clock may step back).
static EPOCH: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// How long [`GatedConn::recheck_missing`] waits between two reads of a meta hash that
/// was still missing.
const RECHECK_MISSING_MS: u64 = 10_000;

impl GatedConn {
    pub fn new(inner: Conn, ns: Namespace) -> Self {
        Self {
            inner,
            gate: Arc::new(Gate {
                ns,
                passed: OnceCell::new(),
                found_later: Default::default(),
                refused_later: Default::default(),
                next_recheck: Default::default(),
            }),
        }
    }

    pub fn is_cluster(&self) -> bool {
        self.inner.is_cluster()
    }

    /// The connection without the gate, for code that has just passed [`Self::check`].
    pub(crate) fn inner(&self) -> Conn {
        self.inner.clone()
    }

    /// Runs the check now unless it has passed on this handle already.
    pub async fn check(&self) -> Result<()> {
        if let Some(why) = self.gate.refused_later.get() {
            return Err(redis::make_extension_error(REFUSED_CODE.into(), Some(why.clone())).into());
        }
        Ok(self.open().await?)
    }

    /// The layout version the check found: `None` before it passed, or while the
    /// namespace has not been seen to exist (see [`Self::recheck_missing`]; reading it the
    /// layout-1 way is right meanwhile, only slower).
    pub fn layout(&self) -> Option<u32> {
        use std::sync::atomic::Ordering;
        self.gate.passed.get().copied().flatten().or_else(|| {
            match self.gate.found_later.load(Ordering::Relaxed) {
                0 => None,
                v => Some(v),
            }
        })
    }

    /// When the check found no namespace (nothing created yet), reads its layout again,
    /// at most once per 10 seconds: a verifier started before the first key was created
    /// then learns the namespace's layout. A newer layout is refused as at the check; a
    /// Redis error is logged and changes nothing.
    pub async fn recheck_missing(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.layout().is_some() || self.gate.passed.get().is_none() {
            return Ok(());
        }
        let now = u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = self.gate.next_recheck.load(Ordering::Relaxed);
        if now < due
            || self
                .gate
                .next_recheck
                .compare_exchange(
                    due,
                    now + RECHECK_MISSING_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return Ok(()); // not yet, or another task is at it
        }
        match layout_or_refusal(&mut self.inner.clone(), &self.gate.ns).await {
            Ok(Some(v)) => self.gate.found_later.store(v, Ordering::Relaxed),
            Ok(None) => {}
            Err(e) if e.code() == Some(REFUSED_CODE) => {
                let _ = self
                    .gate
                    .refused_later
                    .set(e.detail().unwrap_or("a newer layout").to_owned());
                return Err(e.into());
            }
            // Reading the fields stays right: a failed look is only logged.
            Err(e) => {
                tracing::warn!(namespace = %self.gate.ns, "reading the layout again failed: {e}")
            }
        }
        Ok(())
    }

    async fn open(&self) -> redis::RedisResult<()> {
        self.gate
            .passed
            .get_or_try_init(|| async {
                layout_or_refusal(&mut self.inner.clone(), &self.gate.ns).await
            })
            .await?;
        Ok(())
    }
}

impl ConnectionLike for GatedConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        if self.gate.passed.initialized() {
            return self.inner.req_packed_command(cmd);
        }
        Box::pin(async move {
            self.open().await?;
            self.inner.req_packed_command(cmd).await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        if self.gate.passed.initialized() {
            return self.inner.req_packed_commands(cmd, offset, count);
        }
        Box::pin(async move {
            self.open().await?;
            self.inner.req_packed_commands(cmd, offset, count).await
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// How secrets are kept in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only a digest is stored; the secret is shown once.
    Hash,
    /// A digest plus an encrypted copy that `reveal` can open with the master key.
    Sealed,
    /// The raw secret, for legacy apps.
    Plain,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Hash => "hash",
            Mode::Sealed => "sealed",
            Mode::Plain => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hash" => Some(Mode::Hash),
            "sealed" => Some(Mode::Sealed),
            "plain" => Some(Mode::Plain),
            _ => None,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The namespace's settings, from `{ns}:meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceMeta {
    pub layout: u32,
    pub mode: Mode,
    /// How digests are made: `sha256`, or `hmac-sha256` when a pepper is used.
    pub secret_alg: SecretAlg,
    pub created_at: UnixMs,
    pub production: bool,
    pub pepper_check: Option<String>,
    pub master_key_check: Option<String>,
    /// Set while `keytui migrate` converts the namespace to another mode.
    pub migrating_to: Option<Mode>,
}

impl NamespaceMeta {
    /// The mode new records are written in (the target mode during a migration).
    pub fn write_mode(&self) -> Mode {
        self.migrating_to.unwrap_or(self.mode)
    }

    /// How new records store their secret (digests once a plain namespace migrates away).
    pub fn write_alg(&self, has_pepper: bool) -> SecretAlg {
        match (self.write_mode(), self.secret_alg) {
            (Mode::Plain, _) => SecretAlg::Plain,
            (_, SecretAlg::Plain) if has_pepper => SecretAlg::HmacSha256,
            (_, SecretAlg::Plain) => SecretAlg::Sha256,
            (_, alg) => alg,
        }
    }
}

pub(crate) fn parse_meta(ns: &Namespace, f: &HashMap<String, String>) -> Result<NamespaceMeta> {
    let bad =
        |what: &str| Error::Setup(format!("namespace {ns} has a malformed meta hash ({what})"));
    let layout: u32 = f
        .get(meta_field::LAYOUT)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("layout"))?;
    if layout > LAYOUT_VERSION {
        return Err(Error::Setup(format!(
            "namespace {ns} uses layout version {layout}; this keytui knows up to {LAYOUT_VERSION}: upgrade keytui"
        )));
    }
    let mode = f
        .get(meta_field::MODE)
        .and_then(|v| Mode::parse(v))
        .ok_or_else(|| bad("mode"))?;
    let secret_alg = f
        .get("secret_alg")
        .and_then(|v| SecretAlg::parse(v))
        .ok_or_else(|| bad("secret_alg"))?;
    Ok(NamespaceMeta {
        layout,
        mode,
        secret_alg,
        created_at: f
            .get(meta_field::CREATED_AT)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        production: f.get(meta_field::PRODUCTION).map(String::as_str) == Some("1"),
        pepper_check: f.get(meta_field::PEPPER_CHECK).cloned(),
        master_key_check: f.get(meta_field::MASTER_KEY_CHECK).cloned(),
        migrating_to: f.get(meta_field::MIGRATING_TO).and_then(|v| Mode::parse(v)),
    })
}

/// Reads `{ns}:meta`; `None` when nothing was created in the namespace yet.
pub async fn read_meta(
    c: &mut (impl ConnectionLike + Send),
    ns: &Namespace,
) -> Result<Option<NamespaceMeta>> {
    let raw: HashMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL")
        .arg(ns.meta_key())
        .query_async(c)
        .await?;
    let fields = lossy(raw);
    if fields.is_empty() {
        return Ok(None);
    }
    parse_meta(ns, &fields).map(Some)
}

/// Whether `pepper` fits a namespace: an `hmac-sha256` namespace needs one, and it must
/// match the stored check value (when the namespace stores one). Other namespaces take any.
pub fn check_pepper(ns: &Namespace, meta: &NamespaceMeta, pepper: Option<&Pepper>) -> Result<()> {
    match (meta.secret_alg, pepper, &meta.pepper_check) {
        (SecretAlg::HmacSha256, None, _) => Err(Error::Setup(format!(
            "namespace {ns} hashes secrets with a pepper: set KEYTUI_PEPPER"
        ))),
        (SecretAlg::HmacSha256, Some(p), Some(check)) if &p.check_value() != check => {
            Err(Error::Setup(format!(
                "KEYTUI_PEPPER does not match the pepper of namespace {ns}"
            )))
        }
        _ => Ok(()),
    }
}

/// Decodes a hash read as bytes; invalid UTF-8 becomes U+FFFD, so one damaged field makes
/// one record malformed instead of failing a whole page.
pub(crate) fn lossy(raw: HashMap<Vec<u8>, Vec<u8>>) -> HashMap<String, String> {
    raw.into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}
