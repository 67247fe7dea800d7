//! The header: connection state, namespace, URL (password redacted), topology, storage
//! mode and counts by status; above it, a banner line for production namespaces (red) and
//! for `plain` ones (secrets in the clear, yellow).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::sanitize::line as clean;
use crate::store::Mode;
use crate::tui::state::{ConnState, Loading, State};

/// The red background of the production banner.
pub const PRODUCTION_STYLE: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Red)
    .add_modifier(Modifier::BOLD);
/// The warning about secrets stored in the clear.
pub const PLAIN_STYLE: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);

/// The warning line: production and/or plain mode, filling the whole width.
pub fn render_banner(state: &State, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let ns = clean(&state.server.namespace);
    let plain = state.server.mode == Some(Mode::Plain);
    let mut spans = Vec::new();
    let fill = if state.server.production {
        spans.push(Span::styled(
            format!(" PRODUCTION namespace {ns} "),
            PRODUCTION_STYLE,
        ));
        PRODUCTION_STYLE
    } else {
        PLAIN_STYLE
    };
    if plain {
        spans.push(Span::styled(
            " PLAIN: secrets stored in cleartext ",
            PLAIN_STYLE,
        ));
    } else {
        spans.push(Span::styled(
            "· revoke and delete ask for the namespace name",
            PRODUCTION_STYLE.remove_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(fill), area);
}

/// The header; `marker`: no room for the banner, so the first line starts with a short
/// `PROD` / `PLAIN` marker instead.
pub fn render(state: &State, frame: &mut Frame, area: Rect, marker: bool) {
    if area.height == 0 {
        return;
    }
    let mut markers = Vec::new();
    if marker && state.server.production {
        markers.push(Span::styled("PROD", PRODUCTION_STYLE));
        markers.push(Span::raw(" "));
    }
    if marker && state.server.mode == Some(Mode::Plain) {
        markers.push(Span::styled("PLAIN", PLAIN_STYLE));
        markers.push(Span::raw(" "));
    }
    let (word, color) = match state.conn {
        // Rows that may not match Redis are never called live.
        ConnState::Live if state.stale => ("◌ stale, reloading", Color::Yellow),
        ConnState::Live => ("● live", Color::Green),
        ConnState::Reconnecting => ("◌ reconnecting", Color::Yellow),
        ConnState::Offline => ("✗ offline", Color::Red),
        ConnState::Refused => ("✗ refused: newer layout", Color::Red),
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut first = markers;
    first.extend([
        Span::styled(word, Style::new().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(" ns "),
        Span::styled(clean(&state.server.namespace), bold),
        Span::raw(" "),
        Span::styled(clean(&state.server.url), Style::new().fg(Color::DarkGray)),
    ]);
    let first = Line::from(first);
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
    if state.marked() > 0 {
        second.push(Span::styled(
            format!(" · {} marked", state.marked()),
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(v) = &state.attention {
        second.push(Span::styled(
            format!(" · view: {}", v.label()),
            Style::new().fg(Color::Cyan),
        ));
    }
    if !state.malformed.is_empty() {
        second.push(Span::styled(
            format!(" · {} malformed (run keytui doctor)", state.malformed.len()),
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
