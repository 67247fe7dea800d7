//! The messages of the TUI, typed by direction. What comes in (terminal, Redis, worker
//! answers, ticks) is one enum, [`Msg`]; what goes out is one enum per destination:
//! [`SyncCmd`] for the sync task (Redis), [`ClipCmd`] for the clipboard, and
//! [`FilterJob`](super::filter::FilterJob) for the filter worker, gathered in [`Out`].
//! Workers send data here, never user-facing text: the screens word it and name the keys
//! the user bound. This module holds types only: no logic, no I/O.

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::keygen::Secret;
use crate::record::KeyRecord;
use crate::store::{
    BulkOutcome, CreateRequest, Created, Event, KeyEdit, Listed, ListedBatch, Mode, NamespaceInfo,
};
use crate::verify::Verdict;

use super::filter::FilterJob;
use super::status::ServerInfo;

/// A loader page's place in the queue to the UI ([`Msg::MoreRecords`]): returned when
/// dropped.
#[derive(Debug)]
pub struct Credit(pub tokio::sync::OwnedSemaphorePermit);

/// A background page's records as the loader read them: most as the bytes of their replies
/// (the UI thread builds its rows straight from them, with no owned record per key in
/// between), the rest owned (those read again on their own; in tests, all of them).
#[derive(Default)]
pub struct PageRecords {
    /// Its dangling entries are left out (read again into `owned`, or gone).
    pub batch: ListedBatch,
    pub owned: Vec<KeyRecord>,
}

impl PageRecords {
    /// Every record, owned (the batch's malformed records left out).
    pub fn to_records(&self) -> Vec<KeyRecord> {
        let mut all: Vec<KeyRecord> = self
            .batch
            .read()
            .filter_map(|l| match l {
                Listed::Record(v) => Some(v.to_record()),
                _ => None,
            })
            .collect();
        all.extend(self.owned.iter().cloned());
        all
    }
}

impl From<Vec<KeyRecord>> for PageRecords {
    fn from(owned: Vec<KeyRecord>) -> Self {
        PageRecords {
            batch: ListedBatch::default(),
            owned,
        }
    }
}

/// Sizes only: a page's records are not for logs.
impl std::fmt::Debug for PageRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageRecords")
            .field("batch", &self.batch.len())
            .field("owned", &self.owned.len())
            .finish()
    }
}

/// What `update` asks of the outside world, addressed to one destination each.
#[derive(Debug)]
pub enum Out {
    /// To the sync task, which owns every Redis connection.
    Sync(SyncCmd),
    /// To the filter worker.
    Filter(FilterJob),
    /// To the clipboard thread (or, for OSC 52, the event loop that owns the terminal).
    Clip(ClipCmd),
    /// To the event loop: keep the table's sort order (config words, `None`: newest
    /// first) and columns in the config file.
    SaveView {
        sort: Option<String>,
        columns: Vec<String>,
    },
    /// To the event loop: open this namespace (its layout checked) and restart the sync
    /// task on it; answers with [`Msg::Switched`] or [`Msg::SwitchFailed`].
    Switch(String),
}

/// Work for the sync task.
#[derive(Debug)]
pub enum SyncCmd {
    /// Reload the namespace from the first page.
    Reload,
    /// Read the audit events of one key.
    LoadDetail { id: String },
    /// Create a key.
    Create(Box<CreateRequest>),
    /// Revoke a key, with the reason typed in the dialog.
    Revoke { id: String, reason: Option<String> },
    /// Read a stored secret (`sealed` / `plain` namespaces) for copying; answers with
    /// [`Msg::SecretRead`].
    ReadSecret { id: String, name: String },
    /// Read a stored secret and copy the whole token (prefix, id, secret, checksum, as
    /// the key was made); answers with [`Msg::TokenRead`].
    ReadToken {
        id: String,
        name: String,
        prefix: Option<String>,
        checksum: bool,
    },
    /// Restore a revoked key.
    Restore { id: String },
    /// Delete a key.
    Delete { id: String },
    /// Edit a key's name, expiry and metadata (one audit event, old -> new).
    Edit { id: String, edit: Box<KeyEdit> },
    /// List the namespaces of this Redis (every master of a cluster); answers with
    /// [`Msg::Namespaces`].
    Namespaces,
    /// Look up the key of a pasted token and verify the token (without recording a use);
    /// answers with [`Msg::Leak`].
    Lookup { id: String, token: Secret },
    /// Rotate a key; the old one keeps working for `grace`. `force` rotates a key that
    /// was rotated before.
    Rotate {
        id: String,
        grace: Duration,
        force: bool,
    },
    /// One change to many keys (the marked ones): pipelined per batch, one audit event per
    /// key; reports [`Msg::BulkProgress`] and then [`Msg::BulkDone`].
    Bulk { op: BulkOp, ids: Vec<String> },
}

/// A change made to many keys at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkOp {
    Revoke {
        reason: Option<String>,
    },
    Restore,
    Delete,
    /// Move the expiry later by this much (from now for keys already expired).
    Extend {
        by: Duration,
    },
}

/// Work for the clipboard.
#[derive(Debug)]
pub enum ClipCmd {
    /// Copy a text (a secret is excluded from clipboard history).
    Copy {
        text: Secret,
        what: String,
        secret: bool,
    },
    /// Copy with OSC 52 through the terminal (done by the event loop, which owns it).
    ViaTerminal {
        text: Secret,
        what: String,
        secret: bool,
    },
    /// Clear the clipboard if it still holds the secret keytui put there.
    Clear,
}

/// What a sync task's report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOp {
    /// Starting the sync task itself.
    Start,
    /// Reading the first page of keys.
    Load,
    /// Reading older keys in the background, `loaded` of them so far.
    LoadMore {
        loaded: usize,
    },
    ReadSecret,
    Revoke,
    Restore,
    Delete,
    Rotate,
    Edit,
    /// A change to many keys.
    Bulk,
    /// Looking up the key of a pasted token.
    Lookup,
    /// Listing the namespaces of this Redis.
    Namespaces,
}

/// How the sync task's connections are doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Connected, following the change feed.
    Live,
    /// Lost the connection; trying again.
    Reconnecting,
    /// Several attempts failed; still trying, less often.
    Offline,
    /// The namespace uses a layout this keytui does not know: nothing is read or written
    /// any more (no retries); quit and use a keytui that knows it.
    Refused,
}

/// Why the sync task asks for a reload: the loaded rows may no longer match Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gap {
    /// The change feed was trimmed past the last event applied: changes were missed.
    Trimmed,
    /// The server restarted and no longer holds the events applied: `empty` when it came
    /// back without the namespace, else from older data (a snapshot, a lost AOF tail).
    Restarted { empty: bool },
    /// The events applied are gone from the feed without a restart (flushed, replaced).
    FeedLost,
    /// A changed key could not be re-read, even on a fresh connection.
    ReadFailed { id: String },
}

/// What the lookup of a pasted token's key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeakFound {
    /// The key exists: the verifier's verdict on the pasted token (the record comes with
    /// it as [`Msg::RecordChanged`], before).
    Key(Verdict),
    /// No such key in this namespace.
    Missing,
    /// The key's record exists but cannot be read.
    Malformed,
}

/// Where a copy went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipboardVia {
    /// The system clipboard (arboard).
    System,
    /// The terminal, with an OSC 52 escape sequence (no display reachable).
    Terminal,
}

/// Everything that comes in: the terminal, the sync task, the filter worker, the
/// clipboard thread and the clock. `update` turns each into state changes and [`Out`]s.
#[derive(Debug)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text was pasted (bracketed paste): it goes into the focused text field, if any,
    /// and never triggers an action.
    Paste(Secret),
    /// A mouse button or wheel was used.
    Mouse(MouseEvent),
    /// The terminal has a new size.
    Resize(u16, u16),
    /// Time passed (only scheduled while something on screen moves with time).
    Tick,
    /// Quit (SIGTERM, Ctrl-C, `q`).
    Quit,
    /// The sync task's connection state changed.
    Connection(ConnState),
    /// The server's topology and the namespace's storage mode and production mark are known.
    Server {
        cluster: bool,
        mode: Option<Mode>,
        production: bool,
    },
    /// The newest page of records, replacing everything loaded before (`load` numbers
    /// reloads), with the ids of the malformed records of that page (skipped); `done` when
    /// the loader has read the whole index (the loader decides, not a count).
    FirstPage {
        load: u64,
        records: Vec<KeyRecord>,
        total: usize,
        malformed: Vec<String>,
        done: bool,
    },
    /// Older records loaded in the background, and the ids of the records of that stretch
    /// of the index that were malformed (skipped); `done` when the index is exhausted.
    MoreRecords {
        load: u64,
        records: PageRecords,
        malformed: Vec<String>,
        done: bool,
        /// Held until the UI has taken the page in (dropped with the message): the loader
        /// keeps at most a few pages waiting, so a million records never queue up here.
        credit: Option<Credit>,
    },
    /// A record was created or changed (from the change feed or our own command).
    RecordChanged(Box<KeyRecord>),
    /// A record is gone.
    RecordGone { id: String },
    /// A batch of the change feed: these keys changed (as [`Msg::RecordChanged`] each).
    RecordsChanged(Vec<KeyRecord>),
    /// A batch of the change feed: these keys are gone (as [`Msg::RecordGone`] each).
    RecordsGone(Vec<String>),
    /// The namespace's layout was refused (why): stop, say so, write nothing.
    Refused(String),
    /// The loaded rows may be wrong (see [`Gap`]): mark them stale and reload.
    Resync(Gap),
    /// A record changed into something that cannot be read: drop its row, count it once.
    RecordMalformed { id: String },
    /// A key was created (or rotated): show its secret once.
    Created {
        created: Box<Created>,
        rotated_from: Option<String>,
    },
    /// The namespaces of this Redis, for the picker.
    Namespaces(Vec<NamespaceInfo>),
    /// The event loop switched to another namespace (a new sync task follows it): start
    /// over with this server and namespace.
    Switched(ServerInfo),
    /// Opening another namespace failed (the error's text): the current one stays.
    SwitchFailed { namespace: String, error: String },
    /// The key of a pasted token was looked up (see [`super::leak`]).
    Leak { id: String, found: LeakFound },
    /// A change to a key went through.
    Done { op: SyncOp, id: String },
    /// Work of the sync task failed; `error` is the error's own text (the UI words the rest).
    Failed { op: SyncOp, error: String },
    /// Creating a key failed (the error's text): the form, if still open, says why and
    /// stays as it was.
    CreateFailed(String),
    /// Audit events of the key shown in the detail view.
    DetailEvents { id: String, events: Vec<Event> },
    /// The audit events of a key could not be read; why.
    DetailEventsFailed { id: String, error: String },
    /// The fuzzy filter finished: indices into the records, best first.
    FilterDone {
        generation: u64,
        structure: u64,
        /// `State::revision` and the number of records the run looked at.
        revision: u64,
        len: usize,
        query: String,
        visible: Vec<u32>,
        /// Best first; else in table order (too many matches to score on every key).
        ranked: bool,
    },
    /// A filter run stopped early (a newer one made it pointless). The worker has dropped
    /// its share of the records, like before [`Msg::FilterDone`].
    FilterStopped,
    /// A stored secret was read for copying: it goes straight into a copy command and is
    /// never kept in `State`.
    SecretRead { name: String, secret: Secret },
    /// A key's whole token was put together from its stored secret, for copying; never
    /// kept in `State`.
    TokenRead { name: String, token: Secret },
    /// Something was copied.
    Copied {
        what: String,
        via: ClipboardVia,
        secret: bool,
    },
    /// The system clipboard is unreachable: copy through the terminal instead.
    ClipboardUnavailable {
        text: Secret,
        what: String,
        secret: bool,
    },
    /// The clipboard was cleared (or left alone because it changed).
    ClipboardCleared { cleared: bool },
    /// Copying failed entirely.
    CopyFailed(String),
    /// A bulk change has handled this many of its keys.
    BulkProgress { handled: usize, total: usize },
    /// A bulk change is done: what it did, and which keys it skipped and why.
    BulkDone {
        op: BulkOp,
        asked: usize,
        outcome: BulkOutcome,
    },
}
