//! The `?` help, generated from the key table: for each context (table, details, reveal
//! view, the help itself) the actions that work there, then the fixed keys of forms and
//! dialogs. It scrolls, and says when there is more above or below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{Action, HelpRow, Keymap};
use crate::tui::layout::help_popup;
use crate::tui::state::{HelpView, State};

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

pub fn render(state: &State, view: &HelpView, frame: &mut Frame, area: Rect) {
    let lines = lines(&state.keymap);
    let total = lines.len();
    let popup = help_popup(area, total);
    let rows = popup.height.saturating_sub(2) as usize;
    let first = state.help_first_line(view);
    let last = (first + rows).min(total);
    frame.render_widget(Clear, popup);
    let km = &state.keymap;
    let close = [Action::Back, Action::Quit]
        .iter()
        .filter_map(|&a| km.first_key(a))
        .collect::<Vec<_>>()
        .join("/");
    let mut block = Block::new().borders(Borders::ALL).title(format!(
        " keys · {close} close · change them in config.toml [keys] "
    ));
    if total > rows {
        let more = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
        let down = [Action::Down, Action::PageDown]
            .iter()
            .filter_map(|&a| km.first_key(a))
            .collect::<Vec<_>>()
            .join("/");
        let up = [Action::Up, Action::PageUp]
            .iter()
            .filter_map(|&a| km.first_key(a))
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
