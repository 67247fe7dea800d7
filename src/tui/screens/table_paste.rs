//! A paste into the key table: the token in it (checked offline by [`crate::tui::leak`])
//! goes to the sync task to be looked up, and the answer selects the key's row (clearing a
//! filter that hides it) and says what the key is. A child of `state` (declared there),
//! like the table's keys; no I/O, and the pasted text is never kept or shown.

use super::*;
use crate::tui::keymap::{Action, Context};

/// A paste into the table (no text field focused): a token in it is checked offline, then
/// its key looked up by the sync task; the text itself is never kept or shown.
pub fn on_paste(state: &mut State, text: &str) -> Vec<Out> {
    use crate::tui::leak::{self, Pasted};
    match leak::examine(text) {
        Pasted::Token { id, token } => {
            state.say(format!(
                "pasted a token of key {}: looking it up…",
                crate::sanitize::line(&id)
            ));
            vec![Out::Sync(SyncCmd::Lookup { id, token })]
        }
        Pasted::BadChecksum => {
            state.complain("checksum fails: not a keytui token");
            Vec::new()
        }
        Pasted::Nothing => {
            state.say("paste ignored: no token in it (and no text field here)");
            Vec::new()
        }
    }
}

/// The key of a pasted token was looked up: select its row (clearing a filter that hides
/// it) and say what it is, offering the revoke key. While a filter run holds the rows,
/// the key's record (sent just before) may be among the held changes: the answer waits
/// for them ([`release_leak`]).
pub fn on_leak(state: &mut State, id: &str, found: &LeakFound) -> Vec<Out> {
    if !state.held.is_empty() {
        state.leak_waiting = Some((id.to_owned(), found.clone()));
        return Vec::new();
    }
    let mut cmds = Vec::new();
    if state.record(id).is_some() && matches!(state.screen, Screen::Table) {
        let visible = state
            .visible
            .iter()
            .any(|&i| state.records.get(i as usize).is_some_and(|r| r.id() == id));
        if !visible {
            state.filter.input = tui_input::Input::default();
            state.filter.editing = false;
            state.status_filter = StatusFilter::All;
            state.attention = None;
            cmds.extend(state.refresh_visible());
        }
        state.reselect(Some(id));
    }
    // The revoke key is offered only for the selected row; with keys marked it would act
    // on the marks, so the marks are named first.
    let selected = state.selected_record().is_some_and(|r| r.id() == id)
        && matches!(state.screen, Screen::Table);
    let revoke = state.keymap.hint(Context::Table, Action::Revoke);
    let revoke = match state.marked() {
        _ if !selected => None,
        0 => Some(revoke),
        n => Some(format!(
            "{} clears the {n} marks, then {revoke}",
            state.keymap.hint(Context::Table, Action::Back)
        )),
    };
    let text = crate::tui::leak::verdict(id, found, state.record(id), state.now, revoke.as_deref());
    match found {
        LeakFound::Key(crate::verify::Verdict::Valid { .. }) => state.complain(text),
        _ => state.say(text),
    }
    cmds
}

/// Applies a lookup answer that waited for held changes, once they are in.
pub fn release_leak(state: &mut State) -> Vec<Out> {
    match state.leak_waiting.take() {
        Some((id, found)) if state.held.is_empty() => on_leak(state, &id, &found),
        waiting => {
            state.leak_waiting = waiting;
            Vec::new()
        }
    }
}
