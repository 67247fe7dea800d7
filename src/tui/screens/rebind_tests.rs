//! Rebound keys: the handlers, the footer, the `?` help and every hint in the screens
//! follow the config's `[keys]`, in every screen and popup.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::tui::fixtures::{code, key, state};
use crate::tui::keymap::{Action, Context, HelpRow, KeySpec};
use crate::tui::state::{Msg, Screen, State, update};
use crate::tui::widgets::footer::hints;

/// Rebinds: new = a, restore = U, back = F2, confirm = Ctrl-S, next_field = F3, yes = Y.
fn rebound() -> State {
    let mut s = state();
    let keys: BTreeMap<String, KeySpec> = [
        ("new", "a"),
        ("restore", "U"),
        ("back", "f2"),
        ("confirm", "ctrl-s"),
        ("next_field", "f3"),
        ("yes", "Y"),
    ]
    .into_iter()
    .map(|(a, k)| (a.to_owned(), KeySpec::One(k.to_owned())))
    .collect();
    assert!(s.keymap.apply_overrides(&keys).is_empty());
    s
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn screen_text(s: &mut State) -> String {
    update(s, Msg::Resize(100, 30));
    let mut t = Terminal::new(TestBackend::new(100, 30)).expect("test terminal");
    t.draw(|f| crate::tui::draw::render(s, f)).expect("draw");
    t.backend().to_string()
}

fn has_hint(s: &State, k: &str, what: &str) -> bool {
    hints(s).iter().any(|(hk, hw)| hk == k && hw == what)
}

#[test]
fn rebound_keys_drive_the_handlers_the_footer_and_the_hints() {
    let mut s = rebound();
    assert!(has_hint(&s, "a", "new"), "{:?}", hints(&s));

    // The new-key form: the rebound keys move, create and cancel; the old ones do not.
    update(&mut s, key('n'));
    assert!(
        matches!(s.screen, Screen::Table),
        "n no longer opens the form"
    );
    update(&mut s, key('a'));
    assert!(matches!(s.screen, Screen::NewKey(_)));
    assert!(has_hint(&s, "F3", "next field"), "{:?}", hints(&s));
    assert!(has_hint(&s, "Ctrl-s", "create"), "{:?}", hints(&s));
    assert!(has_hint(&s, "F2", "cancel"), "{:?}", hints(&s));
    let text = screen_text(&mut s);
    assert!(
        text.contains("Ctrl-s creates · F3 next field · F2 cancels"),
        "{text}"
    );
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::F(3)));
    assert!(matches!(&s.screen, Screen::NewKey(f) if f.focus == 1));
    update(&mut s, code(KeyCode::Enter));
    assert!(matches!(&s.screen, Screen::NewKey(f) if !f.submitted));
    update(&mut s, ctrl('s'));
    assert!(matches!(&s.screen, Screen::NewKey(f) if f.submitted));
    update(&mut s, code(KeyCode::Esc));
    assert!(
        matches!(s.screen, Screen::NewKey(_)),
        "Esc is not bound any more"
    );
    update(&mut s, code(KeyCode::F(2)));
    assert!(matches!(s.screen, Screen::Table));

    // The revoke question: Y revokes, y (no longer bound there) cancels.
    update(&mut s, key('d'));
    let text = screen_text(&mut s);
    assert!(text.contains("(U restores)"), "{text}");
    assert!(text.contains("Y revoke · F3 give a reason"), "{text}");
    assert!(has_hint(&s, "Y", "revoke"), "{:?}", hints(&s));
    update(&mut s, key('y'));
    assert!(matches!(s.screen, Screen::Table));
    update(&mut s, key('d'));
    let cmds = update(&mut s, key('Y'));
    assert_eq!(cmds.len(), 1, "Y revokes");

    // The delete dialog: its complaint names the rebound cancel key.
    update(&mut s, key('D'));
    update(&mut s, ctrl('s'));
    assert!(matches!(s.screen, Screen::ConfirmDelete(_)));
    let said = s
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert_eq!(said, "the name does not match; F2 cancels");
    let text = screen_text(&mut s);
    assert!(text.contains("press Ctrl-s (F2 cancels)"), "{text}");
    update(&mut s, code(KeyCode::F(2)));
    assert!(matches!(s.screen, Screen::Table));

    // The filter line: Ctrl-S keeps the filter, F2 clears it.
    update(&mut s, key('/'));
    assert!(has_hint(&s, "Ctrl-s", "keep filter"), "{:?}", hints(&s));
    assert!(has_hint(&s, "F2", "clear"), "{:?}", hints(&s));
    update(&mut s, ctrl('s'));
    assert!(!s.filter.editing);

    // The help lists the forms' keys as bound, and names them in its texts.
    let rows = s.keymap.help_rows();
    assert!(rows.contains(&HelpRow::Keys(
        "q".into(),
        "quit (elsewhere: back, like F2)".into()
    )));
    assert!(rows.contains(&HelpRow::Keys(
        "d".into(),
        "revoke (asks first; F3 adds a reason)".into()
    )));
    for (k, what) in [
        ("F2", "cancel"),
        ("F3/↓", "next field"),
        (
            "F3/S-Tab",
            "between the namespace and the reason (production)",
        ),
        ("Ctrl-s", "create the key"),
        ("Ctrl-s", "go ahead (once what is typed is right)"),
    ] {
        assert!(
            rows.contains(&HelpRow::Keys(k.to_owned(), what.to_owned())),
            "{k} {what}: {rows:?}"
        );
    }
}

#[test]
fn rebound_new_key_is_named_on_the_empty_table() {
    let mut s = rebound();
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
    let text = screen_text(&mut s);
    assert!(
        text.contains("no keys yet: press a to create one"),
        "{text}"
    );
}

/// Every footer hint does something where it is shown, and every action of a context is
/// in its footer or shares a line of the help with one that is (the footer drops only
/// what does not fit).
#[test]
fn footers_and_handlers_agree() {
    for ctx in Context::EVERY {
        let footer: Vec<_> = ctx.footer().iter().flat_map(|(a, _)| a.iter()).collect();
        for a in &footer {
            assert!(
                ctx.actions().contains(a),
                "{ctx:?}: {a:?} shown but does nothing"
            );
        }
        if ctx == Context::Table {
            // The table has more actions than fit; the help lists them all.
            continue;
        }
        for a in ctx.actions() {
            // Going back a field (S-Tab, Up) is in the help's typing part.
            if ctx.typing() && matches!(a, Action::PrevField | Action::Up | Action::Down) {
                continue;
            }
            let what = a.description_in(ctx);
            assert!(
                footer
                    .iter()
                    .any(|f| *f == a || f.description_in(ctx) == what),
                "{ctx:?}: {a:?} works but is not in the footer"
            );
        }
    }
}
