//! The sync task: owns every Redis connection of the TUI (a [`Store`] clone for commands and
//! loading, a blocking connection for `XREAD BLOCK` on the change feed). Takes [`SyncCmd`]s
//! over a channel and sends typed [`Msg`]s with owned data back; nothing here ever waits
//! on the UI, and the UI never waits on Redis.
//!
//! Split by concern: [`loader`] reads the index page by page, [`commands`] runs what the
//! user asked for, [`follow`] tails the change feed.

mod commands;
mod follow;
mod loader;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::conn::ConnectOptions;
use crate::store::Store;

use self::commands::{execute, load_detail};
use self::follow::{follow, server_run_id};
use self::loader::spawn_loader;

use super::msg::{Msg, SyncCmd, SyncOp};

/// Records on the first screen.
pub const FIRST_PAGE: usize = 200;
/// Records per background read.
pub const CHUNK: usize = 5000;
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
