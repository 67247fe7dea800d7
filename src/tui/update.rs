//! `update(&mut State, Msg)`: how each incoming message changes the state; a key goes to
//! the open screen's `handle_key` (`screens/*`) and its [`Reply`] is applied here.
//! Synchronous: no I/O, no await, no clock, no drawing; it returns [`Out`]s for the sync
//! task, the filter worker and the clipboard. A child of `state`, so it may touch the
//! state's private bookkeeping; it holds no screen's key handling itself.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::table_keys as table;
use super::table_paste as paste;
use super::*;
use crate::tui::keymap::{Action, Context};
use crate::tui::screens::{Cx, NamespaceList, Next, Reply, detail_keys as detail};

/// Applies an action; returns the work it asks for.
pub fn update(state: &mut State, action: Msg) -> Vec<Out> {
    // Changes held while a filter run shared the records go in first, once none does.
    let mut held = state.release_held();
    held.extend(handle(state, action));
    held
}

fn handle(state: &mut State, action: Msg) -> Vec<Out> {
    match action {
        Msg::Key(key) => on_key(state, key),
        Msg::Paste(text) => on_paste(state, text.expose()),
        Msg::Mouse(m) => {
            table::on_mouse(state, m);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.area = Rect::new(0, 0, w, h);
            state.clamp();
            Vec::new()
        }
        Msg::Tick => {
            state.expire_message();
            let counts = state.counts;
            state.recount();
            let mut cmds = Vec::new();
            if let Some(clip) = &state.clip
                && state.now >= clip.deadline
            {
                state.clip = None;
                cmds.push(Out::Clip(ClipCmd::Clear));
            }
            // A key expired: a status filter shows other rows now.
            if state.counts != counts
                && (state.status_filter != StatusFilter::All || state.attention.is_some())
            {
                let selected_id = state.selected_record().map(|r| r.id().to_owned());
                cmds.extend(state.records_changed());
                state.reselect(selected_id.as_deref());
            }
            cmds
        }
        Msg::Quit => {
            state.quit = true;
            if state.clip.take().is_some() {
                vec![Out::Clip(ClipCmd::Clear)]
            } else {
                Vec::new()
            }
        }
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
            state.ids = records.iter().map(|r| fingerprint(r.id())).collect();
            // Marks of keys on later pages stay until the whole index is read.
            if done {
                state.prune_marks();
            }
            state.loading = if done { Loading::Done } else { Loading::More };
            state.records = Arc::new(records);
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
        } => {
            if load != state.load {
                return Vec::new();
            }
            state.malformed.extend(malformed);
            if done {
                state.loading = Loading::Done;
            }
            let cmds = state.append(load, records);
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
        // The run let go of the records: `update` applied what was held for it.
        Msg::FilterStopped => Vec::new(),
        Msg::FilterDone {
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
                state.keep_in_view();
                state.filter.unranked = !ranked;
                // A chosen order puts the matches in it; Enter then picks the best one.
                if state.view.sort.is_some() {
                    state.order_visible();
                    state.filter.unranked = true;
                }
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
        Msg::Copied { what, via, secret } => {
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
        Msg::SecretRead { name, secret } => vec![Out::Clip(ClipCmd::Copy {
            text: secret,
            what: secret_what(&name),
            secret: true,
        })],
        Msg::TokenRead { name, token } => vec![Out::Clip(ClipCmd::Copy {
            text: token,
            what: crate::tui::screens::reveal::token_what(&name),
            secret: true,
        })],
        Msg::ClipboardUnavailable { text, what, secret } => {
            vec![Out::Clip(ClipCmd::ViaTerminal { text, what, secret })]
        }
        Msg::ClipboardCleared { cleared } => {
            if cleared {
                state.say("clipboard cleared");
            } else {
                state.say("clipboard changed since; left alone");
            }
            Vec::new()
        }
        Msg::CopyFailed(why) => {
            state.complain(format!("copy failed: {why}"));
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

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Out> {
    if is_ctrl_c(&key) {
        return update(state, Msg::Quit);
    }
    // The table (and its filter line) works on the rows themselves.
    if matches!(state.screen, Screen::Table) {
        return table::on_key(state, &key);
    }
    let (total, rows) = state.detail_extent();
    let first = state.detail_first_line();
    let reply = {
        let cx = Cx {
            keymap: &state.keymap,
            server: &state.server,
            conn: state.conn,
            now: state.now,
            area: state.area,
        };
        match &mut state.screen {
            Screen::Table => Reply::stay(),
            Screen::Detail { id } => {
                let view = detail::Scroll {
                    scroll: &mut state.detail_scroll,
                    first,
                    total,
                    rows,
                };
                detail::handle_key(id, view, &key, &cx)
            }
            Screen::Help(v) => v.handle_key(&key, &cx),
            Screen::NewKey(f) => f.handle_key(&key, &cx),
            Screen::Reveal(r) => r.handle_key(&key, &cx),
            Screen::ConfirmRevoke(d) => d.handle_key(&key, &cx),
            Screen::ConfirmRotate(d) => d.handle_key(&key, &cx),
            Screen::ConfirmDelete(d) => d.handle_key(&key, &cx),
            Screen::EditKey(f) => f.handle_key(&key, &cx),
            Screen::ConfirmBulk(d) => d.handle_key(&key, &cx),
            Screen::Views(p) => p.handle_key(&key, &cx),
            Screen::Namespaces(p) => p.handle_key(&key, &cx),
        }
    };
    apply(state, reply)
}

/// Applies a screen's answer to a key: the status line, the screen to show next, the
/// table action it passes on, the work it asks for.
fn apply(state: &mut State, reply: Reply) -> Vec<Out> {
    let Reply {
        next,
        mut outs,
        message,
        table: action,
        view,
    } = reply;
    if let Some(m) = message {
        state.show(m);
    }
    match next {
        Next::Stay => {}
        Next::Close => {
            if matches!(state.screen, Screen::Detail { .. }) {
                state.detail_events = KeyHistory::Loading;
            }
            state.screen = Screen::Table;
        }
        Next::Open(screen) => state.screen = *screen,
    }
    if let Some(a) = action {
        outs.extend(table::on_action(state, a));
    }
    if let Some(v) = view {
        outs.extend(state.set_view(v.map(View::new)));
    }
    outs
}

/// Whether typing goes into a text field on the current screen.
fn text_field_focused(state: &State) -> bool {
    match &state.screen {
        Screen::Table => state.filter.editing || state.command.is_some(),
        s => s.text_field_focused(),
    }
}

/// A bracketed paste: its printable characters are typed into the focused text field
/// (line breaks and other control characters are dropped, so a paste never presses
/// Enter); where no text field has the keyboard it is ignored, so pasted text never
/// triggers an action.
fn on_paste(state: &mut State, text: &str) -> Vec<Out> {
    if !text_field_focused(state) {
        if matches!(state.screen, Screen::Table) {
            return paste::on_paste(state, text);
        }
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
