//! Reading records: one key, the index count and offset pages, a page of ids, and the
//! whole namespace read ahead in pipelines ([`Store::list_each`]). Writes nothing.

use std::collections::HashMap;

use futures::StreamExt;
use redis::{AsyncCommands, Value};

use crate::error::{Error, Result};
use crate::record::{KeyRecord, RecordError};
use crate::redis::pipe::{self, PipeReader, PipeWriter, Reply};
use crate::store::read::batch::{ListedReplies, wrong_type};
use crate::store::*;
use redis_protocol::resp2::types::RangeFrame;

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
                self.name_wrong_types(&mut page.malformed).await?;
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
        self.name_wrong_types(&mut page.malformed).await?;
        Ok(page)
    }

    /// The answer of [`Store::fetch`], read with `HMGET` of [`LISTED_FIELDS`] (half the
    /// reply elements of `HGETALL`, parsed by position) as [`Store::list_each`] reads them.
    /// The ids whose record had none of those fields (rare: dangling index entries) are
    /// read again with `HGETALL`, which tells a missing record from a hash of other fields
    /// (malformed).
    pub async fn fetch_page(&self, ids: &[String]) -> Result<Page> {
        let raw = self.fetch_listed(ids).await?;
        let page: Page = parse_listed(ids, &raw);
        drop(raw);
        self.settle_page(page).await
    }

    /// Finishes a page read with `HMGET` of [`LISTED_FIELDS`] as [`Store::fetch`] would
    /// have read it: names the type of record keys that are not hashes, and reads the
    /// dangling ids again with `HGETALL`.
    pub(crate) async fn settle_page(&self, mut page: Page) -> Result<Page> {
        self.name_wrong_types(&mut page.malformed).await?;
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
    pub(in crate::store) async fn name_wrong_types(
        &self,
        malformed: &mut [RecordError],
    ) -> Result<()> {
        let ids: Vec<String> = malformed
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
        for e in malformed {
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
        each: impl FnMut(Page) -> Result<()>,
        progress: impl FnMut(usize, usize),
    ) -> Result<()> {
        self.list_each_as(each, progress).await
    }

    /// [`Store::list_each`] in [`ListedBatch`]es: the records as the bytes of their replies,
    /// read as borrowed views (for output that keeps nothing: `list`).
    pub async fn list_batches(
        &self,
        each: impl FnMut(ListedBatch) -> Result<()>,
        progress: impl FnMut(usize, usize),
    ) -> Result<()> {
        self.list_each_as(each, progress).await
    }

    async fn list_each_as<P: ListedReplies>(
        &self,
        mut each: impl FnMut(P) -> Result<()>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<()> {
        let total = self.count().await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<P>>(PAGES_QUEUED);
        let reader = tokio::spawn(self.clone().read_listed(tx));
        let mut read = 0;
        let outcome = async {
            while let Some(page) = rx.recv().await {
                let mut page = page?;
                self.name_wrong_types(page.malformed_mut()).await?;
                read += page.len();
                page.set_total(total);
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
    async fn read_listed<P: ListedReplies>(self, tx: tokio::sync::mpsc::Sender<Result<P>>) {
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
        // Cut into batches of ids.
        let batches = ranges
            .map(|r| {
                let batches: Vec<Result<(Vec<String>, ())>> = match r {
                    Ok(mut ids) => {
                        let mut out = Vec::new();
                        while !ids.is_empty() {
                            let rest = ids.split_off(ids.len().min(BATCH));
                            out.push(Ok((std::mem::replace(&mut ids, rest), ())));
                        }
                        out
                    }
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(batches)
            })
            .flatten();
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel::<Result<(P, ())>>(1);
        let forward = async {
            while let Some(page) = pages_rx.recv().await {
                let page = page.map(|(page, ())| page);
                let failed = page.is_err();
                if tx.send(page).await.is_err() || failed {
                    break;
                }
            }
            // Stops the reading too.
            drop(pages_rx);
        };
        let in_flight = if self.conn.is_cluster() {
            CLUSTER_PIPELINES_IN_FLIGHT
        } else {
            PIPELINES_IN_FLIGHT
        };
        alongside(self.read_batches_as(batches, pages_tx, in_flight), forward).await;
    }

    /// Reads the records of each batch of ids that `batches` yields, with `HMGET` of
    /// [`LISTED_FIELDS`], and sends each batch's page (with the batch's tag `T`) to `pages`
    /// in the order of the batches, reading ahead. Ends when `batches` does, at the first
    /// error (sent too), or when `pages` is closed.
    ///
    /// On a standalone server without TLS the reads go over a connection of their own
    /// ([`crate::redis::pipe`]): a writer sends the batches' `HMGET`s ahead while the
    /// replies of earlier ones are decoded in place. Otherwise (TLS, a cluster) each batch
    /// is a pipeline on the ordinary connection, a few at once ([`Store::query_each`]).
    /// Either way a page is what [`parse_listed`] makes of the replies: records with none
    /// of the fields are dangling (see [`Store::fetch_page`]).
    /// `in_flight`: batches read at once through the ordinary connection (a pipe writes
    /// [`PIPELINES_IN_FLIGHT`] ahead).
    #[cfg(feature = "tui")]
    pub(crate) async fn read_batches<T>(
        &self,
        batches: impl futures::Stream<Item = Result<(Vec<String>, T)>>,
        pages: tokio::sync::mpsc::Sender<Result<(ListedBatch, T)>>,
        in_flight: usize,
    ) {
        self.read_batches_as(batches, pages, in_flight).await
    }

    /// [`Store::read_batches`] into pages of type `P`.
    async fn read_batches_as<P: ListedReplies, T>(
        &self,
        batches: impl futures::Stream<Item = Result<(Vec<String>, T)>>,
        pages: tokio::sync::mpsc::Sender<Result<(P, T)>>,
        in_flight: usize,
    ) {
        if let Some(target) = self.conn.inner().pipe_target().cloned() {
            let opened = match self.conn.check().await {
                Ok(()) => target.open().await,
                Err(e) => Err(e),
            };
            match opened {
                Ok((writer, reader)) => {
                    return self.pipe_batches(batches, writer, reader, pages).await;
                }
                // The ordinary connection may still work (a limit on connections, a
                // proxy that allows one): read through it.
                Err(e) => {
                    tracing::warn!(error = %e, "bulk reads go through the ordinary connection")
                }
            }
        }
        let read = batches
            .map(|batch| async move {
                let (ids, tag) = batch?;
                let raw = self.fetch_listed(&ids).await?;
                Ok((parse_listed::<P>(&ids, &raw), tag))
            })
            .buffered(in_flight.max(1));
        futures::pin_mut!(read);
        while let Some(page) = read.next().await {
            let failed = page.is_err();
            if pages.send(page).await.is_err() || failed {
                break;
            }
        }
    }

    /// [`Store::read_batches`] over a pipe: the writer hands each batch's ids to the
    /// reader and then sends its commands (so the replies are read while the commands are
    /// written: a peer that stops reading commands until its replies are taken never waits
    /// on us); the reader reads that many replies. When the pipe fails (closed by the
    /// server's idle `timeout` while the caller was slow, reset, or silent past the
    /// response timeout), the batch it was reading and every later one are read through the
    /// ordinary connection, which reconnects: the listing goes on, the same.
    async fn pipe_batches<P: ListedReplies, T>(
        &self,
        batches: impl futures::Stream<Item = Result<(Vec<String>, T)>>,
        mut writer: PipeWriter,
        mut reader: PipeReader,
        pages: tokio::sync::mpsc::Sender<Result<(P, T)>>,
    ) {
        // Batches handed over and not read yet, at most this many (and the one being read).
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel(PIPELINES_IN_FLIGHT);
        // The writer is borrowed, not moved: it must outlive the reading (see
        // [`PipeWriter`]).
        let writer = &mut writer;
        let hmget = ListedCommand::new(&self.ns);
        let write = async move {
            futures::pin_mut!(batches);
            // Once a write failed, batches go to the reader unwritten.
            let mut writing = true;
            while let Some(batch) = batches.next().await {
                let failed = batch.is_err();
                if let (Ok((ids, _)), true) = (&batch, writing) {
                    for id in ids {
                        hmget.pack(id, writer.packed());
                    }
                }
                if sent_tx.send(batch).await.is_err() || failed {
                    break;
                }
                if writing && writer.flush().await.is_err() {
                    writing = false;
                }
            }
        };
        let read = async move {
            let mut piped = true;
            while let Some(batch) = sent_rx.recv().await {
                let page = match batch {
                    Ok((ids, tag)) => {
                        let read = match piped {
                            true => read_listed_replies::<P>(&mut reader, &ids).await,
                            false => Err(None),
                        };
                        let page = match read {
                            Ok(page) => page,
                            Err(failed) => {
                                if let Some(failed) = failed {
                                    tracing::warn!(
                                        error = %failed,
                                        "the bulk-read connection failed; reading on through the ordinary connection"
                                    );
                                    piped = false;
                                }
                                let raw = self.fetch_listed(&ids).await;
                                raw.map(|raw| parse_listed::<P>(&ids, &raw))
                            }
                        };
                        page.map(|p| (p, tag))
                    }
                    Err(e) => Err(e),
                };
                let failed = page.is_err();
                if pages.send(page).await.is_err() || failed {
                    break;
                }
            }
            // The writer stops at its next batch.
            drop(sent_rx);
        };
        alongside(write, read).await;
    }

    /// `HMGET` of [`LISTED_FIELDS`] for each id, in order.
    pub(in crate::store) async fn fetch_listed(&self, ids: &[String]) -> Result<Vec<Value>> {
        self.query_each(ids, listed_command).await
    }
}

/// Runs `side` alongside `main` until `main` ends; then `side` is dropped where it stands
/// (a writer waiting for its next batch once the reading has stopped).
pub(crate) async fn alongside<S: Future, M: Future>(side: S, main: M) -> M::Output {
    let side = async {
        side.await;
        std::future::pending::<std::convert::Infallible>().await
    };
    futures::pin_mut!(side, main);
    match futures::future::select(side, main).await {
        futures::future::Either::Left((never, _)) => match never {},
        futures::future::Either::Right((out, _)) => out,
    }
}

/// `HMGET key LISTED_FIELDS`.
fn listed_command(key: String) -> redis::Cmd {
    let mut cmd = redis::Cmd::with_capacity(2 + LISTED_FIELDS.len(), 8 + key.len() + 160);
    cmd.arg("HMGET").arg(key).arg(&LISTED_FIELDS[..]);
    cmd
}

/// [`listed_command`] of a record key, packed straight into a buffer: the parts that are the
/// same for every key are packed once.
struct ListedCommand {
    /// `ns:key:{` (the record key up to the id).
    key_prefix: Vec<u8>,
    /// The packed field names.
    fields: Vec<u8>,
}

impl ListedCommand {
    fn new(ns: &crate::layout::Namespace) -> Self {
        let empty = ns.record_key("");
        let key_prefix = empty.as_bytes()[..empty.len() - 1].to_vec();
        let mut cmd = redis::Cmd::new();
        cmd.arg(&LISTED_FIELDS[..]);
        let packed = cmd.get_packed_command();
        // Without the array header `*17\r\n`.
        let start = packed.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        ListedCommand {
            key_prefix,
            fields: packed[start..].to_vec(),
        }
    }

    /// Appends `HMGET ns:key:{id} LISTED_FIELDS` in RESP.
    fn pack(&self, id: &str, out: &mut Vec<u8>) {
        use std::io::Write;
        let key_len = self.key_prefix.len() + id.len() + 1;
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "*{}\r\n$5\r\nHMGET\r\n${key_len}\r\n",
            2 + LISTED_FIELDS.len()
        );
        out.extend_from_slice(&self.key_prefix);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"}\r\n");
        out.extend_from_slice(&self.fields);
    }
}

/// The page of one batch: the next `ids.len()` replies of the pipe, decoded in its buffer.
/// A `WRONGTYPE` error is that record's (malformed); any other error reply fails the batch,
/// as on the ordinary connection.
///
/// `Err(Some(e))`: the pipe itself failed (the caller reads the batch another way);
/// `Ok(Err(e))`: an error reply other than `WRONGTYPE`, which fails the batch as it would on
/// the ordinary connection. (`Err(None)` is never returned here: the caller's "not piped".)
async fn read_listed_replies<P: ListedReplies>(
    reader: &mut PipeReader,
    ids: &[String],
) -> std::result::Result<Result<P>, Option<Error>> {
    let mut page = P::with_capacity(ids.len());
    for id in ids {
        let replied = reader
            .next_cells(|reply| {
                match reply {
                    Reply::Cells(cells) => page.push(id, cells.iter().copied()),
                    Reply::Frame(buf, RangeFrame::Array(fields)) => {
                        page.push(id, fields.iter().map(|f| pipe::bulk(buf, f)))
                    }
                    Reply::Frame(buf, RangeFrame::Error((s, e))) => {
                        let text = String::from_utf8_lossy(&buf[*s..*e]);
                        if !text.starts_with("WRONGTYPE") {
                            return Err(Error::from_reply(&text));
                        }
                        page.push_malformed(wrong_type(id));
                    }
                    Reply::Frame(..) => page.push_malformed(wrong_type(id)),
                }
                Ok(())
            })
            .await;
        match replied {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => return Ok(Err(refused)),
            Err(failed) => return Err(Some(failed)),
        }
    }
    Ok(Ok(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_listed_command_is_the_command_packed() {
        let ns = crate::layout::Namespace::new("team-a").unwrap();
        let hmget = ListedCommand::new(&ns);
        for id in ["K1", "", "01JABCDEFGHJKMNPQRSTVWXYZ0", "ü{}"] {
            let mut out = b"before".to_vec();
            hmget.pack(id, &mut out);
            let mut want = b"before".to_vec();
            want.extend(listed_command(ns.record_key(id)).get_packed_command());
            assert_eq!(out, want, "{id}");
        }
    }
}
