//! The sync task: owns every Redis connection of the TUI (a [`Store`] clone for commands and
//! loading, a blocking connection for `XREAD BLOCK` on the change feed). Takes [`SyncCmd`]s
//! over a channel and sends typed [`Msg`]s with owned data back; nothing here ever waits
//! on the UI, and the UI never waits on Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::conn::{self, ConnectOptions};
use crate::error::Error;
use crate::layout::Namespace;
use crate::store::{Event, IndexPos, Page, RotateRequest, Store};

use super::msg::{ConnState, Gap, LeakFound, Msg, SyncCmd, SyncOp};
use super::row::{Interner, Row};

/// Records on the first screen.
pub const FIRST_PAGE: usize = 200;
/// Records per background read.
pub const CHUNK: usize = 5000;
/// Further tries of a read the user asked for, after the first fails.
/// Background reads in flight at once.
const IN_FLIGHT: usize = 3;
/// How long one `XREAD BLOCK` waits.
const BLOCK: Duration = Duration::from_secs(5);

/// How the sync task works; [`SyncOptions::default`] is what the TUI uses.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Log how long loading took (`KEYTUI_LOG`).
    pub timing: bool,
    /// How long one `XREAD BLOCK` on the change feed waits.
    pub block: Duration,
    /// Records on the first screen.
    pub first_page: usize,
    /// Records per background read.
    pub chunk: usize,
    /// Paces the background reads: each waits for a permit of this semaphore (tests change
    /// the index between two reads with it). `None`: they do not wait.
    pub pages: Option<Arc<Semaphore>>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            timing: false,
            block: BLOCK,
            first_page: FIRST_PAGE,
            chunk: CHUNK,
            pages: None,
        }
    }
}

/// Starts the sync task; returns the channel for commands.
pub fn spawn(
    store: Store,
    opts: ConnectOptions,
    actions: UnboundedSender<Msg>,
    timing: bool,
) -> UnboundedSender<SyncCmd> {
    spawn_with(
        store,
        opts,
        actions,
        SyncOptions {
            timing,
            ..SyncOptions::default()
        },
    )
}

/// [`spawn`] with every option.
pub fn spawn_with(
    store: Store,
    opts: ConnectOptions,
    actions: UnboundedSender<Msg>,
    options: SyncOptions,
) -> UnboundedSender<SyncCmd> {
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
                    let _ = actions.send(Msg::Failed {
                        op: SyncOp::Start,
                        error: e.to_string(),
                    });
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, run(store, opts, rx, actions, options));
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the sync thread");
    }
    tx
}

async fn run(
    store: Store,
    opts: ConnectOptions,
    mut commands: UnboundedReceiver<SyncCmd>,
    actions: UnboundedSender<Msg>,
    options: SyncOptions,
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
    // Which server holds that cursor: after a reconnect, a restart is told by this.
    let run_id = match server_run_id(&mut store.conn(), store.is_cluster()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot identify the server");
            None
        }
    };
    let meta = store.meta().await.ok().flatten();
    let _ = actions.send(Msg::Server {
        cluster: store.is_cluster(),
        mode: meta.as_ref().map(|m| m.mode),
        production: meta.is_some_and(|m| m.production),
    });
    let mut load = 1u64;
    let mut loader = spawn_loader(store.clone(), load, actions.clone(), options.clone());
    let follower = tokio::task::spawn_local(follow(
        store.clone(),
        opts.clone(),
        (cursor, run_id),
        actions.clone(),
        options.block,
    ));
    while let Some(cmd) = commands.recv().await {
        match cmd {
            SyncCmd::Reload => {
                loader.abort();
                load += 1;
                let options = SyncOptions {
                    timing: false,
                    ..options.clone()
                };
                loader = spawn_loader(store.clone(), load, actions.clone(), options);
            }
            SyncCmd::Namespaces => {
                let store = store.clone();
                let actions = actions.clone();
                let base = opts.urls.first().cloned().unwrap_or_default();
                tokio::task::spawn_local(async move {
                    let listed = match store.master_urls(&base).await {
                        Ok(masters) => store.namespaces(&masters).await,
                        Err(e) => Err(e),
                    };
                    let _ = actions.send(match listed {
                        Ok(list) => Msg::Namespaces(list),
                        Err(e) => Msg::Failed {
                            op: SyncOp::Namespaces,
                            error: e.to_string(),
                        },
                    });
                });
            }
            SyncCmd::LoadDetail { id } => {
                let store = store.clone();
                let actions = actions.clone();
                let opts = opts.clone();
                tokio::task::spawn_local(async move {
                    load_detail(&store, &opts, id, &actions).await;
                });
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
        let mut interner = Interner::default();
        let total = page.total;
        let mut loaded = page.records.len() + page.malformed.len() + page.dangling.len();
        let _ = actions.send(Msg::FirstPage {
            load,
            records: rows(page.records, &mut interner),
            total,
            malformed: page.malformed.into_iter().map(|m| m.id).collect(),
            done: next.is_none(),
        });
        let Some(next) = next else { return };
        // Each page starts where the one before ended (by score and id, never by offset:
        // keys deleted meanwhile shift nothing). The ids of the next page are asked for
        // while the records of earlier ones are read and parsed.
        let pages = options.pages.clone();
        let store = &store;
        let chunks = futures::stream::unfold(Some(next), |pos| {
            let pages = pages.clone();
            async move {
                let pos = pos?;
                if let Some(pages) = pages {
                    pages.acquire().await.map(|p| p.forget()).ok();
                }
                Some(match store.page_after(Some(&pos), chunk_len).await {
                    Ok((ids, next)) => {
                        let last = next.is_none();
                        (Ok((ids, last)), next)
                    }
                    // The error is reported, and the stream ends.
                    Err(e) => (Err(e), None),
                })
            }
        })
        .map(|ids| async move {
            let (ids, last) = ids?;
            let page = store.fetch(&ids).await?;
            let malformed: Vec<String> = page.malformed.into_iter().map(|m| m.id).collect();
            Ok::<_, Error>((ids.len(), page.records, malformed, last))
        })
        .buffered(IN_FLIGHT);
        let mut chunks = std::pin::pin!(chunks);
        while let Some(chunk) = chunks.next().await {
            let (read, records, malformed, last) = match chunk {
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
            if actions
                .send(Msg::MoreRecords {
                    load,
                    records: rows(records, &mut interner),
                    malformed,
                    done: last,
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
    })
}

/// The first page of records, the index count, and where the next page starts (`None`:
/// that was all).
async fn first(store: &Store, limit: usize) -> Result<(Page, Option<IndexPos>), Error> {
    let total = store.count().await?;
    let (ids, next) = store.page_after(None, limit).await?;
    let mut page = store.fetch(&ids).await?;
    page.total = total;
    Ok((page, next))
}

/// The compact rows the UI keeps (converted here, off the UI thread).
fn rows(records: Vec<crate::record::KeyRecord>, interner: &mut Interner) -> Vec<Row> {
    records.into_iter().map(|r| Row::new(r, interner)).collect()
}

/// Reads the whole history of one key for the detail view. Right after a reconnect the
/// store's shared connection may still be re-establishing itself (its first command
/// fails): a failure other than a refused layout is retried once on a fresh connection,
/// which answers whenever the server does — no waiting and no counting of attempts.
async fn load_detail(
    store: &Store,
    opts: &ConnectOptions,
    id: String,
    actions: &UnboundedSender<Msg>,
) {
    async fn read(store: &Store, id: &str) -> Result<Vec<Event>, Error> {
        store.recheck_layout().await?;
        store.key_events(id).await
    }
    let result = match read(store, &id).await {
        Err(e) if !matches!(e, Error::Setup(_)) => {
            tracing::info!(error = %e, %id, "cannot read a key's events; trying a fresh connection");
            match conn::connect(opts).await {
                Ok(c) => read(&store.with_conn(c), &id).await,
                Err(_) => Err(e),
            }
        }
        r => r,
    };
    let _ = match result {
        Ok(events) => actions.send(Msg::DetailEvents { id, events }),
        Err(e) => {
            tracing::info!(error = %e, %id, "cannot read a key's events");
            let error = e.to_string();
            if matches!(e, Error::Setup(_)) {
                tracing::warn!(%error, "namespace refused; the history was not read");
                let _ = actions.send(Msg::Refused(error.clone()));
            }
            actions.send(Msg::DetailEventsFailed { id, error })
        }
    };
}

/// Runs one command against the store and reports the outcome.
async fn execute(store: &Store, cmd: SyncCmd, actions: &UnboundedSender<Msg>) {
    let send = |a: Msg| {
        let _ = actions.send(a);
    };
    // Another program may have moved the namespace to a newer layout since the last
    // command: nothing is read or written before the layout passes again.
    if let Err(e) = store.recheck_layout().await {
        let error = e.to_string();
        match &cmd {
            SyncCmd::Create(_) => send(Msg::CreateFailed(error.clone())),
            SyncCmd::LoadDetail { id } => send(Msg::DetailEventsFailed {
                id: id.clone(),
                error: error.clone(),
            }),
            _ => {}
        }
        if matches!(e, Error::Setup(_)) {
            tracing::warn!(%error, "namespace refused; the command was not run");
            send(Msg::Refused(error));
        } else if let Some(op) = cmd_op(&cmd) {
            send(Msg::Failed { op, error });
        }
        return;
    }
    match cmd {
        // Sent to `load_detail` by `run`, never here.
        SyncCmd::LoadDetail { .. } => {}
        // Listed by `run`, never here.
        SyncCmd::Namespaces => {}
        SyncCmd::Create(req) => match store.create(&req).await {
            Ok(created) => send(Msg::Created {
                created: Box::new(created),
                rotated_from: None,
            }),
            Err(e) => send(Msg::CreateFailed(e.to_string())),
        },
        SyncCmd::Revoke { id, reason } => {
            let r = store.revoke(&id, reason.as_deref()).await;
            report(store, &id, SyncOp::Revoke, r.map(|_| ()), actions).await;
        }
        SyncCmd::ReadSecret { id, name } => match store.reveal(&id).await {
            Ok(secret) => send(Msg::SecretRead { name, secret }),
            Err(e) => send(Msg::Failed {
                op: SyncOp::ReadSecret,
                error: e.to_string(),
            }),
        },
        SyncCmd::Lookup { id, token } => {
            let (verdict, page) = futures::join!(
                store.verify_token(token.expose()),
                store.fetch(std::slice::from_ref(&id))
            );
            match (verdict, page) {
                (Ok(verdict), Ok(page)) => {
                    let found = if let Some(r) = page.records.into_iter().next() {
                        send(Msg::RecordChanged(Box::new(r)));
                        LeakFound::Key(verdict)
                    } else if page.malformed.is_empty() {
                        LeakFound::Missing
                    } else {
                        LeakFound::Malformed
                    };
                    send(Msg::Leak { id, found });
                }
                (Err(e), _) | (_, Err(e)) => send(Msg::Failed {
                    op: SyncOp::Lookup,
                    error: e.to_string(),
                }),
            }
        }
        SyncCmd::Restore { id } => {
            let r = store.restore(&id).await;
            report(store, &id, SyncOp::Restore, r.map(|_| ()), actions).await;
        }
        SyncCmd::Delete { id } => match store.delete(&id).await {
            Ok(()) => {
                send(Msg::RecordGone { id: id.clone() });
                send(Msg::Done {
                    op: SyncOp::Delete,
                    id,
                });
            }
            Err(e) => send(Msg::Failed {
                op: SyncOp::Delete,
                error: e.to_string(),
            }),
        },
        SyncCmd::Rotate { id, grace, force } => {
            let mut req = RotateRequest::new(grace);
            req.force = force;
            match store.rotate(&id, &req).await {
                Ok(rotated) => {
                    let created = rotated.created;
                    if let Ok(old) = store.get(&id).await {
                        send(Msg::RecordChanged(Box::new(old)));
                    }
                    send(Msg::Created {
                        created: Box::new(created),
                        rotated_from: Some(id),
                    });
                }
                Err(e) => send(Msg::Failed {
                    op: SyncOp::Rotate,
                    error: e.to_string(),
                }),
            }
        }
        // Handled by the loop in `run`.
        SyncCmd::Reload => {}
    }
}

/// What a failure of this command is reported as (create and detail have their own).
fn cmd_op(cmd: &SyncCmd) -> Option<SyncOp> {
    match cmd {
        SyncCmd::Revoke { .. } => Some(SyncOp::Revoke),
        SyncCmd::Restore { .. } => Some(SyncOp::Restore),
        SyncCmd::Delete { .. } => Some(SyncOp::Delete),
        SyncCmd::Rotate { .. } => Some(SyncOp::Rotate),
        SyncCmd::ReadSecret { .. } => Some(SyncOp::ReadSecret),
        SyncCmd::Lookup { .. } => Some(SyncOp::Lookup),
        SyncCmd::Namespaces => Some(SyncOp::Namespaces),
        SyncCmd::Create(_) | SyncCmd::LoadDetail { .. } | SyncCmd::Reload => None,
    }
}

async fn report(
    store: &Store,
    id: &str,
    op: SyncOp,
    r: Result<(), Error>,
    actions: &UnboundedSender<Msg>,
) {
    let a = match r {
        Ok(()) => {
            if let Ok(rec) = store.get(id).await {
                let _ = actions.send(Msg::RecordChanged(Box::new(rec)));
            }
            Msg::Done {
                op,
                id: id.to_owned(),
            }
        }
        Err(e) => Msg::Failed {
            op,
            error: e.to_string(),
        },
    };
    let _ = actions.send(a);
}

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
async fn follow(
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
        for e in events {
            match apply(&feed, &e, &self.actions).await {
                Ok(()) => {
                    self.cursor = e.cursor;
                    self.retrying = None;
                }
                Err(err) if self.retrying.as_deref() == Some(e.cursor.as_str()) => {
                    tracing::warn!(error = %err, id = %e.id, "a changed key cannot be re-read on a fresh connection either: reloading");
                    self.gap = Some(Gap::ReadFailed { id: e.id.clone() });
                    return Ok(());
                }
                Err(err) => {
                    tracing::warn!(error = %err, id = %e.id, "cannot re-read a changed key: retrying on a fresh connection");
                    self.retrying = Some(e.cursor.clone());
                    return Err(err);
                }
            }
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

/// Applies one event: re-reads the records it concerns and reports them. An error means
/// nothing was learnt (Redis could not be read); a record that is gone or malformed is an
/// answer.
async fn apply(feed: &Store, e: &Event, actions: &UnboundedSender<Msg>) -> Result<(), Error> {
    if matches!(e.op.as_str(), "init" | "migrate") {
        // Namespace-wide: the storage mode or production mark changed.
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
            Err(err) => tracing::warn!(error = %err, "cannot read the namespace's meta"),
        }
    }
    let mut ids = vec![e.id.clone()];
    if e.op == "rotate"
        && let Some(new) = &e.detail
    {
        ids.push(new.clone());
    }
    let ids: Vec<String> = ids.into_iter().filter(|id| !id.is_empty()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    if e.op == "delete" {
        for id in ids {
            let _ = actions.send(Msg::RecordGone { id });
        }
        return Ok(());
    }
    let page = feed.fetch(&ids).await?;
    for r in page.records {
        let _ = actions.send(Msg::RecordChanged(Box::new(r)));
    }
    for bad in page.malformed {
        tracing::info!(id = %bad.id, reason = %bad.reason, "a changed key is malformed");
        let _ = actions.send(Msg::RecordMalformed { id: bad.id });
    }
    for id in page.dangling {
        let _ = actions.send(Msg::RecordGone { id });
    }
    Ok(())
}

/// The `run_id` of a standalone server (it changes with every restart); `None` on a
/// cluster, whose nodes each have their own.
async fn server_run_id(
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
