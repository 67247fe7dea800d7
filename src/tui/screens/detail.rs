//! The detail view of one key: every field, the metadata and the key's audit events; its
//! keys are `detail_keys.rs`. Only draws from `&State`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::record::rfc3339;
use crate::sanitize::line as clean;
use crate::tui::state::{KeyHistory, State};

use crate::tui::clock::relative;
use crate::tui::widgets::status_look;

/// The full detail view, with the key's audit events.
pub fn render(state: &State, id: &str, frame: &mut Frame, area: Rect) {
    draw(state, id, frame, area, true, Borders::TOP);
}

/// The pane beside the table on wide terminals (no events: Enter shows them).
pub fn render_pane(state: &State, id: &str, frame: &mut Frame, area: Rect) {
    draw(state, id, frame, area, false, Borders::LEFT);
}

fn draw(state: &State, id: &str, frame: &mut Frame, area: Rect, events: bool, borders: Borders) {
    if area.height == 0 {
        return;
    }
    let Some(r) = state.record(id) else {
        frame.render_widget(
            Paragraph::new(format!("key {} is gone (deleted?)", clean(id))),
            area,
        );
        return;
    };
    let now = state.now;
    let label = Style::new().fg(Color::DarkGray);
    let field = |k: &str, v: String| {
        Line::from(vec![Span::styled(format!("{k:>12} "), label), Span::raw(v)])
    };
    let time = |t: Option<i64>| match t {
        Some(t) => format!("{} ({})", rfc3339(t), relative(Some(t), now)),
        None => "-".to_owned(),
    };
    let status = r.status_at(now);
    let (symbol, look) = status_look(status);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:>12} ", "status"), label),
            Span::styled(format!("{symbol} {}", status.as_str()), look),
        ]),
        field("name", clean(r.name())),
        field("id", clean(r.id())),
        field("created", time(Some(r.created_at))),
        field("created by", clean(&r.created_by)),
        field(
            "expires",
            r.expires_at.map_or("never".to_owned(), |t| time(Some(t))),
        ),
        field(
            "last used",
            r.last_used_at.map_or("never".to_owned(), |t| time(Some(t))),
        ),
    ];
    if r.revoked {
        lines.push(field("revoked", time(r.revoked_at())));
        lines.push(field("reason", clean(r.revoked_reason().unwrap_or("-"))));
    }
    lines.push(field(
        "secret",
        format!(
            "{}{}",
            r.secret_alg.as_str(),
            if r.sealed { ", sealed copy" } else { "" }
        ),
    ));
    lines.push(field(
        "token",
        format!(
            "prefix {}, checksum {}",
            r.token_prefix
                .as_deref()
                .map(clean)
                .unwrap_or_else(|| "-".into()),
            if r.token_checksum { "yes" } else { "no" }
        ),
    ));
    if let Some(f) = r.rotated_from() {
        lines.push(field("rotated from", clean(f)));
    }
    if let Some(t) = r.rotated_to() {
        lines.push(field("rotated to", clean(t)));
    }
    for (k, v) in r.meta() {
        lines.push(field(&clean(&format!("meta.{k}")), clean(v)));
    }
    if !events {
        let block = Block::new().borders(borders);
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    lines.push(Line::from(Span::styled(
        "audit events",
        Style::new().add_modifier(Modifier::BOLD),
    )));
    let events: &[crate::store::Event] = match &state.detail_events {
        KeyHistory::Loading => {
            lines.push(Line::from(Span::styled("  reading…", label)));
            &[]
        }
        KeyHistory::Unreadable(why) => {
            lines.push(Line::from(Span::styled(
                format!("  cannot read: {}", clean(why)),
                Style::new().fg(Color::Red),
            )));
            &[]
        }
        KeyHistory::Loaded(events) if events.is_empty() => {
            lines.push(Line::from(Span::styled("  (none found)", label)));
            &[]
        }
        KeyHistory::Loaded(events) => events,
    };
    for e in events.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", rfc3339(e.at)), label),
            Span::raw(format!("{:<8} {}", clean(&e.op), clean(&e.actor))),
            Span::styled(
                e.detail
                    .as_deref()
                    .map(|d| format!(" ({})", clean(d)))
                    .unwrap_or_default(),
                label,
            ),
        ]));
    }
    let block = Block::new()
        .borders(borders)
        .title(format!(" key {} ", clean(r.name())));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
