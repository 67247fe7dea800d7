//! A labelled one-line text field of the dialogs (label line, then `> ` and the text),
//! with the cursor when it has the focus. Draws only.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;

use crate::sanitize::line as clean;

/// A labelled one-line text field at `y` (label line, then the input), within `inner`.
pub fn field(
    frame: &mut Frame,
    inner: Rect,
    y: &mut u16,
    label: &str,
    input: &Input,
    focused: bool,
) {
    let bottom = inner.y + inner.height;
    let style = if focused {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    if *y < bottom {
        frame.render_widget(
            Paragraph::new(Span::styled(label.to_owned(), style)),
            Rect::new(inner.x, *y, inner.width, 1),
        );
        *y += 1;
    }
    if *y < bottom {
        let width = inner.width.saturating_sub(2) as usize;
        let scroll = input.visual_scroll(width.max(1));
        let shown: String = input.value().chars().skip(scroll).collect();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", style),
                Span::raw(clean(&shown)),
            ])),
            Rect::new(inner.x, *y, inner.width, 1),
        );
        let x = inner.x + 2 + input.visual_cursor().saturating_sub(scroll) as u16;
        if focused && x < inner.x + inner.width {
            frame.set_cursor_position(Position::new(x, *y));
        }
        *y += 1;
    }
}
