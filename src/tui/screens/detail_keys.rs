//! The detail view's keys: back, help, and the table's actions for the key shown, which
//! it passes on in its [`Reply`] (it never runs them or calls another screen).

use crossterm::event::KeyEvent;

use crate::tui::keymap::{Action, Context};

use super::{Cx, HelpView, Reply, Screen};

/// Back, quit and Enter go back to the table; help opens the help (which comes back
/// here); the table's actions (copy, revoke, restore, delete, rotate) are passed on to
/// run for the key shown.
pub fn handle_key(id: &str, key: &KeyEvent, cx: &Cx) -> Reply {
    match cx.keymap.lookup_in(Context::Detail, key) {
        Some(Action::Back | Action::Quit | Action::Details) => Reply::close(),
        Some(Action::Help) => Reply::open(Screen::Help(HelpView {
            scroll: 0,
            back_to: Some(id.to_owned()),
        })),
        Some(a) => Reply {
            table: Some(a),
            ..Reply::stay()
        },
        None => Reply::stay(),
    }
}
