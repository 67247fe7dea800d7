//! The rotate dialog: the grace period and, where needed, the namespace name (production)
//! and the word `again` (a key rotated before) typed out. Every confirmation is Enter in a
//! text field, so a burst of the rotate key only types into it. Owns its fields; knows
//! nothing of other screens.

use std::time::Duration;

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

/// Grace periods the rotate dialog cycles through with Up/Down.
pub const GRACE_PRESETS: [&str; 6] = ["0s", "1h", "24h", "7d", "30d", "90d"];

/// The word typed to rotate a key that was rotated before.
pub const ROTATE_AGAIN_WORD: &str = "again";

/// Which field of the rotate dialog has the keyboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RotateFocus {
    /// The grace period: typed, or chosen with Up/Down.
    #[default]
    Grace,
    /// Production namespaces: the namespace name.
    Namespace,
    /// A key rotated before: the word `again`.
    Again,
}

/// The rotate confirmation: the grace period and, where needed, the namespace name
/// (production) and the word `again` (a key rotated before) typed out. Every confirmation
/// is Enter in a text field, so a burst of the rotate key only types into it.
#[derive(Clone, Debug)]
pub struct RotateDialog {
    pub id: String,
    pub name: String,
    /// The successor of an earlier rotation, if any.
    pub rotated_to: Option<String>,
    pub grace: Input,
    pub focus: RotateFocus,
    pub typed_ns: Option<Input>,
    pub again: Option<Input>,
    /// Why the last Enter did not rotate.
    pub error: Option<String>,
}

impl RotateDialog {
    pub fn new(id: String, name: String, rotated_to: Option<String>, production: bool) -> Self {
        RotateDialog {
            again: rotated_to.is_some().then(Input::default),
            id,
            name,
            rotated_to,
            grace: Input::new("24h".into()),
            focus: RotateFocus::Grace,
            typed_ns: production.then(Input::default),
            error: None,
        }
    }

    /// The fields present, in Tab order.
    fn fields(&self) -> Vec<RotateFocus> {
        let mut f = vec![RotateFocus::Grace];
        if self.typed_ns.is_some() {
            f.push(RotateFocus::Namespace);
        }
        if self.again.is_some() {
            f.push(RotateFocus::Again);
        }
        f
    }

    /// Whether `action` does something now (the footer shows only those): Tab only
    /// with more than one field, Up/Down only on the grace period.
    pub fn acts(&self, action: Action) -> bool {
        match action {
            Action::NextField | Action::PrevField => self.fields().len() > 1,
            Action::Up | Action::Down => self.focus == RotateFocus::Grace,
            _ => true,
        }
    }

    fn focused_input(&mut self) -> &mut Input {
        match self.focus {
            RotateFocus::Namespace if self.typed_ns.is_some() => {
                self.typed_ns.get_or_insert_with(Input::default)
            }
            RotateFocus::Again if self.again.is_some() => {
                self.again.get_or_insert_with(Input::default)
            }
            _ => &mut self.grace,
        }
    }
}

impl RotateDialog {
    /// Up/Down choose a preset grace period (or it is typed), Tab moves between the
    /// fields, Enter rotates when every field is right (else says why and stays open), Esc
    /// cancels.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        match cx.keymap.lookup_in(Context::Rotate, key) {
            Some(Action::Back) => return Reply::close().say("rotate cancelled"),
            Some(a @ (Action::NextField | Action::PrevField)) => {
                let fields = self.fields();
                let at = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if a == Action::NextField {
                    1
                } else {
                    fields.len() - 1
                };
                self.focus = fields[(at + step) % fields.len()];
            }
            Some(a @ (Action::Up | Action::Down)) if self.focus == RotateFocus::Grace => {
                let n = GRACE_PRESETS.len();
                let at = GRACE_PRESETS
                    .iter()
                    .position(|p| *p == self.grace.value().trim());
                let next = match (at, a) {
                    (Some(i), Action::Down) => (i + 1) % n,
                    (Some(i), _) => (i + n - 1) % n,
                    (None, _) => 2,
                };
                self.grace = Input::new(GRACE_PRESETS[next].into());
                self.error = None;
            }
            Some(Action::Confirm) => match self.confirmed(&cx.server.namespace) {
                Ok(grace) => {
                    if let Some(m) = cx.refusal("rotate") {
                        return Reply::close().complain(m.text);
                    }
                    return Reply::close()
                        .say(format!("rotating {}…", self.name))
                        .out(Out::Sync(SyncCmd::Rotate {
                            id: self.id.clone(),
                            grace,
                            force: self.again.is_some(),
                        }));
                }
                Err(e) => self.error = Some(e),
            },
            _ => {
                self.focused_input()
                    .handle_event(&crossterm::event::Event::Key(*key));
                self.error = None;
            }
        }
        Reply::stay()
    }

    /// The grace period of a rotate dialog whose fields are all right, or what is wrong.
    fn confirmed(&self, namespace: &str) -> Result<Duration, String> {
        let d = self;
        let grace = crate::input::parse_duration(d.grace.value().trim())
            .map_err(|_| "grace period: give a duration, e.g. 0s, 1h, 24h, 7d".to_owned())?;
        if let Some(typed) = &d.typed_ns
            && typed.value() != namespace
        {
            return Err("type the namespace name to rotate in a production namespace".into());
        }
        if let Some(again) = &d.again
            && again.value().trim() != ROTATE_AGAIN_WORD
        {
            return Err(format!(
                "this key was rotated before: type {ROTATE_AGAIN_WORD} to make another successor"
            ));
        }
        Ok(grace)
    }

    /// The rotate dialog: what happens, the grace period field, then the namespace field
    /// (production) and the `again` field (a key rotated before).
    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let d = self;
        let ns = cx.server.namespace.as_str();
        let km = cx.keymap;
        let extra = u16::from(d.typed_ns.is_some()) * 2 + u16::from(d.again.is_some()) * 3;
        let popup = centered(area, 66, 11 + extra);
        frame.render_widget(Clear, popup);
        let title = if d.typed_ns.is_some() {
            " rotate · PRODUCTION "
        } else {
            " rotate "
        };
        let block = Block::new()
            .borders(Borders::ALL)
            .title(title)
            .border_style(Style::new().fg(Color::Yellow));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let red_bold = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        let mut lines = vec![
            Line::from(vec![
                Span::raw("Rotate key "),
                Span::styled(format!("“{}”", clean(&d.name)), bold),
                Span::raw(format!(" ({})?", clean(&d.id))),
            ]),
            Line::from("A new key of the same name, metadata and shape; its secret is shown once."),
            Line::from(format!(
                "The old key keeps working for the grace period ({}/{} or type it).",
                km.hint(Context::Rotate, Action::Up),
                km.hint(Context::Rotate, Action::Down)
            )),
        ];
        if let Some(to) = &d.rotated_to {
            lines.push(Line::from(vec![
                Span::styled("Already rotated", red_bold),
                Span::raw(format!(
                    " to {}, which stays valid. Type {ROTATE_AGAIN_WORD} to make another successor.",
                    clean(to)
                )),
            ]));
        }
        if d.typed_ns.is_some() {
            lines.push(Line::from(vec![
                Span::raw("Type the namespace name "),
                Span::styled(clean(ns), bold),
                Span::raw(format!(
                    " ({} moves).",
                    km.hint(Context::Rotate, Action::NextField)
                )),
            ]));
        }
        lines.push(match &d.error {
            Some(e) => Line::from(Span::styled(clean(e), red_bold)),
            None => Line::from(vec![
                Span::styled(km.hint(Context::Rotate, Action::Confirm), red_bold),
                Span::raw(" rotate · "),
                Span::styled(km.hint(Context::Rotate, Action::Back), red_bold),
                Span::raw(" cancel"),
            ]),
        });
        let fields = 1 + u16::from(d.typed_ns.is_some()) + u16::from(d.again.is_some());
        let text_h = inner.height.saturating_sub(fields * 2);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            Rect::new(inner.x, inner.y, inner.width, text_h),
        );
        let mut y = inner.y + text_h;
        let grace_focused = d.focus == RotateFocus::Grace;
        field(
            frame,
            inner,
            &mut y,
            "grace period:",
            &d.grace,
            grace_focused,
        );
        if let Some(typed) = &d.typed_ns {
            let focused = d.focus == RotateFocus::Namespace;
            field(frame, inner, &mut y, "namespace:", typed, focused);
        }
        if let Some(again) = &d.again {
            let focused = d.focus == RotateFocus::Again;
            let label = format!("type {ROTATE_AGAIN_WORD} to rotate again:");
            field(frame, inner, &mut y, &label, again, focused);
        }
    }
}
