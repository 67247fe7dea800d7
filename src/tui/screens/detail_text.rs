//! The text of the detail view: every field of one key, what is damaged in its record,
//! its metadata and (in the full view) its whole history, as lines. Pure: it builds text
//! from a [`Row`] and the history read for it; it draws nothing, keeps no state and never
//! talks to Redis. The detail view (`detail.rs`) scrolls through these lines, and the
//! state counts them to know how far the view scrolls.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::record::{UnixMs, rfc3339};
use crate::sanitize::line as clean;
use crate::store::Event;
use crate::tui::clock::relative;
use crate::tui::row::Row;
use crate::tui::widgets::status_look;

/// What the detail view knows of its key's audit events.
#[derive(Clone, Debug, Default)]
pub enum KeyHistory {
    /// Asked for, not answered yet.
    #[default]
    Loading,
    /// Every event of the key, oldest first.
    Loaded(Vec<Event>),
    /// Redis could not be read; why.
    Unreadable(String),
}

/// The lines about key `id`: its record `r` (`None`: the key was deleted elsewhere while
/// the view was open), then, when `history` is given, its events newest first.
pub fn lines(
    id: &str,
    r: Option<&Row>,
    history: Option<&KeyHistory>,
    now: UnixMs,
) -> Vec<Line<'static>> {
    let label = Style::new().fg(Color::DarkGray);
    let mut lines = match r {
        Some(r) => fields(r, now),
        None => vec![Line::from(Span::styled(
            format!("key {} was deleted elsewhere", clean(id)),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ))],
    };
    let Some(history) = history else {
        return lines;
    };
    lines.push(Line::from(Span::styled(
        "audit events",
        Style::new().add_modifier(Modifier::BOLD),
    )));
    let events: &[Event] = match history {
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
    lines
}

/// One line per field of the record.
fn fields(r: &Row, now: UnixMs) -> Vec<Line<'static>> {
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
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:>12} ", "status"), label),
        Span::styled(format!("{symbol} {}", status.as_str()), look),
    ])];
    if !r.damage().is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12} ", "damaged"), label),
            Span::styled(
                clean(&r.damage().join("; ")),
                Style::new().fg(Color::Yellow),
            ),
        ]));
    }
    lines.extend([
        field("name", clean(r.name())),
        field("id", clean(r.id())),
        field("created", time(Some(r.created_at))),
        field("created by", clean(r.created_by())),
        field(
            "expires",
            r.expires_at().map_or("never".to_owned(), |t| time(Some(t))),
        ),
        field(
            "last used",
            r.last_used_at()
                .map_or("never".to_owned(), |t| time(Some(t))),
        ),
    ]);
    if r.revoked() {
        lines.push(field("revoked", time(r.revoked_at())));
        lines.push(field("reason", clean(r.revoked_reason().unwrap_or("-"))));
    }
    lines.push(field(
        "secret",
        format!(
            "{}{}",
            r.secret_alg.as_str(),
            if r.sealed() { ", sealed copy" } else { "" }
        ),
    ));
    lines.push(field(
        "token",
        format!(
            "prefix {}, checksum {}",
            r.token_prefix().map(clean).unwrap_or_else(|| "-".into()),
            if r.token_checksum() { "yes" } else { "no" }
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
    lines
}
