//! The key table, the screen under every popup, drawn from `&State` (its keys are
//! `table_keys.rs`). Only draws.
//!
//! The key table: one row per visible record, only the rows on screen are built (a
//! namespace of a million keys costs no more to draw than one of ten). The columns are the
//! ones chosen (`State::view`), as wide as what they show on screen; the sorted one has
//! an arrow in the header.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::record::Status;
use crate::sanitize::line as clean;

use crate::tui::clock::{relative, short_duration, time_left};
use crate::tui::keymap::{Action, Context};
use crate::tui::row::Row as RowData;
use crate::tui::state::{Loading, State};
use crate::tui::table_view::Column;
use crate::tui::widgets::status_look;

/// Widest a metadata, prefix or creator column grows before it is cut.
const TEXT_MAX: usize = 24;
/// Narrowest the name column gets while other columns still fit.
const NAME_MIN: usize = 12;

/// What a cell of `col` says for `r` (unstyled).
fn cell_text(col: &Column, r: &RowData, now: i64) -> String {
    match col {
        Column::Status => r.status_at(now).as_str().to_owned(),
        Column::Name => clean(r.name()),
        Column::Id => clean(r.id()),
        Column::Prefix => r.token_prefix().map(clean).unwrap_or_default(),
        Column::CreatedBy => clean(r.created_by()),
        Column::Created => short_duration(now - r.created_at),
        Column::Expires => match r.expires_at() {
            None => "never".to_owned(),
            Some(t) if t <= now => "expired".to_owned(),
            Some(t) => format!("in {}", time_left(t, now)),
        },
        Column::LastUsed => match r.last_used_at() {
            None => "never".to_owned(),
            t => relative(t, now),
        },
        Column::Meta(k) => r
            .meta()
            .find(|(mk, _)| mk == k)
            .map(|(_, v)| clean(v))
            .unwrap_or_default(),
    }
}

/// Cuts `s` to `w` characters, with `…` when it was longer.
fn cut(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The header title of a column, with the sort arrow on the sorted one.
fn title(state: &State, col: &Column, narrow: bool) -> String {
    let mut t = match col {
        Column::Status if narrow => String::new(),
        c => c.title(),
    };
    if let Some(s) = state.view.sort
        && s.column() == *col
    {
        t.push(if s.descending { '↓' } else { '↑' });
    }
    t
}

/// The columns that fit `width` and the width of each: every column as wide as its
/// widest cell on screen (the id whole), the name the rest; when they do not fit, the
/// last columns go first (never the status or the name), then the id is cut.
pub fn fit(state: &State, width: u16) -> Vec<(Column, usize)> {
    let narrow = width < 60;
    let now = state.now;
    let rows: Vec<&RowData> = state.rows_on_screen().collect();
    let natural = |col: &Column| -> usize {
        let title_w = title(state, col, narrow).chars().count();
        let widest = match col {
            Column::Status if narrow => 1,
            Column::Status => 10,
            _ => rows
                .iter()
                .map(|r| cell_text(col, r, now).chars().count())
                .max()
                .unwrap_or(0),
        };
        // Times keep a steady width while scrolling.
        let floor = match col {
            Column::Created => 4,
            Column::Expires => 8,
            Column::LastUsed => 8,
            _ => 0,
        };
        let w = title_w.max(widest).max(floor);
        match col {
            Column::Prefix | Column::CreatedBy | Column::Meta(_) => w.min(TEXT_MAX),
            _ => w,
        }
    };
    let mut cols: Vec<(Column, usize)> = state
        .view
        .columns
        .iter()
        .map(|c| (c.clone(), natural(c)))
        .collect();
    let total = |cols: &[(Column, usize)]| -> usize {
        let others: usize = cols
            .iter()
            .filter(|(c, _)| *c != Column::Name)
            .map(|(_, w)| w)
            .sum();
        others + cols.len().saturating_sub(1) + NAME_MIN.min(width as usize / 3)
    };
    // A phone-sized terminal: the status symbol and the name.
    if width < 45 {
        cols.retain(|(c, _)| matches!(c, Column::Name | Column::Status));
    }
    while total(&cols) > width as usize {
        let Some(last) = cols
            .iter()
            .rposition(|(c, _)| !matches!(c, Column::Name | Column::Status | Column::Id))
        else {
            break;
        };
        cols.remove(last);
    }
    // Still too wide: the id gives way, down to a few characters.
    let over = total(&cols).saturating_sub(width as usize);
    if let Some((_, w)) = cols.iter_mut().find(|(c, _)| *c == Column::Id) {
        *w = w.saturating_sub(over).max(4);
    }
    cols
}

pub fn render(state: &State, frame: &mut Frame, head: Rect, body: Rect) {
    if head.height == 0 {
        return;
    }
    let narrow = head.width < 60;
    let cols = fit(state, head.width);
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|(c, w)| match c {
            Column::Name => Constraint::Fill(1),
            _ => Constraint::Length(*w as u16),
        })
        .collect();
    let header = Row::new(
        cols.iter()
            .map(|(c, _)| Cell::from(title(state, c, narrow))),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    if state.visible.is_empty() {
        let table = Table::new(Vec::<Row>::new(), widths.clone()).header(header);
        frame.render_widget(table, head);
        let text = match state.loading {
            Loading::FirstPage => "loading…".to_owned(),
            _ if state.filter.pending => "filtering…".to_owned(),
            _ if !state.filter.query().is_empty() => "no key matches the filter".to_owned(),
            _ if state.records.is_empty() => format!(
                "no keys yet: press {} to create one",
                state.keymap.hint(Context::Table, Action::New)
            ),
            _ => format!("no {} keys", state.status_filter.label()),
        };
        frame.render_widget(
            Paragraph::new(Line::from(text).style(Style::new().fg(Color::DarkGray))),
            body,
        );
        return;
    }
    let rows_on_screen = body.height as usize;
    let now = state.now;
    let rows: Vec<Row> = state
        .visible
        .iter()
        .enumerate()
        .skip(state.scroll)
        .take(rows_on_screen)
        .filter_map(|(pos, &i)| state.records.get(i as usize).map(|r| (pos, r)))
        .map(|(pos, r)| {
            let status = r.status_at(now);
            let (symbol, look) = status_look(status);
            let cells = cols.iter().map(|(col, w)| match col {
                Column::Status if !narrow => {
                    Cell::from(format!("{symbol} {}", status.as_str())).style(look)
                }
                Column::Status => Cell::from(symbol).style(look),
                Column::Id => Cell::from(cut(&clean(r.id()), *w)),
                Column::Name => {
                    let marked = state.is_marked(r);
                    let text = format!(
                        "{}{}{}",
                        if marked { "* " } else { "" },
                        if r.damage().is_empty() {
                            ""
                        } else {
                            "[damaged] "
                        },
                        clean(r.name())
                    );
                    if marked {
                        Cell::from(text)
                            .style(Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD))
                    } else {
                        Cell::from(text)
                    }
                }
                c => Cell::from(cut(&cell_text(c, r, now), *w)),
            });
            let mut style = match status {
                Status::Revoked => Style::new()
                    .add_modifier(Modifier::DIM)
                    .add_modifier(Modifier::CROSSED_OUT),
                _ => Style::new(),
            };
            if pos == state.selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(cells).style(style)
        })
        .collect();
    let area = Rect::new(head.x, head.y, head.width, head.height + body.height);
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}
