//! How the loaded records change: inserts, replacements and removals from the change
//! feed, background pages appended, and the visible rows recomputed (at once without a
//! query, else by the filter worker) and put in the chosen sort order (which is kept in
//! the config file through an [`Out`]), and everything dropped to start over on another
//! namespace. A child of `state`: it keeps `records`, `ids`,
//! `visible`, `structure` and `revision` consistent. It must not copy the records while a
//! filter run shares them (such changes wait in `held`), and it does no I/O.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;

/// A change to the records kept until no filter run shares them.
#[derive(Debug)]
pub(super) enum Held {
    Changed(Box<KeyRecord>),
    Gone(String),
    Appended { load: u64, rows: Vec<Row> },
}

impl State {
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
            let (now, sf, view) = (self.now, self.status_filter, self.attention.as_ref());
            self.visible = self
                .records
                .iter()
                .enumerate()
                .filter(|(_, r)| sf.admits(r.status_at(now)))
                .filter(|(_, r)| view.is_none_or(|v| v.admits(r, now)))
                .map(|(i, _)| i as u32)
                .collect();
            self.order_visible();
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
                    && narrows(&b.query, self.filter.query())
                    // Everything matched: narrowing would only copy every index.
                    && self.visible.len() < b.len;
                narrower.then(|| {
                    Arc::new(FilterBase {
                        matches: self.visible.clone(),
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
    pub(super) fn records_changed(&mut self) -> Vec<Out> {
        #[cfg(test)]
        self.ids.assert_matches(&self.records);
        if !self.filter.query().is_empty() && self.filter.pending {
            self.recount();
            self.filter.rerun = true;
            return Vec::new();
        }
        self.refresh_visible()
    }

    /// Inserts or replaces a record, keeping newest-first order and the visible indices valid.
    pub(super) fn upsert(&mut self, r: KeyRecord) -> Vec<Out> {
        if self.records_shared() {
            self.held.push(Held::Changed(Box::new(r)));
            return Vec::new();
        }
        let r = Row::from(r);
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        self.revision += 1;
        self.filter.base = None;
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        if let Some(pos) = self.ids.find(records, r.id()) {
            records[pos] = r;
        } else {
            let pos = records
                .iter()
                .position(|x| x.created_at < r.created_at)
                .unwrap_or(records.len());
            records.insert(pos, r);
            let at = pos as u32;
            self.ids.remap(|i| Some(if i >= at { i + 1 } else { i }));
            self.ids.insert(records, pos);
            self.structure += 1;
            for v in &mut self.visible {
                if *v as usize >= pos {
                    *v += 1;
                }
            }
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    /// [`State::upsert`] for a batch of the change feed, in one pass over the rows (a bulk
    /// change elsewhere sends thousands; one pass each would be quadratic).
    pub(super) fn upsert_many(&mut self, batch: Vec<KeyRecord>) -> Vec<Out> {
        if self.records_shared() {
            self.held
                .extend(batch.into_iter().map(|r| Held::Changed(Box::new(r))));
            return Vec::new();
        }
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        self.revision += 1;
        self.filter.base = None;
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        // Known keys change in place; new ones (each once) are merged in below.
        let mut fresh: Vec<Row> = Vec::new();
        for r in batch {
            let r = Row::from(r);
            if let Some(pos) = self.ids.find(records, r.id()) {
                records[pos] = r;
            } else if let Some(f) = fresh.iter_mut().find(|f| f.id() == r.id()) {
                *f = r;
            } else {
                fresh.push(r);
            }
        }
        if !fresh.is_empty() {
            // Merge the new rows in, newest first, and move the visible indices and the
            // id index with them.
            fresh.sort_by_key(|r| std::cmp::Reverse(r.created_at));
            let old = std::mem::take(records);
            records.reserve_exact(old.len() + fresh.len());
            let mut moved: Vec<u32> = Vec::with_capacity(old.len());
            let mut added: Vec<usize> = Vec::with_capacity(fresh.len());
            let mut fresh = fresh.into_iter().peekable();
            for r in old {
                while let Some(f) = fresh.next_if(|f| f.created_at > r.created_at) {
                    added.push(records.len());
                    records.push(f);
                }
                moved.push(records.len() as u32);
                records.push(r);
            }
            for f in fresh {
                added.push(records.len());
                records.push(f);
            }
            for v in &mut self.visible {
                *v = moved[*v as usize];
            }
            self.ids.remap(|i| moved.get(i as usize).copied());
            for i in added {
                self.ids.insert(records, i);
            }
            self.structure += 1;
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    /// [`State::remove`] for a batch of the change feed, in one pass over the rows.
    pub(super) fn remove_many(&mut self, gone: &[String]) -> Vec<Out> {
        if self.records_shared() {
            self.held.extend(gone.iter().cloned().map(Held::Gone));
            return Vec::new();
        }
        let positions: HashSet<usize> = gone
            .iter()
            .filter_map(|id| self.ids.find(&self.records, id))
            .collect();
        if positions.is_empty() {
            return Vec::new();
        }
        let prints: HashSet<u64> = positions
            .iter()
            .map(|&i| fingerprint(self.records[i].id()))
            .collect();
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        // Where each row moves to (`u32::MAX`: removed).
        let mut moved: Vec<u32> = Vec::with_capacity(records.len());
        let mut kept = 0;
        for i in 0..records.len() {
            if positions.contains(&i) {
                moved.push(u32::MAX);
            } else {
                moved.push(kept);
                kept += 1;
            }
        }
        self.ids
            .remap(|i| moved.get(i as usize).copied().filter(|&m| m != u32::MAX));
        let mut i = 0;
        records.retain(|_| {
            i += 1;
            moved[i - 1] != u32::MAX
        });
        self.visible = self
            .visible
            .iter()
            .map(|&v| moved[v as usize])
            .filter(|&v| v != u32::MAX)
            .collect();
        self.structure += 1;
        self.filter.base = None;
        for p in &prints {
            self.marks.remove(p);
        }
        if self
            .screen
            .dialog_key()
            .is_some_and(|id| prints.contains(&fingerprint(id)))
        {
            self.screen = Screen::Table;
            self.say("that key was deleted meanwhile");
        }
        let cmds = self.records_changed();
        self.reselect(selected_id.as_deref());
        cmds
    }

    pub(super) fn remove(&mut self, id: &str) -> Vec<Out> {
        if self.records_shared() {
            self.held.push(Held::Gone(id.to_owned()));
            return Vec::new();
        }
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        let Some(pos) = self.ids.find(&self.records, id) else {
            return Vec::new();
        };
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        self.ids.remove(records, pos);
        records.remove(pos);
        let at = pos as u32;
        self.ids.remap(|i| Some(if i > at { i - 1 } else { i }));
        self.structure += 1;
        self.filter.base = None;
        self.marks.remove(&fingerprint(id));
        self.visible.retain(|&v| v as usize != pos);
        for v in &mut self.visible {
            if *v as usize > pos {
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
    pub(super) fn records_shared(&self) -> bool {
        Arc::strong_count(&self.records) > 1 || Arc::weak_count(&self.records) > 0
    }

    /// Applies the changes held while a filter run shared the records, once none does.
    pub(super) fn release_held(&mut self) -> Vec<Out> {
        if self.held.is_empty() || self.records_shared() {
            return Vec::new();
        }
        let mut cmds = Vec::new();
        // A run of changes (or of deletions) in one pass over the rows, not one pass each:
        // a bulk change elsewhere during a filter run holds hundreds.
        let mut held = std::mem::take(&mut self.held).into_iter().peekable();
        while let Some(h) = held.next() {
            cmds.extend(match h {
                Held::Changed(r) => {
                    let mut batch = vec![*r];
                    while let Some(Held::Changed(r)) =
                        held.next_if(|h| matches!(h, Held::Changed(_)))
                    {
                        batch.push(*r);
                    }
                    self.upsert_many(batch)
                }
                Held::Gone(id) => {
                    let mut gone = vec![id];
                    while let Some(Held::Gone(id)) = held.next_if(|h| matches!(h, Held::Gone(_))) {
                        gone.push(id);
                    }
                    self.remove_many(&gone)
                }
                Held::Appended { load, rows } => self.append(load, rows),
            });
        }
        if self.loading == Loading::Done {
            self.prune_marks();
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
    pub(super) fn append(&mut self, load: u64, rows: Vec<Row>) -> Vec<Out> {
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
        let (now, sf, view) = (self.now, self.status_filter, self.attention.as_ref());
        let Some(records) = Arc::get_mut(&mut self.records) else {
            return Vec::new();
        };
        let start = records.len();
        records.extend(fresh);
        for i in start..records.len() {
            self.ids.insert(records, i);
        }
        if self.filter.query().is_empty() {
            let added = (start..records.len())
                .filter(|&i| {
                    sf.admits(records[i].status_at(now))
                        && view.is_none_or(|v| v.admits(&records[i], now))
                })
                .map(|i| i as u32);
            match self.view.sort {
                // The rows so far are in order: only the page is sorted, then merged in.
                Some(sort) => {
                    let mut page: Vec<u32> = added.collect();
                    table_view::sort_indices(records, &mut page, sort, now);
                    table_view::merge_sorted(records, &mut self.visible, &page, sort, now);
                }
                None => self.visible.extend(added),
            }
            // Only the new rows are counted: recounting all of them per page would make
            // loading a million keys quadratic.
            self.count_from(start);
            self.clamp();
            Vec::new()
        } else {
            self.records_changed()
        }
    }

    /// Adds the rows from `start` on to the counts by status (as `recount` counts them, at
    /// the same `now`).
    fn count_from(&mut self, start: usize) {
        let (mut c, mut next) = (self.counts, self.next_expiry);
        for r in &self.records[start..] {
            match r.status_at(self.now) {
                Status::Active => {
                    c.0 += 1;
                    if let Some(e) = r.expires_at() {
                        next = Some(next.map_or(e, |n: UnixMs| n.min(e)));
                    }
                }
                Status::Revoked => c.1 += 1,
                Status::Expired => c.2 += 1,
            }
        }
        self.counts = c;
        self.next_expiry = next;
    }

    /// Puts the visible rows in the chosen order (when one is chosen; else they stay
    /// newest first, or best match first while filtering).
    pub(super) fn order_visible(&mut self) {
        if let Some(sort) = self.view.sort {
            table_view::sort_indices(&self.records, &mut self.visible, sort, self.now);
        }
    }

    /// Orders the table by `sort` (`None`: newest first) and keeps it in the config file.
    pub(in crate::tui) fn set_sort(&mut self, sort: Option<table_view::Sort>) -> Vec<Out> {
        self.view.sort = sort;
        let selected_id = self.selected_record().map(|r| r.id().to_owned());
        let mut outs = self.refresh_visible();
        self.reselect(selected_id.as_deref());
        match sort {
            Some(s) => self.say(format!(
                "sorted by {} {}",
                s.to_config().split(' ').next().unwrap_or(""),
                if s.descending {
                    "↓ descending"
                } else {
                    "↑ ascending"
                }
            )),
            None => self.say("newest first"),
        }
        outs.push(self.save_view());
        outs
    }

    /// The order and columns of the table, to be written to the config file.
    pub(in crate::tui) fn save_view(&self) -> Out {
        Out::SaveView {
            sort: self.view.sort.map(table_view::Sort::to_config),
            columns: self.view.columns.iter().map(|c| c.config_name()).collect(),
        }
    }

    /// Another namespace is open (a new sync task loads it): everything loaded, filtered,
    /// selected or shown of the old one goes; the header and the banner follow `server`.
    pub(super) fn start_over(&mut self, server: ServerInfo) -> Vec<Out> {
        let name = crate::sanitize::line(&server.namespace);
        self.server = server;
        self.records = Arc::new(Vec::new());
        self.ids = IdIndex::default();
        self.held.clear();
        self.leak_waiting = None;
        self.total = 0;
        self.malformed.clear();
        self.loading = Loading::FirstPage;
        self.structure += 1;
        self.revision += 1;
        self.visible.clear();
        self.selected = 0;
        self.scroll = 0;
        self.status_filter = StatusFilter::All;
        self.marks.clear();
        self.attention = None;
        self.filter.input = tui_input::Input::default();
        self.filter.editing = false;
        self.filter.base = None;
        self.screen = Screen::Table;
        self.detail_events = KeyHistory::Loading;
        self.detail_scroll = 0;
        self.reloading = None;
        self.stale = false;
        // A refusal was the old namespace's; the new sync task reports its own state.
        self.conn = ConnState::Live;
        self.say(format!("switched to namespace {name}"));
        // Drops what a filter run of the old namespace would answer (its generation is old).
        self.refresh_visible()
    }

    /// Puts the cursor back on the key it was on, when that key is still visible.
    pub(super) fn reselect(&mut self, id: Option<&str>) {
        if let Some(id) = id
            && let Some(pos) = self
                .visible
                .iter()
                .position(|&i| self.records.get(i as usize).is_some_and(|r| r.id() == id))
        {
            self.selected = pos;
        }
        self.clamp();
    }
}

/// A 64-bit fingerprint of a key id: SipHash with keys drawn once per process, so that ids
/// chosen by someone else (an import, another writer) cannot be made to collide.
pub(super) fn fingerprint(id: &str) -> u64 {
    static KEYS: std::sync::LazyLock<std::collections::hash_map::RandomState> =
        std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);
    KEYS.hash_one(id)
}

/// Fingerprints are hashes already: the set uses them as they are.
#[derive(Default)]
pub(super) struct IdentityHasher(u64);

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
