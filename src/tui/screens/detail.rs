//! The detail view of one key: every field, what is damaged, the metadata and the key's
//! whole history (the text is `detail_text.rs`, the keys `detail_keys.rs`). It scrolls
//! when the text does not fit, and says how much more there is. Only draws from `&State`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::sanitize::line as clean;
use crate::tui::state::State;

use super::detail_text;

/// The full detail view, with the key's history, from its scroll position on.
pub fn render(state: &State, id: &str, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let lines = state.detail_lines(id);
    let rows = area.height.saturating_sub(1) as usize;
    let first = state.detail_first_line();
    let below = lines.len().saturating_sub(first + rows);
    let title = match state.record(id) {
        Some(r) => format!(" key {} ", clean(r.name())),
        None => format!(" key {} ", clean(id)),
    };
    let more = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let mut arrows = Vec::new();
    if first > 0 {
        arrows.push(format!("↑ more ({first})"));
    }
    if below > 0 {
        arrows.push(format!("↓ more ({below})"));
    }
    let mut block = Block::new().borders(Borders::TOP).title(title);
    if !arrows.is_empty() {
        block = block.title(Line::styled(format!(" {} ", arrows.join(" ")), more).right_aligned());
    }
    let shown: Vec<Line> = lines.into_iter().skip(first).take(rows).collect();
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

/// The pane beside the table on wide terminals (no history: Enter shows it).
pub fn render_pane(state: &State, id: &str, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let lines = detail_text::lines(id, state.record(id), None, state.now);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::new().borders(Borders::LEFT))
            .wrap(Wrap { trim: false }),
        area,
    );
}
