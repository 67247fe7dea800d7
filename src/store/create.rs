//! Creating keys: one, many (pipelined, in batches), and the id-collision retries. The
//! new secret is returned once, inside [`Created`], and never stored in clear.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};

use crate::crypto::{self};
use crate::error::{Error, Result};
use crate::keygen::{self, Secret, Spec, Token};
use crate::layout::{EVENTS_MAXLEN, HISTORY_MAXLEN, field};
use crate::record::{KeyRecord, UnixMs, now_ms};

use super::*;

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

/// A key just created: the only time its secret exists outside the caller's hands.
#[derive(Clone, Debug)]
pub struct Created {
    pub record: KeyRecord,
    pub secret: Secret,
    pub token: Secret,
}

/// A record ready to be written: its fields, and what `create` returns once it is.
pub(crate) struct PendingKey {
    pub(crate) fields: Vec<(&'static str, String)>,
    pub(crate) created: Created,
}

pub(super) fn validate_request(req: &CreateRequest) -> Result<()> {
    if req.name.trim().is_empty() {
        return Err(Error::Input("a key needs a name (--name)".into()));
    }
    if req.name.chars().count() > 200 {
        return Err(Error::Input("a key name is at most 200 characters".into()));
    }
    if let Some(p) = &req.prefix {
        keygen::validate_prefix(p)?;
    }
    if let Some(e) = req.expires_at
        && e <= now_ms()
    {
        return Err(Error::Input("the expiry is in the past".into()));
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

pub(super) fn flatten(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [(*k).to_owned(), v.clone()])
        .collect()
}

impl Store {
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

    pub(super) fn generate(&self, req: &CreateRequest, meta: &NamespaceMeta) -> Result<PendingKey> {
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
            damage: Vec::new(),
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
    pub(super) async fn write_batch_standalone(&self, batch: &[PendingKey]) -> Result<Vec<bool>> {
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
    pub(super) async fn evalsha<T: redis::FromRedisValue>(
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

    pub(super) async fn write_batch_cluster(&self, batch: &[PendingKey]) -> Result<Vec<bool>> {
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
}
