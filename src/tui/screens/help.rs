//! The `?` help, generated from the key table: a section for every context (table,
//! details, reveal view, the help itself, the filter and command lines, the forms, the
//! dialogs and the pickers) with the actions that work there and their keys, then Ctrl-C. It scrolls, and says when there is more above or below. Owns its scroll
//! position; knows nothing of other screens (closing it opened from the details asks the
//! app to open them again).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{Action, Context, HelpRow, Keymap};
use crate::tui::layout::help_popup;
use crate::tui::msg::{Out, SyncCmd};

use super::{Cx, Reply, Screen};

/// The `?` help: it scrolls through the key table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelpView {
    /// The first line shown (the view keeps the last page full).
    pub scroll: usize,
    /// The detail view it was opened from, to go back to; else the table.
    pub back_to: Option<String>,
}

impl HelpView {
    /// The number of lines of the help and how many of them fit on screen.
    pub fn extent(keymap: &Keymap, area: Rect) -> (usize, usize) {
        let total = keymap.help_rows().len();
        let rows = help_popup(area, total).height.saturating_sub(2) as usize;
        (total, rows)
    }

    /// The first line to show: `scroll`, kept so that the last page stays full.
    pub fn first_line(&self, keymap: &Keymap, area: Rect) -> usize {
        let (total, rows) = Self::extent(keymap, area);
        self.scroll.min(total.saturating_sub(rows))
    }

    /// The move keys of the key table scroll it; back, quit and help close it (back to
    /// the details when it was opened there).
    pub fn handle_key(&mut self, key: &KeyEvent, cx: &Cx) -> Reply {
        let (total, rows) = Self::extent(cx.keymap, cx.area);
        let last = total.saturating_sub(rows);
        let page = rows.max(1);
        let first = self.first_line(cx.keymap, cx.area);
        self.scroll = match cx.keymap.lookup_in(Context::Help, key) {
            Some(Action::Up) => first.saturating_sub(1),
            Some(Action::Down) => (first + 1).min(last),
            Some(Action::PageUp) => first.saturating_sub(page),
            Some(Action::PageDown) => (first + page).min(last),
            Some(Action::Top) => 0,
            // Sticks to the end whatever the size (the view keeps the last page full).
            Some(Action::Bottom) => usize::MAX,
            Some(_) => {
                return match self.back_to.take() {
                    Some(id) => Reply::open(Screen::Detail { id: id.clone() })
                        .out(Out::Sync(SyncCmd::LoadDetail { id })),
                    None => Reply::close(),
                };
            }
            None => first,
        };
        Reply::stay()
    }
}

/// Every line of the help, styled.
pub fn lines(keymap: &Keymap) -> Vec<Line<'static>> {
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let heading = Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    keymap
        .help_rows()
        .into_iter()
        .map(|row| match row {
            HelpRow::Blank => Line::default(),
            HelpRow::Heading(h) => Line::from(Span::styled(h, heading)),
            HelpRow::Keys(keys, what) => Line::from(vec![
                Span::styled(format!("{keys:>14} "), key_style),
                Span::raw(what.to_owned()),
            ]),
        })
        .collect()
}

impl HelpView {
    pub fn render(&self, cx: &Cx, frame: &mut Frame, area: Rect) {
        let view = self;
        let lines = lines(cx.keymap);
        let total = lines.len();
        let popup = help_popup(area, total);
        let rows = popup.height.saturating_sub(2) as usize;
        let first = view.first_line(cx.keymap, cx.area);
        let last = (first + rows).min(total);
        frame.render_widget(Clear, popup);
        let km = cx.keymap;
        let close = [Action::Back, Action::Quit]
            .iter()
            .filter_map(|&a| km.key_in(Context::Help, a))
            .collect::<Vec<_>>()
            .join("/");
        let mut block = Block::new().borders(Borders::ALL).title(format!(
            " keys · {close} close · change them in config.toml [keys] "
        ));
        if total > rows {
            let more = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
            let down = [Action::Down, Action::PageDown]
                .iter()
                .filter_map(|&a| km.key_in(Context::Help, a))
                .collect::<Vec<_>>()
                .join("/");
            let up = [Action::Up, Action::PageUp]
                .iter()
                .filter_map(|&a| km.key_in(Context::Help, a))
                .collect::<Vec<_>>()
                .join("/");
            let mut spans = Vec::new();
            if popup.width >= 40 {
                spans.push(Span::raw(format!(" {}-{last} of {total} ", first + 1)));
                if first > 0 {
                    spans.push(Span::styled(format!("↑ more ({up}) "), more));
                }
                if last < total {
                    spans.push(Span::styled(format!("↓ more ({down}) "), more));
                }
            } else {
                // Narrow: just the arrows.
                let arrows = match (first > 0, last < total) {
                    (true, true) => "↑↓",
                    (true, false) => "↑",
                    _ => "↓",
                };
                spans.push(Span::styled(format!(" {arrows} more "), more));
            }
            block = block.title_bottom(Line::from(spans).right_aligned());
        }
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .scroll((first.min(u16::MAX as usize) as u16, 0)),
            popup,
        );
    }
}
