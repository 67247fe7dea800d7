//! The whole UI state and the one function that changes it: `update(&mut State, Action)`.
//!
//! `update` is synchronous: no I/O, no await, no clock (the caller sets `State::now`). It
//! returns [`Command`]s that the event loop hands to the sync task, the clipboard thread or
//! the filter worker; their answers come back as more `Action`s.

use std::collections::HashSet;
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
use super::keymap::{Context, KeyAction, Keymap};
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

/// What started a reload that has not finished yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadCause {
    /// The user asked for it.
    User,
    /// The sync task found a gap.
    Gap(Gap),
}

/// What the detail view knows of its key's audit events.
#[derive(Clone, Debug, Default)]
pub enum KeyHistory {
    /// Asked for, not answered yet.
    #[default]
    Loading,
    /// Every event of the key, oldest first.
    Loaded(Vec<Event>),
    /// Redis could not be read; why.
    Unreadable(String),
}

/// Which statuses the table shows.
pub use crate::input::StatusFilter;

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

/// The new-key form. It stays open until the key exists: a field that is wrong says so
/// on the line under it while the user types, and a failed create leaves it as it was.
#[derive(Clone, Debug)]
pub struct NewKeyForm {
    pub fields: Vec<Input>,
    pub focus: usize,
    /// Fields edited since the form opened: their errors show while typing.
    pub touched: [bool; FORM_FIELDS.len()],
    /// Enter was pressed: every field's error shows.
    pub submitted: bool,
    /// A create is on its way; the form waits for it.
    pub creating: bool,
    /// Why the last create failed (from Redis), or `None`.
    pub error: Option<String>,
}

/// Field numbers of the form.
pub mod field {
    pub const NAME: usize = 0;
    pub const FORMAT: usize = 1;
    pub const PREFIX: usize = 2;
    pub const BYTES: usize = 3;
    pub const EXPIRES: usize = 4;
    pub const META: usize = 5;
}

/// Labels and help of the form's fields, in order. The entropy is in bytes, as the CLI's
/// `--bytes`.
pub const FORM_FIELDS: [(&str, &str); 6] = [
    ("Name", "a name for people"),
    (
        "Format",
        "secret encoding: base62, hex, base64url, alphanumeric, custom:<chars>",
    ),
    ("Prefix", "optional token prefix, e.g. sk_live"),
    (
        "Bytes",
        "bytes of entropy, as the CLI's --bytes: 32 = 256 bits; at least 16",
    ),
    ("Expires", "empty = never; 90d, 12h or 2027-01-31T00:00:00Z"),
    (
        "Metadata",
        "k=v pairs split by spaces: team=ops scopes=read,write note=\"two words\"",
    ),
];

impl Default for NewKeyForm {
    fn default() -> Self {
        let values = ["", "base62", "", "32", "", ""];
        NewKeyForm {
            fields: values.iter().map(|v| Input::new((*v).to_owned())).collect(),
            focus: 0,
            touched: [false; FORM_FIELDS.len()],
            submitted: false,
            creating: false,
            error: None,
        }
    }
}

/// What is wrong with each field of the form (`None`: nothing).
pub type FieldErrors = [Option<String>; FORM_FIELDS.len()];

const BYTES_HINT: &str = "give a whole number of bytes, e.g. 32 (= 256 bits)";

impl NewKeyForm {
    fn value(&self, i: usize) -> &str {
        self.fields.get(i).map(|f| f.value().trim()).unwrap_or("")
    }

    /// The errors to show now: of the fields edited, or of all after Enter.
    pub fn shown_errors(&self, now: UnixMs) -> FieldErrors {
        let mut errors = self.check(now).1;
        for (i, e) in errors.iter_mut().enumerate() {
            if !self.submitted && !self.touched[i] {
                *e = None;
            }
        }
        errors
    }

    /// What the entropy field makes, e.g. `= 256 bits, 43 characters`, when the format and
    /// the number are readable.
    pub fn secret_summary(&self) -> Option<String> {
        let spec = self.secret_spec().ok()?;
        Some(format!(
            "= {:.0} bits, {} characters",
            spec.entropy_bits().floor(),
            spec.char_len()
        ))
    }

    /// The secret's encoding and length, as `keytui create --format F --bytes N` makes it.
    fn secret_spec(&self) -> Result<Spec, (usize, String)> {
        let encoding: Encoding = self
            .value(field::FORMAT)
            .parse()
            .map_err(|e| (field::FORMAT, format!("{e}")))?;
        if encoding == Encoding::Uuid {
            return Err((
                field::FORMAT,
                "uuid is for ids only; secrets: base62, hex, base64url, alphanumeric".into(),
            ));
        }
        let bytes: usize = self
            .value(field::BYTES)
            .parse()
            .map_err(|_| (field::BYTES, BYTES_HINT.to_owned()))?;
        Ok(Spec {
            encoding,
            length: Length::Bytes(bytes),
        })
    }

    /// The create request, and what is wrong with each field (the request only when
    /// nothing is): the rules of `keytui create` and the store.
    pub fn check(&self, now: UnixMs) -> (Option<CreateRequest>, FieldErrors) {
        let mut errors: FieldErrors = Default::default();
        let name = self.value(field::NAME);
        if name.is_empty() {
            errors[field::NAME] = Some("give the key a name".into());
        } else if name.chars().count() > 200 {
            errors[field::NAME] = Some("at most 200 characters".into());
        }
        let mut req = CreateRequest::new(name);
        match self.secret_spec() {
            Ok(spec) => {
                let bits = spec.entropy_bits();
                if spec.char_len() > crate::keygen::MAX_SECRET_CHARS {
                    errors[field::BYTES] = Some(format!(
                        "too long: {} characters, at most {}",
                        spec.char_len(),
                        crate::keygen::MAX_SECRET_CHARS
                    ));
                } else if bits < crate::keygen::MIN_SECRET_BITS {
                    errors[field::BYTES] = Some(format!(
                        "{} ({:.0} bits) is too weak: at least 16 bytes (128 bits)",
                        self.value(field::BYTES),
                        bits.floor()
                    ));
                }
                req.secret_spec = spec;
            }
            Err((i, e)) => errors[i] = Some(e),
        }
        // A wrong format leaves the number unchecked: check it on its own too.
        if errors[field::FORMAT].is_some() {
            errors[field::BYTES] = match self.value(field::BYTES).parse::<usize>() {
                Ok(n) if n >= 16 => None,
                Ok(n) => Some(format!("{n} is too weak: at least 16 bytes (128 bits)")),
                Err(_) => Some(BYTES_HINT.into()),
            };
        }
        let prefix = self.value(field::PREFIX);
        if !prefix.is_empty() {
            match crate::keygen::validate_prefix(prefix) {
                Ok(()) => req.prefix = Some(prefix.to_owned()),
                Err(crate::keygen::KeygenError::InvalidPrefix(why)) => {
                    errors[field::PREFIX] = Some(why.to_owned())
                }
                Err(e) => errors[field::PREFIX] = Some(e.to_string()),
            }
        }
        let expires = self.value(field::EXPIRES);
        if !expires.is_empty() {
            match crate::input::parse_expiry_at(expires, now) {
                Ok(t) if t <= now => errors[field::EXPIRES] = Some("that is in the past".into()),
                Ok(t) => req.expires_at = Some(t),
                Err(e) => errors[field::EXPIRES] = Some(e),
            }
        }
        match crate::input::parse_meta_line(self.value(field::META)) {
            Ok(meta) => req.meta = meta,
            Err(e) => errors[field::META] = Some(e),
        }
        let ok = errors.iter().all(Option::is_none);
        (ok.then_some(req), errors)
    }

    /// Turns the form into a create request, or says what is wrong (the first field).
    pub fn to_request(&self, now: UnixMs) -> Result<CreateRequest, String> {
        let (req, errors) = self.check(now);
        req.ok_or_else(|| {
            errors
                .iter()
                .zip(FORM_FIELDS)
                .find_map(|(e, (label, _))| {
                    e.as_ref().map(|e| format!("{}: {e}", label.to_lowercase()))
                })
                .unwrap_or_default()
        })
    }
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

/// The `?` help: it scrolls through the key table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelpView {
    /// The first line shown (the view keeps the last page full).
    pub scroll: usize,
    /// The detail view it was opened from, to go back to; else the table.
    pub back_to: Option<String>,
}

/// What fills the screen (the table is under every popup).
#[derive(Clone, Debug)]
pub enum Screen {
    Table,
    Detail {
        id: String,
    },
    Help(HelpView),
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
    /// Older records loaded in the background, and how many records of that stretch of
    /// the index were malformed (skipped); `done` when the index is exhausted.
    MoreRecords {
        load: u64,
        records: Vec<Row>,
        malformed: usize,
        done: bool,
    },
    /// A record was created or changed (from the change feed or our own command).
    RecordChanged(Box<KeyRecord>),
    /// A record is gone.
    RecordGone { id: String },
    /// The loaded rows may be wrong (see [`Gap`]): mark them stale and reload.
    Resync(Gap),
    /// A record changed into something that cannot be read: drop its row, count it.
    RecordMalformed { id: String },
    /// A key was created (or rotated): show its secret once.
    Created {
        created: Box<Created>,
        rotated_from: Option<String>,
    },
    /// A command finished; say so.
    Done(String),
    /// A command failed; say why.
    Failed(String),
    /// Creating a key failed: the form, if still open, says why and stays as it was.
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
    /// The earliest expiry after `now` among the loaded active keys (as of the last
    /// recount): the header counts and the status filters change then.
    next_expiry: Option<UnixMs>,
    /// Indices into `records` shown in the table, in order.
    pub visible: Vec<usize>,
    /// Index into `visible`.
    pub selected: usize,
    /// First row of `visible` on screen.
    pub scroll: usize,
    pub status_filter: StatusFilter,
    pub filter: Filter,
    pub screen: Screen,
    pub detail_events: KeyHistory,
    /// A reload asked for and not answered yet.
    pub reloading: Option<ReloadCause>,
    /// The rows may not match Redis (a [`Gap`]) until the reload answers: never "live".
    pub stale: bool,
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
            next_expiry: None,
            visible: Vec::new(),
            selected: 0,
            scroll: 0,
            status_filter: StatusFilter::All,
            filter: Filter::default(),
            screen: Screen::Table,
            detail_events: KeyHistory::Loading,
            reloading: None,
            stale: false,
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

    /// The key an action is about: the one the detail view shows, else the one under
    /// the cursor (they differ when the shown key left the filtered table meanwhile).
    pub fn target_record(&self) -> Option<&Row> {
        match &self.screen {
            Screen::Detail { id } => self.record(id),
            _ => self.selected_record(),
        }
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

    /// Recounts by status (records changed, or time passed and keys expired), and finds
    /// the next key to expire.
    fn recount(&mut self) {
        let mut c = (0, 0, 0);
        let mut next: Option<UnixMs> = None;
        for r in self.records.iter() {
            match r.status_at(self.now) {
                Status::Active => {
                    c.0 += 1;
                    if let Some(e) = r.expires_at {
                        next = Some(next.map_or(e, |n| n.min(e)));
                    }
                }
                Status::Revoked => c.1 += 1,
                Status::Expired => c.2 += 1,
            }
        }
        self.counts = c;
        self.next_expiry = next;
    }

    /// When the next tick is due: the next moment something on screen changes with time
    /// alone (the clipboard countdown, a key's countdown or age, a key expiring anywhere,
    /// which changes the counts), or `None` when nothing does.
    pub fn next_tick(&self) -> Option<Duration> {
        let mut next = view::next_change(self);
        let mut at = |t: UnixMs| next = Some(next.map_or(t, |n: UnixMs| n.min(t)));
        if let Some(clip) = &self.clip {
            let left = (clip.deadline - self.now).max(0);
            let to_next_second = match left % 1000 {
                0 => 1000,
                r => r,
            };
            at(self.now + to_next_second.min(left.max(1)));
        }
        if let Some(e) = self.next_expiry {
            at(e);
        }
        next.map(|t| Duration::from_millis((t - self.now).max(1) as u64))
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
            let counts = state.counts;
            state.recount();
            let mut cmds = Vec::new();
            if let Some(clip) = &state.clip
                && state.now >= clip.deadline
            {
                state.clip = None;
                cmds.push(Command::ClearClipboard);
            }
            // A key expired: a status filter shows other rows now.
            if state.counts != counts && state.status_filter != StatusFilter::All {
                let selected_id = state.selected_record().map(|r| r.id().to_owned());
                cmds.extend(state.records_changed());
                state.reselect(selected_id.as_deref());
            }
            cmds
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
            // The detail view could not read its events while Redis was away: ask again.
            if c == ConnState::Live
                && let (Screen::Detail { id }, KeyHistory::Unreadable(_)) =
                    (&state.screen, &state.detail_events)
            {
                let id = id.clone();
                state.detail_events = KeyHistory::Loading;
                return vec![Command::LoadDetail { id }];
            }
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
            state.stale = false;
            match state.reloading.take() {
                Some(ReloadCause::User) => state.say(format!("reloaded: {total} keys")),
                Some(ReloadCause::Gap(g)) => state.say(format!("{}: reloaded", gap_text(&g))),
                None => {}
            }
            let cmds = state.refresh_visible();
            state.reselect(selected_id.as_deref());
            cmds
        }
        Action::MoreRecords {
            load,
            records,
            malformed,
            done,
        } => {
            if load != state.load {
                return Vec::new();
            }
            state.malformed += malformed;
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
        Action::Resync(g) => {
            state.complain(format!("{}: reloading…", gap_text(&g)));
            state.stale = true;
            state.loading = Loading::FirstPage;
            state.reloading = Some(ReloadCause::Gap(g));
            vec![Command::Reload]
        }
        Action::RecordMalformed { id } => {
            state.malformed += 1;
            state.remove(&id)
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
        Action::CreateFailed(text) => {
            if let Screen::NewKey(form) = &mut state.screen {
                form.creating = false;
                form.error = Some(text.clone());
            }
            state.complain(text);
            Vec::new()
        }
        Action::DetailEvents { id, events } => {
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.detail_events = KeyHistory::Loaded(events);
            }
            Vec::new()
        }
        Action::DetailEventsFailed { id, error } => {
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.detail_events = KeyHistory::Unreadable(error);
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
                // The clipboard holds this now, not the secret counted down before (the
                // clipboard thread has forgotten that one too).
                if via == ClipboardVia::System {
                    state.clip = None;
                }
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

/// What a [`Gap`] means, for the status line.
fn gap_text(g: &Gap) -> String {
    match g {
        Gap::Trimmed => "missed changes while away (the change feed was trimmed)".into(),
        Gap::Restarted { empty: true } => "Redis restarted empty".into(),
        Gap::Restarted { empty: false } => {
            "Redis restarted from older data (recent changes are gone)".into()
        }
        Gap::FeedLost => "the change feed lost the changes seen (flushed or replaced)".into(),
        Gap::ReadFailed { id } => {
            format!("cannot re-read changed key {}", crate::sanitize::line(id))
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
            match state.keymap.lookup_in(Context::Table, &key) {
                Some(a) => on_table_action(state, a),
                None => Vec::new(),
            }
        }
        Screen::Help(view) => on_help_key(state, view, key),
        Screen::Detail { id } => match state.keymap.lookup_in(Context::Detail, &key) {
            Some(KeyAction::Back | KeyAction::Quit | KeyAction::Details) => {
                state.detail_events = KeyHistory::Loading;
                Vec::new()
            }
            Some(KeyAction::Help) => {
                state.screen = Screen::Help(HelpView {
                    scroll: 0,
                    back_to: Some(id),
                });
                Vec::new()
            }
            Some(a) => {
                state.screen = Screen::Detail { id };
                on_table_action(state, a)
            }
            None => {
                state.screen = Screen::Detail { id };
                Vec::new()
            }
        },
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
    let grace = crate::input::parse_duration(d.grace.value().trim())
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
        Screen::Detail { .. } | Screen::Help(_) | Screen::Reveal(_) => false,
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
                state.detail_events = KeyHistory::Loading;
                state.screen = Screen::Detail { id: id.clone() };
                return vec![Command::LoadDetail { id }];
            }
        }
        KeyAction::CopyId => {
            if let Some(r) = state.target_record().cloned() {
                return vec![Command::Copy {
                    text: Secret::new(r.id().to_owned()),
                    what: id_what(r.id(), r.name()),
                    secret: false,
                }];
            }
        }
        KeyAction::CopySecret => {
            if let Some(r) = state.target_record().cloned() {
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
            if let Some(r) = state.target_record().cloned() {
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
            if let Some(r) = state.target_record().cloned() {
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
            if let Some(r) = state.target_record().cloned()
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
            if let Some(r) = state.target_record().cloned() {
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
                state.loading = Loading::FirstPage;
                state.reloading = Some(ReloadCause::User);
                return vec![Command::Reload];
            }
        }
        KeyAction::Help => state.screen = Screen::Help(HelpView::default()),
        KeyAction::Back => {
            if !state.filter.query().is_empty() {
                state.filter.input.reset();
                return state.refresh_visible();
            }
        }
        // Only in the reveal view, which has its own handler.
        KeyAction::CopyToken => {}
        KeyAction::Quit => return update(state, Action::Quit),
    }
    Vec::new()
}

fn on_form_key(state: &mut State, mut form: NewKeyForm, key: KeyEvent) -> Vec<Command> {
    let n = form.fields.len();
    match key.code {
        KeyCode::Esc => {
            state.say(if form.creating {
                "form closed; the key is still being created"
            } else {
                "new key cancelled"
            });
            return Vec::new();
        }
        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % n,
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + n - 1) % n,
        KeyCode::Enter if form.creating => {}
        KeyCode::Enter => {
            form.submitted = true;
            form.error = None;
            match form.check(state.now) {
                (Some(req), _) => {
                    if !state.refuse_offline("create") {
                        form.creating = true;
                        state.say(format!("creating {}…", crate::sanitize::line(&req.name)));
                        state.screen = Screen::NewKey(form);
                        return vec![Command::Create(Box::new(req))];
                    }
                }
                (None, errors) => {
                    // The cursor goes to the first field that is wrong.
                    if let Some(i) = errors.iter().position(Option::is_some) {
                        form.focus = i;
                    }
                }
            }
        }
        _ if form.creating => {}
        _ => {
            if let Some(input) = form.fields.get_mut(form.focus) {
                let before = input.value().to_owned();
                input.handle_event(&crossterm::event::Event::Key(key));
                if input.value() != before {
                    form.touched[form.focus] = true;
                    form.error = None;
                }
            }
        }
    }
    state.screen = Screen::NewKey(form);
    Vec::new()
}

/// The help: the move keys of the key table scroll it; back, quit and help close it
/// (back to the details when it was opened there).
fn on_help_key(state: &mut State, mut view: HelpView, key: KeyEvent) -> Vec<Command> {
    let (total, rows) = view::help::extent(state);
    let last = total.saturating_sub(rows);
    let page = rows.max(1);
    let first = view::help::first_line(state, &view);
    view.scroll = match state.keymap.lookup_in(Context::Help, &key) {
        Some(KeyAction::Up) => first.saturating_sub(1),
        Some(KeyAction::Down) => (first + 1).min(last),
        Some(KeyAction::PageUp) => first.saturating_sub(page),
        Some(KeyAction::PageDown) => (first + page).min(last),
        Some(KeyAction::Top) => 0,
        // Sticks to the end whatever the size (the view keeps the last page full).
        Some(KeyAction::Bottom) => usize::MAX,
        Some(_) => {
            return match view.back_to {
                Some(id) => {
                    state.screen = Screen::Detail { id: id.clone() };
                    vec![Command::LoadDetail { id }]
                }
                None => Vec::new(),
            };
        }
        None => first,
    };
    state.screen = Screen::Help(view);
    Vec::new()
}

fn on_reveal_key(state: &mut State, reveal: Reveal, key: KeyEvent) -> Vec<Command> {
    let c = &reveal.created;
    let copy = match state.keymap.lookup_in(Context::Reveal, &key) {
        Some(KeyAction::Back | KeyAction::Quit | KeyAction::Details) => {
            // Dropping `reveal` here zeroes the secret.
            state.say("the secret is gone from keytui; it is not shown again");
            return Vec::new();
        }
        Some(KeyAction::CopySecret) => Some((c.secret.clone(), secret_what(&c.record.name), true)),
        Some(KeyAction::CopyId) => Some((
            Secret::new(c.record.id.clone()),
            id_what(&c.record.id, &c.record.name),
            false,
        )),
        Some(KeyAction::CopyToken) => Some((c.token.clone(), token_what(&c.record.name), true)),
        _ => None,
    };
    state.screen = Screen::Reveal(reveal);
    match copy {
        Some((text, what, secret)) => vec![Command::Copy { text, what, secret }],
        None => Vec::new(),
    }
}

/// What a copy of a key's id is called in messages: the id itself (it is public) and
/// the key's name.
fn id_what(id: &str, name: &str) -> String {
    format!(
        "the id {} of {}",
        crate::sanitize::line(id),
        crate::sanitize::line(name)
    )
}

/// What a copy of a key's secret is called in messages.
pub fn secret_what(name: &str) -> String {
    format!("the secret of {}", crate::sanitize::line(name))
}

/// What a copy of a key's whole token (prefix, id, secret, checksum) is called.
fn token_what(name: &str) -> String {
    format!("the token of {}", crate::sanitize::line(name))
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
