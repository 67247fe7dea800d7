//! Widgets drawn on every screen or inside several: the header (and the warning banner),
//! the footer of key hints, the status line, the dialogs' text field, and the look of a
//! key's status. They only draw from `&State` (or what they are given): no state changes,
//! no key handling, no Redis.

pub mod footer;
pub mod header;
pub mod status_line;
pub mod text_field;

use ratatui::style::{Color, Modifier, Style};

use crate::record::Status;

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
