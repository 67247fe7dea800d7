//! The `?` help, generated from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{KeyAction, POPUP_KEYS};
use crate::tui::state::State;

use super::centered;

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = KeyAction::ALL
        .iter()
        .map(|&a| {
            Line::from(vec![
                Span::styled(format!("{:>12} ", state.keymap.keys_for(a)), key_style),
                Span::raw(a.description()),
            ])
        })
        .collect();
    lines.push(Line::default());
    for (k, what) in POPUP_KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>12} "), key_style),
            Span::raw(*what),
        ]));
    }
    let popup = centered(area, 70, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" keys (any key closes; change them in config.toml [keys]) ");
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
