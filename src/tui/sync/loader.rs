//! The loader: reads the namespace's index page by page (the first page at once, the rest
//! in the background with a few reads in flight) and sends the records as compact rows.
//! It never writes and never talks to the UI except through [`Msg`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::store::{IndexPos, ListedBatch, Page, Store, alongside};

use super::SyncOptions;
use crate::tui::msg::{Credit, Msg, PageRecords, SyncOp};

/// Pages sent to the UI and not taken in yet, at most: the records waiting in the channel
/// stay a few thousand however fast Redis answers.
const PAGES_AHEAD: usize = 2;

/// Chunks read at once through the ordinary connection (TLS, a cluster): 15,000 keys in
/// flight, as before the bulk-read connection.
const CHUNKS_IN_FLIGHT: usize = 3;

pub(super) fn spawn_loader(
    store: Store,
    load: u64,
    actions: UnboundedSender<Msg>,
    options: SyncOptions,
) -> JoinHandle<()> {
    let timing = options.timing;
    let (first_page, chunk_len) = (options.first_page.max(1), options.chunk.max(1));
    tokio::task::spawn_local(async move {
        let started = Instant::now();
        if let Err(Error::Setup(why)) = store.recheck_layout().await {
            let _ = actions.send(Msg::Refused(why));
            return;
        }
        // Right after a reconnect the ordinary connection may still be re-establishing
        // itself: try a few times before reporting.
        let mut attempt = 0;
        let (page, next) = loop {
            match first(&store, first_page).await {
                Ok(p) => break p,
                Err(e) if attempt >= 5 => {
                    let _ = actions.send(Msg::Failed {
                        op: SyncOp::Load,
                        error: e.to_string(),
                    });
                    return;
                }
                Err(e) => {
                    tracing::info!(error = %e, attempt, "loading the first page failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
            }
        };
        if timing {
            tracing::info!(
                timing = "first_page_read",
                ms = started.elapsed().as_millis() as u64,
                records = page.records.len()
            );
        }
        let total = page.total;
        let mut loaded = page.records.len() + page.malformed.len() + page.dangling.len();
        let _ = actions.send(Msg::FirstPage {
            load,
            records: page.records,
            total,
            malformed: page.malformed.into_iter().map(|m| m.id).collect(),
            done: next.is_none(),
        });
        let Some(next) = next else { return };
        // Each page starts where the one before ended (by score and id, never by offset:
        // keys deleted meanwhile shift nothing). The ids of the next page are asked for
        // while the records of earlier ones are read and parsed.
        let pages = options.pages.clone();
        let index = store.clone();
        let batches = futures::stream::unfold(Some(next), move |pos| {
            let (pages, index) = (pages.clone(), index.clone());
            async move {
                let pos = pos?;
                if let Some(pages) = pages {
                    pages.acquire().await.map(|p| p.forget()).ok();
                }
                Some(match index.page_after(Some(&pos), chunk_len).await {
                    Ok((ids, next)) => {
                        let last = next.is_none();
                        (Ok((ids, last)), next)
                    }
                    // The error is reported, and the stream ends.
                    Err(e) => (Err(e), None),
                })
            }
        });
        let credits = Arc::new(Semaphore::new(PAGES_AHEAD));
        let (read_tx, mut read_rx) =
            tokio::sync::mpsc::channel::<Result<(ListedBatch, bool), Error>>(1);
        let send = async {
            while let Some(chunk) = read_rx.recv().await {
                let settled = match chunk {
                    Ok((batch, last)) => settle(&store, batch)
                        .await
                        .map(|(read, page)| (read, page, last)),
                    Err(e) => Err(e),
                };
                let (read, (records, malformed), last) = match settled {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = actions.send(Msg::Failed {
                            op: SyncOp::LoadMore { loaded },
                            error: e.to_string(),
                        });
                        return;
                    }
                };
                loaded += read;
                // Wait until the UI has taken in all but a few of the pages sent.
                let credit = Arc::clone(&credits).acquire_owned().await.ok().map(Credit);
                if actions
                    .send(Msg::MoreRecords {
                        load,
                        records,
                        malformed,
                        done: last,
                        credit,
                    })
                    .is_err()
                    || last
                {
                    if timing {
                        tracing::info!(
                            timing = "all_records_loaded",
                            ms = started.elapsed().as_millis() as u64,
                            records = loaded
                        );
                    }
                    return;
                }
            }
        };
        alongside(store.read_batches(batches, read_tx, CHUNKS_IN_FLIGHT), send).await;
    })
}

/// A page read as a batch, finished as [`Store::settle_page`] finishes a [`Page`]: its
/// dangling entries are read again on their own (records then, malformed, or gone). With
/// the number of entries read, and the ids of the malformed records read again (the
/// batch's own come out when it is read).
async fn settle(
    store: &Store,
    batch: ListedBatch,
) -> Result<(usize, (PageRecords, Vec<String>)), Error> {
    let read = batch.len();
    let dangling: Vec<String> = batch.dangling().map(str::to_owned).collect();
    let again = if dangling.is_empty() {
        Page::default()
    } else {
        store.fetch(&dangling).await?
    };
    let records = PageRecords {
        batch,
        owned: again.records,
    };
    let malformed = again.malformed.into_iter().map(|m| m.id).collect();
    Ok((read, (records, malformed)))
}

/// The first page of records, the index count, and where the next page starts (`None`:
/// that was all).
async fn first(store: &Store, limit: usize) -> Result<(Page, Option<IndexPos>), Error> {
    let total = store.count().await?;
    let (ids, next) = store.page_after(None, limit).await?;
    let mut page = store.fetch_page(&ids).await?;
    page.total = total;
    Ok((page, next))
}
