//! The new-key form popup: each field on a line, and under a field that is wrong, what is
//! wrong with it (checked as the user types).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::record::UnixMs;
use crate::tui::state::{FORM_FIELDS, NewKeyForm, field};

use super::centered;

const LABEL_W: u16 = 10;

pub fn render(form: &NewKeyForm, now: UnixMs, frame: &mut Frame, area: Rect) {
    let errors = form.shown_errors(now);
    let error_lines = errors.iter().filter(|e| e.is_some()).count() as u16;
    let popup = centered(area, 74, 11 + error_lines);
    frame.render_widget(Clear, popup);
    let block = Block::new().borders(Borders::ALL).title(" new key ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let value_w = inner.width.saturating_sub(LABEL_W) as usize;
    let red = Style::new().fg(Color::Red);
    let dim = Style::new().fg(Color::DarkGray);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, ((label, _), input)) in FORM_FIELDS.iter().zip(&form.fields).enumerate() {
        let focused = i == form.focus;
        let error = errors.get(i).and_then(Option::as_ref);
        let scroll = input.visual_scroll(value_w.max(1));
        let shown: String = input.value().chars().skip(scroll).collect();
        let mut label_style = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        if error.is_some() {
            label_style = label_style.fg(Color::Red);
        }
        let value_style = if focused {
            Style::new().add_modifier(Modifier::UNDERLINED)
        } else {
            Style::new()
        };
        let width = shown.chars().count();
        let mut spans = vec![
            Span::styled(format!("{label:<w$}", w = LABEL_W as usize), label_style),
            Span::styled(shown, value_style),
        ];
        if i == field::BYTES
            && error.is_none()
            && let Some(summary) = form.secret_summary()
            && width + 2 + summary.chars().count() <= value_w
        {
            spans.push(Span::styled(format!("  {summary}"), dim));
        }
        if focused {
            cursor = Some((
                lines.len() as u16,
                input.visual_cursor().saturating_sub(scroll) as u16,
            ));
        }
        lines.push(Line::from(spans));
        if let Some(e) = error {
            lines.push(Line::from(Span::styled(format!("  ✗ {e}"), red)));
        }
    }
    lines.push(Line::default());
    let help = FORM_FIELDS.get(form.focus).map(|f| f.1).unwrap_or("");
    lines.push(Line::from(Span::styled(help, dim)));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(e.clone(), red)));
    } else if form.creating {
        lines.push(Line::from("creating… (Esc closes the form)"));
    } else if errors.iter().any(Option::is_some) {
        lines.push(Line::from(Span::styled(
            "fix the fields marked ✗ · Tab next field · Esc cancels",
            red,
        )));
    } else {
        lines.push(Line::from("Enter creates · Tab next field · Esc cancels"));
    }
    // No wrapping: each field and its error stay on their own line.
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some((row, col)) = cursor {
        let x = inner.x + LABEL_W + col;
        let y = inner.y + row;
        if x < inner.x + inner.width && y < inner.y + inner.height {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}
