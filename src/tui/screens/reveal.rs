//! The one-time reveal of a new key's id and secret.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::keygen::Secret;
use crate::sanitize::line as clean;
use crate::store::Created;
use crate::tui::keymap::{Action, Context};
use crate::tui::msg::{ClipCmd, Out};

use super::{Cx, Reply};

use crate::tui::layout::centered;

/// The one-time view of a new key's secret.
#[derive(Clone, Debug)]
pub struct Reveal {
    pub created: Box<Created>,
    /// The key this one replaces, after a rotation.
    pub rotated_from: Option<String>,
}

impl Reveal {
    /// Copies (the secret, the id, the token) keep it open; back, quit and Enter close it
    /// and drop the secret.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let c = &self.created;
        let (text, what, secret) = match cx.keymap.lookup_in(Context::Reveal, key) {
            Some(Action::Back | Action::Quit | Action::Details) => {
                // Closing drops the reveal, which zeroes the secret.
                return Reply::close().say("the secret is gone from keytui; it is not shown again");
            }
            Some(Action::CopySecret) => (c.secret.clone(), secret_what(&c.record.name), true),
            Some(Action::CopyId) => (
                Secret::new(c.record.id.clone()),
                id_what(&c.record.id, &c.record.name),
                false,
            ),
            Some(Action::CopyToken) => (c.token.clone(), token_what(&c.record.name), true),
            _ => return Reply::stay(),
        };
        Reply::stay().out(Out::Clip(ClipCmd::Copy { text, what, secret }))
    }

    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let reveal = self;
        let keymap = cx.keymap;
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
                keymap
                    .footer(Context::Reveal)
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
}

/// What a copy of a key's id is called in messages: the id itself (it is public) and
/// the key's name.
pub fn id_what(id: &str, name: &str) -> String {
    format!(
        "the id {} of {}",
        crate::sanitize::line(id),
        crate::sanitize::line(name)
    )
}

/// What a copy of a key's secret is called in messages.
pub fn secret_what(name: &str) -> String {
    format!("the secret of {}", crate::sanitize::line(name))
}

/// What a copy of a key's whole token (prefix, id, secret, checksum) is called.
pub fn token_what(name: &str) -> String {
    format!("the token of {}", crate::sanitize::line(name))
}
