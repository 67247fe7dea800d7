//! The new-key form popup: each field on a line, and under a field that is wrong, what is
//! wrong with it (checked as the user types). Owns the fields and their checks (the rules
//! of `keytui create`); knows nothing of other screens.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crossterm::event::KeyEvent;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::keygen::{Encoding, Length, Spec};
use crate::record::UnixMs;
use crate::store::CreateRequest;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{Out, SyncCmd};

use super::{Cx, Reply};

const LABEL_W: u16 = 10;

/// The new-key form. It stays open until the key exists: a field that is wrong says so
/// on the line under it while the user types, and a failed create leaves it as it was.
#[derive(Clone, Debug)]
pub struct NewKeyForm {
    pub fields: Vec<Input>,
    pub focus: usize,
    /// Fields edited since the form opened: their errors show while typing.
    pub touched: [bool; FORM_FIELDS.len()],
    /// Enter was pressed: every field's error shows.
    pub submitted: bool,
    /// A create is on its way; the form waits for it.
    pub creating: bool,
    /// Why the last create failed (from Redis), or `None`.
    pub error: Option<String>,
}

/// Field numbers of the form.
pub mod field {
    pub const NAME: usize = 0;
    pub const FORMAT: usize = 1;
    pub const PREFIX: usize = 2;
    pub const BYTES: usize = 3;
    pub const EXPIRES: usize = 4;
    pub const META: usize = 5;
}

/// Labels and help of the form's fields, in order. The entropy is in bytes, as the CLI's
/// `--bytes`.
pub const FORM_FIELDS: [(&str, &str); 6] = [
    ("Name", "a name for people"),
    (
        "Format",
        "secret encoding: base62, hex, base64url, alphanumeric, custom:<chars>",
    ),
    ("Prefix", "optional token prefix, e.g. sk_live"),
    (
        "Bytes",
        "bytes of entropy, as the CLI's --bytes: 32 = 256 bits; at least 16",
    ),
    ("Expires", "empty = never; 90d, 12h or 2027-01-31T00:00:00Z"),
    (
        "Metadata",
        "k=v pairs split by spaces: team=ops scopes=read,write note=\"two words\"",
    ),
];

impl Default for NewKeyForm {
    fn default() -> Self {
        let values = ["", "base62", "", "32", "", ""];
        NewKeyForm {
            fields: values.iter().map(|v| Input::new((*v).to_owned())).collect(),
            focus: 0,
            touched: [false; FORM_FIELDS.len()],
            submitted: false,
            creating: false,
            error: None,
        }
    }
}

/// What is wrong with each field of the form (`None`: nothing).
pub type FieldErrors = [Option<String>; FORM_FIELDS.len()];

const BYTES_HINT: &str = "give a whole number of bytes, e.g. 32 (= 256 bits)";

impl NewKeyForm {
    fn value(&self, i: usize) -> &str {
        self.fields.get(i).map(|f| f.value().trim()).unwrap_or("")
    }

    /// The errors to show now: of the fields edited, or of all after Enter.
    pub fn shown_errors(&self, now: UnixMs) -> FieldErrors {
        let mut errors = self.check(now).1;
        for (i, e) in errors.iter_mut().enumerate() {
            if !self.submitted && !self.touched[i] {
                *e = None;
            }
        }
        errors
    }

    /// What the entropy field makes, e.g. `= 256 bits, 43 characters`, when the format and
    /// the number are readable.
    pub fn secret_summary(&self) -> Option<String> {
        let spec = self.secret_spec().ok()?;
        Some(format!(
            "= {:.0} bits, {} characters",
            spec.entropy_bits().floor(),
            spec.char_len()
        ))
    }

    /// The secret's encoding and length, as `keytui create --format F --bytes N` makes it.
    fn secret_spec(&self) -> Result<Spec, (usize, String)> {
        let encoding: Encoding = self
            .value(field::FORMAT)
            .parse()
            .map_err(|e| (field::FORMAT, format!("{e}")))?;
        if encoding == Encoding::Uuid {
            return Err((
                field::FORMAT,
                "uuid is for ids only; secrets: base62, hex, base64url, alphanumeric".into(),
            ));
        }
        let bytes: usize = self
            .value(field::BYTES)
            .parse()
            .map_err(|_| (field::BYTES, BYTES_HINT.to_owned()))?;
        Ok(Spec {
            encoding,
            length: Length::Bytes(bytes),
        })
    }

    /// The create request, and what is wrong with each field (the request only when
    /// nothing is): the rules of `keytui create` and the store.
    pub fn check(&self, now: UnixMs) -> (Option<CreateRequest>, FieldErrors) {
        let mut errors: FieldErrors = Default::default();
        let name = self.value(field::NAME);
        errors[field::NAME] = check_name(name).err();
        let mut req = CreateRequest::new(name);
        match self.secret_spec() {
            Ok(spec) => {
                let bits = spec.entropy_bits();
                if spec.char_len() > crate::keygen::MAX_SECRET_CHARS {
                    errors[field::BYTES] = Some(format!(
                        "too long: {} characters, at most {}",
                        spec.char_len(),
                        crate::keygen::MAX_SECRET_CHARS
                    ));
                } else if bits < crate::keygen::MIN_SECRET_BITS {
                    errors[field::BYTES] = Some(format!(
                        "{} ({:.0} bits) is too weak: at least 16 bytes (128 bits)",
                        self.value(field::BYTES),
                        bits.floor()
                    ));
                }
                req.secret_spec = spec;
            }
            Err((i, e)) => errors[i] = Some(e),
        }
        // A wrong format leaves the number unchecked: check it on its own too.
        if errors[field::FORMAT].is_some() {
            errors[field::BYTES] = match self.value(field::BYTES).parse::<usize>() {
                Ok(n) if n >= 16 => None,
                Ok(n) => Some(format!("{n} is too weak: at least 16 bytes (128 bits)")),
                Err(_) => Some(BYTES_HINT.into()),
            };
        }
        let prefix = self.value(field::PREFIX);
        if !prefix.is_empty() {
            match crate::keygen::validate_prefix(prefix) {
                Ok(()) => req.prefix = Some(prefix.to_owned()),
                Err(crate::keygen::KeygenError::InvalidPrefix(why)) => {
                    errors[field::PREFIX] = Some(why.to_owned())
                }
                Err(e) => errors[field::PREFIX] = Some(e.to_string()),
            }
        }
        match check_expires(self.value(field::EXPIRES), now) {
            Ok(t) => req.expires_at = t,
            Err(e) => errors[field::EXPIRES] = Some(e),
        }
        match crate::input::parse_meta_line(self.value(field::META)) {
            Ok(meta) => req.meta = meta,
            Err(e) => errors[field::META] = Some(e),
        }
        let ok = errors.iter().all(Option::is_none);
        (ok.then_some(req), errors)
    }

    /// Turns the form into a create request, or says what is wrong (the first field).
    pub fn to_request(&self, now: UnixMs) -> Result<CreateRequest, String> {
        let (req, errors) = self.check(now);
        req.ok_or_else(|| {
            errors
                .iter()
                .zip(FORM_FIELDS)
                .find_map(|(e, (label, _))| {
                    e.as_ref().map(|e| format!("{}: {e}", label.to_lowercase()))
                })
                .unwrap_or_default()
        })
    }
}

/// The name field's rule (the edit form's too): not empty, at most 200 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("give the key a name".into())
    } else if name.chars().count() > 200 {
        Err("at most 200 characters".into())
    } else {
        Ok(())
    }
}

/// The expiry field's rule (the edit form's too): empty is never, else a time in the
/// future (`90d`, `12h`, RFC 3339).
pub fn check_expires(text: &str, now: UnixMs) -> Result<Option<UnixMs>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match crate::input::parse_expiry_at(text, now) {
        Ok(t) if t <= now => Err("that is in the past".into()),
        Ok(t) => Ok(Some(t)),
        Err(e) => Err(e),
    }
}

impl NewKeyForm {
    /// Tab/Down and S-Tab/Up move between the fields, Enter checks them and creates the
    /// key (the cursor goes to the first wrong field), Esc closes; other keys are typed.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let n = self.fields.len();
        match cx.keymap.lookup_in(Context::Form, key) {
            Some(Action::Back) => {
                return Reply::close().say(if self.creating {
                    "form closed; the key is still being created"
                } else {
                    "new key cancelled"
                });
            }
            Some(Action::NextField | Action::Down) => self.focus = (self.focus + 1) % n,
            Some(Action::PrevField | Action::Up) => self.focus = (self.focus + n - 1) % n,
            Some(Action::Confirm) if self.creating => {}
            Some(Action::Confirm) => {
                self.submitted = true;
                self.error = None;
                match self.check(cx.now) {
                    (Some(req), _) => {
                        if let Some(m) = cx.refusal("create") {
                            return Reply::refused(m);
                        }
                        self.creating = true;
                        return Reply::stay()
                            .say(format!("creating {}…", crate::sanitize::line(&req.name)))
                            .out(Out::Sync(SyncCmd::Create(Box::new(req))));
                    }
                    (None, errors) => {
                        // The cursor goes to the first field that is wrong.
                        if let Some(i) = errors.iter().position(Option::is_some) {
                            self.focus = i;
                        }
                    }
                }
            }
            _ if self.creating => {}
            _ => {
                if let Some(input) = self.fields.get_mut(self.focus) {
                    let before = input.value().to_owned();
                    input.handle_event(&crossterm::event::Event::Key(*key));
                    if input.value() != before {
                        self.touched[self.focus] = true;
                        self.error = None;
                    }
                }
            }
        }
        Reply::stay()
    }

    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let (form, now, km) = (self, cx.now, cx.keymap);
        let key = |a| km.hint(Context::Form, a);
        let errors = form.shown_errors(now);
        let error_lines = errors.iter().filter(|e| e.is_some()).count() as u16;
        let popup = centered(area, 74, 11 + error_lines);
        frame.render_widget(Clear, popup);
        let block = Block::new().borders(Borders::ALL).title(" new key ");
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let value_w = inner.width.saturating_sub(LABEL_W) as usize;
        let red = Style::new().fg(Color::Red);
        let dim = Style::new().fg(Color::DarkGray);
        let mut lines = Vec::new();
        let mut cursor = None;
        for (i, ((label, _), input)) in FORM_FIELDS.iter().zip(&form.fields).enumerate() {
            let focused = i == form.focus;
            let error = errors.get(i).and_then(Option::as_ref);
            let scroll = input.visual_scroll(value_w.max(1));
            let shown: String = input.value().chars().skip(scroll).collect();
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
            let width = shown.chars().count();
            let mut spans = vec![
                Span::styled(format!("{label:<w$}", w = LABEL_W as usize), label_style),
                Span::styled(shown, value_style),
            ];
            if i == field::BYTES
                && error.is_none()
                && let Some(summary) = form.secret_summary()
                && width + 2 + summary.chars().count() <= value_w
            {
                spans.push(Span::styled(format!("  {summary}"), dim));
            }
            if focused {
                cursor = Some((
                    lines.len() as u16,
                    input.visual_cursor().saturating_sub(scroll) as u16,
                ));
            }
            lines.push(Line::from(spans));
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(format!("  ✗ {e}"), red)));
            }
        }
        lines.push(Line::default());
        let help = FORM_FIELDS.get(form.focus).map(|f| f.1).unwrap_or("");
        lines.push(Line::from(Span::styled(help, dim)));
        if let Some(e) = &form.error {
            lines.push(Line::from(Span::styled(e.clone(), red)));
        } else if form.creating {
            lines.push(Line::from(format!(
                "creating… ({} closes the form)",
                key(Action::Back)
            )));
        } else if errors.iter().any(Option::is_some) {
            lines.push(Line::from(Span::styled(
                format!(
                    "fix the fields marked ✗ · {} next field · {} cancels",
                    key(Action::NextField),
                    key(Action::Back)
                ),
                red,
            )));
        } else {
            lines.push(Line::from(format!(
                "{} creates · {} next field · {} cancels",
                key(Action::Confirm),
                key(Action::NextField),
                key(Action::Back)
            )));
        }
        // No wrapping: each field and its error stay on their own line.
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
