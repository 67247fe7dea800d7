//! The key table, the screen under every popup: its key handling (the filter line
//! included; every key through the key table) and its drawing. Its state is the loaded
//! rows of `State` (cursor, scroll, filter), so it reads and changes `State`; it opens
//! popups by setting `State::screen` and never calls them.
//!
//! The key table: one row per visible record, only the rows on screen are built (a
//! namespace of a million keys costs no more to draw than one of ten).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::record::Status;
use crate::sanitize::line as clean;

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::Position;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::keygen::Secret;
use crate::store::Mode;
use crate::tui::clock::{relative, short_duration, time_left};
use crate::tui::keymap::{Action, Context};
use crate::tui::msg::{ClipCmd, Msg, Out, SyncCmd};
use crate::tui::state::{
    KeyHistory, Loading, ReloadCause, RevokeDialog, RevokeFocus, RotateDialog, State, update,
};
use crate::tui::widgets::status_look;

use super::reveal::id_what;
use super::{DeleteDialog, HelpView, NewKeyForm, Screen};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Status,
    Name,
    Id,
    Age,
    Expires,
    LastUsed,
}

fn columns(width: u16) -> Vec<(Col, Constraint, &'static str)> {
    let mut cols = vec![(
        Col::Status,
        Constraint::Length(if width >= 60 { 10 } else { 1 }),
        if width >= 60 { "STATUS" } else { "" },
    )];
    cols.push((Col::Name, Constraint::Fill(1), "NAME"));
    if width >= 45 {
        cols.push((Col::Id, Constraint::Length(11), "ID"));
    }
    if width >= 36 {
        cols.push((Col::Age, Constraint::Length(4), "AGE"));
    }
    if width >= 60 {
        cols.push((Col::Expires, Constraint::Length(8), "EXPIRES"));
    }
    if width >= 72 {
        cols.push((Col::LastUsed, Constraint::Length(9), "USED"));
    }
    cols
}

fn short_id(id: &str) -> String {
    let id = clean(id);
    if id.chars().count() > 10 {
        let mut s: String = id.chars().take(9).collect();
        s.push('…');
        s
    } else {
        id
    }
}

pub fn render(state: &State, frame: &mut Frame, head: Rect, body: Rect) {
    if head.height == 0 {
        return;
    }
    let cols = columns(head.width);
    let widths: Vec<Constraint> = cols.iter().map(|c| c.1).collect();
    let header = Row::new(cols.iter().map(|c| Cell::from(c.2)))
        .style(Style::new().add_modifier(Modifier::BOLD));
    if state.visible.is_empty() {
        let table = Table::new(Vec::<Row>::new(), widths.clone()).header(header);
        frame.render_widget(table, head);
        let text = match state.loading {
            Loading::FirstPage => "loading…".to_owned(),
            _ if state.filter.pending => "filtering…".to_owned(),
            _ if !state.filter.query().is_empty() => "no key matches the filter".to_owned(),
            _ if state.records.is_empty() => format!(
                "no keys yet: press {} to create one",
                state.keymap.hint(Context::Table, Action::New)
            ),
            _ => format!("no {} keys", state.status_filter.label()),
        };
        frame.render_widget(
            Paragraph::new(Line::from(text).style(Style::new().fg(Color::DarkGray))),
            body,
        );
        return;
    }
    let rows_on_screen = body.height as usize;
    let now = state.now;
    let rows: Vec<Row> = state
        .visible
        .iter()
        .enumerate()
        .skip(state.scroll)
        .take(rows_on_screen)
        .filter_map(|(pos, &i)| state.records.get(i).map(|r| (pos, r)))
        .map(|(pos, r)| {
            let status = r.status_at(now);
            let (symbol, look) = status_look(status);
            let cells = cols.iter().map(|(col, _, _)| match col {
                Col::Status if head.width >= 60 => {
                    Cell::from(format!("{symbol} {}", status.as_str())).style(look)
                }
                Col::Status => Cell::from(symbol).style(look),
                Col::Name => Cell::from(clean(r.name())),
                Col::Id => Cell::from(short_id(r.id())),
                Col::Age => Cell::from(short_duration(now - r.created_at)),
                Col::Expires => Cell::from(match r.expires_at {
                    None => "never".to_owned(),
                    Some(t) if t <= now => "expired".to_owned(),
                    Some(t) => format!("in {}", time_left(t, now)),
                }),
                Col::LastUsed => Cell::from(match r.last_used_at {
                    None => "never".to_owned(),
                    t => relative(t, now),
                }),
            });
            let mut style = match status {
                Status::Revoked => Style::new()
                    .add_modifier(Modifier::DIM)
                    .add_modifier(Modifier::CROSSED_OUT),
                _ => Style::new(),
            };
            if pos == state.selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(cells).style(style)
        })
        .collect();
    let area = Rect::new(head.x, head.y, head.width, head.height + body.height);
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// A key on the table: the filter line's when it has the keyboard, else the table's
/// actions.
pub fn on_key(state: &mut State, key: &KeyEvent) -> Vec<Out> {
    if state.filter.editing {
        return on_filter_key(state, key);
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
                state.screen =
                    Screen::ConfirmDelete(DeleteDialog::new(id, name, state.server.production));
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
