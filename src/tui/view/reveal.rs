//! The one-time reveal of a new key's id and secret.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::sanitize::line as clean;
use crate::tui::keymap::{Context, Keymap};
use crate::tui::state::Reveal;

use super::centered;
use super::footer::context_hints;

pub fn render(reveal: &Reveal, keymap: &Keymap, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 76, 12);
    frame.render_widget(Clear, popup);
    let c = &reveal.created;
    let title = match &reveal.rotated_from {
        Some(old) => format!(" rotated {}: new key ", clean(old)),
        None => " key created ".to_owned(),
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    let label = Style::new().fg(Color::DarkGray);
    let strong = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    let lines = vec![
        Line::from(vec![
            Span::styled("secret ", label),
            Span::styled(c.secret.expose().to_owned(), strong),
        ]),
        Line::from(Span::styled(
            "Shown only this once: the secret will not be shown again. Copy or store it now.",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
        Line::from(vec![
            Span::styled("id     ", label),
            Span::raw(clean(&c.record.id)),
        ]),
        Line::from(vec![
            Span::styled("token  ", label),
            Span::raw(c.token.expose().to_owned()),
        ]),
        Line::from(vec![
            Span::styled("name   ", label),
            Span::raw(clean(&c.record.name)),
        ]),
        Line::default(),
        Line::from(
            context_hints(keymap, Context::Reveal)
                .into_iter()
                .map(|(k, what)| format!("{k} {what}"))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}
