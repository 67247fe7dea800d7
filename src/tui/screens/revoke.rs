//! The revoke dialog. Ordinary namespaces: the question (`y` revokes, Tab moves to an
//! optional reason, any other key cancels); with the reason field focused Enter revokes.
//! Production namespaces: the namespace name is typed first; Enter revokes when it
//! matches, cancels when it does not. Esc cancels. Owns its fields; knows nothing of
//! other screens.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::sanitize::line as clean;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{Out, SyncCmd};
use crate::tui::widgets::text_field::field;

use super::{Cx, Reply};

/// Where typing goes in the revoke dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevokeFocus {
    /// Keys are commands: `y` revokes, Tab goes to the reason, anything else cancels.
    #[default]
    Keys,
    /// The optional reason field; Enter revokes.
    Reason,
    /// Production namespaces: the namespace name must be typed; Enter revokes.
    Namespace,
}

/// The revoke confirmation: an optional reason and, in production namespaces, the
/// namespace name typed out.
#[derive(Clone, Debug, Default)]
pub struct RevokeDialog {
    pub id: String,
    pub name: String,
    pub reason: Input,
    pub focus: RevokeFocus,
    /// Production namespaces only: the namespace name as typed so far.
    pub typed_ns: Option<Input>,
}

impl RevokeDialog {
    fn reason(&self) -> Option<String> {
        let r = self.reason.value().trim();
        (!r.is_empty()).then(|| r.to_owned())
    }
}

impl RevokeDialog {
    /// Where its keys are looked up.
    pub fn context(&self) -> Context {
        match self.focus {
            RevokeFocus::Keys => Context::RevokeAsk,
            _ => Context::Revoke,
        }
    }

    /// Whether `action` does something now (the footer shows only those): from the
    /// question Tab goes to the reason; between fields only with a namespace field.
    pub fn acts(&self, action: Action) -> bool {
        match (self.focus, action) {
            (RevokeFocus::Keys, _) => true,
            (_, Action::NextField | Action::PrevField) => self.typed_ns.is_some(),
            _ => true,
        }
    }

    fn confirm(&self, cx: &Cx) -> Reply {
        if let Some(m) = cx.refusal("revoke") {
            return Reply::close().complain(m.text);
        }
        Reply::close()
            .say(format!("revoking {}…", self.name))
            .out(Out::Sync(SyncCmd::Revoke {
                id: self.id.clone(),
                reason: self.reason(),
            }))
    }

    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let ctx = self.context();
        let action = cx.keymap.lookup_in(ctx, key);
        match (self.focus, action) {
            (_, Some(Action::Back)) => Reply::close().say("revoke cancelled"),
            (RevokeFocus::Keys, Some(Action::Yes)) => self.confirm(cx),
            (RevokeFocus::Keys, Some(Action::NextField)) => {
                self.focus = RevokeFocus::Reason;
                Reply::stay()
            }
            (RevokeFocus::Keys, _) => Reply::close().say("revoke cancelled"),
            (_, Some(a @ (Action::NextField | Action::PrevField))) => {
                // Between the namespace and reason fields; without a namespace field the
                // reason keeps the focus.
                self.focus = if self.focus == RevokeFocus::Reason && self.acts(a) {
                    RevokeFocus::Namespace
                } else {
                    RevokeFocus::Reason
                };
                Reply::stay()
            }
            (_, Some(Action::Confirm)) => match &self.typed_ns {
                Some(typed) if typed.value() != cx.server.namespace => {
                    Reply::close().complain("the namespace name does not match: revoke cancelled")
                }
                _ => self.confirm(cx),
            },
            (focus, _) => {
                let event = crossterm::event::Event::Key(*key);
                match (focus, self.typed_ns.as_mut()) {
                    (RevokeFocus::Namespace, Some(typed)) => {
                        typed.handle_event(&event);
                    }
                    _ => {
                        self.reason.handle_event(&event);
                    }
                }
                Reply::stay()
            }
        }
    }

    /// The revoke dialog: the question, the namespace field (production), the reason field.
    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let d = self;
        let ns = cx.server.namespace.as_str();
        let km = cx.keymap;
        let production = d.typed_ns.is_some();
        let popup = centered(area, 64, if production { 10 } else { 8 });
        frame.render_widget(Clear, popup);
        let title = if production {
            " revoke · PRODUCTION "
        } else {
            " revoke "
        };
        let block = Block::new()
            .borders(Borders::ALL)
            .title(title)
            .border_style(Style::new().fg(Color::Red));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let mut lines = vec![
            Line::from(vec![
                Span::raw("Revoke key "),
                Span::styled(format!("“{}”", clean(&d.name)), bold),
                Span::raw(format!(" ({})?", clean(&d.id))),
            ]),
            Line::from(format!(
                "Apps using it are refused from now on ({} restores).",
                km.hint(Context::Table, Action::Restore)
            )),
        ];
        let red_bold = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        if production {
            lines.push(Line::from(vec![
                Span::raw("Type the namespace name "),
                Span::styled(clean(ns), bold),
                Span::raw(format!(
                    ", {} revokes; {} cancels.",
                    km.hint(Context::Revoke, Action::Confirm),
                    km.hint(Context::Revoke, Action::Back)
                )),
            ]));
        } else if d.focus == RevokeFocus::Keys {
            lines.push(Line::from(vec![
                Span::styled(km.hint(Context::RevokeAsk, Action::Yes), red_bold),
                Span::raw(" revoke · "),
                Span::styled(km.hint(Context::RevokeAsk, Action::NextField), red_bold),
                Span::raw(" give a reason · any other key cancels"),
            ]));
        } else {
            lines.push(Line::from(format!(
                "{} revokes with this reason; {} cancels.",
                km.hint(Context::Revoke, Action::Confirm),
                km.hint(Context::Revoke, Action::Back)
            )));
        }
        let fields = if production { 2 } else { 1 };
        let text_h = inner.height.saturating_sub(fields * 2);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            Rect::new(inner.x, inner.y, inner.width, text_h),
        );
        let mut y = inner.y + text_h;
        if let Some(typed) = &d.typed_ns {
            let focused = d.focus == RevokeFocus::Namespace;
            field(frame, inner, &mut y, "namespace:", typed, focused);
        }
        let focused = d.focus == RevokeFocus::Reason;
        field(
            frame,
            inner,
            &mut y,
            "reason (optional):",
            &d.reason,
            focused,
        );
    }
}
