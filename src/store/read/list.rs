//! Reading records: one key, the index count and offset pages, a page of ids, and the
//! whole namespace read ahead in pipelines ([`Store::list_each`]). Writes nothing.

use std::collections::HashMap;

use futures::StreamExt;
use redis::{AsyncCommands, Value};

use crate::error::{Error, Result};
use crate::record::{KeyRecord, RecordError};
use crate::store::*;

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

    /// The answer of [`Store::fetch`], read with `HMGET` of [`LISTED_FIELDS`] (half the
    /// reply elements of `HGETALL`, parsed by position) as [`Store::list_each`] reads them.
    /// The ids whose record had none of those fields (rare: dangling index entries) are
    /// read again with `HGETALL`, which tells a missing record from a hash of other fields
    /// (malformed).
    pub async fn fetch_page(&self, ids: &[String]) -> Result<Page> {
        let raw = self.fetch_listed(ids).await?;
        let mut page = parse_listed(ids, &raw);
        drop(raw);
        self.name_wrong_types(&mut page).await?;
        if !page.dangling.is_empty() {
            let again = self.fetch(&std::mem::take(&mut page.dangling)).await?;
            page.records.extend(again.records);
            page.malformed.extend(again.malformed);
            page.dangling = again.dangling;
        }
        Ok(page)
    }

    /// Says which Redis type each record key of another type holds (`TYPE`, only for
    /// those): "the record key is a list, not a hash".
    pub(in crate::store) async fn name_wrong_types(&self, page: &mut Page) -> Result<()> {
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
    pub(in crate::store) async fn fetch_listed(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, |key| {
            let mut cmd = redis::Cmd::with_capacity(2 + LISTED_FIELDS.len(), 8 + key.len() + 160);
            cmd.arg("HMGET").arg(key).arg(&LISTED_FIELDS[..]);
            cmd
        })
        .await
    }
}
