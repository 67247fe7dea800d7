//! The header: connection state, namespace, URL (password redacted), topology, storage
//! mode and counts by status.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::sanitize::line as clean;
use crate::tui::state::{ConnState, Loading, State};

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let (word, color) = match state.conn {
        ConnState::Live => ("● live", Color::Green),
        ConnState::Reconnecting => ("◌ reconnecting", Color::Yellow),
        ConnState::Offline => ("✗ offline", Color::Red),
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let first = Line::from(vec![
        Span::styled(word, Style::new().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(" ns "),
        Span::styled(clean(&state.server.namespace), bold),
        Span::raw(" "),
        Span::styled(clean(&state.server.url), Style::new().fg(Color::DarkGray)),
    ]);
    let (active, revoked, expired) = state.counts();
    let loading = match state.loading {
        Loading::FirstPage => " · loading…".to_owned(),
        Loading::More => format!(" · loaded {}/{}", state.records.len(), state.total),
        Loading::Done => String::new(),
    };
    let mode = state
        .server
        .mode
        .map(|m| format!("{m} mode"))
        .unwrap_or_else(|| "new namespace".into());
    let topology = if state.server.cluster {
        "cluster"
    } else {
        "standalone"
    };
    let mut second = vec![
        Span::raw(format!("{topology} · {mode} · ")),
        Span::styled(format!("{active} active"), Style::new().fg(Color::Green)),
        Span::raw(" "),
        Span::styled(format!("{revoked} revoked"), Style::new().fg(Color::Red)),
        Span::raw(" "),
        Span::styled(format!("{expired} expired"), Style::new().fg(Color::Yellow)),
        Span::raw(loading),
    ];
    if state.malformed > 0 {
        second.push(Span::styled(
            format!(" · {} malformed (run keytui doctor)", state.malformed),
            Style::new().fg(Color::Red),
        ));
    }
    let lines = if area.height >= 2 {
        vec![first, Line::from(second)]
    } else {
        vec![first]
    };
    frame.render_widget(Paragraph::new(lines), area);
}
