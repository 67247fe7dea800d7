//! The attention views and their picker: never used, unused for more than N days,
//! expiring within N days, created by someone. A view is a [`KeyFilter`] of the store with
//! only its attention conditions set, so the TUI applies the same rule as `keytui list
//! --unused-for/--expiring-within/--never-used/--created-by` (never a second copy of it).
//! The picker owns its choice and the typed numbers and name; it answers with the view to
//! show in its [`Reply`] and never touches the rows.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::record::UnixMs;
use crate::sanitize::line as clean;
use crate::store::{KeyFilter, UsageFacts};
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::row::Row;

use super::{Cx, Reply};

/// Days in the unused view unless configured (the CIS rule for access keys).
pub const DEFAULT_UNUSED_DAYS: u64 = 90;
/// Days in the expiring view unless configured.
pub const DEFAULT_EXPIRING_DAYS: u64 = 7;
/// The longest N a view takes (a hundred years).
const MAX_DAYS: u64 = 36_500;
const DAY_MS: i64 = 86_400_000;

/// Which keys need attention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttentionView {
    /// Not used for more than this many days (never used: created that long ago).
    UnusedFor(u64),
    NeverUsed,
    /// Not expired yet, but expiring within this many days.
    ExpiringWithin(u64),
    /// Created by this actor (with or without `@host`).
    CreatedBy(String),
}

/// The view the table shows: what was chosen and the store's filter for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub kind: AttentionView,
    filter: KeyFilter,
}

impl View {
    pub fn new(kind: AttentionView) -> Self {
        let days = |d: u64| Some(d.min(MAX_DAYS) as i64 * DAY_MS);
        let filter = match &kind {
            AttentionView::UnusedFor(d) => KeyFilter {
                unused_for_ms: days(*d),
                ..KeyFilter::default()
            },
            AttentionView::NeverUsed => KeyFilter {
                never_used: true,
                ..KeyFilter::default()
            },
            AttentionView::ExpiringWithin(d) => KeyFilter {
                expiring_within_ms: days(*d),
                ..KeyFilter::default()
            },
            AttentionView::CreatedBy(who) => KeyFilter {
                created_by: Some(who.clone()),
                ..KeyFilter::default()
            },
        };
        View { kind, filter }
    }

    /// Whether the row is in the view at `now`.
    pub fn admits(&self, r: &Row, now: UnixMs) -> bool {
        self.filter.attention_admits(
            &UsageFacts {
                created_at: r.created_at,
                last_used_at: r.last_used_at(),
                expires_at: r.expires_at(),
                created_by: r.created_by(),
            },
            now,
        )
    }

    /// `unused for 90d`, `never used`, `created by alice`: the filter's own words.
    pub fn label(&self) -> String {
        self.filter.to_string()
    }
}

/// The picker's lines, in order; the last one shows every key again.
const CHOICES: usize = 5;

/// The attention view picker: arrows choose a line, typing sets the highlighted line's
/// number of days (or the name), Enter shows it, Esc cancels.
#[derive(Clone, Debug)]
pub struct ViewPicker {
    pub choice: usize,
    pub unused_days: Input,
    pub expiring_days: Input,
    pub created_by: Input,
    /// Nothing typed since the line was highlighted: the first character replaces the
    /// number or name shown.
    fresh: bool,
}

impl ViewPicker {
    /// The picker on the view shown (else the first line), with the configured numbers and
    /// `who` (the selected key's creator) as the name.
    pub fn new(current: Option<&AttentionView>, unused: u64, expiring: u64, who: &str) -> Self {
        let mut p = ViewPicker {
            choice: 0,
            unused_days: Input::new(unused.to_string()),
            expiring_days: Input::new(expiring.to_string()),
            created_by: Input::new(who.split('@').next().unwrap_or("").to_owned()),
            fresh: true,
        };
        match current {
            Some(AttentionView::UnusedFor(d)) => p.unused_days = Input::new(d.to_string()),
            Some(AttentionView::ExpiringWithin(d)) => {
                p.choice = 2;
                p.expiring_days = Input::new(d.to_string());
            }
            Some(AttentionView::NeverUsed) => p.choice = 1,
            Some(AttentionView::CreatedBy(w)) => {
                p.choice = 3;
                p.created_by = Input::new(w.clone());
            }
            None => {}
        }
        p
    }

    /// The text field of the highlighted line, if it has one.
    fn field(&mut self) -> Option<&mut Input> {
        match self.choice {
            0 => Some(&mut self.unused_days),
            2 => Some(&mut self.expiring_days),
            3 => Some(&mut self.created_by),
            _ => None,
        }
    }

    /// The view of the highlighted line (`Ok(None)`: every key), or what is wrong.
    pub fn chosen(&self) -> Result<Option<AttentionView>, String> {
        let days = |i: &Input| match i.value().trim().parse::<u64>() {
            Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok(d),
            _ => Err(format!(
                "type a number of days from 1 to {MAX_DAYS} (not {:?})",
                clean(i.value())
            )),
        };
        Ok(Some(match self.choice {
            0 => AttentionView::UnusedFor(days(&self.unused_days)?),
            1 => AttentionView::NeverUsed,
            2 => AttentionView::ExpiringWithin(days(&self.expiring_days)?),
            3 => {
                let who = self.created_by.value().trim();
                if who.is_empty() {
                    return Err("type whose keys to show".into());
                }
                AttentionView::CreatedBy(who.to_owned())
            }
            _ => return Ok(None),
        }))
    }

    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        match cx.keymap.lookup_in(Context::Views, key) {
            Some(Action::Back) => Reply::close(),
            Some(Action::Up) => {
                self.choice = (self.choice + CHOICES - 1) % CHOICES;
                self.fresh = true;
                Reply::stay()
            }
            Some(Action::Down) => {
                self.choice = (self.choice + 1) % CHOICES;
                self.fresh = true;
                Reply::stay()
            }
            Some(Action::Confirm) => match self.chosen() {
                Ok(view) => Reply::close().view(view),
                Err(e) => Reply::stay().complain(e),
            },
            _ => {
                let replace = std::mem::take(&mut self.fresh)
                    && matches!(key.code, crossterm::event::KeyCode::Char(_));
                if let Some(f) = self.field() {
                    if replace {
                        f.reset();
                    }
                    f.handle_event(&crossterm::event::Event::Key(*key));
                }
                Reply::stay()
            }
        }
    }

    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let km = cx.keymap;
        let popup = centered(area, 56, CHOICES as u16 + 4);
        frame.render_widget(Clear, popup);
        let block = Block::new()
            .borders(Borders::ALL)
            .title(" attention views ");
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let items: [(String, Option<&Input>, &str); CHOICES] = [
            (
                "unused for more than".into(),
                Some(&self.unused_days),
                " days",
            ),
            ("never used".into(), None, ""),
            ("expiring within".into(), Some(&self.expiring_days), " days"),
            ("created by".into(), Some(&self.created_by), ""),
            ("every key (no view)".into(), None, ""),
        ];
        let mut lines = Vec::new();
        for (i, (text, field, unit)) in items.into_iter().enumerate() {
            let on = i == self.choice;
            let mut spans = vec![Span::raw(if on { "> " } else { "  " }), Span::raw(text)];
            if let Some(f) = field {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    clean(f.value()),
                    if on { bold.fg(Color::Yellow) } else { bold },
                ));
                spans.push(Span::raw(unit));
            }
            let mut line = Line::from(spans);
            if on {
                line = line.style(Style::new().add_modifier(Modifier::REVERSED));
            }
            lines.push(line);
        }
        lines.push(Line::from(""));
        lines.push(Line::from(format!(
            "type the number or name · {} shows · {} cancels",
            km.hint(Context::Views, Action::Confirm),
            km.hint(Context::Views, Action::Back)
        )));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
