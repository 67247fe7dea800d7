use super::*;
use crate::keygen::Secret;
use crate::tui::fixtures::{DAY, NOW, code, created, key, record, run_filter, state, state_in};
use crate::tui::keymap::Keymap;
use crate::tui::{draw, layout, screens};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use tui_input::Input;

fn ids(s: &State) -> Vec<String> {
    s.visible
        .iter()
        .map(|&i| s.records[i as usize].name().to_owned())
        .collect()
}

/// Runs the filter job like the event loop would, and feeds the result back.
#[test]
fn first_page_shows_every_record_newest_first() {
    let s = state();
    assert_eq!(s.visible.len(), 6);
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("billing-service")
    );
    assert_eq!(s.loading, Loading::Done);
    assert_eq!(s.counts(), (4, 1, 1));
}

#[test]
fn moving_clamps_at_both_ends() {
    let mut s = state();
    update(&mut s, key('k'));
    assert_eq!(s.selected, 0);
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Down));
    assert_eq!(s.selected, 2);
    update(&mut s, key('G'));
    assert_eq!(s.selected, 5);
    update(&mut s, key('j'));
    assert_eq!(s.selected, 5);
    update(&mut s, key('g'));
    assert_eq!(s.selected, 0);
    update(&mut s, code(KeyCode::PageDown));
    assert_eq!(s.selected, 5);
    update(&mut s, code(KeyCode::PageUp));
    assert_eq!(s.selected, 0);
}

#[test]
fn scrolling_keeps_the_selection_on_screen() {
    let mut s = state();
    update(&mut s, Msg::Resize(20, 5));
    assert_eq!(s.table_rows(), 1);
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    assert_eq!((s.selected, s.scroll), (2, 2));
    update(&mut s, key('k'));
    assert_eq!((s.selected, s.scroll), (1, 1));
}

#[test]
fn status_filter_cycles_all_active_revoked_expired() {
    let mut s = state();
    update(&mut s, key('s'));
    assert_eq!(s.status_filter, StatusFilter::Active);
    assert_eq!(s.visible.len(), 4);
    update(&mut s, key('s'));
    assert_eq!(ids(&s), vec!["search-worker"]);
    update(&mut s, key('s'));
    assert_eq!(ids(&s), vec!["payments-webhook"]);
    update(&mut s, key('s'));
    assert_eq!(s.visible.len(), 6);
}

#[test]
fn typing_a_filter_asks_the_worker_and_enter_keeps_the_best_match() {
    let mut s = state();
    update(&mut s, key('/'));
    assert!(s.filter.editing);
    let mut cmds = Vec::new();
    for c in "mobl".chars() {
        cmds = update(&mut s, key(c));
        assert!(matches!(cmds.as_slice(), [Out::Filter(_)]));
    }
    assert!(s.filter.pending);
    run_filter(&mut s, cmds);
    assert!(!s.filter.pending);
    assert_eq!(ids(&s), vec!["mobile-app"]);
    update(&mut s, code(KeyCode::Enter));
    assert!(!s.filter.editing);
    assert_eq!(s.filter.query(), "mobl");
    assert_eq!(s.selected_record().map(|r| r.name()), Some("mobile-app"));
    // Esc on the table clears a kept filter.
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.filter.query(), "");
    assert_eq!(s.visible.len(), 6);
}

#[test]
fn filter_matches_metadata_and_id() {
    let mut s = state();
    update(&mut s, key('/'));
    let mut cmds = Vec::new();
    for c in "team-data".chars() {
        cmds = update(&mut s, key(c));
    }
    run_filter(&mut s, cmds);
    assert_eq!(ids(&s), vec!["analytics-export"]);
}

#[test]
fn stale_filter_results_are_dropped() {
    let mut s = state();
    update(&mut s, key('/'));
    let first = update(&mut s, key('m'));
    let second = update(&mut s, key('o'));
    // The newer run answers first, then the old one arrives late.
    run_filter(&mut s, second);
    let shown = s.visible.clone();
    for c in first {
        if let Out::Filter(job) = c {
            update(
                &mut s,
                Msg::FilterDone {
                    generation: job.generation,
                    structure: job.structure,
                    revision: job.revision,
                    len: job.records.len(),
                    query: job.query.clone(),
                    visible: vec![0, 1, 2, 3, 4, 5],
                    ranked: true,
                },
            );
        }
    }
    assert_eq!(s.visible, shown);
}

#[test]
fn esc_while_filtering_clears_it() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('z'));
    run_filter(&mut s, cmds);
    update(&mut s, code(KeyCode::Esc));
    assert!(!s.filter.editing);
    assert_eq!(s.visible.len(), 6);
}

#[test]
fn revoke_asks_first_and_y_confirms() {
    let mut s = state();
    let cmds = update(&mut s, key('d'));
    assert!(cmds.is_empty());
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.name == "billing-service"));
    let cmds = update(&mut s, key('y'));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Revoke { id, reason: None })] if id == "K00x9fQ2mZ7pL4tR8"
    ));
    assert!(matches!(s.screen, Screen::Table));
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, key(c));
    }
}

#[test]
fn revoke_takes_an_optional_reason_after_tab() {
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.focus == RevokeFocus::Reason));
    // In the reason field `y` and `q` are letters, not commands.
    typed(&mut s, "key in a gist, yesterday");
    assert!(matches!(s.screen, Screen::ConfirmRevoke(_)));
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Revoke { reason: Some(r), .. })] if r == "key in a gist, yesterday"
    ));
    // An empty reason is no reason; Esc cancels from the field.
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "  ");
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Out::Sync(SyncCmd::Revoke { reason: None, .. })]
    ));
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn production_revoke_needs_the_namespace_name() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key('d'));
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.focus == RevokeFocus::Namespace));
    // `y` is just a letter here.
    assert!(update(&mut s, key('y')).is_empty());
    assert!(matches!(s.screen, Screen::ConfirmRevoke(_)));
    // A wrong name cancels.
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("cancelled"))
    );
    // The name, then Tab to a reason.
    update(&mut s, key('d'));
    typed(&mut s, "prod");
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "rotated out");
    update(&mut s, code(KeyCode::BackTab));
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.focus == RevokeFocus::Namespace));
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Revoke { id, reason: Some(r) })] if id == "K00x9fQ2mZ7pL4tR8" && r == "rotated out"
    ));
    // Esc cancels.
    update(&mut s, key('d'));
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn production_delete_needs_the_namespace_name_not_the_key_name() {
    let mut s = state_in(Mode::Hash, true);
    update(&mut s, key('D'));
    typed(&mut s, "billing-service");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("delete cancelled"))
    );
    update(&mut s, key('D'));
    typed(&mut s, "prod");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Out::Sync(SyncCmd::Delete { id })] if id == "K00x9fQ2mZ7pL4tR8")
    );
}

#[test]
fn server_info_marks_production() {
    let s = state_in(Mode::Plain, true);
    assert!(s.server.production);
    assert_eq!(s.server.mode, Some(Mode::Plain));
}

#[test]
fn revoke_is_cancelled_by_any_other_key() {
    let mut s = state();
    update(&mut s, key('d'));
    let cmds = update(&mut s, key('n'));
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert_eq!(
        s.message.as_ref().map(|m| m.text.as_str()),
        Some("revoke cancelled")
    );
}

#[test]
fn revoking_a_revoked_key_says_so() {
    let mut s = state();
    update(&mut s, key('j'));
    let cmds = update(&mut s, key('d'));
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn restore_only_for_revoked_keys() {
    let mut s = state();
    assert!(update(&mut s, key('u')).is_empty());
    update(&mut s, key('j'));
    let cmds = update(&mut s, key('u'));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::Restore { .. })]
    ));
}

#[test]
fn delete_needs_the_typed_name() {
    let mut s = state();
    update(&mut s, key('D'));
    assert!(matches!(s.screen, Screen::ConfirmDelete { .. }));
    for c in "billing".chars() {
        update(&mut s, key(c));
    }
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(matches!(s.screen, Screen::ConfirmDelete { .. }));
    assert!(s.message.as_ref().is_some_and(|m| m.error));
    for c in "-service".chars() {
        update(&mut s, key(c));
    }
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Out::Sync(SyncCmd::Delete { id })] if id == "K00x9fQ2mZ7pL4tR8")
    );
}

#[test]
fn delete_is_cancelled_by_esc() {
    let mut s = state();
    update(&mut s, key('D'));
    update(&mut s, key('b'));
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn actions_are_refused_while_not_live() {
    let mut s = state();
    update(&mut s, Msg::Connection(ConnState::Reconnecting));
    for k in ['d', 'D', 'r', 'R', 'n'] {
        let cmds = update(&mut s, key(k));
        assert!(cmds.is_empty(), "{k} was not refused");
        assert!(matches!(s.screen, Screen::Table));
        let m = s
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert!(m.contains("refused") && m.contains("reconnecting"), "{m}");
    }
    // Copying the id needs no Redis.
    assert!(matches!(
        update(&mut s, key('y')).as_slice(),
        [Out::Clip(ClipCmd::Copy { secret: false, .. })]
    ));
    update(&mut s, Msg::Connection(ConnState::Live));
    assert!(update(&mut s, key('r')).is_empty(), "rotate asks first");
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Out::Sync(SyncCmd::Rotate { .. })]
    ));
}

#[test]
fn confirming_while_offline_is_refused_not_dropped() {
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, Msg::Connection(ConnState::Offline));
    assert!(update(&mut s, key('y')).is_empty());
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("offline"))
    );
}

/// Types `text` into the focused field.
fn type_in(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, key(c));
    }
}

/// Moves the form's focus to field `i`.
fn focus(s: &mut State, i: usize) {
    loop {
        match &s.screen {
            Screen::NewKey(f) if f.focus == i => return,
            Screen::NewKey(_) => {
                update(s, code(KeyCode::Tab));
            }
            other => panic!("the form is gone: {other:?}"),
        }
    }
}

/// Replaces field `i`'s text.
fn set_field(s: &mut State, i: usize, text: &str) {
    focus(s, i);
    let Screen::NewKey(f) = &mut s.screen else {
        unreachable!()
    };
    let n = f.fields[i].value().chars().count();
    for _ in 0..n {
        update(s, code(KeyCode::Backspace));
    }
    type_in(s, text);
}

fn form(s: &State) -> &NewKeyForm {
    match &s.screen {
        Screen::NewKey(f) => f,
        other => panic!("the form is gone: {other:?}"),
    }
}

#[test]
fn new_key_form_defaults_and_create() {
    let mut s = state();
    update(&mut s, key('n'));
    assert_eq!(form(&s).fields[field::FORMAT].value(), "base62");
    // Bytes, as the CLI's --bytes (default 32 = 256 bits).
    assert_eq!(form(&s).fields[field::BYTES].value(), "32");
    assert_eq!(FORM_FIELDS[field::BYTES].0, "Bytes");
    // Enter without a name is refused inside the form.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(form(&s).shown_errors(NOW)[field::NAME].is_some());
    type_in(&mut s, "ci-bot");
    set_field(&mut s, field::PREFIX, "sk_test");
    set_field(&mut s, field::EXPIRES, "30d");
    set_field(
        &mut s,
        field::META,
        r#"owner=ops scopes=read,write note="two words""#,
    );
    let cmds = update(&mut s, code(KeyCode::Enter));
    let [Out::Sync(SyncCmd::Create(req))] = cmds.as_slice() else {
        panic!("expected a create, got {cmds:?}")
    };
    assert_eq!(req.name, "ci-bot");
    assert_eq!(req.prefix.as_deref(), Some("sk_test"));
    assert_eq!(req.expires_at, Some(NOW + 30 * DAY));
    assert_eq!(
        req.meta.get("scopes").map(String::as_str),
        Some("read,write")
    );
    assert_eq!(req.meta.get("note").map(String::as_str), Some("two words"));
    assert_eq!(req.meta.len(), 3);
    // The same secret as `keytui create` makes by default (--format base62 --bytes 32).
    assert_eq!(req.secret_spec, crate::keygen::Spec::secret_default());
    // The form waits for the key, then the reveal view replaces it.
    assert!(form(&s).creating);
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    assert!(matches!(s.screen, Screen::Reveal(_)));
}

#[test]
fn a_wrong_field_keeps_the_form_open_with_the_error_under_that_field() {
    let mut s = state();
    update(&mut s, key('n'));
    type_in(&mut s, "edge-proxy");
    set_field(&mut s, field::FORMAT, "uuid");
    set_field(&mut s, field::PREFIX, "SK-Live");
    set_field(&mut s, field::BYTES, "8");
    // Checked while typing: the prefix is wrong before Enter.
    let errors = form(&s).shown_errors(NOW);
    assert!(
        errors[field::FORMAT]
            .as_deref()
            .is_some_and(|e| e.contains("ids only")),
        "{errors:?}"
    );
    assert!(
        errors[field::PREFIX]
            .as_deref()
            .is_some_and(|e| e.contains("lowercase")),
        "{errors:?}"
    );
    assert!(
        errors[field::BYTES]
            .as_deref()
            .is_some_and(|e| e.contains("16 bytes")),
        "{errors:?}"
    );
    assert!(errors[field::NAME].is_none());
    // Enter creates nothing, keeps every value and puts the cursor on the first error.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    let f = form(&s);
    assert_eq!(f.focus, field::FORMAT);
    let values: Vec<&str> = f.fields.iter().map(|i| i.value()).collect();
    assert_eq!(values, ["edge-proxy", "uuid", "SK-Live", "8", "", ""]);
    // Fixing them one by one clears each error as it is typed.
    set_field(&mut s, field::FORMAT, "hex");
    assert!(form(&s).shown_errors(NOW)[field::FORMAT].is_none());
    set_field(&mut s, field::PREFIX, "sk_live");
    set_field(&mut s, field::BYTES, "16");
    assert_eq!(form(&s).shown_errors(NOW), FieldErrors::default());
    assert_eq!(
        form(&s).secret_summary().as_deref(),
        Some("= 128 bits, 32 characters")
    );
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Out::Sync(SyncCmd::Create(_))]),
        "{cmds:?}"
    );
}

#[test]
fn fields_not_yet_edited_show_no_error_until_enter() {
    let mut s = state();
    update(&mut s, key('n'));
    set_field(&mut s, field::META, "scopes");
    let errors = form(&s).shown_errors(NOW);
    assert!(errors[field::NAME].is_none(), "the name was not edited yet");
    assert!(
        errors[field::META]
            .as_deref()
            .is_some_and(|e| e.contains("key=value"))
    );
}

#[test]
fn a_failed_create_leaves_the_form_as_it_was() {
    let mut s = state();
    update(&mut s, key('n'));
    type_in(&mut s, "ci-bot");
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Out::Sync(SyncCmd::Create(_))]
    ));
    // Enter again while it is on its way does not create a second key.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    update(&mut s, Msg::CreateFailed("connection refused".into()));
    let f = form(&s);
    assert!(!f.creating);
    assert_eq!(f.fields[field::NAME].value(), "ci-bot");
    assert!(
        f.error
            .as_deref()
            .is_some_and(|e| e.contains("connection refused"))
    );
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Out::Sync(SyncCmd::Create(_))]
    ));
}

#[test]
fn new_key_form_reports_bad_fields() {
    let mut f = NewKeyForm::default();
    f.fields[0] = Input::new("x".into());
    f.fields[3] = Input::new("lots".into());
    assert!(f.to_request(NOW).unwrap_err().starts_with("bytes"));
    f.fields[3] = Input::new("16".into());
    f.fields[4] = Input::new("someday".into());
    assert!(f.to_request(NOW).unwrap_err().contains("expires"));
    f.fields[4] = Input::new("2020-01-01T00:00:00Z".into());
    assert!(f.to_request(NOW).unwrap_err().contains("past"));
    f.fields[4] = Input::new(String::new());
    f.fields[5] = Input::new("novalue".into());
    assert!(f.to_request(NOW).unwrap_err().contains("metadata"));
    f.fields[1] = Input::new("klingon".into());
    assert!(f.to_request(NOW).unwrap_err().contains("format"));
}

#[test]
fn esc_cancels_the_form() {
    let mut s = state();
    update(&mut s, key('n'));
    update(&mut s, key('a'));
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn created_key_opens_the_reveal_view_and_esc_drops_the_secret() {
    let mut s = state();
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    assert!(matches!(s.screen, Screen::Reveal(_)));
    assert_eq!(s.records.len(), 7);
    assert_eq!(s.selected_record().map(|r| r.name()), Some("new-key"));
    let cmds = update(&mut s, key('c'));
    assert!(
        matches!(&cmds[..], [Out::Clip(ClipCmd::Copy { secret: true, what, .. })] if what == "the secret of new-key")
    );
    let cmds = update(&mut s, key('t'));
    assert!(
        matches!(&cmds[..], [Out::Clip(ClipCmd::Copy { secret: true, text, .. })] if text.expose().starts_with("sk_live_"))
    );
    let cmds = update(&mut s, key('y'));
    assert!(
        matches!(&cmds[..], [Out::Clip(ClipCmd::Copy { secret: false, text, .. })] if text.expose() == "K09x9fQ2mZ7pL4tR8")
    );
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
    assert!(!format!("{s:?}").contains("S3cr3t"));
}

/// Feeds back what the clipboard thread answers to a copy command.
fn copy_done(s: &mut State, cmds: Vec<Out>) {
    for c in cmds {
        if let Out::Clip(ClipCmd::Copy { what, secret, .. }) = c {
            update(
                s,
                Msg::Copied {
                    what,
                    via: ClipboardVia::System,
                    secret,
                },
            );
        }
    }
}

/// The status line as drawn at 80x24.
fn status_line(s: &State) -> String {
    let mut t =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| draw::render(s, f)).expect("draw");
    let area = s.areas().status;
    let buf = t.backend().buffer();
    (0..area.width)
        .map(|x| buf[(x, area.y)].symbol())
        .collect::<String>()
}

#[test]
fn every_copy_message_says_what_the_clipboard_holds() {
    let mut s = state();
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    // Reveal view: t, then y: the id replaced the token, and the status line says so.
    let cmds = update(&mut s, key('t'));
    copy_done(&mut s, cmds);
    let line = status_line(&s);
    assert!(
        line.contains("the token of new-key in clipboard, cleared in 45s"),
        "{line}"
    );
    let cmds = update(&mut s, key('y'));
    copy_done(&mut s, cmds);
    let line = status_line(&s);
    assert!(
        line.contains("copied the id K09x9fQ2mZ7pL4tR8 of new-key"),
        "{line}"
    );
    assert!(!line.contains("token"), "{line}");
    assert!(
        s.clip.is_none(),
        "nothing of ours to clear: the id replaced it"
    );
    // c: the secret, counted down.
    let cmds = update(&mut s, key('c'));
    copy_done(&mut s, cmds);
    let line = status_line(&s);
    assert!(
        line.contains("the secret of new-key in clipboard"),
        "{line}"
    );
    // The table: y copies the id of the key under the cursor.
    update(&mut s, code(KeyCode::Esc));
    update(&mut s, key('j'));
    let cmds = update(&mut s, key('y'));
    assert!(
        matches!(&cmds[..], [Out::Clip(ClipCmd::Copy { secret: false, text, what })]
            if text.expose() == "K00x9fQ2mZ7pL4tR8" && what == "the id K00x9fQ2mZ7pL4tR8 of billing-service"),
        "{cmds:?}"
    );
    copy_done(&mut s, cmds);
    let line = status_line(&s);
    assert!(
        line.contains("copied the id K00x9fQ2mZ7pL4tR8 of billing-service"),
        "{line}"
    );
    assert!(!line.contains("secret"), "{line}");
}

#[test]
fn the_detail_view_copies_the_key_it_shows() {
    let mut s = state_in(Mode::Sealed, false);
    update(&mut s, key('s')); // active keys only
    update(&mut s, key('j'));
    let shown = s
        .selected_record()
        .map(|r| r.id().to_owned())
        .expect("a key");
    update(&mut s, code(KeyCode::Enter));
    // Revoked elsewhere meanwhile: it leaves the active table, the cursor moves on.
    let mut r = crate::tui::fixtures::records()
        .into_iter()
        .find(|r| r.id == shown)
        .expect("fixture");
    r.revoked = true;
    update(&mut s, Msg::RecordChanged(Box::new(r)));
    assert_ne!(
        s.selected_record().map(|r| r.id().to_owned()),
        Some(shown.clone())
    );
    let cmds = update(&mut s, key('y'));
    assert!(
        matches!(&cmds[..], [Out::Clip(ClipCmd::Copy { text, .. })] if text.expose() == shown),
        "{cmds:?}"
    );
    let cmds = update(&mut s, key('c'));
    assert!(
        matches!(&cmds[..], [Out::Sync(SyncCmd::ReadSecret { id, .. })] if *id == shown),
        "{cmds:?}"
    );
}

#[test]
fn copy_secret_in_a_hash_namespace_explains_why_not() {
    let mut s = state();
    assert!(update(&mut s, key('c')).is_empty());
    let m = s.message.clone().map(|m| m.text).unwrap_or_default();
    assert!(m.contains("stored hashed"), "{m}");
}

#[test]
fn copy_secret_in_sealed_and_plain_namespaces_reads_it_and_copies_it() {
    for mode in [Mode::Sealed, Mode::Plain] {
        let mut s = state_in(mode, false);
        let cmds = update(&mut s, key('c'));
        assert!(
            matches!(
                cmds.as_slice(),
                [Out::Sync(SyncCmd::ReadSecret { id, name })] if id == "K00x9fQ2mZ7pL4tR8" && name == "billing-service"
            ),
            "{mode}: {cmds:?}"
        );
        // The secret goes straight into a copy of a secret and is not kept in the state.
        let cmds = update(
            &mut s,
            Msg::SecretRead {
                name: "billing-service".into(),
                secret: Secret::new("St0r3dS3cr3t".into()),
            },
        );
        let [Out::Clip(ClipCmd::Copy { text, secret, .. })] = cmds.as_slice() else {
            panic!("{mode}: no copy: {cmds:?}");
        };
        assert!(*secret);
        assert_eq!(text.expose(), "St0r3dS3cr3t");
        drop(cmds);
        assert!(!format!("{s:?}").contains("St0r3dS3cr3t"));
        update(
            &mut s,
            Msg::Copied {
                what: "the secret of billing-service".into(),
                via: ClipboardVia::System,
                secret: true,
            },
        );
        assert_eq!(s.clip.as_ref().map(|c| c.deadline), Some(NOW + 45_000));
    }
}

#[test]
fn copy_secret_from_the_detail_view() {
    let mut s = state_in(Mode::Sealed, false);
    update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        update(&mut s, key('c')).as_slice(),
        [Out::Sync(SyncCmd::ReadSecret { .. })]
    ));
    assert!(matches!(s.screen, Screen::Detail { .. }));
}

#[test]
fn copy_secret_errors_become_a_status_message() {
    let mut s = state_in(Mode::Sealed, false);
    update(&mut s, key('c'));
    update(
        &mut s,
        Msg::Failed {
            op: SyncOp::ReadSecret,
            error: "set KEYTUI_MASTER_KEY to reveal sealed secrets".into(),
        },
    );
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("KEYTUI_MASTER_KEY"))
    );
    // Offline: refused, not queued.
    update(&mut s, Msg::Connection(ConnState::Offline));
    assert!(update(&mut s, key('c')).is_empty());
}

#[test]
fn copied_secret_counts_down_and_is_cleared() {
    let mut s = state();
    update(
        &mut s,
        Msg::Copied {
            what: "the secret".into(),
            via: ClipboardVia::System,
            secret: true,
        },
    );
    assert_eq!(s.clip.as_ref().map(|c| c.deadline), Some(NOW + 45_000));
    assert_eq!(s.next_tick(), Some(Duration::from_secs(1)));
    s.now = NOW + 44_500;
    assert!(update(&mut s, Msg::Tick).is_empty());
    assert_eq!(s.next_tick(), Some(Duration::from_millis(500)));
    s.now = NOW + 45_000;
    assert!(matches!(
        update(&mut s, Msg::Tick).as_slice(),
        [Out::Clip(ClipCmd::Clear)]
    ));
    assert!(s.clip.is_none());
    // Then the next thing that moves: "used 2h ago" turns "3h ago" at NOW + 1h.
    assert_eq!(s.next_tick(), Some(Duration::from_secs(3600 - 45)));
}

/// A state with just these records loaded at `NOW`.
fn state_with(records: Vec<KeyRecord>) -> State {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    let all = records;
    let total = all.len();
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: all,
            total,
            malformed: vec![],
            done: true,
        },
    );
    s
}

/// The text of the table row showing `name`, drawn at 80x24.
fn drawn_row(s: &State, name: &str) -> String {
    let mut t =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| draw::render(s, f)).expect("draw");
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .find(|l| l.contains(name))
        .unwrap_or_default()
}

/// Advances the injected clock to the next tick the state asked for and ticks.
fn tick(s: &mut State) -> Vec<Out> {
    let d = s.next_tick().expect("a tick is due");
    s.now += d.as_millis() as i64;
    update(s, Msg::Tick)
}

#[test]
fn a_key_under_a_minute_from_expiry_counts_down_by_the_second_and_expires_on_time() {
    let mut soon = record(20, "expiring-soon");
    soon.created_at = NOW - 10 * 60_000;
    soon.expires_at = Some(NOW + 11_500);
    let mut s = state_with(vec![soon]);
    assert!(drawn_row(&s, "expiring-soon").contains("in 12s"));
    // The next second boundary of the countdown, not a fixed period.
    assert_eq!(s.next_tick(), Some(Duration::from_millis(500)));
    let mut seen = Vec::new();
    while s.now < NOW + 11_500 {
        tick(&mut s);
        let row = drawn_row(&s, "expiring-soon");
        seen.push(row.clone());
        if s.now < NOW + 11_500 {
            assert!(row.contains("active"), "{row}");
            assert!(!row.contains("in 0s"), "{row}");
        }
    }
    // One tick per second: 11s, 10s, …, 1s, then the moment it expires.
    assert_eq!(seen.len(), 12, "{seen:#?}");
    assert!(seen[0].contains("in 11s"), "{}", seen[0]);
    assert!(seen[10].contains("in 1s"), "{}", seen[10]);
    assert_eq!(s.now, NOW + 11_500);
    let row = &seen[11];
    assert!(row.contains("expired") && !row.contains("active"), "{row}");
    assert_eq!(s.counts(), (0, 0, 1));
}

#[test]
fn a_key_minutes_from_expiry_ticks_when_the_minutes_change() {
    let mut later = record(20, "expiring-later");
    later.created_at = NOW - 10 * 60_000;
    later.expires_at = Some(NOW + 5 * 60_000 + 30_000);
    let mut s = state_with(vec![later]);
    assert!(drawn_row(&s, "expiring-later").contains("in 5m"));
    // "in 5m" until 4m59s are left.
    assert_eq!(s.next_tick(), Some(Duration::from_millis(31_000)));
    tick(&mut s);
    assert!(drawn_row(&s, "expiring-later").contains("in 4m"));
    // Under a minute: by the second.
    s.now = NOW + 4 * 60_000 + 30_000;
    update(&mut s, Msg::Tick);
    assert!(drawn_row(&s, "expiring-later").contains("in 1m"));
    assert_eq!(s.next_tick(), Some(Duration::from_millis(1_000)));
    tick(&mut s);
    assert!(drawn_row(&s, "expiring-later").contains("in 59s"));
}

#[test]
fn a_key_expiring_off_screen_still_wakes_the_counts() {
    let mut rows = Vec::new();
    for i in 0..40 {
        let mut r = record(40 + i, &format!("filler-{i}"));
        r.created_at = NOW - 2 * DAY - i as i64;
        rows.push(r);
    }
    let mut hidden = record(30, "far-down");
    hidden.created_at = NOW - 400 * DAY;
    hidden.expires_at = Some(NOW + 90_000);
    rows.push(hidden);
    let mut s = state_with(rows);
    assert!(drawn_row(&s, "far-down").is_empty(), "it is off screen");
    // Nothing on screen changes for hours, but the header's counts change at its expiry.
    assert_eq!(s.next_tick(), Some(Duration::from_secs(90)));
    tick(&mut s);
    assert_eq!(s.counts(), (40, 0, 1), "the header counts it as expired");
}

#[test]
fn an_expiring_key_leaves_the_active_view_when_it_expires() {
    let mut soon = record(20, "expiring-soon");
    soon.created_at = NOW - 10 * 60_000;
    soon.expires_at = Some(NOW + 2_000);
    let mut stays = record(21, "stays");
    stays.created_at = NOW - 20 * 60_000;
    let mut s = state_with(vec![soon, stays]);
    update(&mut s, key('s'));
    assert_eq!(s.status_filter, StatusFilter::Active);
    assert!(ids(&s).contains(&"expiring-soon".to_owned()));
    update(&mut s, key('j'));
    let selected = s.selected_record().map(|r| r.id().to_owned());
    tick(&mut s);
    tick(&mut s);
    assert_eq!(s.now, NOW + 2_000);
    assert_eq!(ids(&s), vec!["stays"]);
    assert_eq!(s.selected_record().map(|r| r.id().to_owned()), selected);
}

#[test]
fn nothing_ticks_when_nothing_moves() {
    let s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    assert_eq!(s.next_tick(), None);
}

#[test]
fn quitting_clears_a_secret_still_in_the_clipboard() {
    let mut s = state();
    update(
        &mut s,
        Msg::Copied {
            what: "the token".into(),
            via: ClipboardVia::System,
            secret: true,
        },
    );
    assert!(matches!(
        update(&mut s, key('q')).as_slice(),
        [Out::Clip(ClipCmd::Clear)]
    ));
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_from_a_popup() {
    let mut s = state();
    update(&mut s, key('n'));
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(s.quit);
}

#[test]
fn osc52_fallback_is_reported_and_not_timed() {
    let mut s = state();
    let cmds = update(
        &mut s,
        Msg::ClipboardUnavailable {
            text: Secret::new("x".into()),
            what: "the secret".into(),
            secret: true,
        },
    );
    assert!(matches!(
        cmds.as_slice(),
        [Out::Clip(ClipCmd::ViaTerminal { .. })]
    ));
    update(
        &mut s,
        Msg::Copied {
            what: "the secret".into(),
            via: ClipboardVia::Terminal,
            secret: true,
        },
    );
    assert!(s.clip.is_none());
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("OSC 52"))
    );
}

#[test]
fn live_changes_update_remove_and_insert_keeping_the_selection() {
    let mut s = state();
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("payments-webhook")
    );
    let mut changed = record(0, "billing-service");
    changed.revoked = true;
    update(&mut s, Msg::RecordChanged(Box::new(changed)));
    assert!(s.records[0].revoked());
    let mut newer = record(7, "brand-new");
    newer.created_at = NOW;
    update(&mut s, Msg::RecordChanged(Box::new(newer)));
    assert_eq!(s.records[0].name(), "brand-new");
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("payments-webhook")
    );
    update(
        &mut s,
        Msg::RecordGone {
            id: "K01x9fQ2mZ7pL4tR8".into(),
        },
    );
    assert_eq!(s.records.len(), 6);
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("payments-webhook")
    );
}

#[test]
fn live_changes_while_filtered_keep_indices_valid_and_refilter() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('p'));
    run_filter(&mut s, cmds);
    let before = ids(&s);
    let mut newer = record(8, "zzz");
    newer.created_at = NOW;
    let cmds = update(&mut s, Msg::RecordChanged(Box::new(newer)));
    // Until the worker answers, the old rows stay the same keys.
    assert_eq!(ids(&s), before);
    assert!(matches!(cmds.as_slice(), [Out::Filter(_)]));
}

#[test]
fn deleting_the_key_being_confirmed_closes_the_dialog() {
    let mut s = state();
    update(&mut s, key('D'));
    update(
        &mut s,
        Msg::RecordGone {
            id: "K00x9fQ2mZ7pL4tR8".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn background_pages_append_without_duplicates_and_stale_loads_are_dropped() {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    let all = crate::tui::fixtures::records();
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: all[..2].to_vec(),
            total: 6,
            malformed: vec!["M1".into()],
            done: false,
        },
    );
    assert_eq!(s.loading, Loading::More);
    update(
        &mut s,
        Msg::MoreRecords {
            load: 0,
            records: all.clone().into(),
            malformed: ["M2", "M3", "S1", "S2", "S3"].map(String::from).to_vec(),
            done: true,
            credit: None,
        },
    );
    assert_eq!(s.records.len(), 2);
    update(
        &mut s,
        Msg::MoreRecords {
            load: 1,
            records: all[1..].to_vec().into(),
            malformed: vec!["M2".into(), "M3".into()],
            done: true,
            credit: None,
        },
    );
    assert_eq!(s.records.len(), 6);
    // Malformed records of every page count, those of a stale load do not.
    assert_eq!(s.malformed.len(), 3);
    assert_eq!(s.visible.len(), 6);
    assert_eq!(s.loading, Loading::Done);
}

#[test]
fn appended_pages_add_to_the_counts_as_a_full_count_would() {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    let all = crate::tui::fixtures::records();
    let first = Msg::FirstPage {
        load: 1,
        records: all[..1].to_vec(),
        total: 6,
        malformed: vec![],
        done: false,
    };
    update(&mut s, first);
    for (range, done) in [(1..3, false), (3..6, true)] {
        let more = Msg::MoreRecords {
            load: 1,
            records: all[range].to_vec().into(),
            malformed: vec![],
            done,
            credit: None,
        };
        update(&mut s, more);
    }
    // Active 4 (one expiring in 30 days), revoked 1, expired 1: as the fixture's state,
    // which counted all six at once.
    assert_eq!(s.counts(), (4, 1, 1));
    let whole = state();
    assert_eq!(s.counts(), whole.counts());
    assert_eq!(s.next_tick(), whole.next_tick());
}

#[test]
fn trimmed_feed_reloads() {
    let mut s = state();
    assert!(matches!(
        update(&mut s, Msg::Resync(Gap::Trimmed)).as_slice(),
        [Out::Sync(SyncCmd::Reload)]
    ));
}

fn first_page(load: u64) -> Msg {
    let rows = crate::tui::fixtures::records();
    Msg::FirstPage {
        load,
        total: rows.len(),
        records: rows,
        malformed: vec![],
        done: true,
    }
}

#[test]
fn a_gap_marks_the_rows_stale_until_the_reload_answers_and_says_why() {
    let mut s = state();
    update(&mut s, Msg::Resync(Gap::Restarted { empty: true }));
    assert!(s.stale);
    let said = s.message.clone().unwrap().text;
    assert!(
        said.contains("restarted empty") && said.contains("reloading"),
        "{said}"
    );
    update(&mut s, first_page(2));
    assert!(!s.stale);
    let said = s.message.clone().unwrap().text;
    assert!(
        said.contains("restarted empty") && said.ends_with("reloaded"),
        "{said}"
    );
}

#[test]
fn reloading_is_not_left_in_the_status_line_after_the_reload() {
    let mut s = state();
    assert!(matches!(
        update(&mut s, key('R')).as_slice(),
        [Out::Sync(SyncCmd::Reload)]
    ));
    assert_eq!(s.message.clone().unwrap().text, "reloading…");
    assert_eq!(s.loading, Loading::FirstPage);
    update(&mut s, first_page(2));
    let said = s.message.clone().unwrap().text;
    assert!(!said.contains("reloading"), "{said}");
    // A later first page (not a reload) leaves the status line alone.
    s.message = None;
    update(&mut s, first_page(3));
    assert_eq!(s.message, None);
}

#[test]
fn a_record_turned_malformed_leaves_the_table_and_is_counted() {
    let mut s = state();
    let before = s.records.len();
    let id = s.records[0].id().to_owned();
    update(&mut s, Msg::RecordMalformed { id });
    assert_eq!(s.records.len(), before - 1);
    assert_eq!(s.malformed.len(), 1);
}

#[test]
fn a_malformed_record_that_changes_again_and_again_is_counted_once() {
    let mut s = state();
    let id = s.records[0].id().to_owned();
    let record = crate::tui::fixtures::records()
        .into_iter()
        .find(|r| r.id == id)
        .expect("a fixture record");
    for _ in 0..3 {
        update(&mut s, Msg::RecordMalformed { id: id.clone() });
        update(&mut s, Msg::RecordMalformed { id: id.clone() });
    }
    assert_eq!(s.malformed.len(), 1);
    // Readable again: back in the table, no longer counted.
    update(&mut s, Msg::RecordChanged(Box::new(record)));
    assert!(s.malformed.is_empty());
    assert!(s.record(&id).is_some());
    // Malformed, then deleted: gone from the count too.
    update(&mut s, Msg::RecordMalformed { id: id.clone() });
    update(&mut s, Msg::RecordGone { id });
    assert!(s.malformed.is_empty());
}

#[test]
fn loading_is_done_when_the_loader_says_so_whatever_the_counts() {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    // Two of the five index entries are malformed or dangling: fewer rows than the total.
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: crate::tui::fixtures::records()[..3].to_vec(),
            total: 5,
            malformed: vec!["M1".into()],
            done: true,
        },
    );
    assert_eq!(s.loading, Loading::Done);
}

#[test]
fn unreadable_events_say_so_and_are_asked_again_when_live() {
    let mut s = state();
    update(&mut s, code(KeyCode::Enter));
    let id = "K00x9fQ2mZ7pL4tR8".to_owned();
    update(
        &mut s,
        Msg::DetailEventsFailed {
            id: id.clone(),
            error: "connection lost".into(),
        },
    );
    assert!(matches!(&s.detail_events, KeyHistory::Unreadable(e) if e == "connection lost"));
    update(&mut s, Msg::Connection(ConnState::Offline));
    let cmds = update(&mut s, Msg::Connection(ConnState::Live));
    assert!(matches!(cmds.as_slice(), [Out::Sync(SyncCmd::LoadDetail { id: i })] if *i == id));
    assert!(matches!(s.detail_events, KeyHistory::Loading));
}

#[test]
fn details_load_the_key_events_and_esc_returns() {
    let mut s = state();
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Out::Sync(SyncCmd::LoadDetail { id })] if id == "K00x9fQ2mZ7pL4tR8")
    );
    update(
        &mut s,
        Msg::DetailEvents {
            id: "K00x9fQ2mZ7pL4tR8".into(),
            events: vec![],
        },
    );
    assert!(matches!(s.screen, Screen::Detail { .. }));
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
}

fn help_scroll(s: &State) -> usize {
    match &s.screen {
        Screen::Help(h) => s.help_first_line(h),
        other => panic!("the help is not open: {other:?}"),
    }
}

#[test]
fn help_scrolls_with_the_move_keys_and_closes_with_esc_q_or_help() {
    let mut s = state();
    update(&mut s, key('?'));
    let (total, rows) = s.help_extent();
    assert!(
        total > rows,
        "the help fits at 80x24 ({total} lines): nothing to scroll"
    );
    let last = total - rows;
    assert_eq!(help_scroll(&s), 0);
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Down));
    assert_eq!(help_scroll(&s), 2);
    update(&mut s, key('k'));
    assert_eq!(help_scroll(&s), 1);
    update(&mut s, key('G'));
    assert_eq!(help_scroll(&s), last);
    update(&mut s, key('j'));
    assert_eq!(help_scroll(&s), last, "stops at the last page");
    update(&mut s, code(KeyCode::Home));
    assert_eq!(help_scroll(&s), 0);
    update(&mut s, code(KeyCode::PageDown));
    assert_eq!(help_scroll(&s), rows.min(last));
    update(&mut s, code(KeyCode::PageUp));
    assert_eq!(help_scroll(&s), 0);
    // Keys that mean nothing here leave it open (they used to close it).
    update(&mut s, key('x'));
    update(&mut s, key('d'));
    assert!(matches!(s.screen, Screen::Help(_)));
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
    for close in ['q', '?'] {
        update(&mut s, key('?'));
        update(&mut s, key(close));
        assert!(matches!(s.screen, Screen::Table), "{close}");
        assert!(!s.quit, "{close} quit from the help");
    }
}

#[test]
fn q_and_esc_go_back_from_views_and_q_quits_from_the_table() {
    let mut s = state();
    for back in [code(KeyCode::Esc), key('q'), code(KeyCode::Enter)] {
        update(&mut s, code(KeyCode::Enter));
        assert!(matches!(s.screen, Screen::Detail { .. }));
        update(&mut s, back);
        assert!(matches!(s.screen, Screen::Table));
        assert!(!s.quit);
    }
    // Help from the details goes back to the details (reloading their events).
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, key('?'));
    assert!(matches!(s.screen, Screen::Help(_)));
    let cmds = update(&mut s, key('q'));
    assert!(matches!(s.screen, Screen::Detail { .. }));
    assert!(matches!(
        cmds.as_slice(),
        [Out::Sync(SyncCmd::LoadDetail { .. })]
    ));
    update(&mut s, key('q'));
    assert!(matches!(s.screen, Screen::Table));
    // The reveal view: q is done, as Esc.
    update(
        &mut s,
        Msg::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    update(&mut s, key('q'));
    assert!(matches!(s.screen, Screen::Table));
    assert!(!s.quit);
    // The new-key form: q is a letter; Esc cancels.
    update(&mut s, key('n'));
    update(&mut s, key('q'));
    let Screen::NewKey(form) = &s.screen else {
        panic!("the form closed on q");
    };
    assert_eq!(form.fields[0].value(), "q");
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
    // On the table Esc does not quit; q does.
    update(&mut s, code(KeyCode::Esc));
    assert!(!s.quit);
    update(&mut s, key('q'));
    assert!(s.quit);
}

#[test]
fn rebound_back_and_quit_keys_work_in_every_view_and_the_help_names_them() {
    use crate::tui::keymap::KeySpec;
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("back".to_owned(), KeySpec::One("b".into()));
    keys.insert("quit".to_owned(), KeySpec::One("x".into()));
    let mut km = Keymap::default();
    assert!(km.apply_overrides(&keys).is_empty());
    let mut s = state();
    s.keymap = km;
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, code(KeyCode::Esc));
    assert!(
        matches!(s.screen, Screen::Detail { .. }),
        "Esc is not bound any more"
    );
    update(&mut s, key('b'));
    assert!(matches!(s.screen, Screen::Table));
    update(&mut s, key('?'));
    let help: Vec<String> = screens::help::lines(&s.keymap)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        help.iter()
            .any(|l| l.trim_start().starts_with("b/x/?") && l.contains("close the help")),
        "{help:#?}"
    );
    update(&mut s, key('x'));
    assert!(matches!(s.screen, Screen::Table));
    assert!(!s.quit);
    update(&mut s, key('x'));
    assert!(s.quit);
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    use crossterm::event::MouseButton;
    let mut s = state();
    let body = layout::layout(s.area).table_body;
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 3,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut s, click(body.y + 3));
    assert_eq!(s.selected, 3);
    update(&mut s, click(body.y + 20));
    assert_eq!(s.selected, 3);
    update(
        &mut s,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        }),
    );
    assert_eq!(s.selected, 0);
}

#[test]
fn config_overrides_change_what_keys_do() {
    let config = crate::tui::config::Config::parse("[keys]\nrevoke = \"x\"\n");
    let mut s = state();
    s.keymap = config.keymap;
    update(&mut s, key('x'));
    assert!(matches!(s.screen, Screen::ConfirmRevoke { .. }));
}

#[test]
fn records_arriving_during_a_filter_run_coalesce_into_one_rerun() {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    let all = crate::tui::fixtures::records();
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: all[..2].to_vec(),
            total: 6,
            malformed: vec![],
            done: false,
        },
    );
    update(&mut s, key('/'));
    let first = update(&mut s, key('e'));
    assert_eq!(first.len(), 1);
    for chunk in [&all[2..4], &all[4..]] {
        let cmds = update(
            &mut s,
            Msg::MoreRecords {
                load: 1,
                records: chunk.to_vec().into(),
                malformed: vec![],
                done: false,
                credit: None,
            },
        );
        assert!(cmds.is_empty(), "a run per chunk");
    }
    // The first run answers: its rows are shown, and one more run covers the new records.
    let mut again = Vec::new();
    for c in first {
        if let Out::Filter(job) = c {
            let found = crate::tui::filter::run(&job).expect("current job");
            // As the worker does: it lets go of the records before it answers.
            let done = Msg::FilterDone {
                generation: job.generation,
                structure: job.structure,
                revision: job.revision,
                len: job.records.len(),
                query: job.query.clone(),
                visible: found.indices,
                ranked: found.ranked,
            };
            drop(job);
            again = update(&mut s, done);
        }
    }
    assert!(s.filter.pending);
    assert!(matches!(again.as_slice(), [Out::Filter(j)] if j.records.len() == 6));
    run_filter(&mut s, again);
    assert!(!s.filter.pending);
    assert!(s.visible.len() > 2);
}

#[test]
fn enter_on_an_unranked_result_selects_the_best_match() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('p'));
    let Some(Out::Filter(job)) = cmds.into_iter().next() else {
        panic!("no filter job")
    };
    // As a run over too many matches would answer: every match, in table order.
    let found = crate::tui::filter::run(&job).expect("current job");
    let mut table_order = found.indices.clone();
    table_order.sort_unstable();
    update(
        &mut s,
        Msg::FilterDone {
            generation: job.generation,
            structure: job.structure,
            revision: job.revision,
            len: job.records.len(),
            query: job.query.clone(),
            visible: table_order.clone(),
            ranked: false,
        },
    );
    assert!(s.filter.unranked);
    assert_eq!(s.visible, table_order);
    assert_ne!(
        table_order[0], found.indices[0],
        "a test where the best is not first"
    );
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.visible, table_order, "the order stays");
    assert_eq!(
        s.visible[s.selected], found.indices[0],
        "the best match is selected"
    );
}

#[test]
fn sync_failures_name_the_key_bound_to_reload() {
    use crate::tui::keymap::KeySpec;
    let mut s = state();
    let fail = |s: &mut State, op| {
        update(
            s,
            Msg::Failed {
                op,
                error: "connection refused".into(),
            },
        );
        status_line(s)
    };
    assert!(fail(&mut s, SyncOp::Load).contains("connection refused (R retries)"));
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("reload".to_owned(), KeySpec::One("ctrl-l".into()));
    assert!(s.keymap.apply_overrides(&keys).is_empty());
    assert!(fail(&mut s, SyncOp::Load).contains("(Ctrl-l retries)"));
    let more = fail(&mut s, SyncOp::LoadMore { loaded: 5000 });
    assert!(more.contains("loading stopped at 5000 keys") && more.contains("(Ctrl-l reloads)"));
}

/// A change arriving while a filter run still shares the records is held, not applied to a
/// copy of them all: the rows stay where they are (same allocation) and the change goes in
/// once the run lets go.
#[test]
fn changes_during_a_filter_run_never_copy_the_records() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('s'));
    let Some(Out::Filter(job)) = cmds.into_iter().next() else {
        panic!("no filter job")
    };
    let before = Arc::clone(&s.records);
    let n = s.records.len();
    let first = (0..100)
        .find(|&i| record(i, "").id == s.records[0].id())
        .expect("a fixture record");
    let changed = record(first, "renamed-while-filtering");
    let gone = s.records[1].id().to_owned();
    update(&mut s, Msg::RecordChanged(Box::new(changed)));
    update(&mut s, Msg::RecordGone { id: gone.clone() });
    update(
        &mut s,
        Msg::RecordChanged(Box::new(record(42, "appeared-while-filtering"))),
    );
    assert!(Arc::ptr_eq(&before, &s.records), "the records were copied");
    drop(before);
    // The run stops (a newer one made it pointless) and lets go of the records.
    drop(job);
    let before = Arc::as_ptr(&s.records);
    update(&mut s, Msg::FilterStopped);
    assert_eq!(Arc::as_ptr(&s.records), before, "the records were copied");
    assert_eq!(s.records.len(), n);
    assert!(
        s.records
            .iter()
            .any(|r| r.name() == "renamed-while-filtering")
    );
    assert!(
        s.records
            .iter()
            .any(|r| r.name() == "appeared-while-filtering")
    );
    assert!(!s.records.iter().any(|r| r.id() == gone));
}

fn pasted_token(id: &str) -> String {
    let t = crate::keygen::Token::new(
        Some("sk_live".into()),
        id.into(),
        Secret::new("PastedS3cretPastedS3cret".into()),
        true,
    )
    .expect("token");
    t.format().expose().to_owned()
}

#[test]
fn a_pasted_token_is_looked_up_and_never_shown() {
    let mut s = state();
    let id = "K03x9fQ2mZ7pL4tR8";
    let text = format!("ERROR 401 for Bearer {}\n", pasted_token(id));
    let cmds = update(&mut s, Msg::Paste(Secret::new(text)));
    assert!(
        matches!(&cmds[..], [Out::Sync(SyncCmd::Lookup { id: i, token })]
            if i == id && token.expose().ends_with(&pasted_token(id)[30..])),
        "{cmds:?}"
    );
    // neither the Debug output of the command nor the status line holds the secret
    assert!(!format!("{cmds:?}").contains("PastedS3cret"));
    let m = s
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(m.contains(id) && !m.contains("PastedS3cret"), "{m}");
    // nothing else happened: no dialog, no filter
    assert!(matches!(s.screen, Screen::Table) && !s.filter.editing);
}

#[test]
fn a_pasted_token_with_a_bad_checksum_is_not_looked_up() {
    let mut s = state();
    let t = pasted_token("K03x9fQ2mZ7pL4tR8").replacen("PastedS3cret", "PastedS4cret", 1);
    let cmds = update(&mut s, Msg::Paste(Secret::new(t)));
    assert!(cmds.is_empty(), "{cmds:?}");
    let m = s.message.as_ref().unwrap();
    assert_eq!(m.text, "checksum fails: not a keytui token");
}

#[test]
fn a_leaked_key_is_selected_through_a_filter_and_revoke_is_one_key_away() {
    let mut s = state();
    // a filter that hides the key
    update(&mut s, key('/'));
    for c in "billing".chars() {
        let cmds = update(&mut s, key(c));
        run_filter(&mut s, cmds);
    }
    update(&mut s, code(KeyCode::Enter));
    let id = "K04x9fQ2mZ7pL4tR8";
    assert!(s.selected_record().is_some_and(|r| r.id() != id));
    let name = s.record(id).map(|r| r.name().to_owned()).unwrap();
    update(
        &mut s,
        Msg::Leak {
            id: id.into(),
            found: LeakFound::Key(crate::verify::Verdict::Valid {
                id: id.into(),
                name: name.clone(),
            }),
        },
    );
    assert_eq!(s.filter.query(), "");
    assert_eq!(s.selected_record().map(|r| r.id()), Some(id));
    let m = s.message.as_ref().unwrap();
    assert!(
        m.text.starts_with(&format!("valid key {name}, active, "))
            && m.text.ends_with("d revokes it"),
        "{}",
        m.text
    );
    update(&mut s, key('d'));
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.id == id));
}

/// With keys marked, the table's revoke key acts on the marks: the verdict says so instead
/// of offering it for the pasted key alone, and an attention view hiding the key goes.
#[test]
fn a_leak_verdict_with_marks_names_them_before_the_revoke_key() {
    let mut s = state();
    update(&mut s, key(' '));
    update(&mut s, key(' '));
    assert_eq!(s.marked(), 2);
    let id = "K04x9fQ2mZ7pL4tR8";
    let name = s.record(id).map(|r| r.name().to_owned()).unwrap();
    update(
        &mut s,
        Msg::Leak {
            id: id.into(),
            found: LeakFound::Key(crate::verify::Verdict::Valid {
                id: id.into(),
                name,
            }),
        },
    );
    assert_eq!(s.selected_record().map(|r| r.id()), Some(id));
    let m = s.message.as_ref().unwrap();
    assert!(
        m.text
            .ends_with(": Esc clears the 2 marks, then d revokes it"),
        "{}",
        m.text
    );
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.marked(), 0);
    update(&mut s, key('d'));
    assert!(matches!(&s.screen, Screen::ConfirmRevoke(d) if d.id == id));
}

/// The lookup's answer follows its key's record; when a filter run holds the rows, that
/// record waits, and so does the answer: once the run lets go, the row is selected.
#[test]
fn a_lookup_answered_during_a_filter_run_selects_the_row_once_it_ends() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('b'));
    let Some(Out::Filter(job)) = cmds.into_iter().next() else {
        panic!("no filter job")
    };
    // A key created elsewhere, then the answer to the paste of its token.
    let new = record(42, "leaked-while-filtering");
    let id = new.id.clone();
    update(&mut s, Msg::RecordChanged(Box::new(new)));
    update(
        &mut s,
        Msg::Leak {
            id: id.clone(),
            found: LeakFound::Key(crate::verify::Verdict::Valid {
                id: id.clone(),
                name: "leaked-while-filtering".into(),
            }),
        },
    );
    drop(job);
    update(&mut s, Msg::FilterStopped);
    assert_eq!(s.filter.query(), "");
    assert_eq!(s.selected_record().map(|r| r.id()), Some(id.as_str()));
    let m = s
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(m.starts_with("valid key leaked-while-filtering"), "{m}");
}

#[test]
fn every_lookup_answer_has_its_verdict() {
    use crate::verify::{Rejection, Verdict};
    let mut s = state();
    let revoked = "K01x9fQ2mZ7pL4tR8";
    let cases = [
        (
            revoked,
            LeakFound::Key(Verdict::Rejected(Rejection::Revoked)),
            "was revoked 12h ago",
        ),
        (
            "K00x9fQ2mZ7pL4tR8",
            LeakFound::Key(Verdict::Rejected(Rejection::WrongSecret)),
            "secret does not match key billing-service",
        ),
        (
            "Knope",
            LeakFound::Missing,
            "well-formed but no such key in this namespace (id Knope)",
        ),
        (
            "Kbad",
            LeakFound::Malformed,
            "key Kbad exists but its record is malformed",
        ),
    ];
    for (id, found, want) in cases {
        update(
            &mut s,
            Msg::Leak {
                id: id.into(),
                found,
            },
        );
        let m = s.message.as_ref().unwrap();
        assert!(m.text.contains(want), "{id}: {}", m.text);
    }
}

fn namespace(name: &str, production: bool, keys: usize) -> crate::store::NamespaceInfo {
    crate::store::NamespaceInfo {
        name: name.into(),
        mode: Some("hash".into()),
        production,
        keys,
        layout: Some("4".into()),
    }
}

#[test]
fn the_namespace_picker_lists_filters_and_switches() {
    let mut s = state();
    let cmds = update(&mut s, key('N'));
    assert!(
        matches!(&cmds[..], [Out::Sync(SyncCmd::Namespaces)]),
        "{cmds:?}"
    );
    assert!(matches!(s.screen, Screen::Namespaces(_)));
    let current = s.server.namespace.clone();
    update(
        &mut s,
        Msg::Namespaces(vec![
            namespace("billing", true, 3),
            namespace(&current, false, 6),
            namespace("staging", false, 0),
        ]),
    );
    // typing filters (N, j, q are text here), Down moves within the matches
    for c in "in".chars() {
        update(&mut s, key(c));
    }
    let Screen::Namespaces(p) = &s.screen else {
        panic!("picker closed")
    };
    let shown: Vec<&str> = p.shown().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(shown, ["billing", "staging"]);
    update(&mut s, code(KeyCode::Down));
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&cmds[..], [Out::Switch(n)] if n == "staging"),
        "{cmds:?}"
    );
    assert!(matches!(s.screen, Screen::Table));
    // the current namespace: nothing to do
    update(&mut s, key('N'));
    update(&mut s, Msg::Namespaces(vec![namespace(&current, false, 6)]));
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("already in"))
    );
    // a failure is said in the picker
    update(&mut s, key('N'));
    update(
        &mut s,
        Msg::Failed {
            op: SyncOp::Namespaces,
            error: "connection refused".into(),
        },
    );
    assert!(
        matches!(&s.screen, Screen::Namespaces(p) if matches!(&p.list, screens::NamespaceList::Unreadable(e) if e == "connection refused"))
    );
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn switching_namespaces_starts_over_and_the_banner_follows() {
    let mut s = state();
    update(&mut s, key('/'));
    for c in "billing".chars() {
        let cmds = update(&mut s, key(c));
        run_filter(&mut s, cmds);
    }
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, key('s'));
    assert!(!s.wants_banner());
    // a namespace refused for its layout can still be left through the picker
    update(&mut s, Msg::Refused("newer layout".into()));
    let cmds = update(&mut s, key('N'));
    assert!(
        matches!(&cmds[..], [Out::Sync(SyncCmd::Namespaces)]),
        "{cmds:?}"
    );
    update(&mut s, code(KeyCode::Esc));
    let mut server = s.server.clone();
    server.namespace = "billing".into();
    server.production = true;
    update(&mut s, Msg::Switched(server));
    assert_eq!(s.server.namespace, "billing");
    assert!(s.wants_banner());
    assert!(s.records.is_empty() && s.visible.is_empty());
    assert_eq!(s.filter.query(), "");
    assert_eq!(s.status_filter, StatusFilter::All);
    assert_eq!(s.loading, Loading::FirstPage);
    assert_eq!(s.conn, ConnState::Live);
    // the new namespace's first page fills the table
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: vec![record(0, "invoices")],
            total: 1,
            malformed: vec![],
            done: true,
        },
    );
    assert_eq!(ids(&s), ["invoices"]);
    let text = format!("{:?}", {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw::render(&s, f)).unwrap();
        t.backend().clone()
    });
    assert!(
        text.contains("billing") && text.contains("PRODUCTION"),
        "{text}"
    );
}

/// A batch from the change feed leaves the same table as its changes one at a time:
/// replaced rows, new rows in creation order, removed rows, the visible indices, the marks
/// and the selection.
#[test]
fn a_batch_of_changes_equals_its_changes_one_by_one() {
    use crate::tui::fixtures::record;
    let mut changed = record(1, "renamed");
    changed.revoked = true;
    changed.revoked_at = Some(NOW - 1000);
    let newest = {
        let mut r = record(40, "newest");
        r.created_at = NOW - 10;
        r
    };
    let middle = {
        let mut r = record(41, "middle");
        r.created_at = NOW - 3 * DAY - 5;
        r
    };
    let batch = vec![changed, newest, middle];
    let gone = vec![
        record(2, "").id,
        record(4, "").id,
        "never-loaded".to_owned(),
    ];

    let setup = || {
        let mut s = state();
        update(&mut s, key('j'));
        update(&mut s, key(' ')); // marks the second row, moves to the third
        update(&mut s, key(' ')); // marks the third (record 2), moves on
        s
    };
    let mut one = setup();
    for r in batch.clone() {
        update(&mut one, Msg::RecordChanged(Box::new(r)));
    }
    for id in gone.clone() {
        update(&mut one, Msg::RecordGone { id });
    }
    let mut many = setup();
    update(&mut many, Msg::RecordsChanged(batch));
    update(&mut many, Msg::RecordsGone(gone));

    let table = |s: &State| -> Vec<(String, String, bool)> {
        s.visible
            .iter()
            .map(|&i| {
                let r = &s.records[i as usize];
                (r.id().to_owned(), r.name().to_owned(), s.is_marked(r))
            })
            .collect()
    };
    assert_eq!(table(&many), table(&one));
    assert_eq!(many.records.len(), one.records.len());
    assert_eq!(many.marked(), one.marked());
    assert_eq!(
        many.selected_record().map(|r| r.id().to_owned()),
        one.selected_record().map(|r| r.id().to_owned())
    );
    let names: Vec<&str> = many.records.iter().map(|r| r.name()).collect();
    assert_eq!(names.first(), Some(&"newest"));
    assert!(
        names.contains(&"middle") && names.contains(&"renamed"),
        "{names:?}"
    );
    assert_eq!(many.marked(), 1, "the mark of a removed key goes");
}

/// State tests of the rows' bookkeeping under traffic: background pages read from the bytes
/// of replies, change-feed batches, filter runs that hold changes and let go.
mod traffic {
    use super::*;
    use crate::record::KeyRecord;
    use crate::store::ListedBatch;
    use crate::store::TestHash;
    use crate::test_rng::Rng;
    use crate::tui::fixtures::{DAY, NOW, record, state};
    use crate::tui::msg::PageRecords;

    fn rec(rng: &mut Rng, i: usize) -> KeyRecord {
        let mut r = record(i, &format!("name{}-{}", i, rng.next(5)));
        r.created_at = NOW - (rng.next(20) as i64) * DAY;
        if rng.next(3) == 0 {
            r.meta.insert("owner".into(), format!("t{}", rng.next(9)));
        }
        if rng.next(5) == 0 {
            for k in 0..3 {
                r.meta.insert(format!("k{k}"), "é".repeat(rng.next(40)));
            }
        }
        r.revoked = rng.next(7) == 0;
        r
    }

    fn recs(rng: &mut Rng, n: usize) -> Vec<KeyRecord> {
        (0..rng.next(n))
            .map(|_| {
                let i = rng.next(40);
                rec(rng, i)
            })
            .collect()
    }

    /// The hash of `r` as stored (the fields a listing reads).
    fn hash_of(r: &KeyRecord) -> Vec<(&'static str, Vec<u8>)> {
        let status: &[u8] = if r.revoked { b"revoked" } else { b"active" };
        let mut f = vec![
            ("id", r.id.clone().into_bytes()),
            ("name", r.name.clone().into_bytes()),
            ("status", status.to_vec()),
            ("secret_alg", b"sha256".to_vec()),
            ("secret", b"00".to_vec()),
            ("created_at", r.created_at.to_string().into_bytes()),
            ("created_by", r.created_by.clone().into_bytes()),
        ];
        if !r.meta.is_empty() {
            f.push(("meta", serde_json::to_vec(&r.meta).unwrap()));
        }
        if r.token_checksum {
            f.push(("token_checksum", b"1".to_vec()));
        }
        if let Some(p) = &r.token_prefix {
            f.push(("token_prefix", p.clone().into_bytes()));
        }
        if let Some(t) = r.expires_at {
            f.push(("expires_at", t.to_string().into_bytes()));
        }
        f
    }

    /// No row twice, the id index finds each row at its place, visible rows in range once.
    fn check(s: &State, what: &str) {
        let mut ids = std::collections::HashSet::new();
        for r in s.records.iter() {
            assert!(ids.insert(r.id()), "{what}: row {} twice", r.id());
        }
        s.ids.assert_matches(&s.records);
        let mut shown = std::collections::HashSet::new();
        for &i in &s.visible {
            assert!(
                (i as usize) < s.records.len(),
                "{what}: visible row {i} out of range"
            );
            assert!(shown.insert(i), "{what}: row {i} shown twice");
        }
    }

    #[test]
    fn a_page_from_bytes_counts_its_malformed_records_and_skips_dangling_entries() {
        let mut s = state();
        update(
            &mut s,
            Msg::FirstPage {
                load: 1,
                records: vec![],
                total: 5,
                malformed: vec![],
                done: false,
            },
        );
        let mut rng = Rng(7);
        let good = rec(&mut rng, 20);
        let again = rec(&mut rng, 21);
        let entries = vec![
            ("Mal1".to_string(), None),
            (good.id.clone(), Some(hash_of(&good))),
            ("Dang1".to_string(), Some(vec![])),
            (
                "Bad2".to_string(),
                Some(vec![("name", b"only a name".to_vec())]),
            ),
        ];
        update(
            &mut s,
            Msg::MoreRecords {
                load: 1,
                records: PageRecords {
                    batch: ListedBatch::from_hashes(&entries),
                    owned: vec![again.clone()],
                },
                malformed: vec!["Again1".into()],
                done: true,
                credit: None,
            },
        );
        let ids: Vec<&str> = s.records.iter().map(|r| r.id()).collect();
        assert_eq!(ids, [good.id.as_str(), again.id.as_str()]);
        assert_eq!(s.records[0], Row::from(good));
        let mut malformed: Vec<&str> = s.malformed.iter().map(String::as_str).collect();
        malformed.sort();
        assert_eq!(malformed, ["Again1", "Bad2", "Mal1"]);
    }

    /// Random traffic: after every message the rows, the id index and the visible rows
    /// agree, changes held for filter runs included.
    #[test]
    fn random_traffic_keeps_the_rows_and_their_index_consistent() {
        let mut held_steps = 0;
        for seed in 1..60u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut s = state();
            let mut jobs: Vec<crate::tui::filter::FilterJob> = Vec::new();
            for step in 0..250 {
                let op = rng.next(11);
                let cmds = match op {
                    0 => {
                        let i = rng.next(40);
                        update(&mut s, Msg::RecordChanged(Box::new(rec(&mut rng, i))))
                    }
                    1 => {
                        let batch = recs(&mut rng, 8);
                        update(&mut s, Msg::RecordsChanged(batch))
                    }
                    2 => {
                        let id = record(rng.next(40), "").id;
                        update(&mut s, Msg::RecordGone { id })
                    }
                    3 => {
                        let gone = (0..rng.next(8))
                            .map(|_| record(rng.next(40), "").id)
                            .collect();
                        update(&mut s, Msg::RecordsGone(gone))
                    }
                    4 | 5 => {
                        // A background page from the bytes of its replies.
                        let mut seen = std::collections::HashSet::new();
                        let mut entries: Vec<(String, Option<TestHash>)> = recs(&mut rng, 6)
                            .iter()
                            .filter(|r| seen.insert(r.id.clone()))
                            .map(|r| (r.id.clone(), Some(hash_of(r))))
                            .collect();
                        if rng.next(3) == 0 {
                            entries.push(("Mal1".into(), None));
                            entries.push(("Dang1".into(), Some(vec![])));
                        }
                        let owned = recs(&mut rng, 3)
                            .into_iter()
                            .filter(|r| seen.insert(r.id.clone()))
                            .collect();
                        let records = PageRecords {
                            batch: ListedBatch::from_hashes(&entries),
                            owned,
                        };
                        update(
                            &mut s,
                            Msg::MoreRecords {
                                load: 1,
                                records,
                                malformed: vec![],
                                done: false,
                                credit: None,
                            },
                        )
                    }
                    6 => {
                        // A character of a query: a filter run starts.
                        if !s.filter.editing {
                            update(&mut s, key('/'));
                        }
                        update(&mut s, key(['n', 'a', 'e', '1', 'k'][rng.next(5)]))
                    }
                    7 if !jobs.is_empty() => {
                        // The oldest run answers (or stops), and lets go of the rows.
                        let job = jobs.remove(0);
                        let msg = match crate::tui::filter::run(&job) {
                            Some(f) => Msg::FilterDone {
                                generation: job.generation,
                                structure: job.structure,
                                revision: job.revision,
                                len: job.records.len(),
                                query: job.query.clone(),
                                visible: f.indices,
                                ranked: f.ranked,
                            },
                            None => Msg::FilterStopped,
                        };
                        drop(job);
                        update(&mut s, msg)
                    }
                    8 => update(&mut s, code(crossterm::event::KeyCode::Esc)),
                    9 => update(&mut s, Msg::Tick),
                    10 if rng.next(4) == 0 => {
                        // A reload.
                        let mut seen = std::collections::HashSet::new();
                        let records = recs(&mut rng, 10)
                            .into_iter()
                            .filter(|r| seen.insert(r.id.clone()))
                            .collect();
                        update(
                            &mut s,
                            Msg::FirstPage {
                                load: 1,
                                records,
                                total: 40,
                                malformed: vec![],
                                done: false,
                            },
                        )
                    }
                    _ => Vec::new(),
                };
                jobs.extend(cmds.into_iter().filter_map(|c| match c {
                    Out::Filter(j) => Some(j),
                    _ => None,
                }));
                check(&s, &format!("seed {seed} step {step} op {op}"));
                held_steps += usize::from(!s.held.is_empty());
            }
            // Every run lets go: what was held is applied.
            while !jobs.is_empty() {
                drop(jobs.remove(0));
                let cmds = update(&mut s, Msg::FilterStopped);
                jobs.extend(cmds.into_iter().filter_map(|c| match c {
                    Out::Filter(j) => Some(j),
                    _ => None,
                }));
                check(&s, &format!("seed {seed} at the end"));
            }
            assert!(s.held.is_empty(), "seed {seed}: changes still held");
        }
        assert!(held_steps > 100, "only {held_steps} steps held changes");
    }
}
