//! The status line: the filter line while typing, else the latest message, the clipboard
//! countdown and the active filter.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::state::{Screen, State, StatusFilter};

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    if let (Some(input), Screen::Table) = (&state.command, &state.screen) {
        let width = area.width.saturating_sub(1) as usize;
        let scroll = input.visual_scroll(width.max(1));
        let shown: String = input.value().chars().skip(scroll).collect();
        let line = Line::from(vec![
            Span::styled(":", Style::new().fg(Color::Cyan)),
            Span::raw(shown),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + 1 + (input.visual_cursor().saturating_sub(scroll)) as u16;
        if x < area.x + area.width {
            frame.set_cursor_position(Position::new(x, area.y));
        }
        return;
    }
    let filter = &state.filter;
    if filter.editing && matches!(state.screen, Screen::Table) {
        let prompt = "/";
        let width = area.width.saturating_sub(prompt.len() as u16) as usize;
        let scroll = filter.input.visual_scroll(width.max(1));
        let shown: String = filter.query().chars().skip(scroll).collect();
        let count = if filter.pending {
            "  …".to_owned()
        } else {
            format!("  {} match", state.visible.len())
        };
        let line = Line::from(vec![
            Span::styled(prompt, Style::new().fg(Color::Cyan)),
            Span::raw(shown),
            Span::styled(count, Style::new().fg(Color::DarkGray)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + 1 + (filter.input.visual_cursor().saturating_sub(scroll)) as u16;
        if x < area.x + area.width {
            frame.set_cursor_position(Position::new(x, area.y));
        }
        return;
    }
    let mut spans = Vec::new();
    if let Some(clip) = &state.clip {
        let left = ((clip.deadline - state.now).max(0) + 999) / 1000;
        spans.push(Span::styled(
            format!("{} in clipboard, cleared in {left}s", clip.what),
            Style::new().fg(Color::Magenta),
        ));
    }
    if let Some(m) = &state.message {
        if !spans.is_empty() {
            spans.push(Span::raw(" · "));
        }
        let style = if m.error {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        spans.push(Span::styled(m.text.clone(), style));
    }
    let mut filters = Vec::new();
    if !filter.query().is_empty() {
        filters.push(format!("filter /{}", filter.query()));
    }
    if state.status_filter != StatusFilter::All {
        filters.push(format!("status {}", state.status_filter.label()));
    }
    if !filters.is_empty() {
        if !spans.is_empty() {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::styled(
            format!("{} ({} shown)", filters.join(", "), state.visible.len()),
            Style::new().fg(Color::Cyan),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
