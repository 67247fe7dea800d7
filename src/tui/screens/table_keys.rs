//! The key table's key handling, the filter line included (every key through the key
//! table), and the mouse. The table's state is the loaded rows of `State` (cursor, scroll,
//! filter), so this is a child of `state` (declared there) and changes them directly; it
//! opens popups by setting `State::screen` and never calls them. No I/O: work goes out as
//! [`Out`]s.

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::Position;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::*;
use crate::keygen::Secret;
use crate::tui::keymap::{Action, Context};
use crate::tui::screens::reveal::id_what;

/// A key on the table: the filter line's when it has the keyboard, else the table's
/// actions.
pub fn on_key(state: &mut State, key: &KeyEvent) -> Vec<Out> {
    if state.filter.editing {
        return on_filter_key(state, key);
    }
    if state.command.is_some() {
        return super::command::on_key(state, key);
    }
    match state.keymap.lookup_in(Context::Table, key) {
        Some(a) => on_action(state, a),
        None => Vec::new(),
    }
}

/// The filter line: Enter keeps the filter, Esc clears it, Up/Down move; other keys type.
fn on_filter_key(state: &mut State, key: &KeyEvent) -> Vec<Out> {
    match state.keymap.lookup_in(Context::Filter, key) {
        Some(Action::Back) => {
            state.filter.editing = false;
            state.filter.input.reset();
            state.refresh_visible()
        }
        Some(Action::Confirm) => {
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
        Some(a @ (Action::Up | Action::Down)) => {
            state.move_by(if a == Action::Up { -1 } else { 1 });
            Vec::new()
        }
        _ => {
            let before = state.filter.query().to_owned();
            state
                .filter
                .input
                .handle_event(&crossterm::event::Event::Key(*key));
            if state.filter.query() != before {
                state.refresh_visible()
            } else {
                Vec::new()
            }
        }
    }
}

/// What a table action does (also the detail view's, for the key it shows).
pub fn on_action(state: &mut State, action: Action) -> Vec<Out> {
    let page = state.table_rows().max(1) as isize;
    // With keys marked on the table, the key actions act on all of them.
    let bulk = state.marked() > 0 && matches!(state.screen, Screen::Table);
    match action {
        Action::Revoke if bulk => state.open_bulk(BulkKind::Revoke),
        Action::Restore if bulk => state.open_bulk(BulkKind::Restore),
        Action::Delete if bulk => state.open_bulk(BulkKind::Delete),
        Action::Extend => state.open_bulk(BulkKind::Extend),
        Action::Mark => state.toggle_mark(),
        Action::MarkAll => state.mark_all(),
        Action::Views => {
            let who = state
                .selected_record()
                .map(|r| r.created_by().to_string())
                .unwrap_or_default();
            state.screen = Screen::Views(ViewPicker::new(
                state.attention.as_ref().map(|v| &v.kind),
                state.unused_days,
                state.expiring_days,
                &who,
            ));
        }
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
                state.detail_scroll = 0;
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
                if r.revoked() {
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
                if !r.revoked() {
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
                state.screen =
                    Screen::ConfirmDelete(DeleteDialog::new(id, name, state.server.production));
            }
        }
        Action::Rotate => {
            if let Some(r) = state.target_record().cloned() {
                if r.revoked() {
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
            // One step at a time: the marks, then the filter, then the view.
            if state.clear_marks() {
                return Vec::new();
            }
            if !state.filter.query().is_empty() {
                state.filter.input.reset();
                return state.refresh_visible();
            }
            if state.attention.is_some() {
                return state.set_view(None);
            }
        }
        Action::CopyToken => {
            if let Some(r) = state.target_record().cloned() {
                match state.server.mode {
                    Some(Mode::Hash) | None => state.complain(
                        "cannot copy the token: secrets are stored hashed; the token is shown only once at creation",
                    ),
                    Some(Mode::Sealed | Mode::Plain) => {
                        if !state.refuse_offline("copy the token") {
                            let name = crate::sanitize::line(r.name());
                            state.say(format!("reading the token of {name}…"));
                            return vec![Out::Sync(SyncCmd::ReadToken {
                                id: r.id().to_owned(),
                                name,
                                prefix: r.token_prefix().map(str::to_owned),
                                checksum: r.token_checksum(),
                            })];
                        }
                    }
                }
            }
        }
        Action::Quit => return update(state, Msg::Quit),
        Action::Sort => {
            return state.set_sort(Some(crate::tui::table_view::Sort::cycle(state.view.sort)));
        }
        Action::SortDirection => {
            let flipped = match state.view.sort {
                Some(mut s) => {
                    s.descending = !s.descending;
                    s
                }
                // Unsorted is newest first: flipped, oldest first.
                None => crate::tui::table_view::Sort {
                    key: crate::store::SortKey::Created,
                    descending: false,
                },
            };
            return state.set_sort(Some(flipped));
        }
        Action::Command => super::command::open(state),
        Action::Edit => {
            if let Some(form) = state.target_record().map(EditForm::new)
                && !state.refuse_offline("edit")
            {
                state.screen = Screen::EditKey(form);
            }
        }
        Action::Namespaces => {
            // A namespace refused for its layout is a reason to switch, not to stay.
            if state.conn == ConnState::Refused || !state.refuse_offline("switching namespaces") {
                state.screen = Screen::Namespaces(crate::tui::screens::NamespacePicker::default());
                return vec![Out::Sync(SyncCmd::Namespaces)];
            }
        }
        // Forms and dialogs only.
        Action::Confirm | Action::NextField | Action::PrevField | Action::Yes => {}
    }
    Vec::new()
}

/// The wheel moves the cursor; a click selects a row.
pub fn on_mouse(state: &mut State, m: MouseEvent) {
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
