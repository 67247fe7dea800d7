//! Changing one key: revoke, restore, delete and rotate (a successor with the same name
//! and metadata, the old key expiring after a grace period).

use std::time::Duration;

use redis::AsyncCommands;

use crate::error::{Error, Result};
use crate::keygen::{self, Spec};
use crate::layout::field;
use crate::record::{KeyRecord, RecordError, Status, UnixMs, now_ms};

use super::*;

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
pub(super) struct KeyShape {
    secret_spec: Spec,
    id_spec: Spec,
    lifetime_ms: Option<i64>,
}

pub(super) fn already_rotated(id: &str, to: &str) -> Error {
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

/// Whether a revoke or restore changed anything (both are idempotent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    Unchanged,
}

impl Store {
    /// Revokes a key; revoking a revoked key changes nothing.
    pub async fn revoke(&self, id: &str, reason: Option<&str>) -> Result<Change> {
        let now = now_ms();
        let n: i64 = redis::Script::new(&REVOKE)
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
        let n: i64 = redis::Script::new(&RESTORE)
            .key(self.ns.record_key(id))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let change = self.script_outcome(id, n)?;
        if change == Change::Done {
            self.event("restore", id, None).await?;
        }
        Ok(change)
    }

    pub(super) fn script_outcome(&self, id: &str, n: i64) -> Result<Change> {
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
                reason: "its status is missing or neither active nor revoked; left unchanged"
                    .into(),
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
        let (code, value): (i64, String) = redis::Script::new(&EXPIRE_FOR_ROTATION)
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
    pub(super) async fn shape(&self, old: &KeyRecord) -> Result<KeyShape> {
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

    /// Rewrites when a key was made, when it expired (a past time, which `create` refuses)
    /// and when it was last used: the record fields and the index score together, as the
    /// layout requires. For seeding sample data (`keytui demo`); it logs no event.
    pub async fn backdate(
        &self,
        id: &str,
        created_at: UnixMs,
        expired_at: Option<UnixMs>,
        last_used_at: Option<UnixMs>,
    ) -> Result<()> {
        let mut c = self.conn();
        let script = redis::Script::new(&SET_FIELDS);
        let mut set = script.key(self.ns.record_key(id));
        set.arg(field::CREATED_AT).arg(created_at);
        if let Some(past) = expired_at {
            set.arg(field::EXPIRES_AT).arg(past);
        }
        if let Some(used) = last_used_at {
            set.arg(field::LAST_USED_AT).arg(used);
        }
        set.invoke_async::<()>(&mut c).await?;
        // The index is scored by created_at (a separate slot on a cluster: its own command).
        redis::cmd("ZADD")
            .arg(self.ns.index_key())
            .arg("XX")
            .arg(created_at)
            .arg(id)
            .query_async::<()>(&mut c)
            .await?;
        Ok(())
    }
}
