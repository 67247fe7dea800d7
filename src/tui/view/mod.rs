//! Pure rendering from `&State`: one file per screen or popup. Nothing here mutates state,
//! talks to Redis or reads the clock (the time is `State::now`). Every string that comes
//! from Redis goes through [`crate::sanitize::line`] before it is drawn.

mod confirm;
mod detail;
mod footer;
mod form;
mod header;
mod help;
mod reveal;
mod status_line;
mod table;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::record::{Status, UnixMs};
use crate::store::Mode;

use super::state::{Screen, State};

/// Where each part of the main screen goes; `update` uses it too (mouse rows, page size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The production / plain-mode warning line (empty when there is none, or no room).
    pub banner: Rect,
    pub header: Rect,
    pub table_head: Rect,
    pub table_body: Rect,
    /// The detail pane beside the table on wide terminals (empty otherwise).
    pub side: Rect,
    pub status: Rect,
    pub footer: Rect,
}

/// From this width on, the selected key's details show beside the table.
pub const SIDE_PANE_MIN_WIDTH: u16 = 130;

/// Whether the namespace needs the warning banner: production, or secrets in the clear.
pub fn wants_banner(state: &State) -> bool {
    state.server.production || state.server.mode == Some(Mode::Plain)
}

/// The layout for this state (with a banner line when the namespace needs one).
pub fn areas(state: &State) -> Areas {
    layout_with(state.area, wants_banner(state))
}

/// Splits the terminal: header (2 lines, 1 when short), table, status line, footer.
pub fn layout(area: Rect) -> Areas {
    layout_with(area, false)
}

/// [`layout`] with a banner line above the header when `banner` and there are 6 lines or
/// more (below that the header's first line carries a short marker instead).
pub fn layout_with(area: Rect, banner: bool) -> Areas {
    let banner_h = if banner && area.height >= 6 { 1 } else { 0 };
    let banner = Rect::new(area.x, area.y, area.width, banner_h);
    let area = Rect::new(
        area.x,
        area.y + banner_h,
        area.width,
        area.height - banner_h,
    );
    let header_h = if area.height >= 10 { 2 } else { 1 };
    let reserve_bottom = match area.height {
        0..=3 => 0,
        4 => 1,
        _ => 2,
    };
    let mut y = area.y;
    let mut left = area.height;
    let mut take = |want: u16| {
        let h = want.min(left);
        let r = Rect::new(area.x, y, area.width, h);
        y += h;
        left -= h;
        r
    };
    let header = take(header_h);
    let table_head = take(1);
    let rest = area
        .height
        .saturating_sub(header.height + table_head.height);
    let body_h = rest.saturating_sub(reserve_bottom).max(rest.min(1));
    let table_body = take(body_h);
    let status = take(if reserve_bottom >= 2 { 1 } else { 0 });
    let footer = take(if reserve_bottom >= 1 { 1 } else { 0 });
    let (mut table_head, mut table_body) = (table_head, table_body);
    let mut side = Rect::new(area.x + area.width, table_head.y, 0, 0);
    if area.width >= SIDE_PANE_MIN_WIDTH {
        let side_w = area.width * 2 / 5;
        let table_w = area.width - side_w;
        table_head.width = table_w;
        table_body.width = table_w;
        side = Rect::new(
            area.x + table_w,
            table_head.y,
            side_w,
            table_head.height + table_body.height,
        );
    }
    Areas {
        banner,
        header,
        table_head,
        table_body,
        side,
        status,
        footer,
    }
}

/// Draws the whole UI.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    let areas = areas(state);
    header::render_banner(state, frame, areas.banner);
    header::render(state, frame, areas.header, areas.banner.height == 0);
    match &state.screen {
        Screen::Detail { id } => {
            let body = Rect::new(
                area.x,
                areas.table_head.y,
                area.width,
                areas.table_head.height + areas.table_body.height,
            );
            detail::render(state, id, frame, body);
        }
        _ => {
            table::render(state, frame, areas.table_head, areas.table_body);
            if areas.side.width > 0
                && let Some(r) = state.selected_record()
            {
                detail::render_pane(state, r.id(), frame, areas.side);
            }
        }
    }
    status_line::render(state, frame, areas.status);
    footer::render(state, frame, areas.footer);
    match &state.screen {
        Screen::Help => help::render(state, frame, area),
        Screen::NewKey(form) => form::render(form, frame, area),
        Screen::Reveal(r) => reveal::render(r, frame, area),
        Screen::ConfirmRevoke(d) => confirm::render_revoke(d, &state.server.namespace, frame, area),
        Screen::ConfirmRotate(d) => confirm::render_rotate(d, &state.server.namespace, frame, area),
        Screen::ConfirmDelete {
            id,
            name,
            typed,
            production,
        } => {
            let ns = production.then_some(state.server.namespace.as_str());
            confirm::render_delete(id, name, ns, typed, frame, area)
        }
        Screen::Table | Screen::Detail { .. } => {}
    }
}

/// The colour, symbol and style of a status.
pub fn status_look(s: Status) -> (&'static str, Style) {
    match s {
        Status::Active => ("●", Style::new().fg(Color::Green)),
        Status::Revoked => (
            "✗",
            Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::CROSSED_OUT),
        ),
        Status::Expired => ("⌛", Style::new().fg(Color::Yellow)),
    }
}

/// A duration in ms as `45s`, `12m`, `5h`, `3d`, `2y`.
pub fn short_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        86_400..31_536_000 => format!("{}d", s / 86_400),
        _ => format!("{}y", s / 31_536_000),
    }
}

/// `in 3d`, `2h ago`, or `-`.
pub fn relative(t: Option<UnixMs>, now: UnixMs) -> String {
    match t {
        None => "-".into(),
        Some(t) if t > now => format!("in {}", short_duration(t - now)),
        Some(t) => format!("{} ago", short_duration(now - t)),
    }
}

/// A rectangle of at most `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
