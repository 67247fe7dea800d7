//! The namespace picker: the namespaces of this Redis (name, storage mode, production mark,
//! key count), filtered by typing; Enter switches to the one under the cursor. Owns its
//! list, its filter and its cursor; the list is read by the sync task (asked for when the
//! picker opens) and the switch is done by the event loop ([`Out::Switch`]): the picker
//! itself never talks to Redis and knows nothing of other screens.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::sanitize::line as clean;
use crate::store::NamespaceInfo;
use crate::tui::keymap::{Action, Context};
use crate::tui::layout::centered;
use crate::tui::msg::{Out, SyncCmd};

use super::{Cx, Reply, Screen};

/// What the picker knows of the namespaces.
#[derive(Clone, Debug, Default)]
pub enum NamespaceList {
    /// Asked for, not answered yet.
    #[default]
    Loading,
    /// Every namespace of this Redis, by name.
    Loaded(Vec<NamespaceInfo>),
    /// They could not be read; why.
    Unreadable(String),
}

/// The namespace picker popup.
#[derive(Clone, Debug, Default)]
pub struct NamespacePicker {
    pub list: NamespaceList,
    /// Typed text: only names containing it are listed.
    pub typed: Input,
    /// Index into [`NamespacePicker::shown`].
    pub selected: usize,
}

impl NamespacePicker {
    /// Opens the picker and asks the sync task for the namespaces.
    pub fn open() -> Reply {
        Reply::open(Screen::Namespaces(NamespacePicker::default()))
            .out(Out::Sync(SyncCmd::Namespaces))
    }

    /// The namespaces whose name contains the typed text (case-insensitive), in order.
    pub fn shown(&self) -> Vec<&NamespaceInfo> {
        let NamespaceList::Loaded(all) = &self.list else {
            return Vec::new();
        };
        let typed = self.typed.value().to_lowercase();
        all.iter()
            .filter(|n| n.name.to_lowercase().contains(&typed))
            .collect()
    }

    /// Up and Down move, typing filters, Enter switches to the namespace under the cursor,
    /// Esc closes.
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let count = self.shown().len();
        match cx.keymap.lookup_in(Context::Namespaces, key) {
            Some(Action::Back) => Reply::close(),
            Some(Action::Up) => {
                self.selected = self.selected.saturating_sub(1);
                Reply::stay()
            }
            Some(Action::Down) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1));
                Reply::stay()
            }
            Some(Action::Confirm) => {
                let Some(chosen) = self.shown().get(self.selected).map(|n| n.name.clone()) else {
                    return Reply::stay().complain("no namespace matches: nothing to switch to");
                };
                if chosen == cx.server.namespace {
                    return Reply::close().say(format!("already in namespace {}", clean(&chosen)));
                }
                Reply::close()
                    .say(format!("switching to namespace {}…", clean(&chosen)))
                    .out(Out::Switch(chosen))
            }
            _ => {
                let before = self.typed.value().to_owned();
                self.typed.handle_event(&crossterm::event::Event::Key(*key));
                if self.typed.value() != before {
                    self.selected = 0;
                }
                Reply::stay()
            }
        }
    }

    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let shown = self.shown();
        let height = (shown.len().max(1) as u16).saturating_add(4).min(20);
        let popup = centered(area, 64, height);
        frame.render_widget(Clear, popup);
        let block = Block::new().borders(Borders::ALL).title(format!(
            " namespaces · {} switches · {} closes ",
            cx.keymap.hint(Context::Namespaces, Action::Confirm),
            cx.keymap.hint(Context::Namespaces, Action::Back)
        ));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let dim = Style::new().fg(Color::DarkGray);
        let mut lines = vec![Line::from(vec![
            Span::styled("> ", dim),
            Span::raw(clean(self.typed.value())),
        ])];
        match &self.list {
            NamespaceList::Loading => lines.push(Line::styled("reading…", dim)),
            NamespaceList::Unreadable(why) => lines.push(Line::styled(
                format!("cannot read them: {}", clean(why)),
                Style::new().fg(Color::Red),
            )),
            NamespaceList::Loaded(_) if shown.is_empty() => {
                lines.push(Line::styled("no namespace matches", dim))
            }
            NamespaceList::Loaded(_) => {
                let rows = inner.height.saturating_sub(1) as usize;
                let first = (self.selected + 1).saturating_sub(rows);
                for (i, n) in shown.iter().enumerate().skip(first).take(rows) {
                    let current = n.name == cx.server.namespace;
                    let mut style = Style::new();
                    if i == self.selected {
                        style = style.add_modifier(Modifier::REVERSED);
                    }
                    let production = if n.production { "PRODUCTION" } else { "" };
                    lines.push(Line::styled(
                        format!(
                            "{} {:<24} {:<7} {:<10} {:>8} keys",
                            if current { "*" } else { " " },
                            clean(&n.name),
                            clean(n.mode.as_deref().unwrap_or("-")),
                            production,
                            n.keys
                        ),
                        style,
                    ));
                }
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
