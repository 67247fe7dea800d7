//! The `?` help, generated from the key table: for each context (table, details, reveal
//! view, the help itself) the actions that work there, then the fixed keys of forms and
//! dialogs. It scrolls, and says when there is more above or below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::{Action, Context, Keymap, POPUP_KEYS};
use crate::tui::state::{HelpView, State};

use super::centered;

const WIDTH: u16 = 78;

/// Every line of the help.
pub fn lines(keymap: &Keymap) -> Vec<Line<'static>> {
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let heading = Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let row = |keys: String, what: &str| {
        Line::from(vec![
            Span::styled(format!("{keys:>14} "), key_style),
            Span::raw(what.to_owned()),
        ])
    };
    let mut lines = Vec::new();
    for ctx in Context::ALL {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(Span::styled(ctx.title(), heading)));
        // Actions that mean the same here share a line.
        let mut groups: Vec<(&str, Vec<Action>)> = Vec::new();
        for &a in ctx.actions() {
            let Some(what) = a.description_in(ctx) else {
                continue;
            };
            match groups.iter_mut().find(|(w, _)| *w == what) {
                Some((_, v)) => v.push(a),
                None => groups.push((what, vec![a])),
            }
        }
        for (what, actions) in groups {
            let keys: Vec<String> = actions
                .iter()
                .map(|&a| keymap.keys_for(a))
                .filter(|k| !k.is_empty())
                .collect();
            if !keys.is_empty() {
                lines.push(row(keys.join("/"), what));
            }
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "typing: new-key form, revoke and delete dialogs",
        heading,
    )));
    for (k, what) in POPUP_KEYS {
        lines.push(row((*k).to_owned(), what));
    }
    lines
}

/// Where the help goes for `lines` lines of text.
fn popup(area: Rect, lines: usize) -> Rect {
    centered(area, WIDTH, (lines as u16).saturating_add(2))
}

/// The number of lines of the help and how many of them fit on screen.
pub fn extent(state: &State) -> (usize, usize) {
    let total = lines(&state.keymap).len();
    let rows = popup(state.area, total).height.saturating_sub(2) as usize;
    (total, rows)
}

/// The first line to show: `scroll`, kept so that the last page stays full.
pub fn first_line(state: &State, view: &HelpView) -> usize {
    let (total, rows) = extent(state);
    view.scroll.min(total.saturating_sub(rows))
}

pub fn render(state: &State, view: &HelpView, frame: &mut Frame, area: Rect) {
    let lines = lines(&state.keymap);
    let total = lines.len();
    let popup = popup(area, total);
    let rows = popup.height.saturating_sub(2) as usize;
    let first = first_line(state, view);
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
