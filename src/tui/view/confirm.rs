//! Confirmation dialogs: revoke (`y` confirms, any other key cancels) and delete (type the
//! key's name).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use crate::sanitize::line as clean;

use super::centered;

pub fn render_revoke(id: &str, name: &str, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 60, 7);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" revoke ")
        .border_style(Style::new().fg(Color::Red));
    let lines = vec![
        Line::from(vec![
            Span::raw("Revoke key "),
            Span::styled(
                format!("“{}”", clean(name)),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" ({})?", clean(id))),
        ]),
        Line::from("Apps using it are refused from now on (u restores)."),
        Line::default(),
        Line::from(vec![
            Span::styled(
                "y",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            Span::raw(" revoke · any other key cancels"),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}

pub fn render_delete(id: &str, name: &str, typed: &Input, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 60, 8);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" delete permanently ")
        .border_style(Style::new().fg(Color::Red));
    let inner = block.inner(popup);
    let lines = vec![
        Line::from(vec![
            Span::raw("Delete key "),
            Span::styled(
                format!("“{}”", clean(name)),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" ({})? This cannot be undone.", clean(id))),
        ]),
        Line::from("Type the key's name and press Enter (Esc cancels):"),
    ];
    frame.render_widget(block, popup);
    let text_h = inner.height.saturating_sub(1);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        Rect::new(inner.x, inner.y, inner.width, text_h),
    );
    if inner.height == 0 {
        return;
    }
    let y = inner.y + text_h;
    let width = inner.width.saturating_sub(2) as usize;
    let scroll = typed.visual_scroll(width.max(1));
    let shown: String = typed.value().chars().skip(scroll).collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("> ", Style::new().fg(Color::Red)),
            Span::raw(shown),
        ])),
        Rect::new(inner.x, y, inner.width, 1),
    );
    let x = inner.x + 2 + typed.visual_cursor().saturating_sub(scroll) as u16;
    if x < inner.x + inner.width {
        frame.set_cursor_position(Position::new(x, y));
    }
}
