//! Snapshots of every screen and popup at 80x24 and 20x5 (fixed records, fixed now), and
//! assertions on the styles that carry meaning (snapshots drop colour).

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

use crate::record::Status;
use crate::store::Event;
use crate::store::Mode;
use crate::tui::fixtures::{NOW, code, created, key, state, state_in};
use crate::tui::state::{ClipboardVia, ConnState, Msg, State, update};

fn draw(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    update(s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| crate::tui::draw::render(s, f)).expect("draw");
    t
}

/// Draws the state at both sizes and snapshots each.
macro_rules! snap_both {
    ($name:literal, $state:expr) => {{
        let mut s = $state;
        let big = draw(&mut s, 80, 24);
        insta::assert_snapshot!(concat!($name, "_80x24"), big.backend());
        let small = draw(&mut s, 20, 5);
        insta::assert_snapshot!(concat!($name, "_20x5"), small.backend());
    }};
}

#[test]
fn table() {
    snap_both!("table", state());
}

#[test]
fn table_with_side_pane_on_a_wide_terminal() {
    let mut s = state();
    update(&mut s, key('j'));
    let t = draw(&mut s, 140, 16);
    insta::assert_snapshot!("table_side_pane_140x16", t.backend());
}

#[test]
fn table_empty_namespace() {
    let mut s = state();
    update(
        &mut s,
        Msg::FirstPage {
            load: 2,
            records: vec![],
            total: 0,
            malformed: vec![],
            done: true,
        },
    );
    snap_both!("table_empty", s);
}

#[test]
fn table_reconnecting_with_message() {
    let mut s = state();
    update(&mut s, Msg::Connection(ConnState::Reconnecting));
    update(&mut s, key('d'));
    snap_both!("table_reconnecting", s);
}

#[test]
fn filter_line() {
    let mut s = state();
    update(&mut s, key('/'));
    for c in "pay".chars() {
        let cmds = update(&mut s, key(c));
        for cmd in cmds {
            if let crate::tui::state::Out::Filter(job) = cmd {
                let found = crate::tui::filter::run(&job).expect("current job");
                update(
                    &mut s,
                    Msg::FilterDone {
                        generation: job.generation,
                        structure: job.structure,
                        revision: job.revision,
                        len: job.records.len(),
                        query: job.query.clone(),
                        visible: found.indices,
                        ranked: found.ranked,
                    },
                );
            }
        }
    }
    snap_both!("filter", s);
}

#[test]
fn detail() {
    let mut s = state();
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Enter));
    update(
        &mut s,
        Msg::DetailEvents {
            id: "K01x9fQ2mZ7pL4tR8".into(),
            events: vec![
                Event {
                    cursor: "1-0".into(),
                    op: "create".into(),
                    id: "K01x9fQ2mZ7pL4tR8".into(),
                    actor: "alice@laptop".into(),
                    at: NOW - 2 * 86_400_000,
                    detail: Some("search-worker".into()),
                },
                Event {
                    cursor: "2-0".into(),
                    op: "revoke".into(),
                    id: "K01x9fQ2mZ7pL4tR8".into(),
                    actor: "bob@ci".into(),
                    at: NOW - 43_200_000,
                    detail: Some("leaked in a CI log".into()),
                },
            ],
        },
    );
    snap_both!("detail", s);
}

#[test]
fn detail_unreadable_events() {
    let mut s = state();
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Enter));
    update(
        &mut s,
        Msg::DetailEventsFailed {
            id: "K01x9fQ2mZ7pL4tR8".into(),
            error: "redis: connection lost".into(),
        },
    );
    snap_both!("detail_unreadable", s);
}

#[test]
fn detail_with_metadata() {
    let mut s = state();
    update(&mut s, key('G'));
    update(&mut s, key('k'));
    update(&mut s, code(KeyCode::Enter));
    snap_both!("detail_meta", s);
}

#[test]
fn new_key_form() {
    let mut s = state();
    update(&mut s, key('n'));
    for c in "ci-bot".chars() {
        update(&mut s, key(c));
    }
    snap_both!("new_key_form", s);
}

#[test]
fn new_key_form_error() {
    let mut s = state();
    update(&mut s, key('n'));
    update(&mut s, code(KeyCode::Enter));
    snap_both!("new_key_form_error", s);
}

#[test]
fn new_key_form_with_errors_under_the_fields() {
    let mut s = state();
    update(&mut s, key('n'));
    for c in "edge-proxy".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Tab));
    for _ in 0..6 {
        update(&mut s, code(KeyCode::Backspace));
    }
    for c in "uuid".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Tab));
    for c in "SK-Live".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Enter));
    snap_both!("new_key_form_errors", s);
}

#[test]
fn reveal() {
    let mut s = state();
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    snap_both!("reveal", s);
}

#[test]
fn confirm_revoke() {
    let mut s = state();
    update(&mut s, key('d'));
    snap_both!("confirm_revoke", s);
}

#[test]
fn confirm_revoke_with_a_reason() {
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    for c in "leaked in a gist".chars() {
        update(&mut s, key(c));
    }
    snap_both!("confirm_revoke_reason", s);
}

#[test]
fn table_in_a_production_namespace() {
    snap_both!("table_production", state_in(Mode::Hash, true));
}

#[test]
fn table_in_a_plain_namespace() {
    snap_both!("table_plain", state_in(Mode::Plain, false));
}

#[test]
fn confirm_revoke_in_production() {
    let mut s = state_in(Mode::Sealed, true);
    update(&mut s, key('d'));
    for c in "pro".chars() {
        update(&mut s, key(c));
    }
    snap_both!("confirm_revoke_production", s);
}

#[test]
fn confirm_delete_in_production() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key('D'));
    snap_both!("confirm_delete_production", s);
}

#[test]
fn production_and_plain_warnings_are_coloured() {
    let mut s = state_in(Mode::Hash, true);
    let t = draw(&mut s, 80, 24);
    let buf = t.backend().buffer();
    let line: String = (0..80).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
    assert!(line.contains("PRODUCTION namespace prod"), "{line}");
    for x in [0, 5, 40, 79] {
        assert_eq!(buf[(x, 0)].bg, Color::Red, "banner cell {x}");
    }
    // The connection state moves down a line, the table head below it.
    assert_eq!(buf[(0, 1)].symbol(), "●");
    // Too small for a banner line: a red PROD marker starts the header.
    let t = draw(&mut s, 20, 5);
    let buf = t.backend().buffer();
    assert_eq!(buf[(0, 0)].symbol(), "P");
    assert_eq!(buf[(0, 0)].bg, Color::Red);

    let mut s = state_in(Mode::Plain, false);
    let t = draw(&mut s, 80, 24);
    let buf = t.backend().buffer();
    let line: String = (0..80).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
    assert!(
        line.contains("PLAIN: secrets stored in cleartext"),
        "{line}"
    );
    assert_eq!(buf[(1, 0)].bg, Color::Yellow);

    // Both: red production part first, then the yellow plain warning.
    let mut s = state_in(Mode::Plain, true);
    let t = draw(&mut s, 80, 24);
    let buf = t.backend().buffer();
    assert_eq!(buf[(1, 0)].bg, Color::Red);
    let line: String = (0..80).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
    let plain_at = line.find("PLAIN").expect("plain warning") as u16;
    assert_eq!(buf[(plain_at, 0)].bg, Color::Yellow);

    // Ordinary namespaces have no banner.
    let mut s = state();
    let t = draw(&mut s, 80, 24);
    assert_eq!(t.backend().buffer()[(0, 0)].bg, Color::Reset);
}

#[test]
fn mouse_rows_follow_the_banner() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, Msg::Resize(80, 24));
    let body = s.areas().table_body;
    assert_eq!(body.y, crate::tui::layout::layout(s.area).table_body.y + 1);
}

#[test]
fn confirm_delete() {
    let mut s = state();
    update(&mut s, key('D'));
    for c in "bill".chars() {
        update(&mut s, key(c));
    }
    snap_both!("confirm_delete", s);
}

#[test]
fn help() {
    let mut s = state();
    update(&mut s, key('?'));
    snap_both!("help", s);
}

#[test]
fn help_scrolled_to_the_end() {
    let mut s = state();
    update(&mut s, key('?'));
    update(&mut s, key('G'));
    snap_both!("help_end", s);
}

#[test]
fn help_in_the_middle_says_there_is_more_both_ways() {
    let mut s = state();
    update(&mut s, key('?'));
    update(&mut s, key('j'));
    let t = draw(&mut s, 80, 24);
    let screen = t.backend().to_string();
    assert!(screen.contains("↑ more (k/PgUp)"), "{screen}");
    assert!(screen.contains("↓ more (j/PgDn)"), "{screen}");
}

#[test]
fn clipboard_countdown() {
    let mut s = state();
    update(
        &mut s,
        Msg::Copied {
            what: "the secret".into(),
            via: ClipboardVia::System,
            secret: true,
        },
    );
    s.now = NOW + 3_200;
    snap_both!("clipboard_countdown", s);
}

#[test]
fn every_size_down_to_one_cell_renders_without_panic() {
    let mut screens = vec![state()];
    for k in ['n', 'd', 'D', '?'] {
        let mut s = state();
        update(&mut s, key(k));
        screens.push(s);
    }
    let mut s = state();
    update(&mut s, code(KeyCode::Enter));
    screens.push(s);
    let mut s = state();
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: Some("K00x9fQ2mZ7pL4tR8".into()),
        },
    );
    screens.push(s);
    for (mode, production) in [
        (Mode::Hash, true),
        (Mode::Plain, false),
        (Mode::Plain, true),
    ] {
        for k in ['c', 'd', 'D'] {
            let mut s = state_in(mode, production);
            update(&mut s, key(k));
            screens.push(s);
        }
        let mut s = state_in(mode, production);
        update(&mut s, key('d'));
        update(&mut s, code(KeyCode::Tab));
        screens.push(s);
    }
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    screens.push(s);
    for s in &mut screens {
        for w in [0u16, 1, 2, 5, 13, 20, 37, 59, 61, 79, 120] {
            for h in [0u16, 1, 2, 3, 4, 5, 6, 9, 10, 24] {
                draw(s, w, h);
            }
        }
    }
}

/// The cell in the table's status column of the row showing `name`.
fn status_cell(t: &Terminal<TestBackend>, name: &str) -> ratatui::buffer::Cell {
    let buf = t.backend().buffer();
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_owned())
            .collect();
        if line.contains(name) {
            return buf[(0, y)].clone();
        }
    }
    panic!("no row shows {name}");
}

#[test]
fn status_colours_carry_meaning() {
    let mut s = state();
    update(&mut s, key('G')); // move the highlight away from the rows we look at
    let t = draw(&mut s, 80, 24);
    let active = status_cell(&t, "billing-service");
    assert_eq!(active.symbol(), "●");
    assert_eq!(active.fg, Color::Green);
    let revoked = status_cell(&t, "search-worker");
    assert_eq!(revoked.symbol(), "✗");
    assert_eq!(revoked.fg, Color::Red);
    assert!(revoked.modifier.contains(Modifier::CROSSED_OUT));
    assert!(revoked.modifier.contains(Modifier::DIM));
    let expired = status_cell(&t, "payments-webhook");
    assert_eq!(expired.symbol(), "⌛");
    assert_eq!(expired.fg, Color::Yellow);
    // The status symbol survives a tiny terminal.
    let t = draw(&mut s, 20, 5);
    let buf = t.backend().buffer();
    assert_eq!(buf[(0, 2)].symbol(), "●");
    assert_eq!(buf[(0, 2)].fg, Color::Green);
    let _ = Status::Active;
}

#[test]
fn selected_row_is_highlighted() {
    let mut s = state();
    let t = draw(&mut s, 80, 24);
    let row = crate::tui::layout::layout(s.area).table_body.y;
    let cell = &t.backend().buffer()[(12, row)];
    assert!(cell.modifier.contains(Modifier::REVERSED));
}

#[test]
fn escape_sequences_from_redis_never_reach_the_screen() {
    let mut s = state();
    let t = draw(&mut s, 80, 24);
    let text = format!("{}", t.backend());
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("partner-?[31macme"));
}

#[test]
fn connection_state_is_coloured() {
    let mut s = state();
    update(&mut s, Msg::Connection(ConnState::Offline));
    let t = draw(&mut s, 80, 24);
    assert_eq!(t.backend().buffer()[(0, 0)].fg, Color::Red);
    update(&mut s, Msg::Connection(ConnState::Live));
    let t = draw(&mut s, 80, 24);
    assert_eq!(t.backend().buffer()[(0, 0)].fg, Color::Green);
}

#[test]
fn edit_form_prefilled_and_the_command_line() {
    // analytics-export: metadata owner and scopes.
    let mut s = state();
    for _ in 0..4 {
        update(&mut s, key('j'));
    }
    update(&mut s, key('e'));
    snap_both!("edit_form", s);
    // A production key whose expiry gets shorter: the namespace field, an error under
    // the expiry field after a wrong value.
    let mut s = state_in(Mode::Hash, true);
    for _ in 0..3 {
        update(&mut s, key('j'));
    }
    update(&mut s, key('e'));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::End));
    for _ in 0..30 {
        update(&mut s, code(KeyCode::Backspace));
    }
    update(&mut s, key('1'));
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Enter));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("edit_form_production_80x24", t.backend());
    // The command line on the status line, sorted by name with the header arrow.
    let mut s = state();
    update(&mut s, key('o'));
    update(&mut s, key(':'));
    for c in "columns name,meta.owner".chars() {
        update(&mut s, key(c));
    }
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("command_line_80x24", t.backend());
}

#[test]
fn bulk_revoke_preview_with_marks_in_the_header() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    snap_both!("bulk_revoke", s);
}

#[test]
fn bulk_delete_in_production() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key(' '));
    update(&mut s, key(' '));
    update(&mut s, key('D'));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("bulk_delete_production_80x24", t.backend());
}

#[test]
fn bulk_extend() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('+'));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("bulk_extend_80x24", t.backend());
}

/// The last line of the screen: the footer.
fn footer_line(t: &Terminal<TestBackend>) -> String {
    let screen = t.backend().to_string();
    screen.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn bulk_delete_and_extend_footers_offer_no_field_switch() {
    // One field each: Tab does nothing there, so the footer does not offer it.
    for k in ['D', '+'] {
        let mut s = state();
        update(&mut s, key('*'));
        update(&mut s, key(k));
        let t = draw(&mut s, 80, 24);
        let footer = footer_line(&t);
        assert!(footer.contains("Enter go ahead"), "{k}: {footer}");
        assert!(!footer.contains("Tab"), "{k}: {footer}");
        if k == 'D' {
            insta::assert_snapshot!("bulk_delete_80x24", t.backend());
        }
    }
    // Revoke in production has two fields: Tab moves between them.
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    let footer = footer_line(&draw(&mut s, 80, 24));
    assert!(footer.contains("Tab next field"), "{footer}");
}

#[test]
fn single_revoke_reason_footer_offers_no_field_switch() {
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    let footer = footer_line(&draw(&mut s, 80, 24));
    assert!(footer.contains("Enter revoke"), "{footer}");
    assert!(!footer.contains("Tab"), "{footer}");
}

#[test]
fn help_has_the_bulk_dialog_and_the_views() {
    let mut s = state();
    update(&mut s, key('?'));
    let mut text = String::new();
    // Page through the help and read every page.
    for _ in 0..20 {
        text.push_str(&draw(&mut s, 80, 24).backend().to_string());
        update(&mut s, code(KeyCode::PageDown));
    }
    for heading in [
        "the bulk dialog (marked keys)",
        "the attention views",
        "the namespace picker",
        "the edit form",
        "the command line",
    ] {
        assert!(
            text.contains(heading),
            "no {heading:?} in the help:\n{text}"
        );
    }
}

#[test]
fn marked_rows_are_marked_and_the_view_is_in_the_header() {
    let mut s = state();
    update(&mut s, key('v'));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("views_picker_80x24", t.backend());
    update(&mut s, code(KeyCode::Down));
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, key(' '));
    let t = draw(&mut s, 80, 24);
    insta::assert_snapshot!("view_never_used_marked_80x24", t.backend());
    // The mark is drawn in colour too.
    let buf = t.backend().buffer();
    let marked = (0..24)
        .find(|&y| {
            (0..80)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("* billing-service")
        })
        .expect("the marked row");
    let x = (0..80)
        .find(|&x| buf[(x, marked)].symbol() == "*")
        .expect("the mark");
    assert_eq!(buf[(x, marked)].fg, Color::Magenta);
}

fn event(i: usize, id: &str) -> Event {
    Event {
        cursor: format!("{i}-0"),
        op: if i == 0 { "create" } else { "edit" }.into(),
        id: id.into(),
        actor: "alice@laptop".into(),
        at: NOW - 86_400_000 + i as i64 * 1000,
        detail: Some(format!("change {i}")),
    }
}

#[test]
fn a_damaged_record_has_a_badge_and_its_details_name_the_damage() {
    let mut s = state();
    let mut r = crate::tui::fixtures::record(0, "billing-service");
    r.damage = vec!["field meta is not a JSON object of strings".into()];
    update(&mut s, Msg::RecordChanged(Box::new(r)));
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(text.contains("[damaged] billing-service"), "{text}");
    assert_eq!(text.matches("[damaged]").count(), 1, "{text}");
    update(&mut s, code(KeyCode::Enter));
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(
        text.contains("damaged field meta is not a JSON object of strings"),
        "{text}"
    );
}

#[test]
fn the_detail_view_scrolls_through_a_long_history() {
    let mut s = state();
    update(&mut s, code(KeyCode::Enter));
    let id = s.selected_record().map(|r| r.id().to_owned()).unwrap();
    let events = (0..40).map(|i| event(i, &id)).collect();
    update(&mut s, Msg::DetailEvents { id, events });
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(text.contains("↓ more"), "{text}");
    assert!(
        !text.contains("↑ more") && !text.contains("change 0)"),
        "{text}"
    );
    assert!(text.contains("change 39)"), "{text}");
    // j scrolls one line: the status line leaves the screen
    update(&mut s, key('j'));
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(
        text.contains("↑ more (1)") && !text.contains("✗ revoked"),
        "{text}"
    );
    // G: the oldest event, at the bottom; nothing more below
    update(&mut s, key('G'));
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(
        text.contains("change 0)") && !text.contains("↓ more"),
        "{text}"
    );
    // k from the end moves up at once (the end is not beyond the last page)
    let end = s.detail_first_line();
    update(&mut s, key('k'));
    assert_eq!(s.detail_first_line(), end - 1);
    update(&mut s, code(KeyCode::PageUp));
    update(&mut s, key('g'));
    assert_eq!(s.detail_first_line(), 0);
    update(&mut s, code(KeyCode::PageDown));
    assert!(s.detail_first_line() > 0);
    // the keys scrolled: the table's cursor stayed where it was
    assert_eq!(s.selected, 0);
    assert!(matches!(s.screen, crate::tui::state::Screen::Detail { .. }));
}

#[test]
fn the_detail_view_follows_changes_made_elsewhere() {
    use crate::tui::state::{Out, SyncCmd};
    let mut s = state();
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Enter));
    let row = s.selected_record().cloned().unwrap();
    let id = row.id().to_owned();
    update(
        &mut s,
        Msg::DetailEvents {
            id: id.clone(),
            events: vec![event(0, &id)],
        },
    );
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(text.contains("● active"), "{text}");
    // revoked by another program: the view shows it and reads the history again
    let mut r = crate::tui::fixtures::record(3, row.name());
    r.id = id.clone();
    r.created_at = row.created_at;
    r.revoked = true;
    r.revoked_at = Some(NOW - 1000);
    r.revoked_reason = Some("leaked".into());
    let cmds = update(&mut s, Msg::RecordChanged(Box::new(r)));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Out::Sync(SyncCmd::LoadDetail { id: i }) if *i == id)),
        "{cmds:?}"
    );
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(
        text.contains("✗ revoked") && text.contains("leaked"),
        "{text}"
    );
    // a change to another key does not read this one's history again
    let other = crate::tui::fixtures::record(0, "billing-service");
    let cmds = update(&mut s, Msg::RecordChanged(Box::new(other)));
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Out::Sync(SyncCmd::LoadDetail { .. }))),
        "{cmds:?}"
    );
    // deleted elsewhere: said in the view and on the status line, the history stays
    update(&mut s, Msg::RecordGone { id: id.clone() });
    let text = format!("{}", draw(&mut s, 80, 24).backend());
    assert!(text.contains("was deleted elsewhere"), "{text}");
    assert!(text.contains("change 0)"), "{text}");
    assert!(matches!(s.screen, crate::tui::state::Screen::Detail { .. }));
}

#[test]
fn namespace_picker() {
    let mut s = state();
    update(&mut s, key('N'));
    let ns = |name: &str, mode: &str, production: bool, keys: usize| crate::store::NamespaceInfo {
        name: name.into(),
        mode: Some(mode.into()),
        production,
        keys,
        layout: Some("4".into()),
    };
    let current = s.server.namespace.clone();
    update(
        &mut s,
        Msg::Namespaces(vec![
            ns("billing", "sealed", true, 1200),
            ns(&current, "hash", false, 6),
        ]),
    );
    snap_both!("namespace_picker", s);
}
