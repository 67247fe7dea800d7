//! The detail view's keys: back, help, scrolling, and the table's actions for the key
//! shown, which it passes on in its [`Reply`] (it never runs them or calls another screen).

use crossterm::event::KeyEvent;

use crate::tui::keymap::{Action, Context};

use super::{Cx, HelpView, Reply, Screen};

/// How far the detail view scrolls: its scroll position (the first line shown, which the
/// view keeps so that the last page stays full), the line shown first now, the number of
/// lines and how many fit.
pub struct Scroll<'a> {
    pub scroll: &'a mut usize,
    pub first: usize,
    pub total: usize,
    pub rows: usize,
}

/// Back, quit and Enter go back to the table; help opens the help (which comes back
/// here); the move keys scroll when the text does not fit; the table's actions (copy,
/// revoke, restore, delete, rotate) are passed on to run for the key shown.
pub fn handle_key(id: &str, view: Scroll, key: &KeyEvent, cx: &Cx) -> Reply {
    let last = view.total.saturating_sub(view.rows);
    let page = view.rows.max(1);
    let first = view.first;
    let mut to = |line: usize| {
        *view.scroll = line;
        Reply::stay()
    };
    match cx.keymap.lookup_in(Context::Detail, key) {
        Some(Action::Back | Action::Quit | Action::Details) => Reply::close(),
        Some(Action::Help) => Reply::open(Screen::Help(HelpView {
            scroll: 0,
            back_to: Some(id.to_owned()),
        })),
        Some(Action::Up) => to(first.saturating_sub(1)),
        Some(Action::Down) => to((first + 1).min(last)),
        Some(Action::PageUp) => to(first.saturating_sub(page)),
        Some(Action::PageDown) => to((first + page).min(last)),
        Some(Action::Top) => to(0),
        // Sticks to the end as the history grows (the view keeps the last page full).
        Some(Action::Bottom) => to(usize::MAX),
        Some(a) => Reply {
            table: Some(a),
            ..Reply::stay()
        },
        None => Reply::stay(),
    }
}
