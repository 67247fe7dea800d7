//! Confirmation dialogs: revoke (`y` confirms, Tab to an optional reason, any other key
//! cancels), rotate (choose the grace period, Enter) and delete (type the key's name). In
//! production namespaces each asks for the namespace name to be typed.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use crate::sanitize::line as clean;
use crate::tui::state::{ROTATE_AGAIN_WORD, RevokeDialog, RevokeFocus, RotateDialog, RotateFocus};

use super::centered;

/// The revoke dialog: the question, the namespace field (production), the reason field.
pub fn render_revoke(d: &RevokeDialog, ns: &str, frame: &mut Frame, area: Rect) {
    let production = d.typed_ns.is_some();
    let popup = centered(area, 64, if production { 10 } else { 8 });
    frame.render_widget(Clear, popup);
    let title = if production {
        " revoke · PRODUCTION "
    } else {
        " revoke "
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(Style::new().fg(Color::Red));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Revoke key "),
            Span::styled(format!("“{}”", clean(&d.name)), bold),
            Span::raw(format!(" ({})?", clean(&d.id))),
        ]),
        Line::from("Apps using it are refused from now on (u restores)."),
    ];
    let red_bold = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    if production {
        lines.push(Line::from(vec![
            Span::raw("Type the namespace name "),
            Span::styled(clean(ns), bold),
            Span::raw(", Enter revokes; Esc cancels."),
        ]));
    } else if d.focus == RevokeFocus::Keys {
        lines.push(Line::from(vec![
            Span::styled("y", red_bold),
            Span::raw(" revoke · "),
            Span::styled("Tab", red_bold),
            Span::raw(" give a reason · any other key cancels"),
        ]));
    } else {
        lines.push(Line::from("Enter revokes with this reason; Esc cancels."));
    }
    let fields = if production { 2 } else { 1 };
    let text_h = inner.height.saturating_sub(fields * 2);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        Rect::new(inner.x, inner.y, inner.width, text_h),
    );
    let mut y = inner.y + text_h;
    if let Some(typed) = &d.typed_ns {
        let focused = d.focus == RevokeFocus::Namespace;
        field(frame, inner, &mut y, "namespace:", typed, focused);
    }
    let focused = d.focus == RevokeFocus::Reason;
    field(
        frame,
        inner,
        &mut y,
        "reason (optional):",
        &d.reason,
        focused,
    );
}

/// The rotate dialog: what happens, the grace period field, then the namespace field
/// (production) and the `again` field (a key rotated before).
pub fn render_rotate(d: &RotateDialog, ns: &str, frame: &mut Frame, area: Rect) {
    let extra = u16::from(d.typed_ns.is_some()) * 2 + u16::from(d.again.is_some()) * 3;
    let popup = centered(area, 66, 11 + extra);
    frame.render_widget(Clear, popup);
    let title = if d.typed_ns.is_some() {
        " rotate · PRODUCTION "
    } else {
        " rotate "
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(Style::new().fg(Color::Yellow));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let red_bold = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Rotate key "),
            Span::styled(format!("“{}”", clean(&d.name)), bold),
            Span::raw(format!(" ({})?", clean(&d.id))),
        ]),
        Line::from("A new key of the same name, metadata and shape; its secret is shown once."),
        Line::from("The old key keeps working for the grace period (↑/↓ or type it)."),
    ];
    if let Some(to) = &d.rotated_to {
        lines.push(Line::from(vec![
            Span::styled("Already rotated", red_bold),
            Span::raw(format!(
                " to {}, which stays valid. Type {ROTATE_AGAIN_WORD} to make another successor.",
                clean(to)
            )),
        ]));
    }
    if d.typed_ns.is_some() {
        lines.push(Line::from(vec![
            Span::raw("Type the namespace name "),
            Span::styled(clean(ns), bold),
            Span::raw(" (Tab moves)."),
        ]));
    }
    lines.push(match &d.error {
        Some(e) => Line::from(Span::styled(clean(e), red_bold)),
        None => Line::from(vec![
            Span::styled("Enter", red_bold),
            Span::raw(" rotate · "),
            Span::styled("Esc", red_bold),
            Span::raw(" cancel"),
        ]),
    });
    let fields = 1 + u16::from(d.typed_ns.is_some()) + u16::from(d.again.is_some());
    let text_h = inner.height.saturating_sub(fields * 2);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        Rect::new(inner.x, inner.y, inner.width, text_h),
    );
    let mut y = inner.y + text_h;
    let grace_focused = d.focus == RotateFocus::Grace;
    field(
        frame,
        inner,
        &mut y,
        "grace period:",
        &d.grace,
        grace_focused,
    );
    if let Some(typed) = &d.typed_ns {
        let focused = d.focus == RotateFocus::Namespace;
        field(frame, inner, &mut y, "namespace:", typed, focused);
    }
    if let Some(again) = &d.again {
        let focused = d.focus == RotateFocus::Again;
        let label = format!("type {ROTATE_AGAIN_WORD} to rotate again:");
        field(frame, inner, &mut y, &label, again, focused);
    }
}

/// A labelled one-line text field at `y` (label line, then the input), within `inner`.
fn field(frame: &mut Frame, inner: Rect, y: &mut u16, label: &str, input: &Input, focused: bool) {
    let bottom = inner.y + inner.height;
    let style = if focused {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    if *y < bottom {
        frame.render_widget(
            Paragraph::new(Span::styled(label.to_owned(), style)),
            Rect::new(inner.x, *y, inner.width, 1),
        );
        *y += 1;
    }
    if *y < bottom {
        let width = inner.width.saturating_sub(2) as usize;
        let scroll = input.visual_scroll(width.max(1));
        let shown: String = input.value().chars().skip(scroll).collect();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", style),
                Span::raw(clean(&shown)),
            ])),
            Rect::new(inner.x, *y, inner.width, 1),
        );
        let x = inner.x + 2 + input.visual_cursor().saturating_sub(scroll) as u16;
        if focused && x < inner.x + inner.width {
            frame.set_cursor_position(Position::new(x, *y));
        }
        *y += 1;
    }
}

/// The delete dialog; `production_ns`: the namespace name to type instead of the key's.
pub fn render_delete(
    id: &str,
    name: &str,
    production_ns: Option<&str>,
    typed: &Input,
    frame: &mut Frame,
    area: Rect,
) {
    let popup = centered(area, 60, 8);
    frame.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(if production_ns.is_some() {
            " delete permanently · PRODUCTION "
        } else {
            " delete permanently "
        })
        .border_style(Style::new().fg(Color::Red));
    let inner = block.inner(popup);
    let lines = vec![
        Line::from(vec![
            Span::raw("Delete key "),
            Span::styled(
                format!("“{}”", clean(name)),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" ({})? This cannot be undone.", clean(id))),
        ]),
        match production_ns {
            Some(ns) => Line::from(vec![
                Span::raw("Type the namespace name "),
                Span::styled(clean(ns), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(" and press Enter (anything else cancels):"),
            ]),
            None => Line::from("Type the key's name and press Enter (Esc cancels):"),
        },
    ];
    frame.render_widget(block, popup);
    let text_h = inner.height.saturating_sub(1);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        Rect::new(inner.x, inner.y, inner.width, text_h),
    );
    if inner.height == 0 {
        return;
    }
    let y = inner.y + text_h;
    let width = inner.width.saturating_sub(2) as usize;
    let scroll = typed.visual_scroll(width.max(1));
    let shown: String = typed.value().chars().skip(scroll).collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("> ", Style::new().fg(Color::Red)),
            Span::raw(shown),
        ])),
        Rect::new(inner.x, y, inner.width, 1),
    );
    let x = inner.x + 2 + typed.visual_cursor().saturating_sub(scroll) as u16;
    if x < inner.x + inner.width {
        frame.set_cursor_position(Position::new(x, y));
    }
}
