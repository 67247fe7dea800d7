//! The whole UI state (the loaded rows, the filter, the open screen, the status line) and
//! the one function that changes it: `update(&mut State, Msg)` (update.rs, a child, as are
//! records.rs and the table's keys, screens/table_keys.rs).
//!
//! `update` is synchronous: no I/O, no await, no clock (the caller sets `State::now`). It
//! returns [`Out`]s that the event loop hands to the sync task, the clipboard thread or
//! the filter worker; their answers come back as more `Msg`s. Nothing here draws; the
//! popups' own state lives in their `Screen` value (screens/*), never copied out.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use ratatui::layout::Rect;
use tui_input::Input;

use crate::record::{KeyRecord, Status, UnixMs};
use crate::store::Mode;
use crate::tui::row::Interner;

use super::clock;
use super::filter::narrows;
pub use super::filter::{FilterBase, FilterJob, StatusFilter};
use super::keymap::Keymap;
use super::layout::{self, Areas};
pub use super::msg::{ClipCmd, ClipboardVia, ConnState, Gap, LeakFound, Msg, Out, SyncCmd, SyncOp};
use super::row::Row;
use super::screens::Cx;
pub use super::screens::detail_text::KeyHistory;
pub use super::screens::{
    AttentionView, BulkDialog, BulkFocus, BulkKind, DeleteDialog, EditForm, FORM_FIELDS,
    FieldErrors, GRACE_PRESETS, HelpView, NewKeyForm, ROTATE_AGAIN_WORD, Reveal, RevokeDialog,
    RevokeFocus, RotateDialog, RotateFocus, Screen, View, ViewPicker, field,
};
pub use super::status::{Message, ServerInfo};
use super::table_view::{self, TableView};

/// How long an ordinary status message stays (ms), unless configured.
pub const MESSAGE_MS: i64 = 5_000;
/// How long an error stays on the status line (ms) with the default message time: three
/// times as long; a newer message replaces it sooner.
pub const ERROR_MS: i64 = 3 * MESSAGE_MS;

/// What started a reload that has not finished yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadCause {
    /// The user asked for it.
    User,
    /// The sync task found a gap.
    Gap(Gap),
}

/// How far loading the namespace has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loading {
    FirstPage,
    More,
    Done,
}

/// A secret keytui put in the clipboard and will clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipTimer {
    pub deadline: UnixMs,
    pub what: String,
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

impl Filter {
    pub fn query(&self) -> &str {
        self.input.value()
    }
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
    /// Where each loaded id is in `records` (duplicates from background pages are dropped,
    /// changes find their row, without a pass over the rows).
    ids: IdIndex,
    /// Shares the strings many rows have in common (`created_by`, token prefixes) among
    /// the rows of one load.
    pub(super) interner: Interner,
    /// Number of keys in the index when the first page was read.
    pub total: usize,
    /// The ids of the records that exist but cannot be read (left out of the table): a set,
    /// so a record that changes again and again is counted once.
    pub malformed: HashSet<String>,
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
    pub visible: Vec<u32>,
    /// Index into `visible`.
    pub selected: usize,
    /// First row of `visible` on screen.
    pub scroll: usize,
    pub status_filter: StatusFilter,
    pub filter: Filter,
    pub screen: Screen,
    pub detail_events: KeyHistory,
    /// The first line of the detail view shown (kept so that its last page stays full,
    /// see [`State::detail_first_line`]).
    pub detail_scroll: usize,
    /// A reload asked for and not answered yet.
    pub reloading: Option<ReloadCause>,
    /// The rows may not match Redis (a [`Gap`]) until the reload answers: never "live".
    pub stale: bool,
    pub message: Option<Message>,
    /// When the status line's message goes away (set by [`State::show`]; a message set
    /// directly stays until replaced).
    pub message_until: Option<UnixMs>,
    /// How long an ordinary message stays (ms; `message_secs` in the config file); an
    /// error three times as long.
    pub message_ms: i64,
    pub clip: Option<ClipTimer>,
    pub keymap: Keymap,
    /// The columns and the sort order of the table.
    pub view: TableView,
    /// The `:` command line, while it is open.
    pub command: Option<Input>,
    pub clear_secs: u64,
    pub quit: bool,
    /// Record changes that arrived while a filter run still shared the records: applied
    /// when the last run lets go (never a copy of up to a million rows on the UI thread).
    held: Vec<Held>,
    /// A pasted token's lookup answer that came while changes were held (its key's record
    /// may be one of them): applied right after them (table_paste.rs).
    leak_waiting: Option<(String, LeakFound)>,
    /// The marked keys, by id fingerprint (marks.rs): they outlive reloads, live changes
    /// and filtering; a key that is gone drops out.
    marks: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
    /// The attention view shown (with the status filter and the fuzzy filter), if any.
    pub attention: Option<View>,
    /// The picker's starting numbers of days (config `unused_days`, `expiring_days`).
    pub unused_days: u64,
    pub expiring_days: u64,
}

impl State {
    pub fn new(server: ServerInfo, keymap: Keymap, clear_secs: u64, now: UnixMs) -> Self {
        State {
            now,
            area: Rect::new(0, 0, 80, 24),
            conn: ConnState::Live,
            server,
            records: Arc::new(Vec::new()),
            ids: IdIndex::default(),
            interner: Interner::default(),
            total: 0,
            malformed: HashSet::new(),
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
            detail_scroll: 0,
            reloading: None,
            stale: false,
            message: None,
            message_until: None,
            message_ms: MESSAGE_MS,
            clip: None,
            keymap,
            view: TableView::default(),
            command: None,
            clear_secs,
            quit: false,
            held: Vec::new(),
            leak_waiting: None,
            marks: HashSet::default(),
            attention: None,
            unused_days: super::screens::views::DEFAULT_UNUSED_DAYS,
            expiring_days: super::screens::views::DEFAULT_EXPIRING_DAYS,
        }
    }

    /// The record under the cursor.
    pub fn selected_record(&self) -> Option<&Row> {
        self.visible
            .get(self.selected)
            .and_then(|&i| self.records.get(i as usize))
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
        self.ids.find(&self.records, id).map(|i| &self.records[i])
    }

    /// Whether a record with this id is loaded.
    fn has_id(&self, id: &str) -> bool {
        self.ids.find(&self.records, id).is_some()
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
                    if let Some(e) = r.expires_at() {
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
        let mut next = self.next_change();
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
        if let Some(t) = self.message_until.filter(|_| self.message.is_some()) {
            at(t);
        }
        next.map(|t| Duration::from_millis((t - self.now).max(1) as u64))
    }

    /// Whether the namespace needs the warning banner: production, or secrets in the clear.
    pub fn wants_banner(&self) -> bool {
        self.server.production || self.server.mode == Some(Mode::Plain)
    }

    /// The layout for this state (with a banner line when the namespace needs one).
    pub fn areas(&self) -> Areas {
        layout::layout_with(self.area, self.wants_banner())
    }

    /// The records in the table's rows on screen, top to bottom.
    pub fn rows_on_screen(&self) -> impl Iterator<Item = &Row> + '_ {
        self.visible
            .iter()
            .skip(self.scroll)
            .take(self.table_rows())
            .filter_map(|&i| self.records.get(i as usize))
    }

    /// The next moment something drawn from this state changes with time alone (a
    /// countdown, an age, a key expiring in a row on screen), if anything does. The
    /// clipboard countdown and keys expiring off screen are [`State::next_tick`]'s part.
    fn next_change(&self) -> Option<UnixMs> {
        let now = self.now;
        let mut next: Option<UnixMs> = None;
        let mut at = |t: Option<UnixMs>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        match &self.screen {
            Screen::Detail { id } => {
                if let Some(r) = self.record(id) {
                    clock::record_changes(r, now).into_iter().for_each(&mut at);
                }
            }
            _ => {
                for r in self.rows_on_screen() {
                    clock::row_changes(r, now).into_iter().for_each(&mut at);
                }
                if self.areas().side.width > 0
                    && let Some(r) = self.selected_record()
                {
                    clock::record_changes(r, now).into_iter().for_each(&mut at);
                }
            }
        }
        next
    }

    /// The number of lines of the help and how many of them fit on screen.
    pub fn help_extent(&self) -> (usize, usize) {
        HelpView::extent(&self.keymap, self.area)
    }

    /// The first line of the help to show: its `scroll`, kept so that the last page stays
    /// full.
    pub fn help_first_line(&self, view: &HelpView) -> usize {
        view.first_line(&self.keymap, self.area)
    }

    /// The lines of the detail view of key `id` (its fields and its history).
    pub fn detail_lines(&self, id: &str) -> Vec<ratatui::text::Line<'static>> {
        super::screens::detail_text::lines(id, self.record(id), Some(&self.detail_events), self.now)
    }

    /// The number of lines of the open detail view and how many of them fit on screen.
    pub fn detail_extent(&self) -> (usize, usize) {
        let total = match &self.screen {
            Screen::Detail { id } => self.detail_lines(id).len(),
            _ => 0,
        };
        let a = self.areas();
        let rows = (a.table_head.height + a.table_body.height).saturating_sub(1);
        (total, rows as usize)
    }

    /// The first line of the detail view to show: `detail_scroll`, kept so that the last
    /// page stays full.
    pub fn detail_first_line(&self) -> usize {
        let (total, rows) = self.detail_extent();
        self.detail_scroll.min(total.saturating_sub(rows))
    }

    /// What a popup's key handler and drawing may read.
    pub fn cx(&self) -> Cx<'_> {
        Cx {
            keymap: &self.keymap,
            server: &self.server,
            conn: self.conn,
            now: self.now,
            area: self.area,
        }
    }

    /// Puts a message on the status line, replacing the one there; it goes away after
    /// `message_ms` (three times that for an error), on the tick then.
    pub fn show(&mut self, m: Message) {
        let ms = if m.error {
            self.message_ms.saturating_mul(3)
        } else {
            self.message_ms
        };
        self.message_until = Some(self.now.saturating_add(ms));
        self.message = Some(m);
    }

    fn say(&mut self, text: impl Into<String>) {
        self.show(Message {
            text: text.into(),
            error: false,
        });
    }

    fn complain(&mut self, text: impl Into<String>) {
        self.show(Message {
            text: text.into(),
            error: true,
        });
    }

    /// Drops the status line's message once its time is up.
    fn expire_message(&mut self) {
        if self.message_until.is_some_and(|t| self.now >= t) {
            self.message = None;
            self.message_until = None;
        }
    }

    fn table_rows(&self) -> usize {
        self.areas().table_body.height as usize
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

#[path = "records.rs"]
mod records;
use records::{Held, IdentityHasher, fingerprint};

#[path = "id_index.rs"]
mod id_index;
use id_index::IdIndex;

#[path = "update.rs"]
mod update;

#[path = "command.rs"]
pub(crate) mod command;
#[path = "marks.rs"]
mod marks;

#[path = "screens/table_keys.rs"]
pub(crate) mod table_keys;

#[path = "screens/table_paste.rs"]
mod table_paste;
pub use super::screens::reveal::secret_what;
pub use update::update;

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "state_guard_tests.rs"]
mod guard_tests;

#[cfg(test)]
#[path = "state_daily_tests.rs"]
mod daily_tests;

#[cfg(test)]
#[path = "state_marks_tests.rs"]
mod marks_tests;
