//! The key store: every read and write of a namespace's keys, following
//! `docs/redis-layout.md`.
//!
//! One code path serves a standalone server and a cluster. Multi-key writes are ordered so
//! that a crash between two steps leaves only states [`Store::doctor`] reports and repairs
//! (see the layout document, "Write paths"). The store never logs or returns secrets except
//! the one it has just generated, inside [`Created`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use redis::{AsyncCommands, Value};

use crate::conn::Conn;
use crate::crypto::{self, Pepper};
use crate::error::{Error, Result};
use crate::gate::GatedConn;
use crate::keygen::{self, Secret, Spec, Token};
use crate::layout::{EVENTS_MAXLEN, HISTORY_MAXLEN, LAYOUT_VERSION, Namespace, field, meta_field};
use crate::record::{KeyRecord, RecordError, SecretAlg, Status, UnixMs, now_ms};
use crate::seal::MasterKey;
use crate::verify::Presented;

/// Verification lives in [`crate::verify`]; these stay importable from here.
pub use crate::verify::{Rejection, Verdict};

/// Keys written per pipeline (standalone) or per batch of concurrent commands (cluster).
const BATCH: usize = 1000;
/// Batches `create_many` keeps in flight.
const BATCHES_IN_FLIGHT: usize = 2;
/// Rounds of id draws that all collide before `create` gives up.
const MAX_FRUITLESS_ROUNDS: usize = 50;
/// The record fields [`Store::list_each`] reads: every field of the layout a listed
/// [`KeyRecord`] holds (the stored digest only to check that it is there).
const LISTED_FIELDS: [&str; 17] = [
    field::ID,
    field::NAME,
    field::STATUS,
    field::SECRET_ALG,
    field::SECRET,
    field::SECRET_SEALED,
    field::TOKEN_PREFIX,
    field::TOKEN_CHECKSUM,
    field::CREATED_AT,
    field::CREATED_BY,
    field::EXPIRES_AT,
    field::REVOKED_AT,
    field::REVOKED_REASON,
    field::LAST_USED_AT,
    field::META,
    field::ROTATED_FROM,
    field::ROTATED_TO,
];

/// Entries of `{ns}:events` read per request when looking for a key's older events.
const HISTORY_SCAN: usize = 10_000;
/// Index pages [`Store::list_all`] fetches ahead.
pub const PAGES_IN_FLIGHT: usize = 3;
/// Pipelines of [`BATCH`] reads sent at once on a standalone connection.
const PIPELINES_IN_FLIGHT: usize = 4;
/// Commands in flight at once on a cluster connection.
const CLUSTER_CONCURRENCY: usize = 256;
/// Index entries younger than this may belong to a `create` still in flight; doctor leaves
/// them alone.
const IN_FLIGHT_GRACE_MS: i64 = 60_000;

/// Creates a record only if its key does not exist yet; ARGV holds field/value pairs.
const CREATE_RECORD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1";

/// A script sent with `EVALSHA` in pipelines (see [`load_script`]); the hash is computed
/// once.
struct Lua {
    text: &'static LazyLock<String>,
    script: LazyLock<redis::Script>,
}

static CREATE_RECORD_TEXT: LazyLock<String> = LazyLock::new(|| CREATE_RECORD.to_owned());
static REVOKE_TEXT: LazyLock<String> = LazyLock::new(|| REVOKE.to_owned());

static CREATE_RECORD_LUA: Lua = Lua {
    text: &CREATE_RECORD_TEXT,
    script: LazyLock::new(|| redis::Script::new(CREATE_RECORD)),
};

static REVOKE_LUA: Lua = Lua {
    text: &REVOKE_TEXT,
    script: LazyLock::new(|| redis::Script::new(REVOKE)),
};

/// The index score of a key created at unix ms `created` (a string): `created` itself, or,
/// when keys created in the same millisecond are indexed already, just above the highest of
/// them, so that the index keeps creation order within a millisecond. The integer part of
/// a score is always `created` (see docs/redis-layout.md, "Browsing").
const INDEX_SCORE: &str = r"
local function index_score(index, created)
  local c = tonumber(created)
  local top = redis.call('ZREVRANGEBYSCORE', index, '(' .. string.format('%d', c + 1), created,
    'WITHSCORES', 'LIMIT', 0, 1)
  if #top == 0 then return created end
  local base = tonumber(top[2])
  local step = 1 / 4096
  while base + step == base do step = step * 2 end
  local s = base + step
  if s >= c + 1 then return top[2] end
  return string.format('%.17g', s)
end
";

/// Creates a batch of keys on a standalone server, atomically. KEYS: index, events, then
/// one record key per new key, then one history key per new key. ARGV: events maxlen,
/// actor, now, history maxlen, then per key: id, created_at, name, the number N of
/// field/value arguments, and those N arguments. For each key: unless its record exists or
/// its id is already indexed, `ZADD NX` the index (scored by [`INDEX_SCORE`]), `HSET` the
/// record and `XADD` a `create` event to the events and to the key's history. Returns one
/// 1 (created) or 0 (collision) per key.
static CREATE_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{INDEX_SCORE}{}",
        r"
local out = {}
local a = 5
local n = (#KEYS - 2) / 2
for i = 3, 2 + n do
  local id, created, name, m = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  local ok = 0
  if redis.call('EXISTS', KEYS[i]) == 0
    and redis.call('ZADD', KEYS[1], 'NX', index_score(KEYS[1], created), id) == 1 then
    redis.call('HSET', KEYS[i], unpack(ARGV, a, a + m - 1))
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'op', 'create', 'id', id,
      'actor', ARGV[2], 'at', ARGV[3], 'detail', name)
    redis.call('XADD', KEYS[i + n], 'MAXLEN', '~', ARGV[4], '*', 'op', 'create', 'id', id,
      'actor', ARGV[2], 'at', ARGV[3], 'detail', name)
    ok = 1
  end
  out[#out + 1] = ok
  a = a + m
end
return out"
    )
});

/// Indexes a batch of new keys (cluster create, step 1). KEYS: the index. ARGV: created_at
/// and id per key. `ZADD NX` each, scored by [`INDEX_SCORE`]; returns 1 (indexed) or 0
/// (already indexed) per key.
static INDEX_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{INDEX_SCORE}{}",
        r"
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = redis.call('ZADD', KEYS[1], 'NX', index_score(KEYS[1], ARGV[i]), ARGV[i + 1])
end
return out"
    )
});

static INDEX_BATCH_LUA: Lua = Lua {
    text: &INDEX_BATCH,
    script: LazyLock::new(|| redis::Script::new(&INDEX_BATCH)),
};

static CREATE_BATCH_LUA: Lua = Lua {
    text: &CREATE_BATCH,
    script: LazyLock::new(|| redis::Script::new(&CREATE_BATCH)),
};

/// ARGV: now, reason. Returns 1 revoked, 0 already revoked, -1 unknown, -2 malformed
/// status, -3 a record key that is not a hash.
const REVOKE: &str = r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'hash' then return -3 end
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'revoked' then return 0 end
if s ~= 'active' then return -2 end
redis.call('HSET', KEYS[1], 'status', 'revoked', 'revoked_at', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'revoked_reason', ARGV[2]) end
return 1";

/// Returns 1 restored, 0 already active, -1 unknown, -2 malformed status, -3 a record key
/// that is not a hash.
const RESTORE: &str = r"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'hash' then return -3 end
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'active' then return 0 end
if s ~= 'revoked' then return -2 end
redis.call('HSET', KEYS[1], 'status', 'active')
redis.call('HDEL', KEYS[1], 'revoked_at', 'revoked_reason')
return 1";

/// ARGV: expires_at, rotated_to, force (`1` or `0`). Shortens the expiry (never lengthens
/// it) and sets `rotated_to` unless it is set already (the first successor keeps its link).
/// Returns `{1, expires_at}` done, `{-1, ''}` unknown, `{-2, rotated_to}` already rotated
/// (without force: nothing changed).
const EXPIRE_FOR_ROTATION: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
local prev = redis.call('HGET', KEYS[1], 'rotated_to')
if prev and prev ~= '' and ARGV[3] ~= '1' then return {-2, prev} end
local es = redis.call('HGET', KEYS[1], 'expires_at')
local e = tonumber(es or '')
if (not e) or e > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[1])
  es = ARGV[1]
end
if (not prev) or prev == '' then redis.call('HSET', KEYS[1], 'rotated_to', ARGV[2]) end
return {1, es}";

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

/// What `create` needs; [`CreateRequest::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub name: String,
    pub id_spec: Spec,
    pub secret_spec: Spec,
    pub prefix: Option<String>,
    pub checksum: bool,
    pub expires_at: Option<UnixMs>,
    pub meta: BTreeMap<String, String>,
    /// Accept secrets under 128 bits.
    pub allow_weak: bool,
}

impl CreateRequest {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id_spec: Spec::id_default(),
            secret_spec: Spec::secret_default(),
            prefix: None,
            checksum: true,
            expires_at: None,
            meta: BTreeMap::new(),
            allow_weak: false,
        }
    }
}

/// What `rotate` needs besides the key id. Every `None` keeps the old key's shape.
#[derive(Clone, Debug)]
pub struct RotateRequest {
    /// How long the old key keeps working.
    pub grace: Duration,
    pub secret_spec: Option<Spec>,
    pub id_spec: Option<Spec>,
    /// `Some("")` drops the prefix.
    pub prefix: Option<String>,
    pub checksum: Option<bool>,
    /// `Some(None)`: the new key never expires.
    pub expires_at: Option<Option<UnixMs>>,
    /// Accept a weak secret given in `secret_spec`.
    pub allow_weak: bool,
    /// Rotate a key that was rotated before (see [`Store::rotate`]).
    pub force: bool,
}

impl RotateRequest {
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            secret_spec: None,
            id_spec: None,
            prefix: None,
            checksum: None,
            expires_at: None,
            allow_weak: false,
            force: false,
        }
    }
}

/// A rotation's outcome: the new key, once.
#[derive(Clone, Debug)]
pub struct Rotated {
    pub created: Created,
    /// The old key's expiry now (`None` when it was deleted meanwhile).
    pub old_expires_at: Option<UnixMs>,
    /// With `force`: the successor of an earlier rotation, still linked by `rotated_to`.
    pub first_successor: Option<String>,
    /// Bits of entropy of the new secret.
    pub entropy_bits: f64,
}

/// How a key was made, as a rotation reproduces it.
struct KeyShape {
    secret_spec: Spec,
    id_spec: Spec,
    lifetime_ms: Option<i64>,
}

fn already_rotated(id: &str, to: &str) -> Error {
    Error::Conflict(format!(
        "key {id} was already rotated to {}; rotate that key instead, or rotate again explicitly (--force; {} stays valid)",
        crate::sanitize::line(to),
        crate::sanitize::line(to)
    ))
}

/// The optional record fields that let a rotation reproduce a key's shape.
pub(crate) fn shape_fields(secret: &Spec, id: &Spec) -> [(&'static str, String); 4] {
    [
        (field::SECRET_FORMAT, secret.encoding.to_string()),
        (field::SECRET_LENGTH, secret.char_len().to_string()),
        (field::ID_FORMAT, id.encoding.to_string()),
        (field::ID_LENGTH, id.char_len().to_string()),
    ]
}

/// A key just created: the only time its secret exists outside the caller's hands.
#[derive(Clone, Debug)]
pub struct Created {
    pub record: KeyRecord,
    pub secret: Secret,
    pub token: Secret,
}

/// Whether a revoke or restore changed anything (both are idempotent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    Unchanged,
}

/// One entry of the audit log / change feed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// The stream entry id (`<ms>-<seq>`), usable as a cursor.
    pub cursor: String,
    pub op: String,
    pub id: String,
    pub actor: String,
    pub at: UnixMs,
    pub detail: Option<String>,
}

/// A page of the index, newest first.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub records: Vec<KeyRecord>,
    /// Records that exist but cannot be read.
    pub malformed: Vec<RecordError>,
    /// Index entries without a record (a create in flight, or a crash `doctor` repairs).
    pub dangling: Vec<String>,
    /// Number of index entries in the namespace.
    pub total: usize,
}

/// Which keys a bulk revoke or delete applies to: every condition given must hold; the
/// default matches every key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// A substring of the name, compared case-insensitively.
    pub name_contains: Option<String>,
    /// The status now (expired is computed from `expires_at`).
    pub status: Option<Status>,
    /// Metadata entries the key must have, with exactly these values.
    pub meta: BTreeMap<String, String>,
}

impl KeyFilter {
    /// Whether a record matches at time `now` (unix ms).
    pub fn matches(&self, r: &KeyRecord, now: UnixMs) -> bool {
        if let Some(text) = &self.name_contains
            && !text.is_empty()
            && !r.name.to_lowercase().contains(&text.to_lowercase())
        {
            return false;
        }
        if self.status.is_some_and(|s| r.status_at(now) != s) {
            return false;
        }
        self.meta.iter().all(|(k, v)| r.meta.get(k) == Some(v))
    }

    /// True when the filter has no condition, i.e. matches every key.
    pub fn is_empty(&self) -> bool {
        self.name_contains.as_deref().is_none_or(str::is_empty)
            && self.status.is_none()
            && self.meta.is_empty()
    }
}

impl std::fmt::Display for KeyFilter {
    /// `name contains "svc", status active, meta owner=team-a`, or `every key`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = self.name_contains.as_deref().filter(|t| !t.is_empty()) {
            parts.push(format!("name contains {:?}", crate::sanitize::line(t)));
        }
        if let Some(s) = self.status {
            parts.push(format!("status {s}"));
        }
        for (k, v) in &self.meta {
            parts.push(format!(
                "meta {}={}",
                crate::sanitize::line(k),
                crate::sanitize::line(v)
            ));
        }
        if parts.is_empty() {
            f.write_str("every key")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What a bulk revoke or delete did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkOutcome {
    /// Keys revoked, or deleted.
    pub done: usize,
    /// Keys that were already revoked (revoke only).
    pub unchanged: usize,
    /// Ids without a record (deleted meanwhile, or never created).
    pub missing: Vec<String>,
    /// Records whose status is neither active nor revoked; left unchanged (revoke only).
    pub malformed: Vec<String>,
}

/// What `doctor` found (and repaired, when asked).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DoctorReport {
    pub indexed: usize,
    pub records_scanned: usize,
    pub meta_problem: Option<String>,
    /// Index entries whose record is gone.
    pub dangling: Vec<String>,
    /// Records that no index entry points to (invisible to `list`).
    pub orphans: Vec<String>,
    /// Records that cannot be read, as one line each (`malformed record "X": ...`), in the
    /// index or not; their data is never changed by repair.
    pub malformed: Vec<String>,
    /// The same records, with what is wrong with each and where they are.
    pub malformed_records: Vec<MalformedRecord>,
    /// Index entries young enough to be a create still in flight; left alone.
    pub in_flight: Vec<String>,
    /// Records holding a plaintext secret in a namespace that is not `plain` (a writer
    /// raced a migration): run `keytui migrate` again.
    pub plaintext: Vec<String>,
    /// Everything repair changed: index entries removed or added, records deleted.
    pub repaired: usize,
    /// Malformed records repair moved out of the index (their data kept).
    pub unindexed: usize,
    /// Malformed records repair deleted ([`Repair::DeleteMalformed`] only).
    pub deleted: usize,
}

/// A record doctor cannot read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MalformedRecord {
    pub id: String,
    /// What is wrong with it, in words: "the record key is a list, not a hash".
    pub problem: String,
    /// Whether the index lists it (after repair: still lists it).
    pub indexed: bool,
    /// Whether repair deleted it.
    pub deleted: bool,
}

/// What `doctor` may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Only report.
    No,
    /// Remove dangling index entries, index orphans, move malformed records out of the
    /// index (keeping their data).
    Index,
    /// As [`Repair::Index`], and delete the record keys of these malformed records (data
    /// keytui may not have written: only on the user's explicit request).
    DeleteMalformed(HashSet<String>),
}

impl DoctorReport {
    pub fn is_healthy(&self) -> bool {
        self.meta_problem.is_none()
            && self.dangling.is_empty()
            && self.orphans.is_empty()
            && self.malformed.is_empty()
            && self.plaintext.is_empty()
    }

    /// Malformed records repair left in place (moved out of the index or not).
    pub fn malformed_left(&self) -> usize {
        self.malformed_records.iter().filter(|m| !m.deleted).count()
    }

    fn add_malformed(&mut self, e: RecordError, indexed: bool) {
        self.malformed.push(e.to_string());
        self.malformed_records.push(MalformedRecord {
            id: e.id,
            problem: e.reason,
            indexed,
            deleted: false,
        });
    }
}

/// A namespace's keys in Redis.
#[derive(Clone)]
pub struct Store {
    /// Every command of the store goes through this connection, which refuses a namespace
    /// of a newer layout before anything is read or written (see [`crate::gate`]).
    pub(crate) conn: GatedConn,
    pub(crate) ns: Namespace,
    actor: String,
    pub(crate) pepper: Option<Pepper>,
    pub(crate) master_key: Option<MasterKey>,
}

impl Store {
    pub fn new(conn: Conn, ns: Namespace) -> Self {
        Self {
            conn: GatedConn::new(conn, ns.clone()),
            ns,
            actor: default_actor(),
            pepper: None,
            master_key: None,
        }
    }

    /// Who is named as `created_by` and in events.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    pub fn with_pepper(mut self, pepper: Option<Pepper>) -> Self {
        self.pepper = pepper;
        self
    }

    /// The master key of a `sealed` namespace (needed to create and reveal keys there).
    pub fn with_master_key(mut self, key: Option<MasterKey>) -> Self {
        self.master_key = key;
        self
    }

    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// A clone of the connection (shares the underlying socket and the layout gate).
    pub fn conn(&self) -> GatedConn {
        self.conn.clone()
    }

    /// Refuses a namespace this keytui cannot handle (see [`crate::gate::check_layout`]).
    /// Every command of the store does this on its own before its first round trip; call it
    /// to fail early, before asking anything of the user.
    pub async fn check_layout(&self) -> Result<()> {
        self.conn.check().await
    }

    /// The same store on another connection (e.g. a fresh one after a reconnect).
    /// The layout is checked again on it before its first command.
    pub fn with_conn(&self, conn: Conn) -> Store {
        Store {
            conn: GatedConn::new(conn, self.ns.clone()),
            ..self.clone()
        }
    }

    // ---- namespace ----------------------------------------------------------------

    /// The namespace settings, or `None` when nothing was created in it yet.
    pub async fn meta(&self) -> Result<Option<NamespaceMeta>> {
        let mut c = self.conn.clone();
        let fields = lossy(c.hgetall(self.ns.meta_key()).await?);
        if fields.is_empty() {
            return Ok(None);
        }
        parse_meta(&self.ns, &fields).map(Some)
    }

    /// Creates the namespace explicitly. Fails if it exists with other settings.
    pub async fn init(&self, mode: Mode, production: bool) -> Result<NamespaceMeta> {
        let alg = if self.pepper.is_some() {
            SecretAlg::HmacSha256
        } else if mode == Mode::Plain {
            SecretAlg::Plain
        } else {
            SecretAlg::Sha256
        };
        if mode == Mode::Sealed && self.master_key.is_none() {
            return Err(Error::Setup(
                "a sealed namespace needs a master key: set KEYTUI_MASTER_KEY or KEYTUI_MASTER_KEY_FILE \
                 (keytui init --mode sealed --generate-master-key FILE makes one)"
                    .into(),
            ));
        }
        let wanted = NamespaceMeta {
            layout: LAYOUT_VERSION,
            mode,
            secret_alg: alg,
            created_at: now_ms(),
            production,
            pepper_check: self.pepper.as_ref().map(Pepper::check_value),
            master_key_check: match mode {
                Mode::Sealed => self.master_key.as_ref().map(MasterKey::check_value),
                _ => None,
            },
            migrating_to: None,
        };
        let mut c = self.conn.clone();
        let key = self.ns.meta_key();
        let mut args: Vec<(&str, String)> = vec![
            (meta_field::LAYOUT, wanted.layout.to_string()),
            (meta_field::MODE, wanted.mode.as_str().into()),
            ("secret_alg", wanted.secret_alg.as_str().into()),
            (meta_field::CREATED_AT, wanted.created_at.to_string()),
            (
                meta_field::PRODUCTION,
                if production { "1" } else { "0" }.into(),
            ),
        ];
        if let Some(check) = &wanted.pepper_check {
            args.push((meta_field::PEPPER_CHECK, check.clone()));
        }
        if let Some(check) = &wanted.master_key_check {
            args.push((meta_field::MASTER_KEY_CHECK, check.clone()));
        }
        let created: i64 = redis::Script::new(CREATE_RECORD)
            .key(&key)
            .arg(flatten(&args))
            .invoke_async(&mut c)
            .await?;
        if created == 1 {
            self.event("init", "", Some(mode.as_str())).await?;
            return Ok(wanted);
        }
        let existing = self
            .meta()
            .await?
            .ok_or_else(|| Error::Setup("namespace meta vanished during init".into()))?;
        if existing.mode != mode {
            return Err(Error::Setup(format!(
                "namespace {} already exists in {} mode",
                self.ns, existing.mode
            )));
        }
        self.check_pepper(&existing)?;
        self.check_master_key(&existing)?;
        if existing.production != production {
            let _: () = c
                .hset(
                    &key,
                    meta_field::PRODUCTION,
                    if production { "1" } else { "0" },
                )
                .await?;
            self.event(
                "init",
                "",
                Some(if production {
                    "production"
                } else {
                    "not production"
                }),
            )
            .await?;
        }
        Ok(NamespaceMeta {
            production,
            ..existing
        })
    }

    /// The namespace settings, creating a `hash` namespace when it does not exist yet.
    pub async fn ensure_meta(&self) -> Result<NamespaceMeta> {
        let meta = match self.meta().await? {
            Some(m) => m,
            None => self.init(Mode::Hash, false).await?,
        };
        self.check_pepper(&meta)?;
        Ok(meta)
    }

    /// Refuses a missing or wrong master key where the namespace seals secrets, before
    /// anything is written.
    pub fn check_master_key(&self, meta: &NamespaceMeta) -> Result<()> {
        if meta.write_mode() != Mode::Sealed && meta.mode != Mode::Sealed {
            return Ok(());
        }
        match (&self.master_key, &meta.master_key_check) {
            (None, _) => Err(Error::Setup(format!(
                "namespace {} seals secrets: set KEYTUI_MASTER_KEY or KEYTUI_MASTER_KEY_FILE",
                self.ns
            ))),
            (Some(k), Some(check)) if &k.check_value() != check => Err(Error::Setup(format!(
                "the master key does not match the one of namespace {}; nothing was changed",
                self.ns
            ))),
            (Some(_), None) => Err(Error::Setup(format!(
                "namespace {} has no master key check value; run keytui init --mode sealed",
                self.ns
            ))),
            _ => Ok(()),
        }
    }

    pub(crate) fn check_pepper(&self, meta: &NamespaceMeta) -> Result<()> {
        match (meta.secret_alg, &self.pepper, &meta.pepper_check) {
            (SecretAlg::HmacSha256, None, _) => Err(Error::Setup(format!(
                "namespace {} hashes secrets with a pepper: set KEYTUI_PEPPER",
                self.ns
            ))),
            (SecretAlg::HmacSha256, Some(p), Some(check)) if &p.check_value() != check => {
                Err(Error::Setup(format!(
                    "KEYTUI_PEPPER does not match the pepper of namespace {}",
                    self.ns
                )))
            }
            _ => Ok(()),
        }
    }

    // ---- create ---------------------------------------------------------------------

    /// Creates one key. The id is new: an existing id is never overwritten.
    pub async fn create(&self, req: &CreateRequest) -> Result<Created> {
        let mut all = self.create_many(req, 1, |_| {}).await?;
        all.pop()
            .ok_or_else(|| Error::Redis("create returned no key".into()))
    }

    /// Creates `count` keys in batches of 1,000 (standalone: one atomic script call per
    /// batch; cluster: index and events per batch, records concurrently), drawing the next
    /// batch while the current one is written. `progress` is called with the number of keys
    /// done so far.
    pub async fn create_many(
        &self,
        req: &CreateRequest,
        count: usize,
        progress: impl FnMut(usize),
    ) -> Result<Vec<Created>> {
        let mut done = Vec::with_capacity(count);
        self.create_each(
            req,
            count,
            |c| {
                done.push(c);
                Ok(())
            },
            progress,
        )
        .await?;
        Ok(done)
    }

    /// Like [`Store::create_many`], but hands each key to `each` as soon as its batch is
    /// written instead of collecting them, so memory stays flat for millions of keys. An
    /// error from `each` (e.g. a closed output) stops the creation; the keys written so far
    /// stay. Returns the number of keys created.
    pub async fn create_each(
        &self,
        req: &CreateRequest,
        count: usize,
        mut each: impl FnMut(Created) -> Result<()>,
        mut progress: impl FnMut(usize),
    ) -> Result<usize> {
        validate_request(req)?;
        let meta = self.ensure_meta().await?;
        self.check_master_key(&meta)?;
        let mut done = 0;
        let mut fruitless_rounds = 0;
        // Keys drawn and sent but not answered yet.
        let mut queued = 0;
        // Two batches in flight: the server writes one while the client prints the one
        // before and draws the one after.
        let mut in_flight = futures::stream::FuturesOrdered::new();
        loop {
            while in_flight.len() < BATCHES_IN_FLIGHT && done + queued < count {
                let want = (count - done - queued).min(BATCH);
                let batch = (0..want)
                    .map(|_| self.generate(req, &meta))
                    .collect::<Result<Vec<_>>>()?;
                queued += batch.len();
                in_flight.push_back(async move {
                    let written = if self.conn.is_cluster() {
                        self.write_batch_cluster(&batch).await
                    } else {
                        self.write_batch_standalone(&batch).await
                    };
                    (batch, written)
                });
            }
            let Some((batch, written)) = in_flight.next().await else {
                break;
            };
            queued -= batch.len();
            let before = done;
            for (pending, ok) in batch.into_iter().zip(written?) {
                if ok {
                    done += 1;
                    each(pending.created)?;
                }
                // A collision (astronomically rare) is simply drawn again in a later batch.
            }
            progress(done);
            if done == before {
                fruitless_rounds += 1;
                if fruitless_rounds >= MAX_FRUITLESS_ROUNDS {
                    return Err(Error::Conflict(format!(
                        "no free key id found after {MAX_FRUITLESS_ROUNDS} tries: the id space \
                         is exhausted; use longer ids (--id-length); {done} of {count} keys were created"
                    )));
                }
            } else {
                fruitless_rounds = 0;
            }
        }
        Ok(done)
    }

    fn generate(&self, req: &CreateRequest, meta: &NamespaceMeta) -> Result<PendingKey> {
        let id = keygen::generate_id(&req.id_spec)?;
        let secret = keygen::generate_secret(&req.secret_spec, req.allow_weak)?;
        let alg = meta.write_alg(self.pepper.is_some());
        let stored = crypto::stored_form(alg, secret.expose(), self.pepper.as_ref())
            .ok_or_else(|| Error::Setup("this namespace needs KEYTUI_PEPPER".into()))?;
        let token = Token {
            prefix: req.prefix.clone(),
            id: id.clone(),
            secret: secret.clone(),
            checksum: req.checksum,
        }
        .format();
        let now = now_ms();
        let record = KeyRecord {
            id: id.clone(),
            name: req.name.clone(),
            revoked: false,
            secret_alg: alg,
            sealed: false,
            token_prefix: req.prefix.clone(),
            token_checksum: req.checksum,
            created_at: now,
            created_by: self.actor.clone(),
            expires_at: req.expires_at,
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            meta: req.meta.clone(),
            rotated_from: None,
            rotated_to: None,
        };
        let mut record = record;
        let mut fields = record_fields(&record);
        fields.push((field::SECRET, stored));
        fields.extend(shape_fields(&req.secret_spec, &req.id_spec));
        if let Some(e) = req.expires_at {
            fields.push((field::LIFETIME_MS, e.saturating_sub(now).max(1).to_string()));
        }
        if meta.write_mode() == Mode::Sealed {
            fields.push(self.sealed_field(&id, secret.expose())?);
            record.sealed = true;
        }
        Ok(PendingKey {
            fields,
            created: Created {
                record,
                secret,
                token,
            },
        })
    }

    /// The `secret_sealed` field of a record in a sealed namespace.
    pub(crate) fn sealed_field(&self, id: &str, secret: &str) -> Result<(&'static str, String)> {
        let key = self
            .master_key
            .as_ref()
            .ok_or_else(|| Error::Setup("this namespace needs a master key".into()))?;
        Ok((
            field::SECRET_SEALED,
            key.seal(self.ns.as_str(), id, secret)?,
        ))
    }

    /// Writes a batch of new records (never overwriting); returns which were written.
    pub(crate) async fn write_batch(&self, batch: &[PendingKey]) -> Result<Vec<bool>> {
        if self.conn.is_cluster() {
            self.write_batch_cluster(batch).await
        } else {
            self.write_batch_standalone(batch).await
        }
    }

    /// One script call per batch ([`CREATE_BATCH`]): for each key the index entry, the
    /// record and the event, the whole batch atomic.
    async fn write_batch_standalone(&self, batch: &[PendingKey]) -> Result<Vec<bool>> {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(CREATE_BATCH_LUA.script.get_hash())
            .arg(2 + 2 * batch.len())
            .arg(self.ns.index_key())
            .arg(self.ns.events_key());
        for key in batch {
            cmd.arg(self.ns.record_key(&key.created.record.id));
        }
        for key in batch {
            cmd.arg(self.ns.history_key(&key.created.record.id));
        }
        cmd.arg(EVENTS_MAXLEN)
            .arg(&self.actor)
            .arg(now_ms())
            .arg(HISTORY_MAXLEN);
        for key in batch {
            let rec = &key.created.record;
            cmd.arg(&rec.id)
                .arg(rec.created_at)
                .arg(&rec.name)
                .arg(key.fields.len() * 2);
            for (k, v) in &key.fields {
                cmd.arg(*k).arg(v);
            }
        }
        let codes: Vec<i64> = self.evalsha(&CREATE_BATCH_LUA, &mut cmd).await?;
        if codes.len() != batch.len() {
            return Err(Error::Redis(format!(
                "the create script answered {} results for {} keys",
                codes.len(),
                batch.len()
            )));
        }
        Ok(codes.into_iter().map(|c| c == 1).collect())
    }

    /// Runs an `EVALSHA` command of `lua`; when the server does not have the script cached
    /// (`NOSCRIPT`: a restart, `SCRIPT FLUSH`), loads it and runs the command again. Unlike
    /// [`redis::Script::invoke_async`] it takes a built command, so large argument lists are
    /// not copied.
    async fn evalsha<T: redis::FromRedisValue>(
        &self,
        lua: &'static Lua,
        cmd: &mut redis::Cmd,
    ) -> Result<T> {
        let mut c = self.conn.clone();
        match cmd.query_async(&mut c).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(lua.text.as_str())
                    .query_async::<()>(&mut c)
                    .await?;
                Ok(cmd.query_async(&mut c).await?)
            }
            other => Ok(other?),
        }
    }

    async fn write_batch_cluster(&self, batch: &[PendingKey]) -> Result<Vec<bool>> {
        let index = self.ns.index_key();
        // 1. Index entries first: a crash after this leaves dangling entries, which list
        //    skips and doctor removes.
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(INDEX_BATCH_LUA.script.get_hash())
            .arg(1)
            .arg(&index);
        for key in batch {
            let rec = &key.created.record;
            cmd.arg(rec.created_at).arg(&rec.id);
        }
        let indexed: Vec<i64> = self.evalsha(&INDEX_BATCH_LUA, &mut cmd).await?;
        // 2. Records, each in its own slot, concurrently over the multiplexed connection.
        let script = &*CREATE_RECORD_LUA.script;
        let written: Vec<bool> = futures::stream::iter(batch.iter().zip(&indexed))
            .map(|(key, &was_new)| {
                let mut c = self.conn.clone();
                async move {
                    if was_new != 1 {
                        return Ok(false);
                    }
                    let n: i64 = script
                        .key(self.ns.record_key(&key.created.record.id))
                        .arg(flatten(&key.fields))
                        .invoke_async(&mut c)
                        .await?;
                    Ok::<bool, Error>(n == 1)
                }
            })
            .buffered(CLUSTER_CONCURRENCY)
            .try_collect()
            .await?;
        // 3. Events (and removal of collided index entries), same slot as the index.
        let events = self.ns.events_key();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for ((key, &ok), &was_new) in batch.iter().zip(&written).zip(&indexed) {
            let rec = &key.created.record;
            if ok {
                self.push_event(&mut pipe, &events, "create", &rec.id, Some(&rec.name));
            } else if was_new == 1 {
                pipe.cmd("ZREM").arg(&index).arg(&rec.id);
            }
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(written)
    }

    // ---- read -----------------------------------------------------------------------

    /// One key's record.
    pub async fn get(&self, id: &str) -> Result<KeyRecord> {
        let mut c = self.conn.clone();
        let fields = match c.hgetall(self.ns.record_key(id)).await {
            Ok(raw) => lossy(raw),
            Err(e) if is_wrong_type(&e) => {
                let mut page = Page {
                    malformed: vec![RecordError {
                        id: id.to_owned(),
                        reason: WRONG_TYPE.into(),
                    }],
                    ..Page::default()
                };
                self.name_wrong_types(&mut page).await?;
                return Err(Error::Malformed(page.malformed.remove(0)));
            }
            Err(e) => return Err(e.into()),
        };
        if fields.is_empty() {
            return Err(Error::NotFound(id.to_owned()));
        }
        Ok(KeyRecord::from_fields(id, &fields)?)
    }

    /// Number of keys in the index.
    pub async fn count(&self) -> Result<usize> {
        let mut c = self.conn.clone();
        Ok(c.zcard(self.ns.index_key()).await?)
    }

    /// Ids of one page of the index, newest first: O(log N + limit).
    pub async fn page_ids(&self, offset: usize, limit: usize) -> Result<Vec<String>> {
        if limit == 0 || offset > isize::MAX as usize / 2 {
            return Ok(Vec::new());
        }
        let limit = limit.min(isize::MAX as usize / 2);
        let mut c = self.conn.clone();
        Ok(c.zrevrange(
            self.ns.index_key(),
            offset as isize,
            (offset + limit - 1) as isize,
        )
        .await?)
    }

    /// One page of records, newest first.
    pub async fn page(&self, offset: usize, limit: usize) -> Result<Page> {
        let total = self.count().await?;
        let ids = self.page_ids(offset, limit).await?;
        let mut page = self.fetch(&ids).await?;
        page.total = total;
        Ok(page)
    }

    /// Reads the records of the given ids (pipelined, or concurrently on a cluster).
    pub async fn fetch(&self, ids: &[String]) -> Result<Page> {
        let raw = self.fetch_raw(ids).await?;
        let mut page = parse_page(ids, &raw);
        self.name_wrong_types(&mut page).await?;
        Ok(page)
    }

    /// Says which Redis type each record key of another type holds (`TYPE`, only for
    /// those): "the record key is a list, not a hash".
    async fn name_wrong_types(&self, page: &mut Page) -> Result<()> {
        let ids: Vec<String> = page
            .malformed
            .iter()
            .filter(|e| e.reason == WRONG_TYPE)
            .map(|e| e.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let kinds = self
            .query_each(&ids, |key| {
                let mut cmd = redis::cmd("TYPE");
                cmd.arg(key);
                cmd
            })
            .await?;
        let kinds: HashMap<&str, String> = ids
            .iter()
            .zip(&kinds)
            .filter_map(|(id, v)| match v {
                Value::SimpleString(t) => Some((id.as_str(), t.clone())),
                Value::BulkString(b) => Some((id.as_str(), String::from_utf8_lossy(b).into())),
                _ => None,
            })
            .collect();
        for e in &mut page.malformed {
            if e.reason == WRONG_TYPE
                && let Some(kind) = kinds.get(e.id.as_str())
            {
                e.reason = format!("the record key is a {kind}, not a hash");
            }
        }
        Ok(())
    }

    /// The `HGETALL` replies of the given ids, in order.
    pub(crate) async fn fetch_raw(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(key);
            cmd
        })
        .await
    }

    /// One command per record (built from its key), replies in order: pipelined in
    /// batches on a server, concurrent over the multiplexed connection on a cluster (whose
    /// records live in different slots). A record key of another type (`WRONGTYPE`, written
    /// by another program) gives that record's reply as a [`Value::ServerError`] instead of
    /// failing the others; any other error fails the whole query.
    pub(crate) async fn query_each(
        &self,
        ids: &[String],
        command: impl Fn(String) -> redis::Cmd,
    ) -> Result<Vec<Value>> {
        if self.conn.is_cluster() {
            futures::stream::iter(ids)
                .map(|id| {
                    let mut c = self.conn.clone();
                    let cmd = command(self.ns.record_key(id));
                    async move {
                        match cmd.query_async::<Value>(&mut c).await {
                            Ok(v) => Ok(v),
                            Err(e) if is_wrong_type(&e) => Ok(e
                                .into_server_errors()
                                .and_then(|errs| errs.first().map(|(_, e)| e.clone()))
                                .map_or(Value::Nil, Value::ServerError)),
                            Err(e) => Err(Error::from(e)),
                        }
                    }
                })
                .buffered(CLUSTER_CONCURRENCY)
                .try_collect()
                .await
        } else {
            // The pipelines go out together over the multiplexed connection: the server
            // works on one while the client reads the previous one's replies.
            let parts: Vec<Vec<Value>> = futures::stream::iter(ids.chunks(BATCH))
                .map(|chunk| {
                    let mut pipe = redis::pipe();
                    pipe.ignore_errors();
                    for id in chunk {
                        pipe.add_command(command(self.ns.record_key(id)));
                    }
                    pipe.ignore_errors();
                    let mut c = self.conn.clone();
                    async move {
                        let replies = pipe.query_async::<Vec<Value>>(&mut c).await?;
                        for v in &replies {
                            if let Value::ServerError(e) = v
                                && e.code() != "WRONGTYPE"
                            {
                                return Err(Error::from(redis::RedisError::from(e.clone())));
                            }
                        }
                        Ok::<_, Error>(replies)
                    }
                })
                .buffered(PIPELINES_IN_FLIGHT)
                .try_collect()
                .await?;
            Ok(parts.into_iter().flatten().collect())
        }
    }

    /// Every record of the namespace, newest first, in pages; `progress` gets the number
    /// read so far and the total.
    pub async fn list_all(&self, progress: impl FnMut(usize, usize)) -> Result<Page> {
        let total = self.count().await?;
        let mut all = Page {
            total,
            records: Vec::with_capacity(total),
            ..Page::default()
        };
        self.list_each(
            |page| {
                all.records.extend(page.records);
                all.malformed.extend(page.malformed);
                all.dangling.extend(page.dangling);
                Ok(())
            },
            progress,
        )
        .await?;
        Ok(all)
    }

    /// Every record of the namespace, newest first, handed over a page at a time as the
    /// pages arrive (so output can start before the last page is read); an error from
    /// `each` stops the listing. `progress` gets the number read so far and the total.
    ///
    /// Pages are fetched ahead ([`PAGES_IN_FLIGHT`] at a time, each an index range and its
    /// records) and parsed on the blocking pool while the next ones arrive. Records are read
    /// with `HMGET` of the layout's fields: half the reply elements of `HGETALL` (no field
    /// names), which is what bounds the client. A record with none of them counts as
    /// dangling here; [`Store::fetch`] and `doctor` tell the two apart.
    pub async fn list_each(
        &self,
        mut each: impl FnMut(Page) -> Result<()>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<()> {
        let total = self.count().await?;
        let page_size = if self.conn.is_cluster() { 5000 } else { 10_000 };
        let mut pages = futures::stream::iter((0..).map(|n| n * page_size))
            .map(|offset| async move {
                let ids = self.page_ids(offset, page_size).await?;
                let raw = self.fetch_listed(&ids).await?;
                let mut parsed = tokio::task::spawn_blocking(move || parse_listed(&ids, &raw))
                    .await
                    .map_err(|e| Error::Redis(format!("reading a page failed: {e}")))?;
                self.name_wrong_types(&mut parsed).await?;
                Ok::<_, Error>(parsed)
            })
            .buffered(PAGES_IN_FLIGHT);
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let mut page = page?;
            let n = page.records.len() + page.malformed.len() + page.dangling.len();
            read += n;
            page.total = total;
            each(page)?;
            progress(read, total.max(read));
            if n < page_size {
                break;
            }
        }
        Ok(())
    }

    /// `HMGET` of [`LISTED_FIELDS`] for each id, in order.
    async fn fetch_listed(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(key).arg(&LISTED_FIELDS[..]);
            cmd
        })
        .await
    }

    // ---- change ---------------------------------------------------------------------

    /// Revokes a key; revoking a revoked key changes nothing.
    pub async fn revoke(&self, id: &str, reason: Option<&str>) -> Result<Change> {
        let now = now_ms();
        let n: i64 = redis::Script::new(REVOKE)
            .key(self.ns.record_key(id))
            .arg(now)
            .arg(reason.unwrap_or(""))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let change = self.script_outcome(id, n)?;
        if change == Change::Done {
            self.event("revoke", id, reason).await?;
        }
        Ok(change)
    }

    /// Restores a revoked key; restoring an active key changes nothing.
    pub async fn restore(&self, id: &str) -> Result<Change> {
        let n: i64 = redis::Script::new(RESTORE)
            .key(self.ns.record_key(id))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let change = self.script_outcome(id, n)?;
        if change == Change::Done {
            self.event("restore", id, None).await?;
        }
        Ok(change)
    }

    fn script_outcome(&self, id: &str, n: i64) -> Result<Change> {
        match n {
            1 => Ok(Change::Done),
            0 => Ok(Change::Unchanged),
            -1 => Err(Error::NotFound(id.to_owned())),
            -3 => Err(Error::Malformed(RecordError {
                id: id.to_owned(),
                reason: format!("{WRONG_TYPE}; left unchanged"),
            })),
            _ => Err(Error::Malformed(RecordError {
                id: id.to_owned(),
                reason: "its status is neither active nor revoked; left unchanged".into(),
            })),
        }
    }

    /// Deletes a key permanently: the record first, then its index entry.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let mut c = self.conn.clone();
        let removed: i64 = c.del(self.ns.record_key(id)).await?;
        let unindexed: i64 = c.zrem(self.ns.index_key(), id).await?;
        if removed == 0 && unindexed == 0 {
            return Err(Error::NotFound(id.to_owned()));
        }
        self.event("delete", id, None).await
    }

    // ---- bulk changes ---------------------------------------------------------------

    /// The records that match `filter`, newest first (reads the whole index, like
    /// [`Store::list_all`]). Dangling index entries and malformed records never match.
    pub async fn select(&self, filter: &KeyFilter) -> Result<Vec<KeyRecord>> {
        let now = now_ms();
        let page = self.list_all(|_, _| {}).await?;
        Ok(page
            .records
            .into_iter()
            .filter(|r| filter.matches(r, now))
            .collect())
    }

    /// Revokes many keys: per batch, the revoke script on every record (a pipeline on a
    /// server, concurrent on a cluster), then one `revoke` event per key changed (`MULTI`
    /// with the index's slot). Each key changes exactly as [`Store::revoke`] would change it.
    /// `progress` gets the number of ids handled so far.
    pub async fn revoke_many(
        &self,
        ids: &[String],
        reason: Option<&str>,
        mut progress: impl FnMut(usize),
    ) -> Result<BulkOutcome> {
        let mut out = BulkOutcome::default();
        let reason = reason.unwrap_or("");
        let mut handled = 0;
        for chunk in ids.chunks(BATCH) {
            let now = now_ms();
            let codes: Vec<i64> = if self.conn.is_cluster() {
                let script = &*REVOKE_LUA.script;
                futures::stream::iter(chunk)
                    .map(|id| {
                        let mut c = self.conn.clone();
                        async move {
                            let n: i64 = script
                                .key(self.ns.record_key(id))
                                .arg(now)
                                .arg(reason)
                                .invoke_async(&mut c)
                                .await?;
                            Ok::<i64, Error>(n)
                        }
                    })
                    .buffered(CLUSTER_CONCURRENCY)
                    .try_collect()
                    .await?
            } else {
                let mut pipe = redis::pipe();
                let sha = load_script(&mut pipe, &REVOKE_LUA);
                for id in chunk {
                    pipe.cmd("EVALSHA")
                        .arg(sha)
                        .arg(1)
                        .arg(self.ns.record_key(id))
                        .arg(now)
                        .arg(reason);
                }
                pipe.query_async(&mut self.conn.clone()).await?
            };
            let mut pipe = redis::pipe();
            pipe.atomic();
            let events = self.ns.events_key();
            let detail = (!reason.is_empty()).then_some(reason);
            let mut changed = false;
            for (id, code) in chunk.iter().zip(codes) {
                match code {
                    1 => {
                        out.done += 1;
                        changed = true;
                        self.push_event(&mut pipe, &events, "revoke", id, detail);
                    }
                    0 => out.unchanged += 1,
                    -1 => out.missing.push(id.clone()),
                    _ => out.malformed.push(id.clone()),
                }
            }
            if changed {
                pipe.query_async::<()>(&mut self.conn.clone()).await?;
            }
            handled += chunk.len();
            progress(handled);
        }
        Ok(out)
    }

    /// Deletes many keys: per batch, every record (`DEL`; a pipeline on a server, concurrent
    /// on a cluster), then their index entries and one `delete` event per record removed
    /// (`MULTI` with the index's slot). The order per key is [`Store::delete`]'s, so a crash
    /// leaves at most dangling index entries. Ids without a record are reported as missing
    /// (their index entries are removed too). `progress` gets the number handled so far.
    pub async fn delete_many(
        &self,
        ids: &[String],
        mut progress: impl FnMut(usize),
    ) -> Result<BulkOutcome> {
        let mut out = BulkOutcome::default();
        let mut handled = 0;
        for chunk in ids.chunks(BATCH) {
            let removed: Vec<i64> = if self.conn.is_cluster() {
                futures::stream::iter(chunk)
                    .map(|id| {
                        let mut c = self.conn.clone();
                        async move {
                            let n: i64 = c.del(self.ns.record_key(id)).await?;
                            Ok::<i64, Error>(n)
                        }
                    })
                    .buffered(CLUSTER_CONCURRENCY)
                    .try_collect()
                    .await?
            } else {
                let mut pipe = redis::pipe();
                for id in chunk {
                    pipe.del(self.ns.record_key(id));
                }
                pipe.query_async(&mut self.conn.clone()).await?
            };
            let mut pipe = redis::pipe();
            pipe.atomic();
            let events = self.ns.events_key();
            pipe.cmd("ZREM")
                .arg(self.ns.index_key())
                .arg(chunk)
                .ignore();
            for (id, n) in chunk.iter().zip(removed) {
                if n == 1 {
                    out.done += 1;
                    self.push_event(&mut pipe, &events, "delete", id, None);
                } else {
                    out.missing.push(id.clone());
                }
            }
            pipe.query_async::<()>(&mut self.conn.clone()).await?;
            handled += chunk.len();
            progress(handled);
        }
        Ok(out)
    }

    /// Replaces a key with a new one of the same name, metadata and shape (see
    /// [`RotateRequest`]); the old key expires after the grace period (at once with a zero
    /// grace), or earlier if it already expired sooner.
    ///
    /// A key that was rotated before is refused unless `req.force`: then another successor
    /// is made, and the old key's `rotated_to` keeps naming the first one (which is left as
    /// it is), so no successor is ever orphaned. The check is made again atomically after
    /// the new key is written; losing that race deletes the new key (its secret was never
    /// shown) and reports the conflict.
    pub async fn rotate(&self, id: &str, req: &RotateRequest) -> Result<Rotated> {
        let old = self.get(id).await?;
        if old.status() == Status::Revoked {
            return Err(Error::Conflict(format!(
                "key {id} is revoked; restore it before rotating"
            )));
        }
        if let Some(to) = old.rotated_to.as_deref().filter(|_| !req.force) {
            return Err(already_rotated(id, to));
        }
        let shape = self.shape(&old).await?;
        let now = now_ms();
        let mut create = CreateRequest::new(old.name.clone());
        create.meta = old.meta.clone();
        create.secret_spec = req.secret_spec.clone().unwrap_or(shape.secret_spec);
        create.id_spec = req.id_spec.clone().unwrap_or(shape.id_spec);
        create.prefix = match &req.prefix {
            Some(p) => Some(p.clone()).filter(|p| !p.is_empty()),
            None => old.token_prefix.clone(),
        };
        create.checksum = req.checksum.unwrap_or(old.token_checksum);
        create.expires_at = match req.expires_at {
            Some(e) => e,
            None => shape.lifetime_ms.map(|l| now.saturating_add(l)),
        };
        // A stored shape was accepted when the key was made: it is accepted again.
        create.allow_weak = req.allow_weak || req.secret_spec.is_none();
        let mut created = self.create(&create).await?;
        let new_id = created.record.id.clone();
        let mut c = self.conn.clone();
        let _: () = c
            .hset(self.ns.record_key(&new_id), field::ROTATED_FROM, id)
            .await?;
        created.record.rotated_from = Some(id.to_owned());
        let grace_ms = i64::try_from(req.grace.as_millis()).unwrap_or(i64::MAX);
        let until = now_ms().saturating_add(grace_ms);
        let (code, value): (i64, String) = redis::Script::new(EXPIRE_FOR_ROTATION)
            .key(self.ns.record_key(id))
            .arg(until)
            .arg(&new_id)
            .arg(if req.force { "1" } else { "0" })
            .invoke_async(&mut c)
            .await?;
        let old_expires_at = match code {
            1 => value.parse().ok(),
            -2 => {
                // Another rotation won meanwhile: this key was never shown to anyone.
                self.delete(&new_id).await?;
                return Err(already_rotated(id, &value));
            }
            _ => {
                // The old key was deleted meanwhile; the new key stands on its own, and its
                // secret must still reach the caller.
                tracing::info!(old = %id, new = %new_id, "rotated key was deleted meanwhile");
                None
            }
        };
        self.event("rotate", id, Some(&new_id)).await?;
        Ok(Rotated {
            created,
            old_expires_at,
            first_successor: old.rotated_to,
            entropy_bits: create.secret_spec.entropy_bits(),
        })
    }

    /// The shape a rotation of `old` reproduces: the stored shape fields, else (records
    /// made before they existed, or by other programs) the defaults, and a lifetime
    /// derived from `created_at` and `expires_at` when the key was not rotated before.
    async fn shape(&self, old: &KeyRecord) -> Result<KeyShape> {
        let mut c = self.conn.clone();
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.ns.record_key(&old.id))
            .arg(field::SECRET_FORMAT)
            .arg(field::SECRET_LENGTH)
            .arg(field::ID_FORMAT)
            .arg(field::ID_LENGTH)
            .arg(field::LIFETIME_MS)
            .query_async(&mut c)
            .await?;
        let mut fields = fields.into_iter();
        let mut next = || fields.next().flatten();
        let (sf, sl, idf, idl, life) = (next(), next(), next(), next(), next());
        let spec = |format: Option<String>, len: Option<String>| -> Option<Spec> {
            let encoding: keygen::Encoding = format?.parse().ok()?;
            let chars: usize = len?.parse().ok().filter(|n| *n > 0)?;
            Some(Spec {
                encoding,
                length: keygen::Length::Chars(chars),
            })
        };
        let derived = match (old.expires_at, &old.rotated_to) {
            (Some(e), None) => Some(e - old.created_at).filter(|l| *l > 0),
            _ => None,
        };
        Ok(KeyShape {
            secret_spec: spec(sf, sl).unwrap_or_else(Spec::secret_default),
            id_spec: spec(idf, idl).unwrap_or_else(Spec::id_default),
            lifetime_ms: life
                .and_then(|l| l.parse::<i64>().ok())
                .filter(|l| *l > 0)
                .or(derived),
        })
    }

    // ---- verify ---------------------------------------------------------------------

    /// Verifies a presented secret in one round trip (`HMGET` of the record).
    pub async fn verify(&self, id: &str, secret: &str) -> Result<Verdict> {
        self.verify_inner(id, Presented::Secret(secret)).await
    }

    /// Verifies a whole token: splits it, checks its checksum, then the secret.
    pub async fn verify_token(&self, token: &str) -> Result<Verdict> {
        let parsed = match Token::parse(token) {
            Ok(p) => p,
            Err(_) => return Ok(Verdict::Rejected(Rejection::Unknown)),
        };
        self.verify_inner(&parsed.id, Presented::Token(&parsed))
            .await
    }

    async fn verify_inner(&self, id: &str, presented: Presented<'_>) -> Result<Verdict> {
        let checked = crate::verify::check(
            &mut self.conn.clone(),
            &self.ns,
            id,
            presented,
            self.pepper.as_ref(),
        )
        .await?;
        Ok(checked.verdict)
    }

    /// Records that a key was just used (`last_used_at`), without creating unknown keys.
    pub async fn touch(&self, id: &str) -> Result<()> {
        crate::verify::touch(&mut self.conn.clone(), &self.ns, id).await
    }

    // ---- events ---------------------------------------------------------------------

    /// Queues the `XADD` of one event and its copy in the history of each key it concerns
    /// (the key, and for `rotate` also the new key); a `delete` removes the key's history
    /// instead. Every key written is in the `{ns}` slot: use an atomic pipeline.
    fn push_event(
        &self,
        pipe: &mut redis::Pipeline,
        events: &str,
        op: &str,
        id: &str,
        detail: Option<&str>,
    ) {
        let at = now_ms();
        let mut fields: Vec<(&str, &str)> = vec![("op", op), ("id", id), ("actor", &self.actor)];
        let at_text = at.to_string();
        fields.push(("at", &at_text));
        if let Some(d) = detail {
            fields.push(("detail", d));
        }
        pipe.cmd("XADD")
            .arg(events)
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_MAXLEN)
            .arg("*")
            .arg(&fields)
            .ignore();
        let mut concerned = vec![id];
        if op == "rotate"
            && let Some(new) = detail
        {
            concerned.push(new);
        }
        for key in concerned.into_iter().filter(|k| !k.is_empty()) {
            let history = self.ns.history_key(key);
            if op == "delete" && key == id {
                pipe.del(history).ignore();
            } else {
                pipe.cmd("XADD")
                    .arg(history)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(HISTORY_MAXLEN)
                    .arg("*")
                    .arg(&fields)
                    .ignore();
            }
        }
    }

    pub(crate) async fn event(&self, op: &str, id: &str, detail: Option<&str>) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.push_event(&mut pipe, &self.ns.events_key(), op, id, detail);
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Every event of one key, oldest first, however old: its history stream, and when that
    /// does not begin with the key's creation (keys created before keytui kept histories),
    /// the key's older entries still in `{ns}:events`.
    pub async fn key_events(&self, id: &str) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.history_key(id))
            .arg("-")
            .arg("+")
            .query_async(&mut self.conn.clone())
            .await?;
        let mut events: Vec<Event> = raw.into_iter().map(parse_event).collect();
        if events.first().is_some_and(|e| e.op == "create") {
            return Ok(events);
        }
        // Older entries of the namespace's stream, newest first, up to the key's creation.
        let concerns =
            |e: &Event| e.id == id || (e.op == "rotate" && e.detail.as_deref() == Some(id));
        let mut older = Vec::new();
        let mut end = events
            .first()
            .map(|e| e.cursor.clone())
            .unwrap_or_else(|| "+".to_owned());
        'scan: loop {
            let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
                .arg(self.ns.events_key())
                .arg(&end)
                .arg("-")
                .arg("COUNT")
                .arg(HISTORY_SCAN)
                .query_async(&mut self.conn.clone())
                .await?;
            let n = raw.len();
            for e in raw.into_iter().map(parse_event) {
                end = format!("({}", e.cursor);
                if concerns(&e) {
                    let created = e.op == "create" && e.id == id;
                    older.push(e);
                    if created {
                        break 'scan;
                    }
                }
            }
            if n < HISTORY_SCAN {
                break;
            }
        }
        let same = |a: &Event, b: &Event| {
            (a.at, &a.op, &a.id, &a.actor, &a.detail) == (b.at, &b.op, &b.id, &b.actor, &b.detail)
        };
        older.retain(|o| !events.iter().any(|e| same(o, e)));
        older.reverse();
        older.append(&mut events);
        Ok(older)
    }

    /// The newest `count` events, oldest first.
    pub async fn recent_events(&self, count: usize) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
            .arg(self.ns.events_key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut events: Vec<Event> = raw.into_iter().map(parse_event).collect();
        events.reverse();
        Ok(events)
    }

    /// Events after a cursor, oldest first (at most `count`).
    pub async fn events_after(&self, cursor: &str, count: usize) -> Result<Vec<Event>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.events_key())
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw.into_iter().map(parse_event).collect())
    }

    /// The cursor of the oldest event still in the stream, if any: a follower whose
    /// cursor is older has missed events and must reload.
    pub async fn oldest_event_cursor(&self) -> Result<Option<String>> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XRANGE")
            .arg(self.ns.events_key())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw.into_iter().next().map(|(c, _)| c))
    }

    /// The cursor of the newest event, `0-0` when there is none.
    pub async fn last_event_cursor(&self) -> Result<String> {
        let raw: Vec<(String, RawFields)> = redis::cmd("XREVRANGE")
            .arg(self.ns.events_key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw
            .into_iter()
            .next()
            .map(|(c, _)| c)
            .unwrap_or_else(|| "0-0".into()))
    }

    /// Waits up to `block` for events after `cursor`. Use a connection made with
    /// [`crate::conn::connect_blocking`]: the ordinary one times out first.
    pub async fn wait_events(
        conn: &mut Conn,
        ns: &Namespace,
        cursor: &str,
        block: Duration,
        count: usize,
    ) -> Result<Vec<Event>> {
        type Reply = Option<Vec<(String, Vec<(String, RawFields)>)>>;
        let reply: Reply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(ns.events_key())
            .arg(cursor)
            .query_async(conn)
            .await?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(parse_event)
            .collect())
    }

    // ---- doctor ---------------------------------------------------------------------

    /// Checks the namespace: meta, dangling index entries, orphan and malformed records.
    /// With `repair`, removes dangling entries, indexes orphans and moves malformed records
    /// out of the index (their data is kept); see [`Store::doctor_with`].
    pub async fn doctor(&self, repair: bool, scan_urls: &[String]) -> Result<DoctorReport> {
        let how = if repair { Repair::Index } else { Repair::No };
        self.doctor_with(&how, scan_urls).await
    }

    /// Checks the namespace and repairs what `how` allows. Every malformed record (a hash
    /// that cannot be read, or a record key of another type) is named with what is wrong
    /// with it. [`Repair::Index`] moves the indexed ones out of the index, so that listings
    /// stop tripping over them, and never changes or deletes their data;
    /// [`Repair::DeleteMalformed`] also deletes the record keys of the ids it is given (that
    /// are still malformed when looked at again).
    pub async fn doctor_with(&self, how: &Repair, scan_urls: &[String]) -> Result<DoctorReport> {
        let repair = !matches!(how, Repair::No);
        let mut report = DoctorReport::default();
        let walk_started = std::time::Instant::now();
        let meta = self.meta().await;
        let plain_namespace = matches!(&meta, Ok(Some(m)) if m.mode == Mode::Plain);
        match meta {
            Ok(Some(m)) if m.layout != LAYOUT_VERSION => {
                report.meta_problem = Some(format!(
                    "layout version {} is not {LAYOUT_VERSION}",
                    m.layout
                ));
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                if self.count().await? > 0 {
                    report.meta_problem =
                        Some("keys exist but the namespace meta is missing".into());
                }
            }
            Err(e) => report.meta_problem = Some(e.to_string()),
        }
        // Index -> records.
        let now = now_ms();
        let mut c = self.conn.clone();
        let mut offset = 0;
        let mut indexed: HashSet<String> = HashSet::new();
        loop {
            let scored: Vec<(String, f64)> = c
                .zrevrange_withscores(self.ns.index_key(), offset, offset + BATCH as isize - 1)
                .await?;
            if scored.is_empty() {
                break;
            }
            offset += scored.len() as isize;
            let ids: Vec<String> = scored.iter().map(|(id, _)| id.clone()).collect();
            let page = self.fetch(&ids).await?;
            if !plain_namespace {
                report.plaintext.extend(
                    page.records
                        .iter()
                        .filter(|r| r.secret_alg == SecretAlg::Plain)
                        .map(|r| r.id.clone()),
                );
            }
            let scores: HashMap<&str, f64> = scored.iter().map(|(i, s)| (i.as_str(), *s)).collect();
            for id in page.dangling {
                let young = scores
                    .get(id.as_str())
                    .is_some_and(|s| (*s as i64) > now - IN_FLIGHT_GRACE_MS);
                if young {
                    report.in_flight.push(id);
                } else {
                    report.dangling.push(id);
                }
            }
            for e in page.malformed {
                report.add_malformed(e, true);
            }
            indexed.extend(ids);
        }
        report.indexed = indexed.len();
        // Records -> index, by scanning every master.
        let mut unindexed = Vec::new();
        for url in scan_urls {
            let ids = scan_record_ids(url, &self.ns).await?;
            report.records_scanned += ids.len();
            unindexed.extend(ids.into_iter().filter(|id| !indexed.contains(id)));
        }
        // Records found by the scan may have been created (index first) after we read the
        // index: look again before calling them orphans. Those that cannot be read are
        // malformed, never indexed.
        let mut orphans: Vec<KeyRecord> = Vec::new();
        for chunk in unindexed.chunks(BATCH) {
            let mut still = Vec::new();
            for id in chunk {
                let score: Option<f64> = c.zscore(self.ns.index_key(), id).await?;
                if score.is_none() {
                    still.push(id.clone());
                }
            }
            let page = self.fetch(&still).await?;
            for e in page.malformed {
                report.add_malformed(e, false);
            }
            orphans.extend(page.records);
        }
        report.orphans = orphans.iter().map(|r| r.id.clone()).collect();
        if repair {
            // An index entry whose record is missing may belong to a write in flight (an
            // import keeps old creation times as scores): look again a moment later.
            let settle = std::time::Duration::from_secs(2);
            if !report.dangling.is_empty() && walk_started.elapsed() < settle {
                tokio::time::sleep(settle - walk_started.elapsed()).await;
            }
            for id in &report.dangling {
                // Only if the record is still missing now.
                let exists: bool = c.exists(self.ns.record_key(id)).await?;
                if !exists {
                    let n: i64 = c.zrem(self.ns.index_key(), id).await?;
                    report.repaired += n as usize;
                }
            }
            for r in &orphans {
                let n: i64 = redis::cmd("ZADD")
                    .arg(self.ns.index_key())
                    .arg("NX")
                    .arg(r.created_at)
                    .arg(&r.id)
                    .query_async(&mut c)
                    .await?;
                report.repaired += n as usize;
            }
            self.repair_malformed(how, &mut report).await?;
            if report.repaired > 0 {
                self.event("repair", "", Some(&report.repaired.to_string()))
                    .await?;
            }
        }
        Ok(report)
    }

    /// Moves the malformed records of `report` out of the index and, with
    /// [`Repair::DeleteMalformed`], deletes the chosen ones; each only if it is still
    /// malformed when read again now.
    async fn repair_malformed(&self, how: &Repair, report: &mut DoctorReport) -> Result<()> {
        let ids: Vec<String> = report
            .malformed_records
            .iter()
            .map(|m| m.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let still: HashSet<String> = self
            .fetch(&ids)
            .await?
            .malformed
            .into_iter()
            .map(|e| e.id)
            .collect();
        let mut c = self.conn.clone();
        for m in &mut report.malformed_records {
            if !still.contains(&m.id) {
                continue;
            }
            if m.indexed {
                let n: i64 = c.zrem(self.ns.index_key(), &m.id).await?;
                if n == 1 {
                    m.indexed = false;
                    report.unindexed += 1;
                    report.repaired += 1;
                }
            }
            if let Repair::DeleteMalformed(chosen) = how
                && chosen.contains(&m.id)
            {
                let n: i64 = c.del(self.ns.record_key(&m.id)).await?;
                if n == 1 {
                    m.deleted = true;
                    report.deleted += 1;
                    report.repaired += 1;
                }
            }
        }
        Ok(())
    }

    /// The URLs of every master to scan: the server itself, or each cluster master.
    pub async fn master_urls(&self, base_url: &str) -> Result<Vec<String>> {
        if !self.conn.is_cluster() {
            return Ok(vec![base_url.to_owned()]);
        }
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut self.conn.clone())
            .await?;
        let base =
            url::Url::parse(base_url).map_err(|_| Error::Config("invalid Redis URL".into()))?;
        let mut urls = Vec::new();
        for line in nodes.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.len() < 3 || !parts[2].contains("master") || parts[2].contains("fail") {
                continue;
            }
            let addr = parts[1].split('@').next().unwrap_or_default();
            let Some((host, port)) = addr.rsplit_once(':') else {
                continue;
            };
            let mut u = base.clone();
            let _ = u.set_host(Some(host));
            let _ = u.set_port(port.parse().ok());
            urls.push(u.to_string());
        }
        Ok(urls)
    }

    // ---- layout re-check (long-running clients: the TUI) ----

    /// Checks the namespace's layout again now (one `HGET`), even when this connection
    /// passed the check before: another program may have moved the namespace to a newer
    /// layout since. A refusal is [`Error::Setup`], as from the gate.
    pub async fn recheck_layout(&self) -> Result<()> {
        crate::gate::check_layout(&mut self.conn.inner(), &self.ns)
            .await
            .map(drop)
    }

    // ---- paging that others' writes do not shift (long-running readers: the TUI) ----

    /// Up to `limit` ids of the index after `after` (`None`: from the newest), newest
    /// first, and where the next page starts (`None`: the index is exhausted). Pages by
    /// score and id, not by offset, so keys deleted meanwhile by another client never shift
    /// a later page past keys not yet read; equal scores (old data) are told apart by id,
    /// which Redis orders in reverse for `ZREVRANGEBYSCORE`. Keys added meanwhile may or may
    /// not be in a later page (a reader follows the change feed for those).
    pub async fn page_after(
        &self,
        after: Option<&IndexPos>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<IndexPos>)> {
        let limit = limit.max(1);
        // Entries at the last score already returned come back too: ask for that many more.
        let (max, skip) = match after {
            None => ("+inf".to_owned(), 0),
            Some(p) => (p.score.to_string(), p.tied),
        };
        let raw: Vec<(String, f64)> = redis::cmd("ZREVRANGEBYSCORE")
            .arg(self.ns.index_key())
            .arg(max)
            .arg("-inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(limit + skip)
            .query_async(&mut self.conn.clone())
            .await?;
        let exhausted = raw.len() < limit + skip;
        let seen = |(id, score): &(String, f64)| {
            after.is_some_and(|p| *score == p.score && id.as_str() >= p.id.as_str())
        };
        let mut ids = Vec::new();
        let mut last: Option<&(String, f64)> = None;
        let mut read = 0;
        for entry in &raw {
            if ids.len() == limit {
                break;
            }
            read += 1;
            if !seen(entry) {
                ids.push(entry.0.clone());
                last = Some(entry);
            }
        }
        let next = match last {
            Some((id, score)) => Some(IndexPos {
                score: *score,
                id: id.clone(),
                tied: raw[..read].iter().filter(|(_, s)| s == score).count(),
            }),
            // Nothing new in a full answer (others added entries at that very score):
            // ask for more next time.
            None => after.map(|p| IndexPos {
                tied: raw.len(),
                ..p.clone()
            }),
        };
        let more = !exhausted || ids.len() == limit && read < raw.len();
        Ok((ids, if more { next } else { None }))
    }
}

/// Where [`Store::page_after`] goes on: the last entry returned, and how many entries with
/// its score it has returned (or skipped) so far.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexPos {
    score: f64,
    id: String,
    tied: usize,
}

/// A record ready to be written: its fields, and what `create` returns once it is.
pub(crate) struct PendingKey {
    pub(crate) fields: Vec<(&'static str, String)>,
    pub(crate) created: Created,
}

async fn scan_record_ids(url: &str, ns: &Namespace) -> Result<Vec<String>> {
    let opts = crate::conn::ConnectOptions {
        cluster: Some(false),
        ..crate::conn::ConnectOptions::new(url)
    };
    let mut c = crate::conn::connect(&opts).await?;
    let mut ids = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(ns.record_pattern())
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await?;
        ids.extend(
            keys.iter()
                .filter_map(|k| ns.id_from_record_key(k))
                .map(str::to_owned),
        );
        if next == 0 {
            break;
        }
        cursor = next;
    }
    Ok(ids)
}

fn validate_request(req: &CreateRequest) -> Result<()> {
    if req.name.trim().is_empty() {
        return Err(Error::Config("a key needs a name (--name)".into()));
    }
    if req.name.chars().count() > 200 {
        return Err(Error::Config("a key name is at most 200 characters".into()));
    }
    if let Some(p) = &req.prefix {
        keygen::validate_prefix(p)?;
    }
    if let Some(e) = req.expires_at
        && e <= now_ms()
    {
        return Err(Error::Config("the expiry is in the past".into()));
    }
    Ok(())
}

pub(crate) fn record_fields(r: &KeyRecord) -> Vec<(&'static str, String)> {
    let mut f = vec![
        (field::ID, r.id.clone()),
        (field::NAME, r.name.clone()),
        (
            field::STATUS,
            if r.revoked { "revoked" } else { "active" }.into(),
        ),
        (field::SECRET_ALG, r.secret_alg.as_str().into()),
        (
            field::TOKEN_CHECKSUM,
            if r.token_checksum { "1" } else { "0" }.into(),
        ),
        (field::CREATED_AT, r.created_at.to_string()),
        (field::CREATED_BY, r.created_by.clone()),
    ];
    if let Some(p) = &r.token_prefix {
        f.push((field::TOKEN_PREFIX, p.clone()));
    }
    if let Some(e) = r.expires_at {
        f.push((field::EXPIRES_AT, e.to_string()));
    }
    if !r.meta.is_empty() {
        f.push((
            field::META,
            serde_json::to_string(&r.meta).unwrap_or_else(|_| "{}".into()),
        ));
    }
    if let Some(from) = &r.rotated_from {
        f.push((field::ROTATED_FROM, from.clone()));
    }
    f
}

/// Queues `SCRIPT LOAD` of `script` (its reply ignored) and returns the hash for the
/// `EVALSHA`s that follow in the same pipeline: the server executes a connection's commands
/// in order, so the script is cached whatever happened before (a restart, `SCRIPT FLUSH`).
/// Loading a cached script costs the server one hash lookup, once per pipeline instead of
/// sending the script text with every key.
fn load_script(pipe: &mut redis::Pipeline, lua: &'static Lua) -> &'static str {
    pipe.cmd("SCRIPT")
        .arg("LOAD")
        .arg(lua.text.as_str())
        .ignore();
    lua.script.get_hash()
}

fn flatten(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [(*k).to_owned(), v.clone()])
        .collect()
}

/// Reads the `HGETALL` replies of `ids` into a page: an empty reply is a dangling index
/// entry, a reply that is not a hash of text a malformed record.
fn parse_page(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    for (id, v) in ids.iter().zip(raw) {
        let Some(pairs) = hash_pairs(v) else {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: unreadable_reason(v),
            });
            continue;
        };
        if pairs.is_empty() {
            page.dangling.push(id.clone());
            continue;
        }
        match KeyRecord::from_pairs(id, &pairs) {
            Ok(r) => page.records.push(r),
            Err(e) => page.malformed.push(e),
        }
    }
    page
}

/// Reads `HMGET ... LISTED_FIELDS` replies into a page: all fields nil is a dangling index
/// entry (or a record without any known field), a reply that is not text a malformed record.
fn parse_listed(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(LISTED_FIELDS.len());
    for (id, v) in ids.iter().zip(raw) {
        pairs.clear();
        let Value::Array(values) = v else {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: unreadable_reason(v),
            });
            continue;
        };
        let mut not_text = None;
        for (name, v) in LISTED_FIELDS.iter().zip(values) {
            match v {
                Value::Nil => {}
                Value::BulkString(b) => match std::str::from_utf8(b) {
                    Ok(t) => pairs.push((name, t)),
                    Err(_) => not_text = not_text.or(Some(*name)),
                },
                _ => not_text = not_text.or(Some(*name)),
            }
        }
        if let Some(name) = not_text {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: format!("field {name} is not UTF-8 text"),
            });
        } else if pairs.is_empty() {
            page.dangling.push(id.clone());
        } else {
            match KeyRecord::from_pairs(id, &pairs) {
                Ok(r) => page.records.push(r),
                Err(e) => page.malformed.push(e),
            }
        }
    }
    page
}

/// The reason a record's first reply was given before its type is known.
const WRONG_TYPE: &str = "the record key is not a hash";

fn is_wrong_type(e: &redis::RedisError) -> bool {
    e.code() == Some("WRONGTYPE")
}

/// Why a record's reply cannot be read as a hash of text: another Redis type, or the first
/// field name or value that is not UTF-8 (named, when the name itself is readable).
fn unreadable_reason(v: &Value) -> String {
    let items: Vec<&Value> = match v {
        Value::ServerError(_) => return WRONG_TYPE.into(),
        Value::Array(items) => items.iter().collect(),
        Value::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return WRONG_TYPE.into(),
    };
    for kv in items.chunks(2) {
        let [k, v] = kv else { break };
        let text = |v: &Value| match v {
            Value::BulkString(b) => std::str::from_utf8(b).ok().map(str::to_owned),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        match (text(k), text(v)) {
            (None, _) => return "a field name is not UTF-8 text".into(),
            (Some(name), None) => {
                let name: String = crate::sanitize::line(&name).chars().take(40).collect();
                return format!("field {name} is not UTF-8 text");
            }
            _ => {}
        }
    }
    "the record is not a hash of UTF-8 text".into()
}

/// The field/value pairs of an `HGETALL` reply (RESP2 array or RESP3 map), borrowed from
/// it; `None` when it is not a hash or holds text that is not UTF-8.
pub(crate) fn hash_pairs(v: &Value) -> Option<Vec<(&str, &str)>> {
    fn text(v: &Value) -> Option<&str> {
        match v {
            Value::BulkString(b) => std::str::from_utf8(b).ok(),
            Value::SimpleString(s) => Some(s),
            _ => None,
        }
    }
    match v {
        Value::Nil => Some(Vec::new()),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|kv| Some((text(&kv[0])?, text(&kv[1])?)))
            .collect(),
        Value::Map(m) => m.iter().map(|(k, v)| Some((text(k)?, text(v)?))).collect(),
        _ => None,
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

fn parse_meta(ns: &Namespace, f: &HashMap<String, String>) -> Result<NamespaceMeta> {
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

/// A stream entry's fields as stored: read as bytes, so that one entry another program
/// wrote with invalid UTF-8 cannot make the whole audit log unreadable.
type RawFields = HashMap<Vec<u8>, Vec<u8>>;

fn parse_event((cursor, raw): (String, RawFields)) -> Event {
    let f = lossy(raw);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    Event {
        at: get("at").parse().unwrap_or(0),
        op: get("op"),
        id: get("id"),
        actor: get("actor"),
        detail: f.get("detail").cloned(),
        cursor,
    }
}

/// `$KEYTUI_ACTOR`, else `user@host`.
pub fn default_actor() -> String {
    if let Ok(a) = std::env::var("KEYTUI_ACTOR")
        && !a.is_empty()
    {
        return a;
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}
