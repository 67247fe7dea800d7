//! Reading keys: one record, index pages, and the whole namespace in pipelined pages.
//! Records other programs damaged are reported as malformed, never a panic.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use redis::{AsyncCommands, Value};

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
pub(super) fn parse_listed(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    let mut pairs: Vec<(&str, &[u8])> = Vec::with_capacity(LISTED_FIELDS.len());
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
                Value::BulkString(b) => pairs.push((name, b)),
                _ => not_text = not_text.or(Some(*name)),
            }
        }
        if let Some(name) = not_text {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: format!("field {name} is not text"),
            });
        } else if pairs.is_empty() {
            page.dangling.push(id.clone());
        } else {
            let lookup = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
            match KeyRecord::from_raw(id, lookup) {
                Ok(r) => page.records.push(r),
                Err(e) => page.malformed.push(e),
            }
        }
    }
    page
}

/// The reason a record's first reply was given before its type is known.
pub(super) const WRONG_TYPE: &str = "the record key is not a hash";

pub(super) fn is_wrong_type(e: &redis::RedisError) -> bool {
    e.code() == Some("WRONGTYPE")
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
    pub(super) async fn fetch_listed(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(key).arg(&LISTED_FIELDS[..]);
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
}
