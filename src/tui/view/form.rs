//! The new-key form popup.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::state::{FORM_FIELDS, NewKeyForm};

use super::centered;

const LABEL_W: u16 = 10;

pub fn render(form: &NewKeyForm, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 64, 12);
    frame.render_widget(Clear, popup);
    let block = Block::new().borders(Borders::ALL).title(" new key ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let value_w = inner.width.saturating_sub(LABEL_W) as usize;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, ((label, _), input)) in FORM_FIELDS.iter().zip(&form.fields).enumerate() {
        let focused = i == form.focus;
        let scroll = input.visual_scroll(value_w.max(1));
        let shown: String = input.value().chars().skip(scroll).collect();
        let label_style = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let value_style = if focused {
            Style::new().add_modifier(Modifier::UNDERLINED)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label:<w$}", w = LABEL_W as usize), label_style),
            Span::styled(shown, value_style),
        ]));
        if focused {
            cursor = Some((
                i as u16,
                input.visual_cursor().saturating_sub(scroll) as u16,
            ));
        }
    }
    lines.push(Line::default());
    let help = FORM_FIELDS.get(form.focus).map(|f| f.1).unwrap_or("");
    lines.push(Line::from(Span::styled(
        help,
        Style::new().fg(Color::DarkGray),
    )));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(
            e.clone(),
            Style::new().fg(Color::Red),
        )));
    } else {
        lines.push(Line::from("Enter creates · Tab next field · Esc cancels"));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some((row, col)) = cursor {
        let x = inner.x + LABEL_W + col;
        let y = inner.y + row;
        if x < inner.x + inner.width && y < inner.y + inner.height {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}
