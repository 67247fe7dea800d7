//! Where each part of the main screen goes, from the terminal size alone: pure geometry
//! that the state (mouse rows, page size, help scrolling) and the views both use. It
//! knows no state and draws nothing.

use ratatui::layout::Rect;

/// Where each part of the main screen goes; the state uses it too (mouse rows, page size).
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

/// Where the help popup goes for `lines` lines of text.
pub fn help_popup(area: Rect, lines: usize) -> Rect {
    centered(area, HELP_WIDTH, (lines as u16).saturating_add(2))
}

/// The width of the help popup.
pub const HELP_WIDTH: u16 = 78;
