//! The key store: every read and write of a namespace's keys, following
//! `docs/redis-layout.md`.
//!
//! One code path serves a standalone server and a cluster. Multi-key writes are ordered so
//! that a crash between two steps leaves only states [`Store::doctor`] reports and repairs
//! (see the layout document, "Write paths"). The store never logs or returns secrets except
//! the one it has just generated, inside [`Created`].

use std::sync::{Arc, Mutex};

use crate::conn::{Conn, SlotOwners};
use crate::crypto::Pepper;
use crate::error::Result;
use crate::layout::Namespace;
use crate::meta::{GatedConn, lossy};
#[allow(unused_imports)]
use crate::redis::scripts::*;
use crate::seal::MasterKey;

/// Verification lives in [`crate::verify`]; these stay importable from here.
pub use crate::verify::{Rejection, Verdict};

mod bulk;
mod change;
mod create;
mod doctor;
mod edit;
mod events;
pub mod migrate;
mod namespace;
mod namespaces;
mod read;
mod scan;
mod select;
mod upgrade;
mod verify;

pub use self::bulk::*;
pub use self::change::*;
pub use self::create::*;
pub use self::doctor::*;
pub use self::edit::*;
pub use self::events::*;
pub use self::namespaces::*;
pub use self::read::*;
pub use self::scan::*;
pub use self::select::*;
pub use self::upgrade::*;
pub use crate::meta::{Mode, NamespaceMeta};

/// Keys written per pipeline (standalone) or per batch of concurrent commands (cluster).
pub(super) const BATCH: usize = 1000;

/// Batches `create_many` keeps in flight.
pub(super) const BATCHES_IN_FLIGHT: usize = 2;

/// Rounds of id draws that all collide before `create` gives up.
pub(super) const MAX_FRUITLESS_ROUNDS: usize = 50;

/// Entries of `{ns}:events` read per request when looking for a key's older events.
pub(super) const HISTORY_SCAN: usize = 10_000;

/// Index pages [`Store::list_all`] fetches ahead.
pub const PAGES_IN_FLIGHT: usize = 3;

/// Parsed batches [`Store::list_each`] reads ahead of its caller.
pub(super) const PAGES_QUEUED: usize = 64;

/// Pipelines of [`BATCH`] reads sent at once on a standalone connection.
pub(super) const PIPELINES_IN_FLIGHT: usize = 4;

/// Commands in flight at once on a cluster connection.
pub(super) const CLUSTER_CONCURRENCY: usize = 256;

/// Pipelines in flight at once on a cluster connection (spread over the masters).
pub(super) const CLUSTER_PIPELINES_IN_FLIGHT: usize = 12;

/// Index entries younger than this may belong to a `create` still in flight; doctor leaves
/// them alone.
pub(super) const IN_FLIGHT_GRACE_MS: i64 = 60_000;

/// A namespace's keys in Redis.
#[derive(Clone)]
pub struct Store {
    /// Every command of the store goes through this connection, which refuses a namespace
    /// of a newer layout before anything is read or written (see [`crate::gate`]).
    pub(crate) conn: GatedConn,
    pub(crate) ns: Namespace,
    actor: String,
    pub(crate) pepper: Option<Pepper>,
    pub(crate) master_key: Option<MasterKey>,
    /// A cluster's slot owners, read once and dropped when a reply says they moved.
    pub(super) slots: Arc<Mutex<Option<Arc<SlotOwners>>>>,
    /// How the store was connected (TLS CA, timeouts), for the connections it opens to
    /// each master itself (scans); `None`: the defaults.
    node_options: Option<Arc<crate::conn::ConnectOptions>>,
}

impl Store {
    pub fn new(conn: Conn, ns: Namespace) -> Self {
        Self {
            conn: GatedConn::new(conn, ns.clone()),
            ns,
            actor: default_actor(),
            pepper: None,
            master_key: None,
            slots: Arc::default(),
            node_options: None,
        }
    }

    /// The settings the store was connected with, kept for the connections it opens to
    /// each master of a scan (a private CA of `rediss://`, the timeouts).
    pub fn with_connect_options(mut self, opts: &crate::conn::ConnectOptions) -> Self {
        self.node_options = Some(Arc::new(opts.clone()));
        self
    }

    /// A standalone connection to one master `url`, with the store's settings.
    pub(crate) async fn connect_node(&self, url: &str) -> Result<crate::conn::Conn> {
        let opts = match &self.node_options {
            Some(o) => crate::conn::ConnectOptions {
                urls: vec![url.to_owned()],
                cluster: Some(false),
                ..(**o).clone()
            },
            None => crate::conn::ConnectOptions {
                cluster: Some(false),
                ..crate::conn::ConnectOptions::new(url)
            },
        };
        crate::conn::connect(&opts).await
    }

    /// Who is named as `created_by` and in events.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    pub fn with_pepper(mut self, pepper: Option<Pepper>) -> Self {
        self.pepper = pepper;
        self
    }

    /// The master key of a `sealed` namespace (needed to create and reveal keys there).
    pub fn with_master_key(mut self, key: Option<MasterKey>) -> Self {
        self.master_key = key;
        self
    }

    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// A clone of the connection (shares the underlying socket and the layout gate).
    pub fn conn(&self) -> GatedConn {
        self.conn.clone()
    }

    /// Refuses a namespace this keytui cannot handle (see [`crate::gate::check_layout`]).
    /// Every command of the store does this on its own before its first round trip; call it
    /// to fail early, before asking anything of the user.
    pub async fn check_layout(&self) -> Result<()> {
        self.conn.check().await
    }

    /// The same store on another connection (e.g. a fresh one after a reconnect).
    /// The layout is checked again on it before its first command.
    pub fn with_conn(&self, conn: Conn) -> Store {
        Store {
            conn: GatedConn::new(conn, self.ns.clone()),
            // Another connection may reach another cluster: its slots are read again.
            slots: Arc::default(),
            ..self.clone()
        }
    }

    // ---- namespace ----------------------------------------------------------------
}

/// `$KEYTUI_ACTOR`, else `user@host`.
pub fn default_actor() -> String {
    if let Ok(a) = std::env::var("KEYTUI_ACTOR")
        && !a.is_empty()
    {
        return a;
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}
