//! The footer: key hints for the current mode, generated from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::KeyAction;
use crate::tui::state::{RevokeFocus, Screen, State};

/// The hints shown for the current screen, as (key, what) pairs.
pub fn hints(state: &State) -> Vec<(String, String)> {
    let fixed = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, w)| ((*k).to_owned(), (*w).to_owned()))
            .collect()
    };
    match &state.screen {
        Screen::Table if state.filter.editing => {
            fixed(&[("Enter", "keep filter"), ("Esc", "clear"), ("↑↓", "move")])
        }
        Screen::Table => KeyAction::FOOTER
            .iter()
            .filter_map(|&a| Some((state.keymap.first_key(a)?, a.hint()?.to_owned())))
            .collect(),
        Screen::Detail { .. } => {
            let mut v: Vec<(String, String)> = fixed(&[("Esc", "back")]);
            for a in [
                KeyAction::CopyId,
                KeyAction::Revoke,
                KeyAction::Restore,
                KeyAction::Rotate,
            ] {
                if let (Some(k), Some(h)) = (state.keymap.first_key(a), a.hint()) {
                    v.push((k, h.to_owned()));
                }
            }
            v
        }
        Screen::Help => fixed(&[("any key", "close")]),
        Screen::NewKey(_) => fixed(&[
            ("Tab", "next field"),
            ("Enter", "create"),
            ("Esc", "cancel"),
        ]),
        Screen::Reveal(_) => fixed(&[
            ("c", "copy secret"),
            ("y", "copy id"),
            ("t", "copy token"),
            ("Esc", "done"),
        ]),
        Screen::ConfirmRevoke(d) => match d.focus {
            RevokeFocus::Keys => fixed(&[
                ("y", "revoke"),
                ("Tab", "give a reason"),
                ("any other key", "cancel"),
            ]),
            RevokeFocus::Reason | RevokeFocus::Namespace => fixed(&[
                ("Enter", "revoke"),
                ("Tab", "next field"),
                ("Esc", "cancel"),
            ]),
        },
        Screen::ConfirmRotate(_) => fixed(&[
            ("Enter", "rotate"),
            ("↑↓", "grace period"),
            ("Tab", "next field"),
            ("Esc", "cancel"),
        ]),
        Screen::ConfirmDelete { .. } => fixed(&[("Enter", "delete"), ("Esc", "cancel")]),
    }
}

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (i, (k, what)) in hints(state).into_iter().enumerate() {
        let sep = if i == 0 { "" } else { "  " };
        let width = sep.chars().count() + k.chars().count() + 1 + what.chars().count();
        // The first hint is always shown (cut if need be); later ones only whole.
        if i > 0 && used + width > area.width as usize {
            break;
        }
        used += width;
        spans.push(Span::raw(sep));
        spans.push(Span::styled(k, key_style));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
