//! Reading keys: one record, index pages, and the whole namespace in pipelined pages.
//! Records other programs damaged are reported as malformed, never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use redis::{AsyncCommands, Value};

use crate::conn::SlotOwners;
use crate::error::{Error, Result};
use crate::layout::field;
use crate::record::{KeyRecord, RecordError};

use super::*;

/// The record fields [`Store::list_each`] reads: every field of the layout a listed
/// [`KeyRecord`] holds (the stored digest only to check that it is there).
pub(super) const LISTED_FIELDS: [&str; 17] = [
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

/// Reads the `HGETALL` replies of `ids` into a page: an empty reply is a dangling index
/// entry, a reply that is not a hash of text a malformed record.
pub(super) fn parse_page(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    for (id, v) in ids.iter().zip(raw) {
        let Some(pairs) = hash_byte_pairs(v) else {
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
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name.as_bytes())
                .map(|(_, v)| *v)
        };
        match KeyRecord::from_raw(id, lookup) {
            Ok(r) => page.records.push(r),
            Err(e) => page.malformed.push(e),
        }
    }
    page
}

/// The field/value pairs of an `HGETALL` reply (RESP2 array or RESP3 map) as bytes,
/// borrowed from it; `None` when it is not a hash.
fn hash_byte_pairs(v: &Value) -> Option<Vec<(&[u8], &[u8])>> {
    fn bytes(v: &Value) -> Option<&[u8]> {
        match v {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
    match v {
        Value::Nil => Some(Vec::new()),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|kv| Some((bytes(&kv[0])?, bytes(&kv[1])?)))
            .collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
            .collect(),
        _ => None,
    }
}

/// Reads `HMGET ... LISTED_FIELDS` replies into a page: all fields nil is a dangling index
/// entry (or a record without any known field), a reply that is not text a malformed record.
/// Values are borrowed from the replies by position; nothing is copied but what the
/// records keep.
pub(super) fn parse_listed(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    for (id, v) in ids.iter().zip(raw) {
        let Value::Array(values) = v else {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: unreadable_reason(v),
            });
            continue;
        };
        let mut found: [Option<&[u8]>; LISTED_FIELDS.len()] = [None; LISTED_FIELDS.len()];
        let mut not_text = None;
        for ((slot, name), v) in found.iter_mut().zip(LISTED_FIELDS).zip(values) {
            match v {
                Value::Nil => {}
                Value::BulkString(b) => *slot = Some(b.as_slice()),
                _ => not_text = not_text.or(Some(name)),
            }
        }
        if let Some(name) = not_text {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: format!("field {name} is not text"),
            });
        } else if found.iter().all(Option::is_none) {
            page.dangling.push(id.clone());
        } else {
            match KeyRecord::from_raw(id, |name| listed_index(name).and_then(|i| found[i])) {
                Ok(r) => page.records.push(r),
                Err(e) => page.malformed.push(e),
            }
        }
    }
    page
}

/// The position of a field in [`LISTED_FIELDS`].
fn listed_index(name: &str) -> Option<usize> {
    Some(match name {
        field::ID => 0,
        field::NAME => 1,
        field::STATUS => 2,
        field::SECRET_ALG => 3,
        field::SECRET => 4,
        field::SECRET_SEALED => 5,
        field::TOKEN_PREFIX => 6,
        field::TOKEN_CHECKSUM => 7,
        field::CREATED_AT => 8,
        field::CREATED_BY => 9,
        field::EXPIRES_AT => 10,
        field::REVOKED_AT => 11,
        field::REVOKED_REASON => 12,
        field::LAST_USED_AT => 13,
        field::META => 14,
        field::ROTATED_FROM => 15,
        field::ROTATED_TO => 16,
        _ => return None,
    })
}

/// The reason a record's first reply was given before its type is known.
pub(super) const WRONG_TYPE: &str = "the record key is not a hash";

pub(super) fn is_wrong_type(e: &redis::RedisError) -> bool {
    e.code() == Some("WRONGTYPE")
}

/// Record keys (with their position in the query) and the replies of their pipeline;
/// `None` when the pipeline met a moved slot.
type KeyedReplies = (Vec<(usize, String)>, Option<Vec<Value>>);

/// A reply that says the key is served elsewhere (or not yet).
fn is_redirect(code: &str) -> bool {
    matches!(code, "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN")
}

/// Fails on the first error reply other than `WRONGTYPE` (which the reader of that one
/// record reports as a malformed record).
fn check_replies(replies: &[Value]) -> Result<()> {
    for v in replies {
        if let Value::ServerError(e) = v
            && e.code() != "WRONGTYPE"
        {
            return Err(Error::from(redis::RedisError::from(e.clone())));
        }
    }
    Ok(())
}

/// Why a record's reply cannot be read as a hash of text: another Redis type, or the first
/// field name or value that is not UTF-8 (named, when the name itself is readable).
pub(super) fn unreadable_reason(v: &Value) -> String {
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
    pub(super) fn text(v: &Value) -> Option<&str> {
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

impl Store {
    /// One key's record.
    pub async fn get(&self, id: &str) -> Result<KeyRecord> {
        let mut c = self.conn.clone();
        let fields: HashMap<Vec<u8>, Vec<u8>> = match c.hgetall(self.ns.record_key(id)).await {
            Ok(raw) => raw,
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
        Ok(KeyRecord::from_raw(id, |name| {
            fields.get(name.as_bytes()).map(Vec::as_slice)
        })?)
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
    pub(super) async fn name_wrong_types(&self, page: &mut Page) -> Result<()> {
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
    /// A task of its own reads ahead, so the server never waits for the caller's output:
    /// index ranges ([`PAGES_IN_FLIGHT`] ahead), their records in pipelines of [`BATCH`]
    /// `HMGET`s ([`PIPELINES_IN_FLIGHT`] at a time; on a cluster one pipeline per master,
    /// see [`Store::query_each`]), each parsed as soon as it arrives. Records are read with
    /// `HMGET` of the layout's fields: half the reply elements of `HGETALL` (no field
    /// names), which is what bounds the client. A record with none of them counts as
    /// dangling here; [`Store::fetch`] and `doctor` tell the two apart.
    pub async fn list_each(
        &self,
        mut each: impl FnMut(Page) -> Result<()>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<()> {
        let total = self.count().await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Page>>(PAGES_QUEUED);
        let reader = tokio::spawn(self.clone().read_listed(tx));
        let mut read = 0;
        let outcome = async {
            while let Some(page) = rx.recv().await {
                let mut page = page?;
                self.name_wrong_types(&mut page).await?;
                read += page.records.len() + page.malformed.len() + page.dangling.len();
                page.total = total;
                each(page)?;
                progress(read, total.max(read));
            }
            Ok(())
        }
        .await;
        // On an error the reader stops at its next page (the channel is closed).
        drop(rx);
        reader
            .await
            .map_err(|e| Error::Redis(format!("reading the records failed: {e}")))?;
        outcome
    }

    /// The reading side of [`Store::list_each`]: sends the parsed pages of
    /// [`BATCH`] records, in index order, until the index ends, an error (sent too) or the
    /// receiver is gone.
    async fn read_listed(self, tx: tokio::sync::mpsc::Sender<Result<Page>>) {
        let page_size = if self.conn.is_cluster() { 5000 } else { 10_000 };
        let store = &self;
        // Index ranges read ahead, up to the first short one.
        let ranges = futures::stream::iter((0..).map(|n| n * page_size))
            .map(|offset| store.page_ids(offset, page_size))
            .buffered(PAGES_IN_FLIGHT)
            .scan(false, |ended, r| {
                let item = (!*ended).then(|| {
                    *ended = r.as_ref().map_or(true, |ids| ids.len() < page_size);
                    r
                });
                std::future::ready(item)
            });
        // Their records, a pipeline per batch of ids, parsed as they arrive.
        let batches = ranges
            .map(|r| {
                let batches: Vec<Result<Vec<String>>> = match r {
                    Ok(mut ids) => {
                        let mut out = Vec::new();
                        while !ids.is_empty() {
                            let rest = ids.split_off(ids.len().min(BATCH));
                            out.push(Ok(std::mem::replace(&mut ids, rest)));
                        }
                        out
                    }
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(batches)
            })
            .flatten()
            .map(|ids| async move {
                let ids = ids?;
                let raw = store.fetch_listed(&ids).await?;
                Ok(parse_listed(&ids, &raw))
            })
            .buffered(if self.conn.is_cluster() {
                CLUSTER_PIPELINES_IN_FLIGHT
            } else {
                PIPELINES_IN_FLIGHT
            });
        futures::pin_mut!(batches);
        while let Some(page) = batches.next().await {
            let failed = page.is_err();
            if tx.send(page).await.is_err() || failed {
                break;
            }
        }
    }

    /// `HMGET` of [`LISTED_FIELDS`] for each id, in order.
    pub(super) async fn fetch_listed(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::Cmd::with_capacity(2 + LISTED_FIELDS.len(), 8 + key.len() + 160);
            cmd.arg("HMGET").arg(key).arg(&LISTED_FIELDS[..]);
            cmd
        })
        .await
    }

    // ---- change ---------------------------------------------------------------------

    /// The `HGETALL` replies of the given ids, in order.
    pub(crate) async fn fetch_raw(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(key);
            cmd
        })
        .await
    }

    /// One command per record (built from its key), replies in order, pipelined in
    /// batches: on a cluster one pipeline per master (all masters at once), each holding the
    /// commands of the keys that master serves. A record key of another type (`WRONGTYPE`,
    /// written by another program) gives that record's reply as a [`Value::ServerError`]
    /// instead of failing the others; any other error fails the whole query.
    pub(crate) async fn query_each(
        &self,
        ids: &[String],
        command: impl Fn(String) -> redis::Cmd,
    ) -> Result<Vec<Value>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The gate's check, once, before the connection is used without it below.
        self.conn.check().await?;
        if !self.conn.is_cluster() {
            // The pipelines go out together over the multiplexed connection: the server
            // works on one while the client reads the previous one's replies.
            // (Chunks by index: a closure over borrowed chunks would not be `Send` for
            // every lifetime, which `tokio::spawn` of `list_each`'s reader needs.)
            let command = &command;
            let parts: Vec<Vec<Value>> = futures::stream::iter((0..ids.len()).step_by(BATCH))
                .map(|start| {
                    let chunk = &ids[start..ids.len().min(start + BATCH)];
                    let mut pipe = redis::Pipeline::with_capacity(chunk.len());
                    for id in chunk {
                        pipe.add_command(command(self.ns.record_key(id)));
                    }
                    let mut c = self.conn.inner();
                    async move {
                        let replies = c.pipeline_to_slot(pipe, 0).await?;
                        check_replies(&replies)?;
                        Ok::<_, Error>(replies)
                    }
                })
                .buffered(PIPELINES_IN_FLIGHT)
                .try_collect()
                .await?;
            return Ok(parts.into_iter().flatten().collect());
        }
        // A cluster: group by master, one pipeline per master and batch, all at once.
        let owners = self.slot_owners().await?;
        let mut groups: HashMap<u16, Vec<(usize, String)>> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let key = self.ns.record_key(id);
            groups.entry(owners.route(&key)).or_default().push((i, key));
        }
        let mut batches = Vec::new();
        for (slot, mut keys) in groups {
            while !keys.is_empty() {
                let rest = keys.split_off(keys.len().min(BATCH));
                batches.push((slot, std::mem::replace(&mut keys, rest)));
            }
        }
        let command = &command;
        let answered: Vec<KeyedReplies> = futures::stream::iter(batches)
            .map(|(slot, keys)| {
                let mut pipe = redis::Pipeline::with_capacity(keys.len());
                for (_, key) in &keys {
                    pipe.add_command(command(key.clone()));
                }
                let mut c = self.conn.inner();
                async move {
                    match c.pipeline_to_slot(pipe, slot).await {
                        Ok(replies) => Ok((keys, Some(replies))),
                        // The client followed a redirection with the whole pipeline and
                        // gave up: the keys are not all on one master any more.
                        Err(e) if e.code().is_some_and(is_redirect) => Ok((keys, None)),
                        Err(e) => Err(Error::from(e)),
                    }
                }
            })
            .buffer_unordered(CLUSTER_PIPELINES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut out = vec![Value::Nil; ids.len()];
        let mut moved = Vec::new();
        for (keys, replies) in answered {
            let Some(replies) = replies else {
                moved.extend(keys);
                continue;
            };
            if replies.len() != keys.len() {
                return Err(Error::Redis(format!(
                    "a pipeline of {} commands got {} replies",
                    keys.len(),
                    replies.len()
                )));
            }
            for ((i, key), v) in keys.into_iter().zip(replies) {
                match &v {
                    Value::ServerError(e) if is_redirect(e.code()) => moved.push((i, key)),
                    _ => out[i] = v,
                }
            }
        }
        if !moved.is_empty() {
            // The slots moved since they were read: read them again next time, and send
            // these commands one by one (the client follows the redirections).
            *self.slots.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let again: Vec<(usize, Value)> = futures::stream::iter(moved)
                .map(|(i, key)| {
                    let mut c = self.conn.inner();
                    let cmd = command(key);
                    async move {
                        match cmd.query_async::<Value>(&mut c).await {
                            Ok(v) => Ok((i, v)),
                            Err(e) if is_wrong_type(&e) => Ok((
                                i,
                                e.into_server_errors()
                                    .and_then(|errs| errs.first().map(|(_, e)| e.clone()))
                                    .map_or(Value::Nil, Value::ServerError),
                            )),
                            Err(e) => Err(Error::from(e)),
                        }
                    }
                })
                .buffer_unordered(CLUSTER_CONCURRENCY)
                .try_collect()
                .await?;
            for (i, v) in again {
                out[i] = v;
            }
        }
        check_replies(&out)?;
        Ok(out)
    }

    /// The cluster's slot owners, read once per store (and again after a redirection).
    async fn slot_owners(&self) -> Result<Arc<SlotOwners>> {
        if let Some(o) = self.slots.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(o);
        }
        let owners = Arc::new(SlotOwners::read(&mut self.conn.inner()).await?);
        *self.slots.lock().unwrap_or_else(|e| e.into_inner()) = Some(owners.clone());
        Ok(owners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_index_is_the_position_in_listed_fields() {
        for (i, name) in LISTED_FIELDS.iter().enumerate() {
            assert_eq!(listed_index(name), Some(i), "{name}");
        }
        assert_eq!(listed_index("no_such_field"), None);
    }
}

impl Store {
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
