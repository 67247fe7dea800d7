//! The sync task: owns every Redis connection of the TUI (a [`Store`] clone for commands and
//! loading, a blocking connection for `XREAD BLOCK` on the change feed). Takes [`Command`]s
//! over a channel and sends typed [`Action`]s with owned data back; nothing here ever waits
//! on the UI, and the UI never waits on Redis.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::conn::{self, ConnectOptions};
use crate::error::Error;
use crate::layout::Namespace;
use crate::store::{RotateRequest, Store};

use super::row::{Interner, Row};
use super::state::{Action, Command, ConnState};

/// Records on the first screen.
pub const FIRST_PAGE: usize = 200;
/// Records per background read.
pub const CHUNK: usize = 5000;
/// Background reads in flight at once.
const IN_FLIGHT: usize = 3;
/// How long one `XREAD BLOCK` waits.
const BLOCK: Duration = Duration::from_secs(5);
/// How old the events of a key shown in the detail view may be.
const DETAIL_EVENTS_SCAN: usize = 5000;

/// Starts the sync task; returns the channel for commands.
pub fn spawn(
    store: Store,
    opts: ConnectOptions,
    actions: UnboundedSender<Action>,
    timing: bool,
) -> UnboundedSender<Command> {
    let (tx, rx) = unbounded_channel();
    // The store's futures are not `Send` for every lifetime, so the sync side runs on a
    // thread of its own with a local task set; it talks to the UI only through channels.
    let started = std::thread::Builder::new()
        .name("keytui-sync".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ =
                        actions.send(Action::Failed(format!("cannot start the Redis task: {e}")));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, run(store, opts, rx, actions, timing));
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the sync thread");
    }
    tx
}

async fn run(
    store: Store,
    opts: ConnectOptions,
    mut commands: UnboundedReceiver<Command>,
    actions: UnboundedSender<Action>,
    timing: bool,
) {
    // The cursor is read before the first page: a change made while loading is replayed
    // (re-fetching a record is idempotent) rather than lost.
    let cursor = match store.last_event_cursor().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the change feed cursor");
            "$".to_owned()
        }
    };
    let meta = store.meta().await.ok().flatten();
    let _ = actions.send(Action::Server {
        cluster: store.is_cluster(),
        mode: meta.as_ref().map(|m| m.mode),
        production: meta.is_some_and(|m| m.production),
    });
    let mut load = 1u64;
    let mut loader = spawn_loader(store.clone(), load, actions.clone(), timing);
    let follower = tokio::task::spawn_local(follow(store.clone(), opts, cursor, actions.clone()));
    while let Some(cmd) = commands.recv().await {
        match cmd {
            Command::Reload => {
                loader.abort();
                load += 1;
                loader = spawn_loader(store.clone(), load, actions.clone(), false);
            }
            other => {
                let store = store.clone();
                let actions = actions.clone();
                tokio::task::spawn_local(async move { execute(&store, other, &actions).await });
            }
        }
    }
    loader.abort();
    follower.abort();
}

fn spawn_loader(
    store: Store,
    load: u64,
    actions: UnboundedSender<Action>,
    timing: bool,
) -> JoinHandle<()> {
    tokio::task::spawn_local(async move {
        let started = Instant::now();
        // Right after a reconnect the ordinary connection may still be re-establishing
        // itself: try a few times before reporting.
        let mut attempt = 0;
        let page = loop {
            match store.page(0, FIRST_PAGE).await {
                Ok(p) => break p,
                Err(e) if attempt >= 5 => {
                    let _ =
                        actions.send(Action::Failed(format!("loading failed: {e} (R retries)")));
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
        let mut interner = Interner::default();
        let total = page.total;
        let mut offset = page.records.len() + page.malformed.len() + page.dangling.len();
        let done = offset >= total || offset < FIRST_PAGE;
        let _ = actions.send(Action::FirstPage {
            load,
            records: rows(page.records, &mut interner),
            total,
            malformed: page.malformed.len(),
        });
        if done {
            return;
        }
        // Several chunks in flight: Redis answers one while this thread parses another.
        let start = offset;
        let mut chunks = futures::stream::iter(0..)
            .map(|k| {
                let store = &store;
                async move {
                    let ids = store.page_ids(start + k * CHUNK, CHUNK).await?;
                    let page = store.fetch(&ids).await?;
                    Ok::<_, Error>((ids.len(), page.records))
                }
            })
            .buffered(IN_FLIGHT);
        while let Some(chunk) = chunks.next().await {
            let (read, records) = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = actions.send(Action::Failed(format!(
                        "loading stopped at {offset} keys: {e} (R reloads)"
                    )));
                    return;
                }
            };
            offset += read;
            let last = read < CHUNK;
            if actions
                .send(Action::MoreRecords {
                    load,
                    records: rows(records, &mut interner),
                    done: last,
                })
                .is_err()
                || last
            {
                if timing {
                    tracing::info!(
                        timing = "all_records_loaded",
                        ms = started.elapsed().as_millis() as u64,
                        records = offset
                    );
                }
                return;
            }
        }
    })
}

/// The compact rows the UI keeps (converted here, off the UI thread).
fn rows(records: Vec<crate::record::KeyRecord>, interner: &mut Interner) -> Vec<Row> {
    records.into_iter().map(|r| Row::new(r, interner)).collect()
}

/// Runs one command against the store and reports the outcome.
async fn execute(store: &Store, cmd: Command, actions: &UnboundedSender<Action>) {
    let send = |a: Action| {
        let _ = actions.send(a);
    };
    match cmd {
        Command::LoadDetail { id } => match store.recent_events(DETAIL_EVENTS_SCAN).await {
            Ok(events) => {
                let events = events
                    .into_iter()
                    .filter(|e| e.id == id || e.detail.as_deref() == Some(id.as_str()))
                    .collect();
                send(Action::DetailEvents { id, events });
            }
            Err(e) => send(Action::Failed(format!("cannot read the audit events: {e}"))),
        },
        Command::Create(req) => match store.create(&req).await {
            Ok(created) => send(Action::Created {
                created: Box::new(created),
                rotated_from: None,
            }),
            Err(e) => send(Action::Failed(format!("create failed: {e}"))),
        },
        Command::Revoke { id, reason } => {
            let r = store.revoke(&id, reason.as_deref()).await;
            report(store, &id, "revoked", r.map(|_| ()), actions).await;
        }
        Command::ReadSecret { id, name } => match store.reveal(&id).await {
            Ok(secret) => send(Action::SecretRead {
                what: format!("the secret of {name}"),
                secret,
            }),
            Err(e) => send(Action::Failed(format!("cannot copy the secret: {e}"))),
        },
        Command::Restore { id } => {
            let r = store.restore(&id).await;
            report(store, &id, "restored", r.map(|_| ()), actions).await;
        }
        Command::Delete { id } => match store.delete(&id).await {
            Ok(()) => {
                send(Action::RecordGone { id: id.clone() });
                send(Action::Done(format!("deleted {id}")));
            }
            Err(e) => send(Action::Failed(format!("delete failed: {e}"))),
        },
        Command::Rotate { id, grace, force } => {
            let mut req = RotateRequest::new(grace);
            req.force = force;
            match store.rotate(&id, &req).await {
                Ok(rotated) => {
                    let created = rotated.created;
                    if let Ok(old) = store.get(&id).await {
                        send(Action::RecordChanged(Box::new(old)));
                    }
                    send(Action::Created {
                        created: Box::new(created),
                        rotated_from: Some(id),
                    });
                }
                Err(e) => send(Action::Failed(format!("rotate failed: {e}"))),
            }
        }
        Command::Reload
        | Command::Filter(_)
        | Command::Copy { .. }
        | Command::CopyViaTerminal { .. }
        | Command::ClearClipboard => {}
    }
}

async fn report(
    store: &Store,
    id: &str,
    verb: &str,
    r: Result<(), Error>,
    actions: &UnboundedSender<Action>,
) {
    let a = match r {
        Ok(()) => {
            if let Ok(rec) = store.get(id).await {
                let _ = actions.send(Action::RecordChanged(Box::new(rec)));
            }
            Action::Done(format!("{verb} {id}"))
        }
        Err(e) => Action::Failed(format!("{verb}: failed: {e}")),
    };
    let _ = actions.send(a);
}

/// `ms-seq` stream ids compared as numbers; unreadable ones count as zero.
fn stream_id(s: &str) -> (u64, u64) {
    let (a, b) = s.split_once('-').unwrap_or((s, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// Follows `{ns}:events`: re-fetches each changed record, drops deleted ones, reports the
/// connection state, reconnects, catches up from its cursor, and asks for a reload when the
/// feed was trimmed past it.
async fn follow(
    store: Store,
    opts: ConnectOptions,
    mut cursor: String,
    actions: UnboundedSender<Action>,
) {
    let ns = store.namespace().clone();
    let mut conn = None;
    let mut shown = ConnState::Live;
    let mut failures = 0u32;
    // The cursor when the connection was lost, until the trim check after it has run.
    let mut recovering: Option<String> = None;
    let set = |shown: &mut ConnState, s: ConnState| {
        if *shown != s {
            *shown = s;
            let _ = actions.send(Action::Connection(s));
        }
    };
    loop {
        if actions.is_closed() {
            return;
        }
        if conn.is_none() {
            match conn::connect_blocking(&opts, BLOCK).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    failures += 1;
                    tracing::info!(error = %e, failures, "change feed: reconnect failed");
                    let s = if failures >= 3 {
                        ConnState::Offline
                    } else {
                        ConnState::Reconnecting
                    };
                    set(&mut shown, s);
                    recovering.get_or_insert_with(|| cursor.clone());
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if cursor == "$" {
            cursor = store
                .last_event_cursor()
                .await
                .unwrap_or_else(|_| "$".into());
        }
        if let Some(lost_at) = recovering.clone() {
            // Back after a loss: if the feed no longer reaches back to where we were,
            // changes were trimmed away and only a reload is exact. Asked on this fresh
            // connection: the ordinary one may still be reconnecting.
            match oldest_cursor(c, &ns).await {
                Ok(oldest) => {
                    recovering = None;
                    if let Some(oldest) = oldest
                        && lost_at != "$"
                        && stream_id(&oldest) > stream_id(&lost_at)
                    {
                        tracing::info!(%lost_at, %oldest, "change feed trimmed past our cursor");
                        if let Ok(last) = store.last_event_cursor().await {
                            cursor = last;
                        }
                        set(&mut shown, ConnState::Live);
                        let _ = actions.send(Action::FeedTrimmed);
                        continue;
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, "change feed: trim check failed");
                    conn = None;
                    tokio::time::sleep(backoff(failures.max(1))).await;
                    continue;
                }
            }
        }
        match Store::wait_events(c, &ns, &cursor, BLOCK, 500).await {
            Ok(events) => {
                failures = 0;
                set(&mut shown, ConnState::Live);
                for e in events {
                    cursor = e.cursor.clone();
                    if matches!(e.op.as_str(), "init" | "migrate") {
                        // Namespace-wide: the storage mode or production mark changed.
                        if let Ok(Some(meta)) = store.meta().await {
                            let _ = actions.send(Action::Server {
                                cluster: store.is_cluster(),
                                mode: Some(meta.mode),
                                production: meta.production,
                            });
                        }
                    }
                    let mut ids = vec![e.id.clone()];
                    if e.op == "rotate"
                        && let Some(new) = &e.detail
                    {
                        ids.push(new.clone());
                    }
                    for id in ids.into_iter().filter(|id| !id.is_empty()) {
                        let action = if e.op == "delete" {
                            Action::RecordGone { id }
                        } else {
                            match store.get(&id).await {
                                Ok(r) => Action::RecordChanged(Box::new(r)),
                                Err(Error::NotFound(_)) => Action::RecordGone { id },
                                Err(err) => {
                                    tracing::info!(error = %err, %id, "cannot re-read a changed key");
                                    continue;
                                }
                            }
                        };
                        let _ = actions.send(action);
                    }
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "change feed: read failed");
                conn = None;
                failures += 1;
                recovering.get_or_insert_with(|| cursor.clone());
                set(
                    &mut shown,
                    if failures >= 3 {
                        ConnState::Offline
                    } else {
                        ConnState::Reconnecting
                    },
                );
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

/// The id of the oldest entry of `{ns}:events`, read on the follower's own connection.
async fn oldest_cursor(c: &mut conn::Conn, ns: &Namespace) -> Result<Option<String>, Error> {
    let raw: Vec<(String, std::collections::HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg(ns.events_key())
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(c)
        .await?;
    Ok(raw.into_iter().next().map(|(id, _)| id))
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
