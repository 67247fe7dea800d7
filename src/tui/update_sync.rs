//! How the sync task's reports change the state: the connection, pages and live changes
//! of the rows, the outcome of what the user asked for (done, failed, created, a pasted
//! token's lookup, a bulk change), the detail view's history and namespace switches.
//! A child of `update` (called from it, for every message the sync task sends):
//! synchronous, no I/O, no drawing; it returns [`Out`]s like `update`.

use std::sync::Arc;

use super::table_paste as paste;
use super::*;
use crate::record::KeyRecord;
use crate::store::Listed;
use crate::tui::keymap::{Action, Context};
use crate::tui::screens::NamespaceList;

/// Applies one report of the sync task; other messages are `update`'s and change nothing
/// here.
pub(super) fn on_report(state: &mut State, msg: Msg) -> Vec<Out> {
    match msg {
        // A refusal is final: the follower stops, and nothing says "live" again.
        Msg::Connection(_) if state.conn == ConnState::Refused => Vec::new(),
        Msg::Refused(why) => {
            state.conn = ConnState::Refused;
            state.complain(format!("namespace refused: {why}"));
            Vec::new()
        }
        Msg::Connection(c) => {
            if c != state.conn {
                match c {
                    ConnState::Live => state.say("connection back: live"),
                    ConnState::Reconnecting => state.complain("connection lost: reconnecting…"),
                    ConnState::Offline => {
                        state.complain("Redis is unreachable: offline, still retrying")
                    }
                    ConnState::Refused => state.complain("namespace refused"),
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
                return vec![Out::Sync(SyncCmd::LoadDetail { id })];
            }
            Vec::new()
        }
        Msg::Server {
            cluster,
            mode,
            production,
        } => {
            state.server.cluster = cluster;
            state.server.mode = mode;
            state.server.production = production;
            Vec::new()
        }
        Msg::FirstPage {
            load,
            records,
            total,
            malformed,
            done,
        } => {
            let selected_id = state.selected_record().map(|r| r.id().to_owned());
            state.load = load;
            // Changes held for a filter run are older than these rows.
            state.held.clear();
            state.structure += 1;
            state.filter.base = None;
            // The rows are built here, on the UI thread, not by the loader: the loader's
            // parsing garbage then stays in its own thread's allocator arena instead of
            // being interleaved with the rows that live on (a million keys took 440 MB of
            // which 176 MB were such holes).
            state.interner = crate::tui::row::Interner::default();
            // Room for the whole index (and a few keys created meanwhile): no regrowth.
            let mut rows = Vec::with_capacity(total.max(records.len()) + total / 64);
            Row::extend(
                &mut rows,
                records.iter().map(KeyRecord::view),
                &mut state.interner,
            );
            drop(records);
            // Sized for the whole index too: no rehash (old and new tables at once) later.
            state.ids = IdIndex::of(&rows, rows.capacity());
            state.loading = if done { Loading::Done } else { Loading::More };
            state.records = Arc::new(rows);
            // Marks of keys on later pages stay until the whole index is read.
            if done {
                state.prune_marks();
            }
            state.total = total;
            state.malformed = malformed.into_iter().collect();
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
        Msg::MoreRecords {
            load,
            records,
            malformed,
            done,
            // Returned when this arm ends, the page taken in.
            credit: _credit,
        } => {
            if load != state.load {
                return Vec::new();
            }
            state.malformed.extend(malformed);
            if done {
                state.loading = Loading::Done;
            }
            // Rows straight from the bytes of the replies; the batch's malformed records
            // are counted here (its dangling entries were read again into `owned`).
            let mut rows = Vec::with_capacity(records.batch.len() + records.owned.len());
            let found = &mut state.malformed;
            let views = records.batch.read().filter_map(|entry| match entry {
                Listed::Record(v) => Some(v),
                Listed::Malformed(e) => {
                    found.insert(e.id);
                    None
                }
                Listed::Dangling(_) => None,
            });
            Row::extend(&mut rows, views, &mut state.interner);
            Row::extend(
                &mut rows,
                records.owned.iter().map(KeyRecord::view),
                &mut state.interner,
            );
            drop(records);
            let cmds = state.append(load, rows);
            // Loaded everything (nothing held back): marks of keys gone meanwhile drop.
            if done && state.held.is_empty() {
                state.prune_marks();
            }
            cmds
        }
        Msg::RecordChanged(r) => {
            state.malformed.remove(&r.id);
            // The detail view follows its key: a change made anywhere adds to its history.
            let history = detail_history(state, &r.id);
            let mut cmds = state.upsert(*r);
            cmds.extend(history);
            cmds
        }
        Msg::RecordGone { id } => {
            state.malformed.remove(&id);
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.complain(format!(
                    "key {} was deleted elsewhere",
                    crate::sanitize::line(&id)
                ));
            }
            state.remove(&id)
        }
        Msg::RecordsChanged(batch) => {
            let mut cmds = Vec::new();
            for r in &batch {
                state.malformed.remove(&r.id);
                cmds.extend(detail_history(state, &r.id));
            }
            let mut all = state.upsert_many(batch);
            all.extend(cmds);
            all
        }
        Msg::RecordsGone(ids) => {
            for id in &ids {
                state.malformed.remove(id);
                if matches!(&state.screen, Screen::Detail { id: d } if d == id) {
                    state.complain(format!(
                        "key {} was deleted elsewhere",
                        crate::sanitize::line(id)
                    ));
                }
            }
            state.remove_many(&ids)
        }
        Msg::Resync(g) => {
            state.complain(format!("{}: reloading…", gap_text(&g)));
            state.stale = true;
            state.loading = Loading::FirstPage;
            state.reloading = Some(ReloadCause::Gap(g));
            vec![Out::Sync(SyncCmd::Reload)]
        }
        Msg::RecordMalformed { id } => {
            let cmds = state.remove(&id);
            state.malformed.insert(id);
            cmds
        }
        Msg::Created {
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
            if let Some(pos) = state.visible.iter().position(|&i| {
                state.records.get(i as usize).map(Row::id) == reveal_id(state).as_deref()
            }) {
                state.selected = pos;
                state.clamp();
            }
            cmds
        }
        Msg::Leak { id, found } => paste::on_leak(state, &id, &found),
        Msg::Namespaces(list) => {
            if let Screen::Namespaces(p) = &mut state.screen {
                p.list = NamespaceList::Loaded(list);
                p.selected = 0;
            }
            Vec::new()
        }
        Msg::Switched(server) => state.start_over(server),
        Msg::SwitchFailed { namespace, error } => {
            state.complain(format!(
                "cannot switch to namespace {}: {error}",
                crate::sanitize::line(&namespace)
            ));
            Vec::new()
        }
        Msg::Done { op, id } => {
            let verb = match op {
                SyncOp::Revoke => "revoked",
                SyncOp::Restore => "restored",
                SyncOp::Delete => "deleted",
                SyncOp::Edit => "saved",
                _ => "done:",
            };
            // The edit form waited for this: it closes.
            if op == SyncOp::Edit && matches!(&state.screen, Screen::EditKey(f) if f.id == id) {
                state.screen = Screen::Table;
            }
            state.say(format!("{verb} {id}"));
            Vec::new()
        }
        Msg::Failed { op, error } => {
            if let (SyncOp::Namespaces, Screen::Namespaces(p)) = (op, &mut state.screen) {
                p.list = NamespaceList::Unreadable(error.clone());
            }
            let text = failure_text(&state.keymap, op, &error);
            // The edit form stays open with what was typed, and says why.
            if op == SyncOp::Edit
                && let Screen::EditKey(f) = &mut state.screen
            {
                f.saving = false;
                f.error = Some(text.clone());
            }
            state.complain(text);
            Vec::new()
        }
        Msg::CreateFailed(error) => {
            let text = format!("create failed: {error}");
            if let Screen::NewKey(form) = &mut state.screen {
                form.creating = false;
                form.error = Some(text.clone());
            }
            state.complain(text);
            Vec::new()
        }
        Msg::DetailEvents { id, events } => {
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.detail_events = KeyHistory::Loaded(events);
            }
            Vec::new()
        }
        Msg::DetailEventsFailed { id, error } => {
            if matches!(&state.screen, Screen::Detail { id: d } if *d == id) {
                state.detail_events = KeyHistory::Unreadable(error);
            }
            Vec::new()
        }
        Msg::BulkProgress { handled, total } => {
            state.say(format!("working: {handled}/{total} keys…"));
            Vec::new()
        }
        Msg::BulkDone { op, asked, outcome } => {
            state.bulk_done(&op, asked, &outcome);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// What a failure of the sync task means, for the status line; a hint names the key
/// bound to reloading.
fn failure_text(keymap: &Keymap, op: SyncOp, error: &str) -> String {
    let reload = keymap.key_in(Context::Table, Action::Reload);
    match op {
        SyncOp::Start => format!("cannot start the Redis task: {error}"),
        SyncOp::Load => match reload {
            Some(k) => format!("loading failed: {error} ({k} retries)"),
            None => format!("loading failed: {error}"),
        },
        SyncOp::LoadMore { loaded } => match reload {
            Some(k) => format!("loading stopped at {loaded} keys: {error} ({k} reloads)"),
            None => format!("loading stopped at {loaded} keys: {error}"),
        },
        SyncOp::ReadSecret => format!("cannot copy the secret: {error}"),
        SyncOp::Revoke => format!("revoked: failed: {error}"),
        SyncOp::Restore => format!("restored: failed: {error}"),
        SyncOp::Delete => format!("delete failed: {error}"),
        SyncOp::Rotate => format!("rotate failed: {error}"),
        SyncOp::Edit => format!("edit failed: {error}"),
        SyncOp::Bulk => format!("bulk change failed: {error} (the marks are kept)"),
        SyncOp::Lookup => format!("cannot look the pasted token's key up: {error}"),
        SyncOp::Namespaces => format!("cannot list the namespaces: {error}"),
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

/// Reads the history of key `id` again when the detail view shows it.
fn detail_history(state: &State, id: &str) -> Option<Out> {
    matches!(&state.screen, Screen::Detail { id: d } if d == id)
        .then(|| Out::Sync(SyncCmd::LoadDetail { id: id.to_owned() }))
}

fn reveal_id(state: &State) -> Option<String> {
    match &state.screen {
        Screen::Reveal(r) => Some(r.created.record.id.clone()),
        _ => None,
    }
}
