//! Draws the whole UI from `&State`: the banner and header, the open screen (the table,
//! or the details), the status line, the footer, then the open popup on top. Only draws:
//! nothing here changes state, reads the clock or talks to Redis.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::screens::{Screen, detail, table};
use super::state::State;
use super::widgets;

/// Draws the whole UI.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    let areas = state.areas();
    widgets::header::render_banner(state, frame, areas.banner);
    widgets::header::render(state, frame, areas.header, areas.banner.height == 0);
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
    widgets::status_line::render(state, frame, areas.status);
    widgets::footer::render(state, frame, areas.footer);
    let cx = state.cx();
    match &state.screen {
        Screen::Help(h) => h.render(&cx, frame, area),
        Screen::NewKey(form) => form.render(&cx, frame, area),
        Screen::Reveal(r) => r.render(&cx, frame, area),
        Screen::ConfirmRevoke(d) => d.render(&cx, frame, area),
        Screen::ConfirmRotate(d) => d.render(&cx, frame, area),
        Screen::ConfirmDelete(d) => d.render(&cx, frame, area),
        Screen::EditKey(f) => f.render(&cx, frame, area),
        Screen::ConfirmBulk(d) => d.render(&cx, frame, area),
        Screen::Views(p) => p.render(&cx, frame, area),
        Screen::Namespaces(p) => p.render(&cx, frame, area),
        Screen::Table | Screen::Detail { .. } => {}
    }
}
