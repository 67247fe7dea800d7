//! The footer: key hints for the current screen, generated from the key table (the keys
//! actually bound). Only draws.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::Context;
use crate::tui::state::{RevokeFocus, Screen, State};

/// The hints shown for the current screen, as (key, what) pairs: the footer of the
/// screen's context in the key table, with the keys bound, less the actions that do
/// nothing in the dialog's state now (its `acts`).
pub fn hints(state: &State) -> Vec<(String, String)> {
    let km = &state.keymap;
    match &state.screen {
        Screen::Table if state.filter.editing => km.footer(Context::Filter),
        Screen::Table if state.command.is_some() => km.footer(Context::Command),
        Screen::Table => km.footer(Context::Table),
        Screen::Detail { .. } => km.footer(Context::Detail),
        Screen::Help(_) => km.footer(Context::Help),
        Screen::NewKey(_) => km.footer(Context::Form),
        Screen::Reveal(_) => km.footer(Context::Reveal),
        Screen::ConfirmRevoke(d) => {
            let mut h = km.footer_where(d.context(), |a| d.acts(a));
            if d.focus == RevokeFocus::Keys {
                h.push(("any other key".into(), "cancel".into()));
            }
            h
        }
        Screen::ConfirmRotate(d) => km.footer_where(Context::Rotate, |a| d.acts(a)),
        Screen::ConfirmDelete(_) => km.footer(Context::Delete),
        Screen::EditKey(_) => km.footer(Context::Edit),
        Screen::ConfirmBulk(d) => km.footer_where(d.context(), |a| d.acts(a)),
        Screen::Views(_) => km.footer(Context::Views),
        Screen::Namespaces(_) => km.footer(Context::Namespaces),
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
