//! The whole UI state and the one function that changes it: `update(&mut State, Msg)`.
//!
//! `update` is synchronous: no I/O, no await, no clock (the caller sets `State::now`). It
//! returns [`Command`]s that the event loop hands to the sync task, the clipboard thread or
//! the filter worker; their answers come back as more `Msg`s.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ratatui::layout::Rect;
use tui_input::Input;

use crate::record::{KeyRecord, Status, UnixMs};
use crate::store::{Event, Mode};

use super::clock;
use super::filter::narrows;
pub use super::filter::{FilterBase, FilterJob, StatusFilter};
use super::keymap::Keymap;
use super::layout::{self, Areas};
pub use super::msg::{ClipCmd, ClipboardVia, ConnState, Gap, Msg, Out, SyncCmd, SyncOp};
use super::row::Row;
use super::screens::Cx;
pub use super::screens::{
    DeleteDialog, FORM_FIELDS, FieldErrors, GRACE_PRESETS, HelpView, NewKeyForm, ROTATE_AGAIN_WORD,
    Reveal, RevokeDialog, RevokeFocus, RotateDialog, RotateFocus, Screen, field,
};
pub use super::status::{Message, ServerInfo};

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
    /// Record changes that arrived while a filter run still shared the records: applied
    /// when the last run lets go (never a copy of up to a million rows on the UI thread).
    held: Vec<Held>,
}

/// A change to the records kept until no filter run shares them.
#[derive(Debug)]
enum Held {
    Changed(Box<KeyRecord>),
    Gone(String),
    Appended { load: u64, rows: Vec<Row> },
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
            held: Vec::new(),
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
            .filter_map(|&i| self.records.get(i))
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

    pub(in crate::tui) fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    pub(in crate::tui) fn complain(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }

    pub(in crate::tui) fn table_rows(&self) -> usize {
        self.areas().table_body.height as usize
    }

    /// Keeps `selected` in range and on screen.
    pub(in crate::tui) fn clamp(&mut self) {
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

    pub(in crate::tui) fn move_by(&mut self, delta: isize) {
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, self.visible.len().saturating_sub(1) as isize) as usize;
        self.clamp();
    }

    /// Recomputes the visible rows after the query or the status filter changed: at once
    /// without a query, else by the filter worker.
    pub(in crate::tui) fn refresh_visible(&mut self) -> Vec<Out> {
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
            vec![Out::Filter(FilterJob {
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
    fn records_changed(&mut self) -> Vec<Out> {
        if !self.filter.query().is_empty() && self.filter.pending {
            self.recount();
            self.filter.rerun = true;
            return Vec::new();
        }
        self.refresh_visible()
    }

    /// Inserts or replaces a record, keeping newest-first order and the visible indices valid.
    fn upsert(&mut self, r: KeyRecord) -> Vec<Out> {
        if self.records_shared() {
            self.held.push(Held::Changed(Box::new(r)));
            return Vec::new();
        }
        let r = Row::from(r);
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        self.revision += 1;
        self.filter.base = None;
        let known = self.has_id(r.id());
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
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

    fn remove(&mut self, id: &str) -> Vec<Out> {
        if self.records_shared() {
            self.held.push(Held::Gone(id.to_owned()));
            return Vec::new();
        }
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        let Some(pos) = self.records.iter().position(|x| x.id() == id) else {
            return Vec::new();
        };
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        records.remove(pos);
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
        if self.screen.dialog_key() == Some(id) {
            self.screen = Screen::Table;
            self.say("that key was deleted meanwhile");
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    /// Whether a filter run still holds the records (changing them now would copy them).
    fn records_shared(&self) -> bool {
        Arc::strong_count(&self.records) > 1 || Arc::weak_count(&self.records) > 0
    }

    /// Applies the changes held while a filter run shared the records, once none does.
    fn release_held(&mut self) -> Vec<Out> {
        if self.held.is_empty() || self.records_shared() {
            return Vec::new();
        }
        let mut cmds = Vec::new();
        for h in std::mem::take(&mut self.held) {
            cmds.extend(match h {
                Held::Changed(r) => self.upsert(*r),
                Held::Gone(id) => self.remove(&id),
                Held::Appended { load, rows } => self.append(load, rows),
            });
        }
        // Only the newest filter job matters.
        let mut jobs = cmds.iter().filter(|c| matches!(c, Out::Filter(_))).count();
        cmds.retain(|c| {
            !matches!(c, Out::Filter(_)) || {
                jobs -= 1;
                jobs == 0
            }
        });
        cmds
    }

    /// Appends a background page's records (those not loaded yet) to the end.
    fn append(&mut self, load: u64, rows: Vec<Row>) -> Vec<Out> {
        if load != self.load {
            return Vec::new();
        }
        if self.records_shared() {
            self.held.push(Held::Appended { load, rows });
            return Vec::new();
        }
        // A page may repeat a record the change feed brought in meanwhile.
        let fresh: Vec<Row> = rows.into_iter().filter(|r| !self.has_id(r.id())).collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        self.ids.extend(fresh.iter().map(|r| fingerprint(r.id())));
        let (now, sf) = (self.now, self.status_filter);
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        let start = records.len();
        records.extend(fresh);
        if self.filter.query().is_empty() {
            let added = (start..records.len()).filter(|&i| sf.admits(records[i].status_at(now)));
            self.visible.extend(added);
            self.recount();
            self.clamp();
            Vec::new()
        } else {
            self.records_changed()
        }
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

    pub(in crate::tui) fn refuse_offline(&mut self, what: &str) -> bool {
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

#[path = "update.rs"]
mod update;
pub use super::screens::reveal::secret_what;
pub use update::update;

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
