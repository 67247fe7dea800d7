//! `update(&mut State, Msg)`: how each incoming message changes the state, and the key
//! handling of every screen and popup. Synchronous: no I/O, no await, no clock, no
//! drawing; it returns [`Out`]s for the sync task, the filter worker and the clipboard.
//! A child of `state`, so it may touch the state's private bookkeeping.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::keygen::Secret;
use crate::store::Mode;

use super::*;

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
        Msg::Paste(text) => on_paste(state, &text),
        Msg::Mouse(m) => {
            on_mouse(state, m);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.area = Rect::new(0, 0, w, h);
            state.clamp();
            Vec::new()
        }
        Msg::Tick => {
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
            if state.counts != counts && state.status_filter != StatusFilter::All {
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
        Msg::Connection(c) => {
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
        } => {
            let selected_id = state.selected_record().map(|r| r.id().to_owned());
            state.load = load;
            // Changes held for a filter run are older than these rows.
            state.held.clear();
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
        Msg::MoreRecords {
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
            state.append(load, records)
        }
        Msg::RecordChanged(r) => state.upsert(*r),
        Msg::RecordGone { id } => state.remove(&id),
        Msg::Resync(g) => {
            state.complain(format!("{}: reloading…", gap_text(&g)));
            state.stale = true;
            state.loading = Loading::FirstPage;
            state.reloading = Some(ReloadCause::Gap(g));
            vec![Out::Sync(SyncCmd::Reload)]
        }
        Msg::RecordMalformed { id } => {
            state.malformed += 1;
            state.remove(&id)
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
        Msg::Done { op, id } => {
            let verb = match op {
                SyncOp::Revoke => "revoked",
                SyncOp::Restore => "restored",
                SyncOp::Delete => "deleted",
                _ => "done:",
            };
            state.say(format!("{verb} {id}"));
            Vec::new()
        }
        Msg::Failed { op, error } => {
            let text = failure_text(&state.keymap, op, &error);
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
    }
}

/// What a failure of the sync task means, for the status line; a hint names the key
/// bound to reloading.
fn failure_text(keymap: &Keymap, op: SyncOp, error: &str) -> String {
    let reload = keymap.first_key(Action::Reload);
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

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Out> {
    if is_ctrl_c(&key) {
        return update(state, Msg::Quit);
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
            Some(Action::Back | Action::Quit | Action::Details) => {
                state.detail_events = KeyHistory::Loading;
                Vec::new()
            }
            Some(Action::Help) => {
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
                vec![Out::Sync(SyncCmd::Delete { id })]
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
                vec![Out::Sync(SyncCmd::Delete { id })]
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
fn on_revoke_key(state: &mut State, mut d: RevokeDialog, key: KeyEvent) -> Vec<Out> {
    let confirm = |state: &mut State, d: RevokeDialog| {
        if state.refuse_offline("revoke") {
            return Vec::new();
        }
        state.say(format!("revoking {}…", d.name));
        let reason = d.reason();
        vec![Out::Sync(SyncCmd::Revoke { id: d.id, reason })]
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
fn on_rotate_key(state: &mut State, mut d: RotateDialog, key: KeyEvent) -> Vec<Out> {
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
                return vec![Out::Sync(SyncCmd::Rotate {
                    id: d.id,
                    grace,
                    force: d.again.is_some(),
                })];
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
        Screen::Detail { .. } | Screen::Help(_) | Screen::Reveal(_) => false,
    }
}

/// A bracketed paste: its printable characters are typed into the focused text field
/// (line breaks and other control characters are dropped, so a paste never presses
/// Enter); where no text field has the keyboard it is ignored, so pasted text never
/// triggers an action.
fn on_paste(state: &mut State, text: &str) -> Vec<Out> {
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

fn on_filter_key(state: &mut State, key: KeyEvent) -> Vec<Out> {
    match key.code {
        KeyCode::Esc => {
            state.filter.editing = false;
            state.filter.input.reset();
            state.refresh_visible()
        }
        KeyCode::Enter => {
            state.filter.editing = false;
            state.selected = if state.filter.unranked {
                crate::tui::filter::best(&state.records, &state.visible, state.filter.query())
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

fn on_table_action(state: &mut State, action: Action) -> Vec<Out> {
    let page = state.table_rows().max(1) as isize;
    match action {
        Action::Up => state.move_by(-1),
        Action::Down => state.move_by(1),
        Action::PageUp => state.move_by(-page),
        Action::PageDown => state.move_by(page),
        Action::Top => state.move_by(isize::MIN / 2),
        Action::Bottom => state.move_by(isize::MAX / 2),
        Action::Filter => {
            state.filter.editing = true;
        }
        Action::CycleStatus => {
            state.status_filter = state.status_filter.next();
            state.say(format!("showing {} keys", state.status_filter.label()));
            return state.refresh_visible();
        }
        Action::New => {
            if !state.refuse_offline("new key") {
                state.screen = Screen::NewKey(NewKeyForm::default());
            }
        }
        Action::Details => {
            if let Some(r) = state.selected_record().cloned() {
                let id = r.id().to_owned();
                state.detail_events = KeyHistory::Loading;
                state.screen = Screen::Detail { id: id.clone() };
                return vec![Out::Sync(SyncCmd::LoadDetail { id })];
            }
        }
        Action::CopyId => {
            if let Some(r) = state.target_record().cloned() {
                return vec![Out::Clip(ClipCmd::Copy {
                    text: Secret::new(r.id().to_owned()),
                    what: id_what(r.id(), r.name()),
                    secret: false,
                })];
            }
        }
        Action::CopySecret => {
            if let Some(r) = state.target_record().cloned() {
                match state.server.mode {
                    Some(Mode::Hash) | None => state.complain(
                        "cannot copy the secret: secrets are stored hashed; they are shown only once at creation",
                    ),
                    Some(Mode::Sealed | Mode::Plain) => {
                        if !state.refuse_offline("copy the secret") {
                            let name = crate::sanitize::line(r.name());
                            state.say(format!("reading the secret of {name}…"));
                            return vec![Out::Sync(SyncCmd::ReadSecret {
                                id: r.id().to_owned(),
                                name,
                            })];
                        }
                    }
                }
            }
        }
        Action::Revoke => {
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
        Action::Restore => {
            if let Some(r) = state.target_record().cloned() {
                if !r.revoked {
                    let name = crate::sanitize::line(r.name());
                    state.say(format!("{name} is not revoked"));
                } else if !state.refuse_offline("restore") {
                    let id = r.id().to_owned();
                    return vec![Out::Sync(SyncCmd::Restore { id })];
                }
            }
        }
        Action::Delete => {
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
        Action::Rotate => {
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
        Action::Reload => {
            if !state.refuse_offline("reload") {
                state.say("reloading…");
                state.loading = Loading::FirstPage;
                state.reloading = Some(ReloadCause::User);
                return vec![Out::Sync(SyncCmd::Reload)];
            }
        }
        Action::Help => state.screen = Screen::Help(HelpView::default()),
        Action::Back => {
            if !state.filter.query().is_empty() {
                state.filter.input.reset();
                return state.refresh_visible();
            }
        }
        // Only in the reveal view, which has its own handler.
        Action::CopyToken => {}
        Action::Quit => return update(state, Msg::Quit),
    }
    Vec::new()
}

fn on_form_key(state: &mut State, mut form: NewKeyForm, key: KeyEvent) -> Vec<Out> {
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
                        return vec![Out::Sync(SyncCmd::Create(Box::new(req)))];
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
fn on_help_key(state: &mut State, mut view: HelpView, key: KeyEvent) -> Vec<Out> {
    let (total, rows) = state.help_extent();
    let last = total.saturating_sub(rows);
    let page = rows.max(1);
    let first = state.help_first_line(&view);
    view.scroll = match state.keymap.lookup_in(Context::Help, &key) {
        Some(Action::Up) => first.saturating_sub(1),
        Some(Action::Down) => (first + 1).min(last),
        Some(Action::PageUp) => first.saturating_sub(page),
        Some(Action::PageDown) => (first + page).min(last),
        Some(Action::Top) => 0,
        // Sticks to the end whatever the size (the view keeps the last page full).
        Some(Action::Bottom) => usize::MAX,
        Some(_) => {
            return match view.back_to {
                Some(id) => {
                    state.screen = Screen::Detail { id: id.clone() };
                    vec![Out::Sync(SyncCmd::LoadDetail { id })]
                }
                None => Vec::new(),
            };
        }
        None => first,
    };
    state.screen = Screen::Help(view);
    Vec::new()
}

fn on_reveal_key(state: &mut State, reveal: Reveal, key: KeyEvent) -> Vec<Out> {
    let c = &reveal.created;
    let copy = match state.keymap.lookup_in(Context::Reveal, &key) {
        Some(Action::Back | Action::Quit | Action::Details) => {
            // Dropping `reveal` here zeroes the secret.
            state.say("the secret is gone from keytui; it is not shown again");
            return Vec::new();
        }
        Some(Action::CopySecret) => Some((c.secret.clone(), secret_what(&c.record.name), true)),
        Some(Action::CopyId) => Some((
            Secret::new(c.record.id.clone()),
            id_what(&c.record.id, &c.record.name),
            false,
        )),
        Some(Action::CopyToken) => Some((c.token.clone(), token_what(&c.record.name), true)),
        _ => None,
    };
    state.screen = Screen::Reveal(reveal);
    match copy {
        Some((text, what, secret)) => vec![Out::Clip(ClipCmd::Copy { text, what, secret })],
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
            let body = state.areas().table_body;
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
