//! `update(&mut State, Msg)`: how each incoming message changes the state; a key goes to
//! the open screen's `handle_key` (`screens/*`) and its [`Reply`] is applied here.
//! Synchronous: no I/O, no await, no clock, no drawing; it returns [`Out`]s for the sync
//! task, the filter worker and the clipboard. A child of `state`, so it may touch the
//! state's private bookkeeping; it holds no screen's key handling itself. The sync task's
//! reports are applied by its child `update_sync.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::table_keys as table;
use super::table_paste as paste;
use super::*;
use crate::tui::screens::{Cx, Next, Reply, detail_keys as detail};

#[path = "update_sync.rs"]
mod update_sync;

/// Applies an action; returns the work it asks for.
pub fn update(state: &mut State, action: Msg) -> Vec<Out> {
    // Changes held while a filter run shared the records go in first, once none does.
    let mut held = state.release_held();
    // A pasted token's answer that waited for them goes in right after.
    held.extend(paste::release_leak(state));
    held.extend(handle(state, action));
    held
}

fn handle(state: &mut State, action: Msg) -> Vec<Out> {
    match action {
        Msg::Key(key) => on_key(state, key),
        Msg::Paste(text) => on_paste(state, text.expose()),
        Msg::Mouse(m) => {
            table::on_mouse(state, m);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.area = Rect::new(0, 0, w, h);
            state.clamp();
            Vec::new()
        }
        Msg::Tick => {
            state.expire_message();
            let counts = state.counts;
            state.recount();
            let mut cmds = Vec::new();
            if let Some(clip) = &state.clip
                && state.now >= clip.deadline
            {
                state.clip = None;
                cmds.push(Out::Clip(ClipCmd::Clear));
            }
            // A key expired: a status filter shows other rows now.
            if state.counts != counts
                && (state.status_filter != StatusFilter::All || state.attention.is_some())
            {
                let selected_id = state.selected_record().map(|r| r.id().to_owned());
                cmds.extend(state.records_changed());
                state.reselect(selected_id.as_deref());
            }
            cmds
        }
        Msg::Quit => {
            state.quit = true;
            if state.clip.take().is_some() {
                vec![Out::Clip(ClipCmd::Clear)]
            } else {
                Vec::new()
            }
        }
        // The run let go of the records: `update` applied what was held for it.
        Msg::FilterStopped => Vec::new(),
        Msg::FilterDone {
            generation,
            structure,
            revision,
            len,
            query,
            visible,
            ranked,
        } => {
            let latest = generation == state.filter.generation;
            let usable = query == state.filter.query() && structure == state.structure;
            if usable {
                let selected_id = state.selected_record().map(|r| r.id().to_owned());
                state.visible = visible;
                state.keep_in_view();
                state.filter.unranked = !ranked;
                // A chosen order puts the matches in it; Enter then picks the best one.
                if state.view.sort.is_some() {
                    state.order_visible();
                    state.filter.unranked = true;
                }
                state.filter.base = Some(BaseRun {
                    query,
                    status: state.status_filter,
                    structure,
                    revision,
                    len,
                });
                if state.filter.editing {
                    state.selected = 0;
                    state.clamp();
                } else {
                    state.reselect(selected_id.as_deref());
                }
            }
            if latest && (state.filter.rerun || !usable) {
                return state.refresh_visible();
            }
            if latest {
                state.filter.pending = false;
                state.filter.applied += 1;
            }
            Vec::new()
        }
        Msg::Copied { what, via, secret } => {
            let via_text = match via {
                ClipboardVia::System => "the clipboard",
                ClipboardVia::Terminal => "the terminal clipboard (OSC 52)",
            };
            if secret && via == ClipboardVia::System {
                state.clip = Some(ClipTimer {
                    deadline: state.now + state.clear_secs as i64 * 1000,
                    what: what.clone(),
                });
                state.say(format!("copied {what} to {via_text}"));
            } else if secret {
                state.say(format!(
                    "copied {what} to {via_text}; it cannot be cleared automatically"
                ));
            } else {
                // The clipboard holds this now, not the secret counted down before (the
                // clipboard thread has forgotten that one too).
                if via == ClipboardVia::System {
                    state.clip = None;
                }
                state.say(format!("copied {what} to {via_text}"));
            }
            Vec::new()
        }
        Msg::SecretRead { name, secret } => vec![Out::Clip(ClipCmd::Copy {
            text: secret,
            what: secret_what(&name),
            secret: true,
        })],
        Msg::TokenRead { name, token } => vec![Out::Clip(ClipCmd::Copy {
            text: token,
            what: crate::tui::screens::reveal::token_what(&name),
            secret: true,
        })],
        Msg::ClipboardUnavailable { text, what, secret } => {
            vec![Out::Clip(ClipCmd::ViaTerminal { text, what, secret })]
        }
        Msg::ClipboardCleared { cleared } => {
            if cleared {
                state.say("clipboard cleared");
            } else {
                state.say("clipboard changed since; left alone");
            }
            Vec::new()
        }
        Msg::CopyFailed(why) => {
            state.complain(format!("copy failed: {why}"));
            Vec::new()
        }
        // Everything else is a report of the sync task.
        msg => update_sync::on_report(state, msg),
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Out> {
    if is_ctrl_c(&key) {
        return update(state, Msg::Quit);
    }
    // The table (and its filter line) works on the rows themselves.
    if matches!(state.screen, Screen::Table) {
        return table::on_key(state, &key);
    }
    let (total, rows) = state.detail_extent();
    let first = state.detail_first_line();
    let reply = {
        let cx = Cx {
            keymap: &state.keymap,
            server: &state.server,
            conn: state.conn,
            now: state.now,
            area: state.area,
        };
        match &mut state.screen {
            Screen::Table => Reply::stay(),
            Screen::Detail { id } => {
                let view = detail::Scroll {
                    scroll: &mut state.detail_scroll,
                    first,
                    total,
                    rows,
                };
                detail::handle_key(id, view, &key, &cx)
            }
            Screen::Help(v) => v.handle_key(&key, &cx),
            Screen::NewKey(f) => f.handle_key(&key, &cx),
            Screen::Reveal(r) => r.handle_key(&key, &cx),
            Screen::ConfirmRevoke(d) => d.handle_key(&key, &cx),
            Screen::ConfirmRotate(d) => d.handle_key(&key, &cx),
            Screen::ConfirmDelete(d) => d.handle_key(&key, &cx),
            Screen::EditKey(f) => f.handle_key(&key, &cx),
            Screen::ConfirmBulk(d) => d.handle_key(&key, &cx),
            Screen::Views(p) => p.handle_key(&key, &cx),
            Screen::Namespaces(p) => p.handle_key(&key, &cx),
        }
    };
    apply(state, reply)
}

/// Applies a screen's answer to a key: the status line, the screen to show next, the
/// table action it passes on, the work it asks for.
fn apply(state: &mut State, reply: Reply) -> Vec<Out> {
    let Reply {
        next,
        mut outs,
        message,
        table: action,
        view,
    } = reply;
    if let Some(m) = message {
        state.show(m);
    }
    match next {
        Next::Stay => {}
        Next::Close => {
            if matches!(state.screen, Screen::Detail { .. }) {
                state.detail_events = KeyHistory::Loading;
            }
            state.screen = Screen::Table;
        }
        Next::Open(screen) => state.screen = *screen,
    }
    if let Some(a) = action {
        outs.extend(table::on_action(state, a));
    }
    if let Some(v) = view {
        outs.extend(state.set_view(v.map(View::new)));
    }
    outs
}

/// Whether typing goes into a text field on the current screen.
fn text_field_focused(state: &State) -> bool {
    match &state.screen {
        Screen::Table => state.filter.editing || state.command.is_some(),
        s => s.text_field_focused(),
    }
}

/// A bracketed paste: its printable characters are typed into the focused text field
/// (line breaks and other control characters are dropped, so a paste never presses
/// Enter); where no text field has the keyboard it is ignored, so pasted text never
/// triggers an action.
fn on_paste(state: &mut State, text: &str) -> Vec<Out> {
    if !text_field_focused(state) {
        if matches!(state.screen, Screen::Table) {
            return paste::on_paste(state, text);
        }
        state.say("paste ignored: no text field here");
        return Vec::new();
    }
    let mut cmds = Vec::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        // Each character as a keystroke into the same field; a text field never leaves
        // the screen on a printable character, but check in case one does.
        if !text_field_focused(state) {
            break;
        }
        cmds.extend(on_key(
            state,
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        ));
    }
    cmds
}
