//! The change-feed follower: tails `{ns}:events` on a blocking connection of its own,
//! re-reads what changed, reconnects with backoff and asks for a reload when the server no
//! longer holds the data followed. It runs no user commands and loads no pages.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::conn::{self, ConnectOptions};
use crate::error::Error;
use crate::layout::Namespace;
use crate::store::{Event, Store};

use crate::tui::msg::{ConnState, Gap, Msg};

/// `ms-seq` stream ids compared as numbers; unreadable ones count as zero.
fn stream_id(s: &str) -> (u64, u64) {
    let (a, b) = s.split_once('-').unwrap_or((s, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// Events read from the change feed at once.
const FEED_COUNT: usize = 500;

/// Follows `{ns}:events`: re-fetches each changed record, drops deleted ones, reports the
/// connection state, reconnects, and catches up from its cursor. No event is ever skipped:
/// the cursor moves past an event only once it has been applied. A re-read that fails is
/// retried on a fresh connection; when that fails too, or when after a reconnect the
/// server no longer holds the data we had followed (restarted empty or from older data,
/// feed trimmed past the cursor), it asks for a reload ([`Msg::Resync`]).
pub(super) async fn follow(
    store: Store,
    opts: ConnectOptions,
    (cursor, run_id): (String, Option<String>),
    actions: UnboundedSender<Msg>,
    block: Duration,
) {
    let mut f = Follower {
        ns: store.namespace().clone(),
        store,
        actions,
        block,
        cursor,
        // Nothing reported yet: the first state is always sent, so a UI that asked for
        // something while the follower was still connecting hears "live" and asks again.
        shown: None,
        identified: run_id.is_some(),
        run_id,
        // The cursor was read on another connection, maybe on a server since restarted:
        // the first round checks it like after a reconnect.
        reconnected: true,
        caught_up: false,
        retrying: None,
        gap: None,
    };
    let mut conn: Option<conn::Conn> = None;
    let mut failures = 0u32;
    loop {
        if f.actions.is_closed() {
            return;
        }
        if conn.is_none() {
            match conn::connect_blocking(&opts, block).await {
                Ok(c) => {
                    conn = Some(c);
                    f.caught_up = false;
                }
                Err(e) => {
                    failures += 1;
                    tracing::info!(error = %e, failures, "change feed: reconnect failed");
                    f.reconnected = true;
                    f.set(lost(failures));
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        match f.turn(c).await {
            Ok(()) => failures = 0,
            // The layout is checked on every round's fresh gate: a refusal is no lost
            // connection, and retrying changes nothing.
            Err(Error::Setup(why)) => {
                tracing::warn!(error = %why, "change feed: namespace refused; following stops");
                let _ = f.actions.send(Msg::Refused(why));
                return;
            }
            Err(e) => {
                failures += 1;
                tracing::info!(error = %e, failures, "change feed: read failed");
                conn = None;
                f.reconnected = true;
                f.set(lost(failures));
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

/// The follower's state between rounds.
struct Follower {
    store: Store,
    ns: Namespace,
    actions: UnboundedSender<Msg>,
    block: Duration,
    /// The id of the last event applied (`$`: not read yet).
    cursor: String,
    /// The connection state last reported.
    shown: Option<ConnState>,
    /// The `run_id` of the server followed (standalone servers only).
    run_id: Option<String>,
    /// Whether `run_id` has been read on the current server.
    identified: bool,
    /// A connection was lost since the last round: check the dataset before going on.
    reconnected: bool,
    /// Whether the feed has been read up to its end on this connection: only then is
    /// the view live, and only then does the follower block waiting for more.
    caught_up: bool,
    /// The event whose re-read failed once (retried on a fresh connection).
    retrying: Option<String>,
    /// Why the view must be reloaded, once a connection allows it.
    gap: Option<Gap>,
}

impl Follower {
    fn set(&mut self, s: ConnState) {
        if self.shown != Some(s) {
            self.shown = Some(s);
            let _ = self.actions.send(Msg::Connection(s));
        }
    }

    /// One round on a working connection: after a reconnect, check that the server holds
    /// the data we followed; reload after a gap; then catch up (without blocking) or wait
    /// for new events, and apply them in order. An error drops the connection.
    async fn turn(&mut self, c: &mut conn::Conn) -> Result<(), Error> {
        let feed = self.store.with_conn(c.clone());
        if self.cursor == "$" {
            self.cursor = feed.last_event_cursor().await?;
        }
        if self.reconnected || !self.identified {
            let cluster = c.is_cluster();
            let run = server_run_id(c, cluster).await?;
            if self.reconnected {
                let known = self.run_id.as_deref();
                if let Some(g) = dataset_gap(&feed, c, &self.cursor, known, run.as_deref()).await? {
                    tracing::info!(?g, cursor = %self.cursor, "change feed: the data changed under us");
                    self.gap = Some(g);
                }
                self.reconnected = false;
            }
            self.run_id = run;
            self.identified = true;
        }
        if let Some(g) = self.gap.clone() {
            // The cursor is read before the reload starts: what changes meanwhile is
            // replayed (re-reading a record is idempotent), never lost.
            self.cursor = feed.last_event_cursor().await?;
            self.gap = None;
            self.retrying = None;
            let _ = self.actions.send(Msg::Resync(g));
        }
        let events = if self.caught_up {
            Store::wait_events(c, &self.ns, &self.cursor, self.block, FEED_COUNT).await?
        } else {
            feed.events_after(&self.cursor, FEED_COUNT).await?
        };
        let more = events.len() >= FEED_COUNT;
        // Runs of key events are applied together (one read of their records, one message
        // each way), namespace-wide ones alone; the cursor moves past a run once applied.
        let mut rest = &events[..];
        while !rest.is_empty() {
            let n = if is_namespace_wide(&rest[0]) {
                1
            } else {
                rest.iter().take_while(|e| !is_namespace_wide(e)).count()
            };
            let (run, after) = rest.split_at(n);
            let first = &run[0];
            match apply(&feed, run, &self.actions).await {
                Ok(()) => {
                    self.cursor = run[n - 1].cursor.clone();
                    self.retrying = None;
                }
                Err(err) if self.retrying.as_deref() == Some(first.cursor.as_str()) => {
                    tracing::warn!(error = %err, id = %first.id, "changed keys cannot be re-read on a fresh connection either: reloading");
                    self.gap = Some(Gap::ReadFailed {
                        id: first.id.clone(),
                    });
                    return Ok(());
                }
                Err(err) => {
                    tracing::warn!(error = %err, id = %first.id, "cannot re-read changed keys: retrying on a fresh connection");
                    self.retrying = Some(first.cursor.clone());
                    return Err(err);
                }
            }
            rest = after;
        }
        if !more {
            self.caught_up = true;
        }
        if self.caught_up {
            self.set(ConnState::Live);
        }
        Ok(())
    }
}

/// Whether an event concerns the whole namespace (its storage mode, production mark or
/// layout).
fn is_namespace_wide(e: &Event) -> bool {
    matches!(e.op.as_str(), "init" | "migrate" | "upgrade")
}

/// Applies a run of events: a namespace-wide one re-reads the meta; key events re-read the
/// records they concern, all in one fetch, and report them in one message each way
/// ([`Msg::RecordsChanged`], [`Msg::RecordsGone`]; the single forms for one key). An error means nothing was learnt
/// (Redis could not be read); a record that is gone or malformed is an answer.
async fn apply(feed: &Store, run: &[Event], actions: &UnboundedSender<Msg>) -> Result<(), Error> {
    for e in run.iter().filter(|e| is_namespace_wide(e)) {
        match feed.meta().await {
            Ok(Some(meta)) => {
                let _ = actions.send(Msg::Server {
                    cluster: feed.is_cluster(),
                    mode: Some(meta.mode),
                    production: meta.production,
                });
            }
            Ok(None) => {}
            Err(err @ Error::Redis(_)) => return Err(err),
            Err(err) => {
                tracing::warn!(error = %err, op = %e.op, "cannot read the namespace's meta")
            }
        }
    }
    let mut deleted: Vec<String> = Vec::new();
    let mut read: Vec<String> = Vec::new();
    for e in run {
        let mut ids = vec![e.id.clone()];
        if e.op == "rotate"
            && let Some(new) = &e.detail
        {
            ids.push(new.clone());
        }
        for id in ids.into_iter().filter(|id| !id.is_empty()) {
            if e.op == "delete" {
                deleted.push(id);
            } else {
                read.push(id);
            }
        }
    }
    // A key deleted in this run is gone, whatever happened to it before.
    read.retain(|id| !deleted.contains(id));
    read.sort_unstable();
    read.dedup();
    let mut gone = deleted;
    if !read.is_empty() {
        let mut page = feed.fetch(&read).await?;
        let _ = match page.records.len() {
            0 => Ok(()),
            1 => actions.send(Msg::RecordChanged(Box::new(page.records.remove(0)))),
            _ => actions.send(Msg::RecordsChanged(page.records)),
        };
        for bad in page.malformed {
            tracing::info!(id = %bad.id, reason = %bad.reason, "a changed key is malformed");
            let _ = actions.send(Msg::RecordMalformed { id: bad.id });
        }
        gone.extend(page.dangling);
    }
    let _ = match gone.len() {
        0 => Ok(()),
        1 => actions.send(Msg::RecordGone { id: gone.remove(0) }),
        _ => actions.send(Msg::RecordsGone(gone)),
    };
    Ok(())
}

/// The `run_id` of a standalone server (it changes with every restart); `None` on a
/// cluster, whose nodes each have their own.
pub(super) async fn server_run_id(
    c: &mut impl redis::aio::ConnectionLike,
    cluster: bool,
) -> Result<Option<String>, Error> {
    if cluster {
        return Ok(None);
    }
    let info: String = redis::cmd("INFO").arg("server").query_async(c).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("run_id:").map(|v| v.trim().to_owned())))
}

/// After a reconnect: whether the server still holds the data followed so far. The entry
/// at our cursor vouches for it (a server restarted from its append-only file has it); when
/// it is missing, says why. Without a cursor to check (no event seen yet), only a restart
/// is reason enough to reload.
async fn dataset_gap(
    feed: &Store,
    c: &mut conn::Conn,
    cursor: &str,
    known_run: Option<&str>,
    run: Option<&str>,
) -> Result<Option<Gap>, Error> {
    let restarted = matches!((known_run, run), (Some(a), Some(b)) if a != b);
    if cursor != "0-0" {
        let at: Vec<(String, std::collections::HashMap<String, String>)> = redis::cmd("XRANGE")
            .arg(feed.namespace().events_key())
            .arg(cursor)
            .arg(cursor)
            .query_async(c)
            .await?;
        if !at.is_empty() {
            return Ok(None);
        }
    } else if !restarted {
        return Ok(None);
    }
    let oldest = feed.oldest_event_cursor().await?;
    if restarted {
        let empty = oldest.is_none() && feed.count().await? == 0;
        return Ok(Some(Gap::Restarted { empty }));
    }
    Ok(Some(match oldest {
        Some(o) if stream_id(&o) > stream_id(cursor) => Gap::Trimmed,
        _ => Gap::FeedLost,
    }))
}

fn lost(failures: u32) -> ConnState {
    if failures >= 3 {
        ConnState::Offline
    } else {
        ConnState::Reconnecting
    }
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis((250u64 << failures.min(3)).min(2000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_compare_numerically() {
        assert!(stream_id("1700000000000-10") > stream_id("1700000000000-9"));
        assert!(stream_id("0-0") < stream_id("1-0"));
        assert_eq!(stream_id("bad"), (0, 0));
    }
}
