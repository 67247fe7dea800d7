//! Update tests: nothing irreversible on one keystroke. Rotate asks first (with the grace
//! period), a burst of the rotate key never rotates, a key rotated before needs `again`
//! typed, production needs the namespace name, and a paste never triggers an action.

use super::*;
use crate::tui::fixtures::{code, key, record, state, state_in};
use crossterm::event::KeyCode;

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, key(c));
    }
}

fn paste(s: &mut State, text: &str) -> Vec<Out> {
    update(s, Msg::Paste(crate::keygen::Secret::new(text.to_owned())))
}

fn dialog(s: &State) -> &RotateDialog {
    match &s.screen {
        Screen::ConfirmRotate(d) => d,
        other => panic!("no rotate dialog: {other:?}"),
    }
}

#[test]
fn rotate_asks_first_and_a_burst_of_r_never_rotates() {
    let mut s = state();
    for _ in 0..6 {
        assert!(update(&mut s, key('r')).is_empty());
    }
    let d = dialog(&s);
    assert_eq!(d.id, "K00x9fQ2mZ7pL4tR8");
    assert_eq!(d.grace.value(), "24hrrrrr");
    // Enter with that grace period rotates nothing and says why; the dialog stays.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(
        dialog(&s)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("grace"))
    );
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn the_grace_period_is_chosen_or_typed() {
    let mut s = state();
    update(&mut s, key('r'));
    assert_eq!(dialog(&s).grace.value(), "24h");
    update(&mut s, code(KeyCode::Down));
    assert_eq!(dialog(&s).grace.value(), "7d");
    update(&mut s, code(KeyCode::Up));
    update(&mut s, code(KeyCode::Up));
    assert_eq!(dialog(&s).grace.value(), "1h");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Rotate { id, grace, force: false })]
            if id == "K00x9fQ2mZ7pL4tR8" && *grace == Duration::from_secs(3600)
    ));
    // typed
    update(&mut s, key('r'));
    for _ in 0..3 {
        update(&mut s, code(KeyCode::Backspace));
    }
    typed(&mut s, "90m");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Rotate { grace, .. })] if *grace == Duration::from_secs(90 * 60)
    ));
}

#[test]
fn a_key_rotated_before_needs_again_typed() {
    let mut s = state();
    let mut r = record(0, "billing-service");
    r.rotated_to = Some("K77x9fQ2mZ7pL4tR8".into());
    update(&mut s, Msg::RecordChanged(Box::new(r)));
    update(&mut s, key('r'));
    assert_eq!(dialog(&s).rotated_to.as_deref(), Some("K77x9fQ2mZ7pL4tR8"));
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(
        dialog(&s)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("again"))
    );
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(dialog(&s).focus, RotateFocus::Again);
    typed(&mut s, "again");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Rotate { force: true, .. })]
    ));
}

#[test]
fn production_rotate_needs_the_namespace_name() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key('r'));
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(
        dialog(&s)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("namespace"))
    );
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "prod");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Rotate { force: false, .. })]
    ));
}

#[test]
fn a_revoked_key_is_not_rotated() {
    let mut s = state();
    update(&mut s, key('j')); // search-worker, revoked
    assert!(update(&mut s, key('r')).is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("restore"))
    );
}

#[test]
fn a_paste_into_the_table_triggers_nothing() {
    let mut s = state();
    let before = s.selected;
    // keys of every action, and line breaks
    let cmds = paste(&mut s, "rrrrrr\ndydyDjjGnq/x\r\n");
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert_eq!(s.selected, before);
    assert!(!s.quit && !s.filter.editing);
    // nor in the revoke dialog's key mode, where `y` would confirm
    update(&mut s, key('d'));
    assert!(paste(&mut s, "y").is_empty());
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.focus == RevokeFocus::Keys));
    // nor in the detail view
    update(&mut s, code(KeyCode::Esc));
    update(&mut s, code(KeyCode::Enter));
    assert!(paste(&mut s, "dry").is_empty());
    assert!(matches!(s.screen, Screen::Detail { .. }));
}

#[test]
fn a_paste_goes_into_the_focused_text_field_without_pressing_enter() {
    let mut s = state();
    update(&mut s, key('/'));
    paste(&mut s, "billing\n");
    assert_eq!(s.filter.query(), "billing");
    assert!(s.filter.editing, "the line break pressed Enter");
    update(&mut s, code(KeyCode::Esc));
    update(&mut s, key('r'));
    update(&mut s, code(KeyCode::Backspace));
    update(&mut s, code(KeyCode::Backspace));
    update(&mut s, code(KeyCode::Backspace));
    assert!(paste(&mut s, "2h\r\n").is_empty());
    assert_eq!(dialog(&s).grace.value(), "2h");
}

#[test]
fn rotate_dialog_snapshots() {
    use ratatui::{Terminal, backend::TestBackend};
    let mut s = state_in(Mode::Hash, true);
    let mut r = record(0, "billing-service");
    r.rotated_to = Some("K77x9fQ2mZ7pL4tR8".into());
    update(&mut s, Msg::RecordChanged(Box::new(r)));
    update(&mut s, key('r'));
    update(&mut s, code(KeyCode::Enter));
    for (w, h, name) in [
        (80, 24, "rotate_dialog_80x24"),
        (20, 5, "rotate_dialog_20x5"),
    ] {
        update(&mut s, Msg::Resize(w, h));
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        t.draw(|f| crate::tui::draw::render(&s, f)).expect("draw");
        insta::assert_snapshot!(name, t.backend());
    }
}
