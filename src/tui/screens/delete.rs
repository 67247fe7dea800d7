//! The delete dialog: type the key's name (production namespaces: the namespace name) and
//! press Enter. Owns its field; knows nothing of other screens.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::sanitize::line as clean;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{Out, SyncCmd};

use super::{Cx, Reply};

/// The delete confirmation: the key's name typed out (production namespaces: the
/// namespace name).
#[derive(Clone, Debug)]
pub struct DeleteDialog {
    pub id: String,
    pub name: String,
    pub typed: Input,
    pub production: bool,
}

impl DeleteDialog {
    pub fn new(id: String, name: String, production: bool) -> Self {
        DeleteDialog {
            id,
            name,
            typed: Input::default(),
            production,
        }
    }

    fn confirm(&self, cx: &Cx) -> Reply {
        if let Some(m) = cx.refusal("delete") {
            return Reply::close().complain(m.text);
        }
        Reply::close()
            .say(format!("deleting {}…", self.name))
            .out(Out::Sync(SyncCmd::Delete {
                id: self.id.clone(),
            }))
    }

    /// Enter deletes when the typed text matches; a wrong namespace name cancels, a wrong
    /// key name leaves the dialog open; Esc cancels.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        match cx.keymap.lookup_in(Context::Delete, key) {
            Some(Action::Back) => Reply::close().say("delete cancelled"),
            Some(Action::Confirm) if self.production => {
                if self.typed.value() != cx.server.namespace {
                    return Reply::close()
                        .complain("the namespace name does not match: delete cancelled");
                }
                self.confirm(cx)
            }
            Some(Action::Confirm) => {
                if self.typed.value() != self.name {
                    return Reply::stay().complain(format!(
                        "the name does not match; {} cancels",
                        cx.keymap.hint(Context::Delete, Action::Back)
                    ));
                }
                self.confirm(cx)
            }
            _ => {
                self.typed.handle_event(&crossterm::event::Event::Key(*key));
                Reply::stay()
            }
        }
    }

    /// The delete dialog; `production_ns`: the namespace name to type instead of the key's.
    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let (id, name, typed) = (self.id.as_str(), self.name.as_str(), &self.typed);
        let production_ns = self.production.then_some(cx.server.namespace.as_str());
        let km = cx.keymap;
        let (enter, esc) = (
            km.hint(Context::Delete, Action::Confirm),
            km.hint(Context::Delete, Action::Back),
        );
        let popup = centered(area, 60, 8);
        frame.render_widget(Clear, popup);
        let block = Block::new()
            .borders(Borders::ALL)
            .title(if production_ns.is_some() {
                " delete permanently · PRODUCTION "
            } else {
                " delete permanently "
            })
            .border_style(Style::new().fg(Color::Red));
        let inner = block.inner(popup);
        let lines = vec![
            Line::from(vec![
                Span::raw("Delete key "),
                Span::styled(
                    format!("“{}”", clean(name)),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(" ({})? This cannot be undone.", clean(id))),
            ]),
            match production_ns {
                Some(ns) => Line::from(vec![
                    Span::raw("Type the namespace name "),
                    Span::styled(clean(ns), Style::new().add_modifier(Modifier::BOLD)),
                    Span::raw(format!(" and press {enter} (anything else cancels):")),
                ]),
                None => Line::from(format!(
                    "Type the key's name and press {enter} ({esc} cancels):"
                )),
            },
        ];
        frame.render_widget(block, popup);
        let text_h = inner.height.saturating_sub(1);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            Rect::new(inner.x, inner.y, inner.width, text_h),
        );
        if inner.height == 0 {
            return;
        }
        let y = inner.y + text_h;
        let width = inner.width.saturating_sub(2) as usize;
        let scroll = typed.visual_scroll(width.max(1));
        let shown: String = typed.value().chars().skip(scroll).collect();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", Style::new().fg(Color::Red)),
                Span::raw(shown),
            ])),
            Rect::new(inner.x, y, inner.width, 1),
        );
        let x = inner.x + 2 + typed.visual_cursor().saturating_sub(scroll) as u16;
        if x < inner.x + inner.width {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}
