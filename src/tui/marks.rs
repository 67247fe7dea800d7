//! Marking rows and acting on them at once, and the attention views. A child of `state`:
//! the marks are a set of id fingerprints (marking every one of a million rows copies no
//! row), kept across reloads, live changes and filtering; a key that is gone drops out.
//! A view narrows the visible rows like the status filter does. This opens the bulk
//! dialog with the marked keys (or the selected one) and words its outcome; no I/O.

use super::*;
use crate::store::BulkOutcome;
use crate::tui::msg::BulkOp;
use crate::tui::screens::bulk::PREVIEW_NAMES;

impl State {
    /// Whether the row is marked.
    pub fn is_marked(&self, r: &Row) -> bool {
        !self.marks.is_empty() && self.marks.contains(&fingerprint(r.id()))
    }

    /// How many keys are marked.
    pub fn marked(&self) -> usize {
        self.marks.len()
    }

    /// Drops the marks of keys no longer loaded (after a reload).
    pub(super) fn prune_marks(&mut self) {
        let (ids, records) = (&self.ids, &self.records);
        self.marks.retain(|&f| ids.has_fingerprint(records, f));
    }

    /// Marks or unmarks the row under the cursor and moves down.
    pub(super) fn toggle_mark(&mut self) {
        let Some(f) = self.selected_record().map(|r| fingerprint(r.id())) else {
            return;
        };
        if !self.marks.remove(&f) {
            self.marks.insert(f);
        }
        self.move_by(1);
    }

    /// Marks every visible row (the filter, the status filter and the view).
    pub(super) fn mark_all(&mut self) {
        let records = &self.records;
        self.marks.extend(
            self.visible
                .iter()
                .filter_map(|&i| records.get(i as usize))
                .map(|r| fingerprint(r.id())),
        );
        self.say(format!("{} marked", self.marks.len()));
    }

    /// Clears the marks; false when there were none.
    pub(super) fn clear_marks(&mut self) -> bool {
        if self.marks.is_empty() {
            return false;
        }
        self.marks.clear();
        self.say("marks cleared");
        true
    }

    /// Keeps only the visible rows the view admits (after a filter run).
    pub(super) fn keep_in_view(&mut self) {
        if let Some(v) = &self.attention {
            let (records, now) = (&self.records, self.now);
            self.visible
                .retain(|&i| records.get(i as usize).is_some_and(|r| v.admits(r, now)));
        }
    }

    /// Shows an attention view (`None`: every key).
    pub(super) fn set_view(&mut self, view: Option<View>) -> Vec<Out> {
        match &view {
            Some(v) => self.say(format!("showing keys {}", v.label())),
            None => self.say("showing every key"),
        }
        self.attention = view;
        // The previous matches were narrowed by the old view.
        self.filter.base = None;
        let selected = self.selected_record().map(|r| r.id().to_owned());
        let cmds = self.refresh_visible();
        self.reselect(selected.as_deref());
        cmds
    }

    /// Opens the bulk dialog for the marked keys, or the selected one when none is.
    pub(super) fn open_bulk(&mut self, kind: BulkKind) {
        if self.refuse_offline(kind.verb()) {
            return;
        }
        let applies = |r: &Row| match kind {
            BulkKind::Revoke => !r.revoked(),
            BulkKind::Restore => r.revoked(),
            BulkKind::Extend => r.expires_at().is_some(),
            BulkKind::Delete => true,
        };
        let (mut ids, mut names, mut skipped, mut skipped_names) =
            (Vec::new(), Vec::new(), 0, Vec::new());
        let mut take = |r: &Row| {
            if applies(r) {
                ids.push(r.id().to_owned());
                if names.len() < PREVIEW_NAMES {
                    names.push(r.name().to_owned());
                }
            } else {
                skipped += 1;
                if skipped_names.len() < 2 {
                    skipped_names.push(r.name().to_owned());
                }
            }
        };
        if self.marks.is_empty() {
            match self.selected_record() {
                Some(r) => take(r),
                None => return,
            }
        } else {
            for r in self.records.iter().filter(|r| self.is_marked(r)) {
                take(r);
            }
        }
        if ids.is_empty() {
            let n = skipped;
            let why = kind.skip_reason();
            self.say(format!("nothing to {}: {n} marked, all {why}", kind.verb()));
            return;
        }
        self.screen = Screen::ConfirmBulk(BulkDialog::new(
            kind,
            ids,
            names,
            skipped,
            skipped_names,
            self.server.production,
        ));
    }

    /// Words a bulk change's outcome (what it did, what it skipped and why) and clears
    /// the marks.
    pub(super) fn bulk_done(&mut self, op: &BulkOp, asked: usize, o: &BulkOutcome) {
        let (done, unchanged) = match op {
            BulkOp::Revoke { .. } => ("revoked", "already revoked meanwhile"),
            BulkOp::Restore => ("restored", "active meanwhile"),
            BulkOp::Delete => ("deleted", ""),
            BulkOp::Extend { .. } => ("extended", "without an expiry meanwhile"),
        };
        let mut text = format!("{done} {} of {asked} keys", o.done);
        let mut skipped = Vec::new();
        if o.unchanged > 0 {
            skipped.push(format!("{} {unchanged}", o.unchanged));
        }
        let ids = |v: &[String]| {
            let mut s: Vec<String> = v.iter().take(3).map(|i| crate::sanitize::line(i)).collect();
            if v.len() > 3 {
                s.push("…".into());
            }
            s.join(", ")
        };
        if !o.missing.is_empty() {
            skipped.push(format!(
                "{} deleted elsewhere ({})",
                o.missing.len(),
                ids(&o.missing)
            ));
        }
        if !o.malformed.is_empty() {
            skipped.push(format!(
                "{} unreadable, left alone ({})",
                o.malformed.len(),
                ids(&o.malformed)
            ));
        }
        if !skipped.is_empty() {
            text.push_str("; skipped: ");
            text.push_str(&skipped.join(", "));
        }
        self.marks.clear();
        if o.missing.is_empty() && o.malformed.is_empty() {
            self.say(text);
        } else {
            self.complain(text);
        }
    }
}
