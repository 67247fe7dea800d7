//! The whole UI state and the one function that changes it: `update(&mut State, Action)`.
//!
//! `update` is synchronous: no I/O, no await, no clock (the caller sets `State::now`). It
//! returns [`Command`]s that the event loop hands to the sync task, the clipboard thread or
//! the filter worker; their answers come back as more `Action`s.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::keygen::{Encoding, Length, Secret, Spec};
use crate::record::{KeyRecord, Status, UnixMs};
use crate::store::{CreateRequest, Created, Event, Mode};

use super::filter::narrows;
use super::keymap::{KeyAction, Keymap};
use super::row::Row;
use super::view;

/// How the sync task's connections are doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Connected, following the change feed.
    Live,
    /// Lost the connection; trying again.
    Reconnecting,
    /// Several attempts failed; still trying, less often.
    Offline,
}

/// Which statuses the table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    Revoked,
    Expired,
}

impl StatusFilter {
    pub fn next(self) -> Self {
        match self {
            StatusFilter::All => StatusFilter::Active,
            StatusFilter::Active => StatusFilter::Revoked,
            StatusFilter::Revoked => StatusFilter::Expired,
            StatusFilter::Expired => StatusFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Active => "active",
            StatusFilter::Revoked => "revoked",
            StatusFilter::Expired => "expired",
        }
    }

    pub fn admits(self, s: Status) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Active => s == Status::Active,
            StatusFilter::Revoked => s == Status::Revoked,
            StatusFilter::Expired => s == Status::Expired,
        }
    }
}

/// What the header says about the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The URL with its password redacted.
    pub url: String,
    pub namespace: String,
    pub cluster: bool,
    /// `None` while the namespace has no meta hash yet.
    pub mode: Option<Mode>,
    /// Marked production (`keytui init --production`): a red banner, and revoke and delete
    /// ask for the namespace name.
    pub production: bool,
}

/// How far loading the namespace has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loading {
    FirstPage,
    More,
    Done,
}

/// A line in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// A secret keytui put in the clipboard and will clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipTimer {
    pub deadline: UnixMs,
    pub what: String,
}

/// Where a copy went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipboardVia {
    /// The system clipboard (arboard).
    System,
    /// The terminal, with an OSC 52 escape sequence (no display reachable).
    Terminal,
}

/// The fuzzy filter line.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub input: Input,
    /// The filter line has the keyboard.
    pub editing: bool,
    /// Bumped on every change of query or records; results of older runs are dropped.
    pub generation: u64,
    /// A filter run is on its way.
    pub pending: bool,
    /// Records changed while a run was on its way: run again when it answers.
    pub rerun: bool,
    /// The newest generation, shared with running jobs so that outdated ones stop early.
    pub latest: Arc<AtomicU64>,
    /// The last run whose matches are the visible rows: a query that narrows it filters
    /// only those (and rows appended since).
    pub base: Option<BaseRun>,
    /// Bumped each time the rows for the current query are in place (a filter run's
    /// result, or at once for an empty query): the event loop times keystrokes with it.
    pub applied: u64,
    /// The visible rows are in table order, not best first (see `filter::RANK_LIMIT`):
    /// Enter selects the best match by scoring them then.
    pub unranked: bool,
}

/// What a filter run's matches were computed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseRun {
    pub query: String,
    pub status: StatusFilter,
    /// `State::structure` and `State::revision` then.
    pub structure: u64,
    pub revision: u64,
    /// Records then: later ones were not looked at.
    pub len: usize,
}

/// The previous matches a narrowing run starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterBase {
    /// Indices of the previous matches (any order).
    pub matches: Vec<u32>,
    /// Number of records the previous run looked at; later ones are all candidates.
    pub len: usize,
}

impl Filter {
    pub fn query(&self) -> &str {
        self.input.value()
    }
}

/// The new-key form.
#[derive(Clone, Debug)]
pub struct NewKeyForm {
    pub fields: Vec<Input>,
    pub focus: usize,
    pub error: Option<String>,
}

/// Labels and help of the form's fields, in order.
pub const FORM_FIELDS: [(&str, &str); 6] = [
    ("Name", "a name for people"),
    (
        "Format",
        "secret encoding: base62, hex, base64url, alphanumeric",
    ),
    ("Prefix", "optional token prefix, e.g. sk_live"),
    ("Entropy", "bits of randomness in the secret (at least 128)"),
    ("Expires", "empty = never; 90d, 12h or 2027-01-31T00:00:00Z"),
    ("Metadata", "key=value, key=value"),
];

impl Default for NewKeyForm {
    fn default() -> Self {
        let values = ["", "base62", "", "256", "", ""];
        NewKeyForm {
            fields: values.iter().map(|v| Input::new((*v).to_owned())).collect(),
            focus: 0,
            error: None,
        }
    }
}

impl NewKeyForm {
    fn value(&self, i: usize) -> &str {
        self.fields.get(i).map(|f| f.value().trim()).unwrap_or("")
    }

    /// Turns the form into a create request, or says which field is wrong.
    pub fn to_request(&self, now: UnixMs) -> Result<CreateRequest, String> {
        let name = self.value(0);
        if name.is_empty() {
            return Err("give the key a name".into());
        }
        let mut req = CreateRequest::new(name);
        let encoding: Encoding = self.value(1).parse().map_err(|e| format!("format: {e}"))?;
        let bits: f64 = self
            .value(3)
            .parse()
            .map_err(|_| "entropy: give a number of bits, e.g. 256".to_owned())?;
        if !(1.0..=4096.0).contains(&bits) {
            return Err("entropy: between 1 and 4096 bits".into());
        }
        let per_char = Spec {
            encoding: encoding.clone(),
            length: Length::Chars(1),
        }
        .entropy_bits();
        if per_char <= 0.0 {
            return Err("format: this encoding carries no entropy".into());
        }
        let chars = (bits / per_char).ceil() as usize;
        req.secret_spec = Spec {
            encoding,
            length: Length::Chars(chars.max(1)),
        };
        let prefix = self.value(2);
        req.prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
        let expires = self.value(4);
        if !expires.is_empty() {
            req.expires_at = Some(parse_expiry_at(expires, now)?);
        }
        req.meta = parse_meta_line(self.value(5))?;
        Ok(req)
    }
}

fn parse_expiry_at(s: &str, now: UnixMs) -> Result<UnixMs, String> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.saturating_add(d.as_millis().min(i64::MAX as u128) as i64));
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| "expires: give a duration (90d, 12h) or an RFC 3339 time".to_owned())
}

fn parse_meta_line(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut meta = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("metadata: {pair:?} is not key=value"));
        };
        if k.trim().is_empty() {
            return Err("metadata: empty key".into());
        }
        meta.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(meta)
}

/// The one-time view of a new key's secret.
#[derive(Clone, Debug)]
pub struct Reveal {
    pub created: Box<Created>,
    /// The key this one replaces, after a rotation.
    pub rotated_from: Option<String>,
}

/// Where typing goes in the revoke dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevokeFocus {
    /// Keys are commands: `y` revokes, Tab goes to the reason, anything else cancels.
    #[default]
    Keys,
    /// The optional reason field; Enter revokes.
    Reason,
    /// Production namespaces: the namespace name must be typed; Enter revokes.
    Namespace,
}

/// The revoke confirmation: an optional reason and, in production namespaces, the
/// namespace name typed out.
#[derive(Clone, Debug, Default)]
pub struct RevokeDialog {
    pub id: String,
    pub name: String,
    pub reason: Input,
    pub focus: RevokeFocus,
    /// Production namespaces only: the namespace name as typed so far.
    pub typed_ns: Option<Input>,
}

impl RevokeDialog {
    fn reason(&self) -> Option<String> {
        let r = self.reason.value().trim();
        (!r.is_empty()).then(|| r.to_owned())
    }
}

/// Grace periods the rotate dialog cycles through with Up/Down.
pub const GRACE_PRESETS: [&str; 6] = ["0s", "1h", "24h", "7d", "30d", "90d"];

/// The word typed to rotate a key that was rotated before.
pub const ROTATE_AGAIN_WORD: &str = "again";

/// Which field of the rotate dialog has the keyboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RotateFocus {
    /// The grace period: typed, or chosen with Up/Down.
    #[default]
    Grace,
    /// Production namespaces: the namespace name.
    Namespace,
    /// A key rotated before: the word `again`.
    Again,
}

/// The rotate confirmation: the grace period and, where needed, the namespace name
/// (production) and the word `again` (a key rotated before) typed out. Every confirmation
/// is Enter in a text field, so a burst of the rotate key only types into it.
#[derive(Clone, Debug)]
pub struct RotateDialog {
    pub id: String,
    pub name: String,
    /// The successor of an earlier rotation, if any.
    pub rotated_to: Option<String>,
    pub grace: Input,
    pub focus: RotateFocus,
    pub typed_ns: Option<Input>,
    pub again: Option<Input>,
    /// Why the last Enter did not rotate.
    pub error: Option<String>,
}

impl RotateDialog {
    fn new(id: String, name: String, rotated_to: Option<String>, production: bool) -> Self {
        RotateDialog {
            again: rotated_to.is_some().then(Input::default),
            id,
            name,
            rotated_to,
            grace: Input::new("24h".into()),
            focus: RotateFocus::Grace,
            typed_ns: production.then(Input::default),
            error: None,
        }
    }

    /// The fields present, in Tab order.
    fn fields(&self) -> Vec<RotateFocus> {
        let mut f = vec![RotateFocus::Grace];
        if self.typed_ns.is_some() {
            f.push(RotateFocus::Namespace);
        }
        if self.again.is_some() {
            f.push(RotateFocus::Again);
        }
        f
    }

    fn focused_input(&mut self) -> &mut Input {
        match self.focus {
            RotateFocus::Namespace if self.typed_ns.is_some() => {
                self.typed_ns.get_or_insert_with(Input::default)
            }
            RotateFocus::Again if self.again.is_some() => {
                self.again.get_or_insert_with(Input::default)
            }
            _ => &mut self.grace,
        }
    }
}

/// What fills the screen (the table is under every popup).
#[derive(Clone, Debug)]
pub enum Screen {
    Table,
    Detail {
        id: String,
    },
    Help,
    NewKey(NewKeyForm),
    Reveal(Reveal),
    ConfirmRevoke(RevokeDialog),
    /// Choose the grace period and press Enter to rotate.
    ConfirmRotate(RotateDialog),
    /// Type the key's name to delete it; in production namespaces the namespace name
    /// instead.
    ConfirmDelete {
        id: String,
        name: String,
        typed: Input,
        production: bool,
    },
}

/// A fuzzy filter run for the worker: owns a snapshot of the records.
#[derive(Clone, Debug)]
pub struct FilterJob {
    pub generation: u64,
    /// `State::structure` when the job started: indices are valid only for it.
    pub structure: u64,
    /// `State::revision` when the job started.
    pub revision: u64,
    pub query: String,
    pub status: StatusFilter,
    pub now: UnixMs,
    pub records: Arc<Vec<Row>>,
    /// The newest generation: the job gives up when it is no longer this one's.
    pub latest: Arc<AtomicU64>,
    /// When the query narrows the previous run's: only its matches (and rows appended
    /// since) can match.
    pub within: Option<Arc<FilterBase>>,
}

/// Work for the outside world.
#[derive(Debug)]
pub enum Command {
    /// Sync: reload the namespace from the first page.
    Reload,
    /// Sync: read the audit events of one key.
    LoadDetail { id: String },
    /// Sync: create a key.
    Create(Box<CreateRequest>),
    /// Sync: revoke a key, with the reason typed in the dialog.
    Revoke { id: String, reason: Option<String> },
    /// Sync: read a stored secret (`sealed` / `plain` namespaces) for copying; answers
    /// with [`Action::SecretRead`].
    ReadSecret { id: String, name: String },
    /// Sync: restore a revoked key.
    Restore { id: String },
    /// Sync: delete a key.
    Delete { id: String },
    /// Sync: rotate a key; the old one keeps working for `grace`. `force` rotates a key
    /// that was rotated before.
    Rotate {
        id: String,
        grace: Duration,
        force: bool,
    },
    /// Filter worker: run the fuzzy filter.
    Filter(FilterJob),
    /// Clipboard: copy a text (a secret is excluded from clipboard history).
    Copy {
        text: Secret,
        what: String,
        secret: bool,
    },
    /// Event loop: copy with OSC 52 through the terminal.
    CopyViaTerminal {
        text: Secret,
        what: String,
        secret: bool,
    },
    /// Clipboard: clear it if it still holds the secret keytui put there.
    ClearClipboard,
}

/// Everything that can happen to the UI.
#[derive(Debug)]
pub enum Action {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text was pasted (bracketed paste): it goes into the focused text field, if any,
    /// and never triggers an action.
    Paste(String),
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
    /// The newest page of records, replacing everything loaded before (`load` numbers reloads).
    FirstPage {
        load: u64,
        records: Vec<Row>,
        total: usize,
        malformed: usize,
    },
    /// Older records loaded in the background; `done` when the index is exhausted.
    MoreRecords {
        load: u64,
        records: Vec<Row>,
        done: bool,
    },
    /// A record was created or changed (from the change feed or our own command).
    RecordChanged(Box<KeyRecord>),
    /// A record is gone.
    RecordGone { id: String },
    /// The change feed was trimmed past our cursor: reload.
    FeedTrimmed,
    /// A key was created (or rotated): show its secret once.
    Created {
        created: Box<Created>,
        rotated_from: Option<String>,
    },
    /// A command finished; say so.
    Done(String),
    /// A command failed; say why.
    Failed(String),
    /// Audit events of the key shown in the detail view.
    DetailEvents { id: String, events: Vec<Event> },
    /// The fuzzy filter finished: indices into the records, best first.
    FilterDone {
        generation: u64,
        structure: u64,
        /// `State::revision` and the number of records the run looked at.
        revision: u64,
        len: usize,
        query: String,
        visible: Vec<usize>,
        /// Best first; else in table order (too many matches to score on every key).
        ranked: bool,
    },
    /// A stored secret was read for copying: it goes straight into a copy command and is
    /// never kept in `State`.
    SecretRead { what: String, secret: Secret },
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
}

/// The whole state of the UI.
#[derive(Debug)]
pub struct State {
    /// Unix ms, set by the event loop before each update.
    pub now: UnixMs,
    /// The terminal size.
    pub area: Rect,
    pub conn: ConnState,
    pub server: ServerInfo,
    /// Every loaded record, newest first.
    pub records: Arc<Vec<Row>>,
    /// Fingerprints of the loaded ids, to drop duplicates from background pages cheaply (a
    /// hit is confirmed against the records).
    ids: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
    /// Number of keys in the index when the first page was read.
    pub total: usize,
    pub malformed: usize,
    pub loading: Loading,
    load: u64,
    /// Bumped whenever record indices shift (insert, remove, reload), not on appends.
    structure: u64,
    /// Bumped whenever a record changes in place (and with `structure`).
    revision: u64,
    counts: (usize, usize, usize),
    /// Indices into `records` shown in the table, in order.
    pub visible: Vec<usize>,
    /// Index into `visible`.
    pub selected: usize,
    /// First row of `visible` on screen.
    pub scroll: usize,
    pub status_filter: StatusFilter,
    pub filter: Filter,
    pub screen: Screen,
    pub detail_events: Vec<Event>,
    pub message: Option<Message>,
    pub clip: Option<ClipTimer>,
    pub keymap: Keymap,
    pub clear_secs: u64,
    pub quit: bool,
}

impl State {
    pub fn new(server: ServerInfo, keymap: Keymap, clear_secs: u64, now: UnixMs) -> Self {
        State {
            now,
            area: Rect::new(0, 0, 80, 24),
            conn: ConnState::Live,
            server,
            records: Arc::new(Vec::new()),
            ids: HashSet::default(),
            total: 0,
            malformed: 0,
            loading: Loading::FirstPage,
            load: 0,
            structure: 0,
            revision: 0,
            counts: (0, 0, 0),
            visible: Vec::new(),
            selected: 0,
            scroll: 0,
            status_filter: StatusFilter::All,
            filter: Filter::default(),
            screen: Screen::Table,
            detail_events: Vec::new(),
            message: None,
            clip: None,
            keymap,
            clear_secs,
            quit: false,
        }
    }

    /// The record under the cursor.
    pub fn selected_record(&self) -> Option<&Row> {
        self.visible
            .get(self.selected)
            .and_then(|&i| self.records.get(i))
    }

    pub fn record(&self, id: &str) -> Option<&Row> {
        self.records.iter().find(|r| r.id() == id)
    }

    /// Whether a record with this id is loaded.
    fn has_id(&self, id: &str) -> bool {
        self.ids.contains(&fingerprint(id)) && self.records.iter().any(|r| r.id() == id)
    }

    /// Counts by status (active, revoked, expired) of the loaded records.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.counts
    }

    /// Recounts by status (records changed, or time passed and keys expired).
    fn recount(&mut self) {
        let mut c = (0, 0, 0);
        for r in self.records.iter() {
            match r.status_at(self.now) {
                Status::Active => c.0 += 1,
                Status::Revoked => c.1 += 1,
                Status::Expired => c.2 += 1,
            }
        }
        self.counts = c;
    }

    /// When the next tick is due, if anything on screen moves with time.
    pub fn next_tick(&self) -> Option<Duration> {
        if let Some(clip) = &self.clip {
            let left = (clip.deadline - self.now).max(0);
            let to_next_second = match left % 1000 {
                0 => 1000,
                r => r,
            };
            return Some(Duration::from_millis(to_next_second.min(left.max(1)) as u64));
        }
        if !self.records.is_empty() {
            return Some(Duration::from_secs(30));
        }
        None
    }

    fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    fn complain(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }

    fn table_rows(&self) -> usize {
        view::areas(self).table_body.height as usize
    }

    /// Keeps `selected` in range and on screen.
    fn clamp(&mut self) {
        if self.visible.is_empty() {
            self.selected = 0;
            self.scroll = 0;
            return;
        }
        self.selected = self.selected.min(self.visible.len() - 1);
        let rows = self.table_rows().max(1);
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + rows {
            self.scroll = self.selected + 1 - rows;
        }
        self.scroll = self.scroll.min(self.visible.len().saturating_sub(1));
    }

    fn move_by(&mut self, delta: isize) {
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, self.visible.len().saturating_sub(1) as isize) as usize;
        self.clamp();
    }

    /// Recomputes the visible rows after the query or the status filter changed: at once
    /// without a query, else by the filter worker.
    fn refresh_visible(&mut self) -> Vec<Command> {
        self.filter.generation += 1;
        self.filter
            .latest
            .store(self.filter.generation, Ordering::Relaxed);
        self.recount();
        if self.filter.query().is_empty() {
            self.filter.pending = false;
            self.filter.rerun = false;
            let (now, sf) = (self.now, self.status_filter);
            self.visible = self
                .records
                .iter()
                .enumerate()
                .filter(|(_, r)| sf.admits(r.status_at(now)))
                .map(|(i, _)| i)
                .collect();
            self.filter.applied += 1;
            self.filter.unranked = false;
            self.filter.base = None;
            self.clamp();
            Vec::new()
        } else {
            self.filter.pending = true;
            self.filter.rerun = false;
            // The visible rows are the matches of `base` while it is set.
            let within = self.filter.base.take().and_then(|b| {
                let narrower = b.structure == self.structure
                    && b.revision == self.revision
                    && b.status == self.status_filter
                    // Keys expire with time: an expired-only view can gain rows.
                    && b.status != StatusFilter::Expired
                    && narrows(&b.query, self.filter.query());
                narrower.then(|| {
                    Arc::new(FilterBase {
                        matches: self.visible.iter().map(|&i| i as u32).collect(),
                        len: b.len,
                    })
                })
            });
            vec![Command::Filter(FilterJob {
                generation: self.filter.generation,
                structure: self.structure,
                revision: self.revision,
                query: self.filter.query().to_owned(),
                status: self.status_filter,
                now: self.now,
                records: Arc::clone(&self.records),
                latest: Arc::clone(&self.filter.latest),
                within,
            })]
        }
    }

    /// Like `refresh_visible` after the records changed, but while a filter run is on its
    /// way, only notes that another is needed (a million records loading in chunks must
    /// not start a run per chunk).
    fn records_changed(&mut self) -> Vec<Command> {
        if !self.filter.query().is_empty() && self.filter.pending {
            self.recount();
            self.filter.rerun = true;
            return Vec::new();
        }
        self.refresh_visible()
    }

    /// Inserts or replaces a record, keeping newest-first order and the visible indices valid.
    fn upsert(&mut self, r: KeyRecord) -> Vec<Command> {
        let r = Row::from(r);
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        self.revision += 1;
        self.filter.base = None;
        let known = self.has_id(r.id());
        let records = Arc::make_mut(&mut self.records);
        if let Some(pos) = known
            .then(|| records.iter().position(|x| x.id() == r.id()))
            .flatten()
        {
            records[pos] = r;
        } else {
            let pos = records
                .iter()
                .position(|x| x.created_at < r.created_at)
                .unwrap_or(records.len());
            self.ids.insert(fingerprint(r.id()));
            records.insert(pos, r);
            self.structure += 1;
            for v in &mut self.visible {
                if *v >= pos {
                    *v += 1;
                }
            }
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    fn remove(&mut self, id: &str) -> Vec<Command> {
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        let Some(pos) = self.records.iter().position(|x| x.id() == id) else {
            return Vec::new();
        };
        Arc::make_mut(&mut self.records).remove(pos);
        self.structure += 1;
        self.filter.base = None;
        // (Two ids sharing a 64-bit fingerprint would both lose it: not a real concern.)
        self.ids.remove(&fingerprint(id));
        self.visible.retain(|&v| v != pos);
        for v in &mut self.visible {
            if *v > pos {
                *v -= 1;
            }
        }
        if let Screen::ConfirmRevoke(RevokeDialog { id: cid, .. })
        | Screen::ConfirmRotate(RotateDialog { id: cid, .. })
        | Screen::ConfirmDelete { id: cid, .. } = &self.screen
            && cid == id
        {
            self.screen = Screen::Table;
            self.say("that key was deleted meanwhile");
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    /// Puts the cursor back on the key it was on, when that key is still visible.
    fn reselect(&mut self, id: Option<&str>) {
        if let Some(id) = id
            && let Some(pos) = self
                .visible
                .iter()
                .position(|&i| self.records.get(i).is_some_and(|r| r.id() == id))
        {
            self.selected = pos;
        }
        self.clamp();
    }

    fn refuse_offline(&mut self, what: &str) -> bool {
        if self.conn == ConnState::Live {
            return false;
        }
        let state = match self.conn {
            ConnState::Reconnecting => "reconnecting",
            _ => "offline",
        };
        self.complain(format!(
            "{what} refused: Redis is {state}; try again when the header says live"
        ));
        true
    }
}

/// Applies an action; returns the work it asks for.
pub fn update(state: &mut State, action: Action) -> Vec<Command> {
    match action {
        Action::Key(key) => on_key(state, key),
        Action::Paste(text) => on_paste(state, &text),
        Action::Mouse(m) => {
            on_mouse(state, m);
            Vec::new()
        }
        Action::Resize(w, h) => {
            state.area = Rect::new(0, 0, w, h);
            state.clamp();
            Vec::new()
        }
        Action::Tick => {
            state.recount();
            if let Some(clip) = &state.clip
                && state.now >= clip.deadline
            {
                state.clip = None;
                return vec![Command::ClearClipboard];
            }
            Vec::new()
        }
        Action::Quit => {
            state.quit = true;
            if state.clip.take().is_some() {
                vec![Command::ClearClipboard]
            } else {
                Vec::new()
            }
        }
        Action::Connection(c) => {
            if c != state.conn {
                match c {
                    ConnState::Live => state.say("connection back: live"),
                    ConnState::Reconnecting => state.complain("connection lost: reconnecting…"),
                    ConnState::Offline => {
                        state.complain("Redis is unreachable: offline, still retrying")
                    }
                }
            }
            state.conn = c;
            Vec::new()
        }
        Action::Server {
            cluster,
            mode,
            production,
        } => {
            state.server.cluster = cluster;
            state.server.mode = mode;
            state.server.production = production;
            Vec::new()
        }
        Action::FirstPage {
            load,
            records,
            total,
            malformed,
        } => {
            let selected_id = state.selected_record().map(|r| r.id().to_owned());
            state.load = load;
            state.structure += 1;
            state.filter.base = None;
            state.ids = records.iter().map(|r| fingerprint(r.id())).collect();
            state.loading = if records.len() >= total {
                Loading::Done
            } else {
                Loading::More
            };
            state.records = Arc::new(records);
            state.total = total;
            state.malformed = malformed;
            state.visible.clear();
            let cmds = state.refresh_visible();
            state.reselect(selected_id.as_deref());
            cmds
        }
        Action::MoreRecords {
            load,
            records,
            done,
        } => {
            if load != state.load {
                return Vec::new();
            }
            if done {
                state.loading = Loading::Done;
            }
            // A page may repeat a record the change feed brought in meanwhile.
            let fresh: Vec<Row> = records
                .into_iter()
                .filter(|r| !state.has_id(r.id()))
                .collect();
            if fresh.is_empty() {
                return Vec::new();
            }
            state.ids.extend(fresh.iter().map(|r| fingerprint(r.id())));
            let (now, sf) = (state.now, state.status_filter);
            let records = Arc::make_mut(&mut state.records);
            let start = records.len();
            records.extend(fresh);
            if state.filter.query().is_empty() {
                let added =
                    (start..records.len()).filter(|&i| sf.admits(records[i].status_at(now)));
                state.visible.extend(added);
                state.recount();
                state.clamp();
                Vec::new()
            } else {
                state.records_changed()
            }
        }
        Action::RecordChanged(r) => state.upsert(*r),
        Action::RecordGone { id } => state.remove(&id),
        Action::FeedTrimmed => {
            state.say("missed changes while away: reloading");
            vec![Command::Reload]
        }
        Action::Created {
            created,
            rotated_from,
        } => {
            let record = created.record.clone();
            state.screen = Screen::Reveal(Reveal {
                created,
                rotated_from,
            });
            state.message = None;
            let cmds = state.upsert(record);
            if let Some(pos) = state
                .visible
                .iter()
                .position(|&i| state.records.get(i).map(Row::id) == reveal_id(state).as_deref())
            {
                state.selected = pos;
                state.clamp();
            }
            cmds
        }
        Action::Done(text) => {
            state.say(text);
            Vec::new()
        }
        Action::Failed(text) => {
            state.complain(text);
            Vec::new()
        }
        Action::DetailEvents { id, events } => {
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.detail_events = events;
            }
            Vec::new()
        }
        Action::FilterDone {
            generation,
            structure,
            revision,
            len,
            query,
            visible,
            ranked,
        } => {
            let latest = generation == state.filter.generation;
            let usable = query == state.filter.query() && structure == state.structure;
            if usable {
                let selected_id = state.selected_record().map(|r| r.id().to_owned());
                state.visible = visible;
                state.filter.unranked = !ranked;
                state.filter.base = Some(BaseRun {
                    query,
                    status: state.status_filter,
                    structure,
                    revision,
                    len,
                });
                if state.filter.editing {
                    state.selected = 0;
                    state.clamp();
                } else {
                    state.reselect(selected_id.as_deref());
                }
            }
            if latest && (state.filter.rerun || !usable) {
                return state.refresh_visible();
            }
            if latest {
                state.filter.pending = false;
                state.filter.applied += 1;
            }
            Vec::new()
        }
        Action::Copied { what, via, secret } => {
            let via_text = match via {
                ClipboardVia::System => "the clipboard",
                ClipboardVia::Terminal => "the terminal clipboard (OSC 52)",
            };
            if secret && via == ClipboardVia::System {
                state.clip = Some(ClipTimer {
                    deadline: state.now + state.clear_secs as i64 * 1000,
                    what: what.clone(),
                });
                state.say(format!("copied {what} to {via_text}"));
            } else if secret {
                state.say(format!(
                    "copied {what} to {via_text}; it cannot be cleared automatically"
                ));
            } else {
                state.say(format!("copied {what} to {via_text}"));
            }
            Vec::new()
        }
        Action::SecretRead { what, secret } => vec![Command::Copy {
            text: secret,
            what,
            secret: true,
        }],
        Action::ClipboardUnavailable { text, what, secret } => {
            vec![Command::CopyViaTerminal { text, what, secret }]
        }
        Action::ClipboardCleared { cleared } => {
            if cleared {
                state.say("clipboard cleared");
            } else {
                state.say("clipboard changed since; left alone");
            }
            Vec::new()
        }
        Action::CopyFailed(why) => {
            state.complain(format!("copy failed: {why}"));
            Vec::new()
        }
    }
}

fn reveal_id(state: &State) -> Option<String> {
    match &state.screen {
        Screen::Reveal(r) => Some(r.created.record.id.clone()),
        _ => None,
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    if is_ctrl_c(&key) {
        return update(state, Action::Quit);
    }
    let screen = std::mem::replace(&mut state.screen, Screen::Table);
    match screen {
        Screen::Table if state.filter.editing => {
            state.screen = Screen::Table;
            on_filter_key(state, key)
        }
        Screen::Table => {
            state.screen = Screen::Table;
            match state.keymap.lookup(&key) {
                Some(a) => on_table_action(state, a),
                None if key.code == KeyCode::Esc && !state.filter.query().is_empty() => {
                    state.filter.input.reset();
                    state.refresh_visible()
                }
                None => Vec::new(),
            }
        }
        Screen::Help => Vec::new(),
        Screen::Detail { id } => {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                state.detail_events.clear();
                return Vec::new();
            }
            state.screen = Screen::Detail { id };
            match state.keymap.lookup(&key) {
                Some(
                    a @ (KeyAction::CopyId
                    | KeyAction::CopySecret
                    | KeyAction::Revoke
                    | KeyAction::Restore
                    | KeyAction::Delete
                    | KeyAction::Rotate),
                ) => on_table_action(state, a),
                _ => Vec::new(),
            }
        }
        Screen::NewKey(form) => on_form_key(state, form, key),
        Screen::Reveal(reveal) => on_reveal_key(state, reveal, key),
        Screen::ConfirmRevoke(dialog) => on_revoke_key(state, dialog, key),
        Screen::ConfirmRotate(dialog) => on_rotate_key(state, dialog, key),
        Screen::ConfirmDelete {
            id,
            name,
            mut typed,
            production,
        } => match key.code {
            KeyCode::Esc => {
                state.say("delete cancelled");
                Vec::new()
            }
            KeyCode::Enter if production => {
                if typed.value() != state.server.namespace {
                    state.complain("the namespace name does not match: delete cancelled");
                    return Vec::new();
                }
                if state.refuse_offline("delete") {
                    return Vec::new();
                }
                state.say(format!("deleting {name}…"));
                vec![Command::Delete { id }]
            }
            KeyCode::Enter => {
                if typed.value() != name {
                    state.screen = Screen::ConfirmDelete {
                        id,
                        name,
                        typed,
                        production,
                    };
                    state.complain("the name does not match; Esc cancels");
                    return Vec::new();
                }
                if state.refuse_offline("delete") {
                    return Vec::new();
                }
                state.say(format!("deleting {name}…"));
                vec![Command::Delete { id }]
            }
            _ => {
                typed.handle_event(&crossterm::event::Event::Key(key));
                state.screen = Screen::ConfirmDelete {
                    id,
                    name,
                    typed,
                    production,
                };
                Vec::new()
            }
        },
    }
}

/// The revoke dialog. Ordinary namespaces: `y` revokes without a reason, Tab moves to the
/// reason field (Enter revokes with it), anything else cancels. Production namespaces: the
/// namespace name is typed first (Tab switches to the reason); Enter revokes when it
/// matches, and cancels when it does not; Esc cancels.
fn on_revoke_key(state: &mut State, mut d: RevokeDialog, key: KeyEvent) -> Vec<Command> {
    let confirm = |state: &mut State, d: RevokeDialog| {
        if state.refuse_offline("revoke") {
            return Vec::new();
        }
        state.say(format!("revoking {}…", d.name));
        let reason = d.reason();
        vec![Command::Revoke { id: d.id, reason }]
    };
    match (d.focus, key.code) {
        (_, KeyCode::Esc) => {
            state.say("revoke cancelled");
            Vec::new()
        }
        (RevokeFocus::Keys, KeyCode::Char('y')) => confirm(state, d),
        (RevokeFocus::Keys, KeyCode::Tab) => {
            d.focus = RevokeFocus::Reason;
            state.screen = Screen::ConfirmRevoke(d);
            Vec::new()
        }
        (RevokeFocus::Keys, _) => {
            state.say("revoke cancelled");
            Vec::new()
        }
        (_, KeyCode::Tab | KeyCode::BackTab) => {
            // Between the namespace and reason fields; without a namespace field the
            // reason keeps the focus.
            d.focus = if d.focus == RevokeFocus::Reason && d.typed_ns.is_some() {
                RevokeFocus::Namespace
            } else {
                RevokeFocus::Reason
            };
            state.screen = Screen::ConfirmRevoke(d);
            Vec::new()
        }
        (_, KeyCode::Enter) => match &d.typed_ns {
            Some(typed) if typed.value() != state.server.namespace => {
                state.complain("the namespace name does not match: revoke cancelled");
                Vec::new()
            }
            _ => confirm(state, d),
        },
        (focus, _) => {
            let event = crossterm::event::Event::Key(key);
            match (focus, d.typed_ns.as_mut()) {
                (RevokeFocus::Namespace, Some(typed)) => {
                    typed.handle_event(&event);
                }
                _ => {
                    d.reason.handle_event(&event);
                }
            }
            state.screen = Screen::ConfirmRevoke(d);
            Vec::new()
        }
    }
}

/// The rotate dialog: Up/Down choose a preset grace period (or it is typed), Tab moves
/// between the fields, Enter rotates when every field is right (else says why and stays
/// open), Esc cancels.
fn on_rotate_key(state: &mut State, mut d: RotateDialog, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            state.say("rotate cancelled");
            return Vec::new();
        }
        KeyCode::Tab | KeyCode::BackTab => {
            let fields = d.fields();
            let at = fields.iter().position(|f| *f == d.focus).unwrap_or(0);
            let step = if key.code == KeyCode::Tab {
                1
            } else {
                fields.len() - 1
            };
            d.focus = fields[(at + step) % fields.len()];
        }
        KeyCode::Up | KeyCode::Down if d.focus == RotateFocus::Grace => {
            let n = GRACE_PRESETS.len();
            let at = GRACE_PRESETS
                .iter()
                .position(|p| *p == d.grace.value().trim());
            let next = match (at, key.code) {
                (Some(i), KeyCode::Down) => (i + 1) % n,
                (Some(i), _) => (i + n - 1) % n,
                (None, _) => 2,
            };
            d.grace = Input::new(GRACE_PRESETS[next].into());
            d.error = None;
        }
        KeyCode::Enter => match rotate_confirmed(state, &d) {
            Ok(grace) => {
                if state.refuse_offline("rotate") {
                    return Vec::new();
                }
                state.say(format!("rotating {}…", d.name));
                return vec![Command::Rotate {
                    id: d.id,
                    grace,
                    force: d.again.is_some(),
                }];
            }
            Err(e) => d.error = Some(e),
        },
        _ => {
            d.focused_input()
                .handle_event(&crossterm::event::Event::Key(key));
            d.error = None;
        }
    }
    state.screen = Screen::ConfirmRotate(d);
    Vec::new()
}

/// The grace period of a rotate dialog whose fields are all right, or what is wrong.
fn rotate_confirmed(state: &State, d: &RotateDialog) -> Result<Duration, String> {
    let grace = crate::cli::parse_duration(d.grace.value().trim())
        .map_err(|_| "grace period: give a duration, e.g. 0s, 1h, 24h, 7d".to_owned())?;
    if let Some(typed) = &d.typed_ns
        && typed.value() != state.server.namespace
    {
        return Err("type the namespace name to rotate in a production namespace".into());
    }
    if let Some(again) = &d.again
        && again.value().trim() != ROTATE_AGAIN_WORD
    {
        return Err(format!(
            "this key was rotated before: type {ROTATE_AGAIN_WORD} to make another successor"
        ));
    }
    Ok(grace)
}

/// Whether typing goes into a text field on the current screen.
fn text_field_focused(state: &State) -> bool {
    match &state.screen {
        Screen::Table => state.filter.editing,
        Screen::NewKey(_) | Screen::ConfirmDelete { .. } | Screen::ConfirmRotate(_) => true,
        Screen::ConfirmRevoke(d) => d.focus != RevokeFocus::Keys,
        Screen::Detail { .. } | Screen::Help | Screen::Reveal(_) => false,
    }
}

/// A bracketed paste: its printable characters are typed into the focused text field
/// (line breaks and other control characters are dropped, so a paste never presses
/// Enter); where no text field has the keyboard it is ignored, so pasted text never
/// triggers an action.
fn on_paste(state: &mut State, text: &str) -> Vec<Command> {
    if !text_field_focused(state) {
        state.say("paste ignored: no text field here");
        return Vec::new();
    }
    let mut cmds = Vec::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        // Each character as a keystroke into the same field; a text field never leaves
        // the screen on a printable character, but check in case one does.
        if !text_field_focused(state) {
            break;
        }
        cmds.extend(on_key(
            state,
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        ));
    }
    cmds
}

fn on_filter_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            state.filter.editing = false;
            state.filter.input.reset();
            state.refresh_visible()
        }
        KeyCode::Enter => {
            state.filter.editing = false;
            state.selected = if state.filter.unranked {
                super::filter::best(&state.records, &state.visible, state.filter.query())
                    .unwrap_or(0)
            } else {
                0
            };
            state.scroll = 0;
            state.clamp();
            Vec::new()
        }
        KeyCode::Up | KeyCode::Down => {
            state.move_by(if key.code == KeyCode::Up { -1 } else { 1 });
            Vec::new()
        }
        _ => {
            let before = state.filter.query().to_owned();
            state
                .filter
                .input
                .handle_event(&crossterm::event::Event::Key(key));
            if state.filter.query() != before {
                state.refresh_visible()
            } else {
                Vec::new()
            }
        }
    }
}

fn on_table_action(state: &mut State, action: KeyAction) -> Vec<Command> {
    let page = state.table_rows().max(1) as isize;
    match action {
        KeyAction::Up => state.move_by(-1),
        KeyAction::Down => state.move_by(1),
        KeyAction::PageUp => state.move_by(-page),
        KeyAction::PageDown => state.move_by(page),
        KeyAction::Top => state.move_by(isize::MIN / 2),
        KeyAction::Bottom => state.move_by(isize::MAX / 2),
        KeyAction::Filter => {
            state.filter.editing = true;
        }
        KeyAction::CycleStatus => {
            state.status_filter = state.status_filter.next();
            state.say(format!("showing {} keys", state.status_filter.label()));
            return state.refresh_visible();
        }
        KeyAction::New => {
            if !state.refuse_offline("new key") {
                state.screen = Screen::NewKey(NewKeyForm::default());
            }
        }
        KeyAction::Details => {
            if let Some(r) = state.selected_record().cloned() {
                let id = r.id().to_owned();
                state.detail_events.clear();
                state.screen = Screen::Detail { id: id.clone() };
                return vec![Command::LoadDetail { id }];
            }
        }
        KeyAction::CopyId => {
            if let Some(r) = state.selected_record().cloned() {
                return vec![Command::Copy {
                    text: Secret::new(r.id().to_owned()),
                    what: "the id".into(),
                    secret: false,
                }];
            }
        }
        KeyAction::CopySecret => {
            if let Some(r) = state.selected_record().cloned() {
                match state.server.mode {
                    Some(Mode::Hash) | None => state.complain(
                        "cannot copy the secret: secrets are stored hashed; they are shown only once at creation",
                    ),
                    Some(Mode::Sealed | Mode::Plain) => {
                        if !state.refuse_offline("copy the secret") {
                            let name = crate::sanitize::line(r.name());
                            state.say(format!("reading the secret of {name}…"));
                            return vec![Command::ReadSecret {
                                id: r.id().to_owned(),
                                name,
                            }];
                        }
                    }
                }
            }
        }
        KeyAction::Revoke => {
            if let Some(r) = state.selected_record().cloned() {
                if r.revoked {
                    let name = crate::sanitize::line(r.name());
                    state.say(format!("{name} is already revoked"));
                } else if !state.refuse_offline("revoke") {
                    let production = state.server.production;
                    state.screen = Screen::ConfirmRevoke(RevokeDialog {
                        id: r.id().to_owned(),
                        name: crate::sanitize::line(r.name()),
                        focus: if production {
                            RevokeFocus::Namespace
                        } else {
                            RevokeFocus::Keys
                        },
                        typed_ns: production.then(Input::default),
                        ..RevokeDialog::default()
                    });
                }
            }
        }
        KeyAction::Restore => {
            if let Some(r) = state.selected_record().cloned() {
                if !r.revoked {
                    let name = crate::sanitize::line(r.name());
                    state.say(format!("{name} is not revoked"));
                } else if !state.refuse_offline("restore") {
                    let id = r.id().to_owned();
                    return vec![Command::Restore { id }];
                }
            }
        }
        KeyAction::Delete => {
            if let Some(r) = state.selected_record().cloned()
                && !state.refuse_offline("delete")
            {
                let (id, name) = (r.id().to_owned(), crate::sanitize::line(r.name()));
                state.screen = Screen::ConfirmDelete {
                    id,
                    name,
                    typed: Input::default(),
                    production: state.server.production,
                };
            }
        }
        KeyAction::Rotate => {
            if let Some(r) = state.selected_record().cloned() {
                if r.revoked {
                    let name = crate::sanitize::line(r.name());
                    state.complain(format!("{name} is revoked; restore it before rotating"));
                } else if !state.refuse_offline("rotate") {
                    state.screen = Screen::ConfirmRotate(RotateDialog::new(
                        r.id().to_owned(),
                        crate::sanitize::line(r.name()),
                        r.rotated_to().map(str::to_owned),
                        state.server.production,
                    ));
                }
            }
        }
        KeyAction::Reload => {
            if !state.refuse_offline("reload") {
                state.say("reloading…");
                return vec![Command::Reload];
            }
        }
        KeyAction::Help => state.screen = Screen::Help,
        KeyAction::Quit => return update(state, Action::Quit),
    }
    Vec::new()
}

fn on_form_key(state: &mut State, mut form: NewKeyForm, key: KeyEvent) -> Vec<Command> {
    let n = form.fields.len();
    match key.code {
        KeyCode::Esc => {
            state.say("new key cancelled");
            return Vec::new();
        }
        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % n,
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + n - 1) % n,
        KeyCode::Enter => match form.to_request(state.now) {
            Ok(req) => {
                if state.refuse_offline("create") {
                    state.screen = Screen::NewKey(form);
                    return Vec::new();
                }
                state.say(format!("creating {}…", crate::sanitize::line(&req.name)));
                return vec![Command::Create(Box::new(req))];
            }
            Err(e) => form.error = Some(e),
        },
        _ => {
            if let Some(input) = form.fields.get_mut(form.focus) {
                input.handle_event(&crossterm::event::Event::Key(key));
            }
            form.error = None;
        }
    }
    state.screen = Screen::NewKey(form);
    Vec::new()
}

fn on_reveal_key(state: &mut State, reveal: Reveal, key: KeyEvent) -> Vec<Command> {
    let c = &reveal.created;
    let copy = match key.code {
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
            // Dropping `reveal` here zeroes the secret.
            state.say("the secret is gone from keytui; it is not shown again");
            return Vec::new();
        }
        KeyCode::Char('c') => Some((c.secret.clone(), "the secret", true)),
        KeyCode::Char('y') => Some((Secret::new(c.record.id.clone()), "the id", false)),
        KeyCode::Char('t') => Some((c.token.clone(), "the token", true)),
        _ => None,
    };
    state.screen = Screen::Reveal(reveal);
    match copy {
        Some((text, what, secret)) => vec![Command::Copy {
            text,
            what: what.into(),
            secret,
        }],
        None => Vec::new(),
    }
}

fn on_mouse(state: &mut State, m: MouseEvent) {
    if !matches!(state.screen, Screen::Table) {
        return;
    }
    match m.kind {
        MouseEventKind::ScrollDown => state.move_by(3),
        MouseEventKind::ScrollUp => state.move_by(-3),
        MouseEventKind::Down(_) => {
            let body = view::areas(state).table_body;
            if body.contains(Position::new(m.column, m.row)) {
                let row = state.scroll + (m.row - body.y) as usize;
                if row < state.visible.len() {
                    state.selected = row;
                    state.clamp();
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "state_guard_tests.rs"]
mod guard_tests;

/// A 64-bit fingerprint of a key id (SipHash with fixed keys).
fn fingerprint(id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

/// Fingerprints are hashes already: the set uses them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
