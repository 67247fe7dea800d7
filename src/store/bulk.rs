//! Changing many keys at once: selecting by a [`KeyFilter`], then revoking or deleting
//! the selection in pipelined batches; restoring them and moving their expiry later the
//! same way.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use redis::AsyncCommands;

use crate::error::{Error, Result};
use crate::record::MAX_EXPIRY_MS;
use crate::record::{KeyRecord, Status, UnixMs, now_ms};

use super::*;

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
    /// Not used for at least this many ms (never used: created at least that long ago).
    pub unused_for_ms: Option<i64>,
    /// Not expired yet, but expiring within this many ms.
    pub expiring_within_ms: Option<i64>,
    /// Never used (no `last_used_at`).
    pub never_used: bool,
    /// Created by this actor (`created_by` equal to it, or to it followed by `@host`).
    pub created_by: Option<String>,
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
        if !self.attention_matches(r, now) {
            return false;
        }
        self.meta.iter().all(|(k, v)| r.meta.get(k) == Some(v))
    }

    /// True when the filter has no condition, i.e. matches every key.
    pub fn is_empty(&self) -> bool {
        self.name_contains.as_deref().is_none_or(str::is_empty)
            && self.status.is_none()
            && self.meta.is_empty()
            && self.attention_is_empty()
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
        self.describe_attention(&mut parts);
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

impl Store {
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
            let detail = (!reason.is_empty()).then(|| reason.to_owned());
            let answers = codes.into_iter().map(|c| (c, detail.clone()));
            self.note_batch("revoke", chunk, answers, &mut out).await?;
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
}

impl Store {
    /// Runs one script on each id's record: a pipeline of `EVALSHA` on a server, concurrent
    /// calls on a cluster (each record has its own slot). One reply per id, in order.
    pub(super) async fn eval_each<T: redis::FromRedisValue + Send + 'static>(
        &self,
        lua: &'static Lua,
        ids: &[String],
        args: &[String],
    ) -> Result<Vec<T>> {
        if self.conn.is_cluster() {
            let script = &*lua.script;
            futures::stream::iter(ids)
                .map(|id| {
                    let mut c = self.conn.clone();
                    async move {
                        let mut inv = script.key(self.ns.record_key(id));
                        for a in args {
                            inv.arg(a);
                        }
                        let v: T = inv.invoke_async(&mut c).await?;
                        Ok::<T, Error>(v)
                    }
                })
                .buffered(CLUSTER_CONCURRENCY)
                .try_collect()
                .await
        } else {
            let mut pipe = redis::pipe();
            let sha = load_script(&mut pipe, lua);
            for id in ids {
                pipe.cmd("EVALSHA")
                    .arg(sha)
                    .arg(1)
                    .arg(self.ns.record_key(id))
                    .arg(args);
            }
            Ok(pipe.query_async(&mut self.conn.clone()).await?)
        }
    }

    /// Counts one batch's script answers in `out` (1 changed, 0 unchanged, -1 missing, any
    /// other malformed) and writes one `op` event per key changed, with its detail, in one
    /// `MULTI` with the index's slot.
    async fn note_batch(
        &self,
        op: &str,
        chunk: &[String],
        answers: impl IntoIterator<Item = (i64, Option<String>)>,
        out: &mut BulkOutcome,
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let events = self.ns.events_key();
        let mut changed = false;
        for (id, (code, detail)) in chunk.iter().zip(answers) {
            match code {
                1 => {
                    out.done += 1;
                    changed = true;
                    self.push_event(&mut pipe, &events, op, id, detail.as_deref());
                }
                0 => out.unchanged += 1,
                -1 => out.missing.push(id.clone()),
                _ => out.malformed.push(id.clone()),
            }
        }
        if changed {
            pipe.query_async::<()>(&mut self.conn.clone()).await?;
        }
        Ok(())
    }

    /// Restores many revoked keys: per batch, the restore script on every record (a
    /// pipeline on a server, concurrent on a cluster), then one `restore` event per key
    /// changed (`MULTI` with the index's slot). Each key changes exactly as
    /// [`Store::restore`] would change it; active keys count as `unchanged`. `progress` gets
    /// the number of ids handled so far.
    pub async fn restore_many(
        &self,
        ids: &[String],
        mut progress: impl FnMut(usize),
    ) -> Result<BulkOutcome> {
        let mut out = BulkOutcome::default();
        let mut handled = 0;
        for chunk in ids.chunks(BATCH) {
            let codes: Vec<i64> = self.eval_each(&RESTORE_LUA, chunk, &[]).await?;
            let answers = codes.into_iter().map(|c| (c, None));
            self.note_batch("restore", chunk, answers, &mut out).await?;
            handled += chunk.len();
            progress(handled);
        }
        Ok(out)
    }

    /// Moves the expiry of many keys `by` later: the new expiry is the old one (or now, when
    /// it has passed) plus `by`, at most [`MAX_EXPIRY_MS`] (the latest expiry any command
    /// accepts). Keys that never expire, or are at that latest expiry already, are left as
    /// they are (`unchanged`).
    /// Per batch, the extend script on every record (a pipeline on a server, concurrent on
    /// a cluster), then one `edit` event per key changed, worded as [`Store::edit`] words a
    /// change of the expiry (`MULTI` with the index's slot). `progress` gets the number of
    /// ids handled so far.
    pub async fn extend_many(
        &self,
        ids: &[String],
        by: std::time::Duration,
        mut progress: impl FnMut(usize),
    ) -> Result<BulkOutcome> {
        let by_ms = i64::try_from(by.as_millis())
            .map_err(|_| Error::Input("the extension is too long".into()))?;
        if by_ms <= 0 {
            return Err(Error::Input("extend the expiry by more than 0s".into()));
        }
        let mut out = BulkOutcome::default();
        let mut handled = 0;
        for chunk in ids.chunks(BATCH) {
            let args = [
                now_ms().to_string(),
                by_ms.to_string(),
                MAX_EXPIRY_MS.to_string(),
            ];
            let replies: Vec<(i64, String, String)> =
                self.eval_each(&EXTEND_LUA, chunk, &args).await?;
            let answers = replies.into_iter().map(|(code, old, new)| {
                let detail = FieldChange {
                    field: "expires_at".into(),
                    old: Some(old),
                    new: Some(new),
                };
                (code, (code == 1).then(|| detail.to_string()))
            });
            self.note_batch("edit", chunk, answers, &mut out).await?;
            handled += chunk.len();
            progress(handled);
        }
        Ok(out)
    }
}
