//! The key table, the screen under every popup, drawn from `&State` (its keys are
//! `table_keys.rs`). Only draws.
//!
//! The key table: one row per visible record, only the rows on screen are built (a
//! namespace of a million keys costs no more to draw than one of ten).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::record::Status;
use crate::sanitize::line as clean;

use crate::tui::clock::{relative, short_duration, time_left};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{Loading, State};
use crate::tui::widgets::status_look;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Status,
    Name,
    Id,
    Age,
    Expires,
    LastUsed,
}

fn columns(width: u16) -> Vec<(Col, Constraint, &'static str)> {
    let mut cols = vec![(
        Col::Status,
        Constraint::Length(if width >= 60 { 10 } else { 1 }),
        if width >= 60 { "STATUS" } else { "" },
    )];
    cols.push((Col::Name, Constraint::Fill(1), "NAME"));
    if width >= 45 {
        cols.push((Col::Id, Constraint::Length(11), "ID"));
    }
    if width >= 36 {
        cols.push((Col::Age, Constraint::Length(4), "AGE"));
    }
    if width >= 60 {
        cols.push((Col::Expires, Constraint::Length(8), "EXPIRES"));
    }
    if width >= 72 {
        cols.push((Col::LastUsed, Constraint::Length(9), "USED"));
    }
    cols
}

fn short_id(id: &str) -> String {
    let id = clean(id);
    if id.chars().count() > 10 {
        let mut s: String = id.chars().take(9).collect();
        s.push('…');
        s
    } else {
        id
    }
}

pub fn render(state: &State, frame: &mut Frame, head: Rect, body: Rect) {
    if head.height == 0 {
        return;
    }
    let cols = columns(head.width);
    let widths: Vec<Constraint> = cols.iter().map(|c| c.1).collect();
    let header = Row::new(cols.iter().map(|c| Cell::from(c.2)))
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
        .filter_map(|(pos, &i)| state.records.get(i).map(|r| (pos, r)))
        .map(|(pos, r)| {
            let status = r.status_at(now);
            let (symbol, look) = status_look(status);
            let cells = cols.iter().map(|(col, _, _)| match col {
                Col::Status if head.width >= 60 => {
                    Cell::from(format!("{symbol} {}", status.as_str())).style(look)
                }
                Col::Status => Cell::from(symbol).style(look),
                Col::Name if !r.damage().is_empty() => {
                    Cell::from(format!("[damaged] {}", clean(r.name())))
                }
                Col::Name => Cell::from(clean(r.name())),
                Col::Id => Cell::from(short_id(r.id())),
                Col::Age => Cell::from(short_duration(now - r.created_at)),
                Col::Expires => Cell::from(match r.expires_at {
                    None => "never".to_owned(),
                    Some(t) if t <= now => "expired".to_owned(),
                    Some(t) => format!("in {}", time_left(t, now)),
                }),
                Col::LastUsed => Cell::from(match r.last_used_at {
                    None => "never".to_owned(),
                    t => relative(t, now),
                }),
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
