//! Pure rendering from `&State`: one file per screen or popup. Nothing here mutates state,
//! talks to Redis or reads the clock (the time is `State::now`). Every string that comes
//! from Redis goes through [`crate::sanitize::line`] before it is drawn.

mod confirm;
mod detail;
mod footer;
mod form;
mod header;
pub mod help;
mod reveal;
mod status_line;
mod table;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::record::Status;

use super::state::{Screen, State};

pub use super::clock::{
    relative, relative_changes, short_duration, time_left, time_left_changes, time_since_changes,
};
pub use super::layout::{Areas, SIDE_PANE_MIN_WIDTH, centered, layout, layout_with};

/// The layout for this state (with a banner line when the namespace needs one).
pub fn areas(state: &State) -> Areas {
    state.areas()
}

/// Draws the whole UI.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    let areas = areas(state);
    header::render_banner(state, frame, areas.banner);
    header::render(state, frame, areas.header, areas.banner.height == 0);
    match &state.screen {
        Screen::Detail { id } => {
            let body = Rect::new(
                area.x,
                areas.table_head.y,
                area.width,
                areas.table_head.height + areas.table_body.height,
            );
            detail::render(state, id, frame, body);
        }
        _ => {
            table::render(state, frame, areas.table_head, areas.table_body);
            if areas.side.width > 0
                && let Some(r) = state.selected_record()
            {
                detail::render_pane(state, r.id(), frame, areas.side);
            }
        }
    }
    status_line::render(state, frame, areas.status);
    footer::render(state, frame, areas.footer);
    match &state.screen {
        Screen::Help(h) => help::render(state, h, frame, area),
        Screen::NewKey(form) => form::render(form, state.now, frame, area),
        Screen::Reveal(r) => reveal::render(r, &state.keymap, frame, area),
        Screen::ConfirmRevoke(d) => confirm::render_revoke(d, &state.server.namespace, frame, area),
        Screen::ConfirmRotate(d) => confirm::render_rotate(d, &state.server.namespace, frame, area),
        Screen::ConfirmDelete {
            id,
            name,
            typed,
            production,
        } => {
            let ns = production.then_some(state.server.namespace.as_str());
            confirm::render_delete(id, name, ns, typed, frame, area)
        }
        Screen::Table | Screen::Detail { .. } => {}
    }
}

/// The colour, symbol and style of a status.
pub fn status_look(s: Status) -> (&'static str, Style) {
    match s {
        Status::Active => ("●", Style::new().fg(Color::Green)),
        Status::Revoked => (
            "✗",
            Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::CROSSED_OUT),
        ),
        Status::Expired => ("⌛", Style::new().fg(Color::Yellow)),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
