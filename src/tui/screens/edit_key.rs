//! The edit form popup: a key's name, expiry and metadata, prefilled with its values and
//! checked by the new-key form's rules (`new_key::check_name`, `check_expires`, the
//! metadata line of `crate::input`), each error on the line under its field. Enter sends
//! only what changed ([`KeyEdit`]) and the form waits for the answer; a failure leaves it
//! open. Shortening the expiry of a key in a production namespace needs the namespace
//! name typed, as revoke does. Owns its fields; knows nothing of other screens.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::record::{UnixMs, rfc3339};
use crate::sanitize::line as clean;
use crate::store::KeyEdit;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{Out, SyncCmd};
use crate::tui::row::Row;

use super::new_key::{check_expires, check_name};
use super::{Cx, Reply};

const LABEL_W: u16 = 11;

/// Field numbers of the edit form.
pub mod edit_field {
    pub const NAME: usize = 0;
    pub const EXPIRES: usize = 1;
    pub const META: usize = 2;
    /// Production only, once the expiry is shortened: the namespace name.
    pub const NAMESPACE: usize = 3;
}

/// Labels and help of the edit form's fields, in order.
pub const EDIT_FIELDS: [(&str, &str); 4] = [
    ("Name", "a name for people"),
    ("Expires", "empty = never; 90d, 12h or 2027-01-31T00:00:00Z"),
    (
        "Metadata",
        "k=v pairs split by spaces; remove a pair to remove it from the key",
    ),
    (
        "Namespace",
        "production: type the namespace name to shorten the expiry",
    ),
];

/// The edit form of one key.
#[derive(Clone, Debug)]
pub struct EditForm {
    pub id: String,
    /// The values the form opened with: what an edit is compared to.
    name: String,
    expires_at: Option<UnixMs>,
    meta: BTreeMap<String, String>,
    /// Name, expiry, metadata, and (production, expiry shortened) the namespace name.
    pub fields: Vec<Input>,
    pub focus: usize,
    /// Enter was pressed: every field's error shows (before, those edited).
    pub submitted: bool,
    touched: [bool; 4],
    /// An edit is on its way; the form waits for it.
    pub saving: bool,
    /// Why the last edit failed (from Redis), or `None`.
    pub error: Option<String>,
}

/// The metadata as the field shows it, read back by `crate::input::parse_meta_line`: a
/// backslash before each space, quote and backslash.
pub fn meta_line(meta: &BTreeMap<String, String>) -> String {
    let esc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_whitespace() || matches!(c, '"' | '\'' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    meta.iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

impl EditForm {
    /// The form for `r`, prefilled with its values.
    pub fn new(r: &Row) -> Self {
        let meta: BTreeMap<String, String> = r
            .meta()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let values = [
            r.name().to_owned(),
            r.expires_at().map(rfc3339).unwrap_or_default(),
            meta_line(&meta),
        ];
        EditForm {
            id: r.id().to_owned(),
            name: r.name().to_owned(),
            expires_at: r.expires_at(),
            meta,
            fields: values.into_iter().map(Input::new).collect(),
            focus: 0,
            submitted: false,
            touched: [false; 4],
            saving: false,
            error: None,
        }
    }

    fn value(&self, i: usize) -> &str {
        self.fields.get(i).map(|f| f.value().trim()).unwrap_or("")
    }

    /// Whether the namespace field is there (production, expiry shortened).
    pub fn asks_namespace(&self) -> bool {
        self.fields.len() > edit_field::NAMESPACE
    }

    /// The edit (what differs from the key's values) and what is wrong with each field.
    pub fn check(&self, now: UnixMs) -> (Option<KeyEdit>, [Option<String>; 3]) {
        let mut errors: [Option<String>; 3] = Default::default();
        let mut edit = KeyEdit::default();
        let name = self.value(edit_field::NAME);
        match check_name(name) {
            Ok(()) if name != self.name => edit.name = Some(name.to_owned()),
            Ok(()) => {}
            Err(e) => errors[edit_field::NAME] = Some(e),
        }
        let expires = self.value(edit_field::EXPIRES);
        // The value it opened with (maybe in the past, for an expired key) is no change.
        if expires != self.expires_at.map(rfc3339).unwrap_or_default() {
            match check_expires(expires, now) {
                Ok(t) if t != self.expires_at => edit.expires_at = Some(t),
                Ok(_) => {}
                Err(e) => errors[edit_field::EXPIRES] = Some(e),
            }
        }
        match crate::input::parse_meta_line(self.value(edit_field::META)) {
            Ok(meta) => {
                for (k, v) in &meta {
                    if self.meta.get(k) != Some(v) {
                        edit.set_meta.insert(k.clone(), v.clone());
                    }
                }
                edit.unset_meta = (self.meta.keys())
                    .filter(|k| !meta.contains_key(*k))
                    .cloned()
                    .collect();
            }
            Err(e) => errors[edit_field::META] = Some(e),
        }
        let ok = errors.iter().all(Option::is_none);
        (ok.then_some(edit), errors)
    }

    /// Whether `edit` makes the key expire sooner than it does now.
    fn shortens(&self, edit: &KeyEdit) -> bool {
        match (edit.expires_at, self.expires_at) {
            (Some(Some(new)), Some(old)) => new < old,
            (Some(Some(_)), None) => true,
            _ => false,
        }
    }

    /// The errors to show now: of the fields edited, or of all after Enter.
    pub fn shown_errors(&self, now: UnixMs) -> [Option<String>; 3] {
        let mut errors = self.check(now).1;
        for (i, e) in errors.iter_mut().enumerate() {
            if !self.submitted && !self.touched[i] {
                *e = None;
            }
        }
        errors
    }

    /// Tab/Down and S-Tab/Up move between the fields, Enter checks them and saves (the
    /// cursor goes to the first wrong field), Esc closes; other keys are typed.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let n = self.fields.len();
        match cx.keymap.lookup_in(Context::Edit, key) {
            Some(Action::Back) => {
                return Reply::close().say(if self.saving {
                    "form closed; the edit is still on its way"
                } else {
                    "edit cancelled"
                });
            }
            Some(Action::NextField | Action::Down) => self.focus = (self.focus + 1) % n,
            Some(Action::PrevField | Action::Up) => self.focus = (self.focus + n - 1) % n,
            Some(Action::Confirm) if self.saving => {}
            Some(Action::Confirm) => return self.submit(cx),
            _ if self.saving => {}
            _ => {
                if let Some(input) = self.fields.get_mut(self.focus) {
                    let before = input.value().to_owned();
                    input.handle_event(&crossterm::event::Event::Key(*key));
                    if input.value() != before {
                        if let Some(t) = self.touched.get_mut(self.focus) {
                            *t = true;
                        }
                        self.error = None;
                    }
                }
            }
        }
        Reply::stay()
    }

    fn submit(&mut self, cx: &Cx) -> Reply {
        self.submitted = true;
        self.error = None;
        let edit = match self.check(cx.now) {
            (Some(edit), _) => edit,
            (None, errors) => {
                if let Some(i) = errors.iter().position(Option::is_some) {
                    self.focus = i;
                }
                return Reply::stay();
            }
        };
        if edit == KeyEdit::default() {
            return Reply::close().say("nothing changed");
        }
        if cx.server.production && self.shortens(&edit) {
            if !self.asks_namespace() {
                self.fields.push(Input::default());
                self.focus = edit_field::NAMESPACE;
                return Reply::stay();
            }
            if self.value(edit_field::NAMESPACE) != cx.server.namespace {
                self.focus = edit_field::NAMESPACE;
                self.error =
                    Some("the namespace name does not match: the expiry is not shortened".into());
                return Reply::stay();
            }
        }
        if let Some(m) = cx.refusal("edit") {
            return Reply::refused(m);
        }
        self.saving = true;
        Reply::stay()
            .say(format!("saving {}…", clean(&self.name)))
            .out(Out::Sync(SyncCmd::Edit {
                id: self.id.clone(),
                edit: Box::new(edit),
            }))
    }

    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let km = cx.keymap;
        let key = |a| km.hint(Context::Edit, a);
        let errors = self.shown_errors(cx.now);
        let extra = errors.iter().filter(|e| e.is_some()).count() as u16
            + if self.asks_namespace() { 2 } else { 0 };
        let popup = centered(area, 74, 8 + extra);
        frame.render_widget(Clear, popup);
        let title = if cx.server.production {
            format!(" edit {} · PRODUCTION ", clean(&self.id))
        } else {
            format!(" edit {} ", clean(&self.id))
        };
        let block = Block::new().borders(Borders::ALL).title(title);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let value_w = inner.width.saturating_sub(LABEL_W) as usize;
        let red = Style::new().fg(Color::Red);
        let dim = Style::new().fg(Color::DarkGray);
        let mut lines = Vec::new();
        let mut cursor = None;
        for (i, ((label, _), input)) in EDIT_FIELDS.iter().zip(&self.fields).enumerate() {
            let focused = i == self.focus;
            let error = errors.get(i).and_then(Option::as_ref);
            if i == edit_field::NAMESPACE {
                lines.push(Line::from(vec![
                    Span::styled("The expiry gets shorter: type the namespace name ", red),
                    Span::styled(
                        clean(&cx.server.namespace),
                        red.add_modifier(Modifier::BOLD),
                    ),
                ]));
            }
            let scroll = input.visual_scroll(value_w.max(1));
            let shown: String = clean(&input.value().chars().skip(scroll).collect::<String>());
            let mut label_style = if focused {
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            if error.is_some() {
                label_style = label_style.fg(Color::Red);
            }
            let value_style = if focused {
                Style::new().add_modifier(Modifier::UNDERLINED)
            } else {
                Style::new()
            };
            if focused {
                cursor = Some((
                    lines.len() as u16,
                    input.visual_cursor().saturating_sub(scroll) as u16,
                ));
            }
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<w$}", w = LABEL_W as usize), label_style),
                Span::styled(shown, value_style),
            ]));
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(format!("  ✗ {e}"), red)));
            }
        }
        lines.push(Line::default());
        let help = EDIT_FIELDS.get(self.focus).map(|f| f.1).unwrap_or("");
        lines.push(Line::from(Span::styled(help, dim)));
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(e.clone(), red)));
        } else if self.saving {
            lines.push(Line::from(format!(
                "saving… ({} closes the form)",
                key(Action::Back)
            )));
        } else {
            lines.push(Line::from(format!(
                "{} saves · {} next field · {} cancels",
                key(Action::Confirm),
                key(Action::NextField),
                key(Action::Back)
            )));
        }
        frame.render_widget(Paragraph::new(lines), inner);
        if let Some((row, col)) = cursor {
            let x = inner.x + LABEL_W + col;
            let y = inner.y + row;
            if x < inner.x + inner.width && y < inner.y + inner.height {
                frame.set_cursor_position(Position::new(x, y));
            }
        }
    }
}
