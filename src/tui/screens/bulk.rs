//! The bulk dialog: one change (revoke, restore, delete, extend the expiry) to the marked
//! keys, or the selected one. It previews what it acts on (the count, the first names,
//! how many more, and the keys left out and why), then asks as the single-key dialogs do:
//! revoke `y` (Tab: a reason), restore `y`, delete the word `delete` typed, extend a
//! duration; in production namespaces revoke and delete take the namespace name typed
//! instead. Owns its fields and the ids; sends one [`SyncCmd::Bulk`]; knows nothing of
//! other screens or of the rows.

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::sanitize::line as clean;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{BulkOp, Out, SyncCmd};
use crate::tui::widgets::text_field::field;

use super::{Cx, Reply};

/// Names the preview lists before "and N more".
pub const PREVIEW_NAMES: usize = 5;
/// The word typed to confirm a bulk delete outside production namespaces.
pub const DELETE_WORD: &str = "delete";
/// The extension the extend dialog starts with.
pub const DEFAULT_EXTEND: &str = "30d";

/// Which change the dialog makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkKind {
    Revoke,
    Restore,
    Delete,
    Extend,
}

impl BulkKind {
    pub fn verb(self) -> &'static str {
        match self {
            BulkKind::Revoke => "revoke",
            BulkKind::Restore => "restore",
            BulkKind::Delete => "delete",
            BulkKind::Extend => "extend",
        }
    }

    /// Why a marked key is left out of this change.
    pub fn skip_reason(self) -> &'static str {
        match self {
            BulkKind::Revoke => "already revoked",
            BulkKind::Restore => "not revoked",
            BulkKind::Extend => "never expire",
            BulkKind::Delete => "",
        }
    }
}

/// Where typing goes in the bulk dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkFocus {
    /// Keys are commands: `y` goes ahead, Tab goes to the reason, anything else cancels.
    Keys,
    /// Revoke: the optional reason.
    Reason,
    /// Extend: by how long.
    Duration,
    /// The confirmation typed out: `delete`, or the namespace name in production.
    Typed,
}

/// A change to many keys, previewed and confirmed.
#[derive(Clone, Debug)]
pub struct BulkDialog {
    pub kind: BulkKind,
    /// The keys it acts on.
    pub ids: Vec<String>,
    /// The first names of those keys (cleaned), for the preview.
    pub names: Vec<String>,
    /// Marked keys left out (see [`BulkKind::skip_reason`]): their number and first names.
    pub skipped: usize,
    pub skipped_names: Vec<String>,
    pub focus: BulkFocus,
    pub reason: Input,
    pub duration: Input,
    pub typed: Input,
    pub production: bool,
}

impl BulkDialog {
    /// `ids`: the keys it acts on, `names`: the first names of those (at least
    /// [`PREVIEW_NAMES`] when there are that many); `skipped` marked keys are left out,
    /// `skipped_names` the first names of those.
    pub fn new(
        kind: BulkKind,
        ids: Vec<String>,
        names: Vec<String>,
        skipped: usize,
        skipped_names: Vec<String>,
        production: bool,
    ) -> Self {
        let focus = match kind {
            BulkKind::Delete => BulkFocus::Typed,
            BulkKind::Revoke if production => BulkFocus::Typed,
            BulkKind::Extend => BulkFocus::Duration,
            BulkKind::Revoke | BulkKind::Restore => BulkFocus::Keys,
        };
        BulkDialog {
            kind,
            ids,
            names: names.iter().take(PREVIEW_NAMES).map(|n| clean(n)).collect(),
            skipped,
            skipped_names: skipped_names.iter().take(2).map(|n| clean(n)).collect(),
            focus,
            reason: Input::default(),
            duration: Input::new(DEFAULT_EXTEND.into()),
            typed: Input::default(),
            production,
        }
    }

    /// Where its keys are looked up.
    pub fn context(&self) -> Context {
        match self.focus {
            BulkFocus::Keys => Context::BulkAsk,
            _ => Context::Bulk,
        }
    }

    /// Whether `action` does something now (the footer shows only those): Tab moves
    /// between fields only where there are two (revoke in production), or from the
    /// question to the reason.
    pub fn acts(&self, action: Action) -> bool {
        match (self.focus, action) {
            (BulkFocus::Keys, Action::NextField) => self.kind == BulkKind::Revoke,
            (_, Action::NextField | Action::PrevField) => {
                self.kind == BulkKind::Revoke && self.production
            }
            _ => true,
        }
    }

    fn cancel(&self) -> Reply {
        Reply::close().say(format!("{} cancelled", self.kind.verb()))
    }

    fn go(&self, cx: &Cx, op: BulkOp) -> Reply {
        if let Some(m) = cx.refusal(self.kind.verb()) {
            return Reply::close().complain(m.text);
        }
        Reply::close()
            .say(format!("{} {} keys…", self.kind.verb(), self.ids.len()))
            .out(Out::Sync(SyncCmd::Bulk {
                op,
                ids: self.ids.clone(),
            }))
    }

    /// The change, once everything typed is right.
    fn confirm(&self, cx: &Cx) -> Reply {
        let ns_ok = self.typed.value() == cx.server.namespace;
        match self.kind {
            BulkKind::Revoke if self.production && !ns_ok => {
                Reply::close().complain("the namespace name does not match: revoke cancelled")
            }
            BulkKind::Revoke => {
                let r = self.reason.value().trim();
                let reason = (!r.is_empty()).then(|| r.to_owned());
                self.go(cx, BulkOp::Revoke { reason })
            }
            BulkKind::Restore => self.go(cx, BulkOp::Restore),
            BulkKind::Delete if self.production && !ns_ok => {
                Reply::close().complain("the namespace name does not match: delete cancelled")
            }
            BulkKind::Delete if !self.production && self.typed.value() != DELETE_WORD => {
                Reply::stay().complain(format!(
                    "type {DELETE_WORD} to delete them; {} cancels",
                    cx.keymap.hint(Context::Bulk, Action::Back)
                ))
            }
            BulkKind::Delete => self.go(cx, BulkOp::Delete),
            BulkKind::Extend => match crate::input::parse_duration(self.duration.value()) {
                Ok(by) if by > Duration::ZERO => self.go(cx, BulkOp::Extend { by }),
                Ok(_) => Reply::stay().complain("extend by more than 0s"),
                Err(e) => Reply::stay().complain(format!("extend by: {e}")),
            },
        }
    }

    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let action = cx.keymap.lookup_in(self.context(), key);
        match (self.focus, action) {
            (BulkFocus::Keys, Some(Action::Yes)) => self.confirm(cx),
            (BulkFocus::Keys, Some(a @ Action::NextField)) if self.acts(a) => {
                self.focus = BulkFocus::Reason;
                Reply::stay()
            }
            (BulkFocus::Keys, _) | (_, Some(Action::Back)) => self.cancel(),
            (_, Some(a @ (Action::NextField | Action::PrevField))) => {
                // Revoke in production: between the namespace and the reason.
                if self.acts(a) {
                    self.focus = match self.focus {
                        BulkFocus::Typed => BulkFocus::Reason,
                        _ => BulkFocus::Typed,
                    };
                }
                Reply::stay()
            }
            (_, Some(Action::Confirm)) => self.confirm(cx),
            (focus, _) => {
                let event = crossterm::event::Event::Key(*key);
                match focus {
                    BulkFocus::Reason => self.reason.handle_event(&event),
                    BulkFocus::Duration => self.duration.handle_event(&event),
                    _ => self.typed.handle_event(&event),
                };
                Reply::stay()
            }
        }
    }

    /// The preview and the question.
    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let km = cx.keymap;
        let n = self.ids.len();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let red_bold = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        let head = match self.kind {
            BulkKind::Revoke => {
                format!("Revoke {n} keys? Apps using them are refused from now on.")
            }
            BulkKind::Restore => format!("Restore {n} revoked keys?"),
            BulkKind::Delete => format!("Delete {n} keys permanently? This cannot be undone."),
            BulkKind::Extend => format!("Move the expiry of {n} keys later by:"),
        };
        let mut lines = vec![Line::from(Span::styled(head, bold))];
        for name in &self.names {
            lines.push(Line::from(format!("  · {name}")));
        }
        if n > self.names.len() {
            lines.push(Line::from(format!("  … and {} more", n - self.names.len())));
        }
        if self.skipped > 0 {
            let mut text = format!(
                "skipped: {} {} ({}",
                self.skipped,
                self.kind.skip_reason(),
                self.skipped_names.join(", ")
            );
            if self.skipped > self.skipped_names.len() {
                text.push_str(", …");
            }
            text.push(')');
            lines.push(Line::from(Span::styled(
                text,
                Style::new().fg(Color::DarkGray),
            )));
        }
        let (enter, esc) = (
            km.hint(Context::Bulk, Action::Confirm),
            km.hint(Context::Bulk, Action::Back),
        );
        let mut fields: Vec<(&str, &Input, BulkFocus)> = Vec::new();
        match (self.kind, self.production) {
            (BulkKind::Revoke | BulkKind::Delete, true) => {
                lines.push(Line::from(vec![
                    Span::raw("Type the namespace name "),
                    Span::styled(clean(&cx.server.namespace), bold),
                    Span::raw(format!(", {enter} goes ahead; {esc} cancels.")),
                ]));
                fields.push(("namespace:", &self.typed, BulkFocus::Typed));
            }
            (BulkKind::Delete, false) => {
                lines.push(Line::from(format!(
                    "Type {DELETE_WORD} and press {enter} ({esc} cancels):"
                )));
                fields.push(("confirm:", &self.typed, BulkFocus::Typed));
            }
            (BulkKind::Extend, _) => {
                lines.push(Line::from(format!(
                    "90d, 12h, 1d 6h… {enter} extends (from now for expired keys); {esc} cancels."
                )));
                fields.push(("extend by:", &self.duration, BulkFocus::Duration));
            }
            (BulkKind::Revoke | BulkKind::Restore, false) if self.focus == BulkFocus::Keys => {
                let mut spans = vec![
                    Span::styled(km.hint(Context::BulkAsk, Action::Yes), red_bold),
                    Span::raw(format!(" {} · ", self.kind.verb())),
                ];
                if self.kind == BulkKind::Revoke {
                    spans.push(Span::styled(
                        km.hint(Context::BulkAsk, Action::NextField),
                        red_bold,
                    ));
                    spans.push(Span::raw(" give a reason · "));
                }
                spans.push(Span::raw("any other key cancels"));
                lines.push(Line::from(spans));
            }
            _ => lines.push(Line::from(format!(
                "{enter} revokes with this reason; {esc} cancels."
            ))),
        }
        if self.kind == BulkKind::Revoke {
            fields.push(("reason (optional):", &self.reason, BulkFocus::Reason));
        }
        let height = lines.len() as u16 + fields.len() as u16 * 2 + 2;
        let popup = centered(area, 66, height);
        frame.render_widget(Clear, popup);
        let mut title = format!(" {} {n} keys ", self.kind.verb());
        if self.production {
            title.push_str("· PRODUCTION ");
        }
        let block = Block::new()
            .borders(Borders::ALL)
            .title(title)
            .border_style(Style::new().fg(Color::Red));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let text_h = inner.height.saturating_sub(fields.len() as u16 * 2);
        frame.render_widget(
            // One line each (the height is counted in lines): long ones are cut.
            Paragraph::new(lines),
            Rect::new(inner.x, inner.y, inner.width, text_h),
        );
        let mut y = inner.y + text_h;
        for (label, input, focus) in fields {
            field(frame, inner, &mut y, label, input, self.focus == focus);
        }
    }
}
