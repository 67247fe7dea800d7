use super::*;
use crate::tui::fixtures::{DAY, NOW, code, created, key, record, state, state_in};

fn ids(s: &State) -> Vec<String> {
    s.visible
        .iter()
        .map(|&i| s.records[i].name().to_owned())
        .collect()
}

/// Runs the filter job like the event loop would, and feeds the result back.
fn run_filter(s: &mut State, cmds: Vec<Command>) {
    for c in cmds {
        if let Command::Filter(job) = c {
            let found = crate::tui::filter::run(&job).expect("current job");
            update(
                s,
                Action::FilterDone {
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
    update(&mut s, Action::Resize(20, 5));
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
        assert!(matches!(cmds.as_slice(), [Command::Filter(_)]));
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
        if let Command::Filter(job) = c {
            update(
                &mut s,
                Action::FilterDone {
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
        [Command::Revoke { id, reason: None }] if id == "K00x9fQ2mZ7pL4tR8"
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
        [Command::Revoke { reason: Some(r), .. }] if r == "key in a gist, yesterday"
    ));
    // An empty reason is no reason; Esc cancels from the field.
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, key('d'));
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "  ");
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Command::Revoke { reason: None, .. }]
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
        [Command::Revoke { id, reason: Some(r) }] if id == "K00x9fQ2mZ7pL4tR8" && r == "rotated out"
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
    assert!(matches!(cmds.as_slice(), [Command::Delete { id }] if id == "K00x9fQ2mZ7pL4tR8"));
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
    assert!(matches!(cmds.as_slice(), [Command::Restore { .. }]));
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
    assert!(matches!(cmds.as_slice(), [Command::Delete { id }] if id == "K00x9fQ2mZ7pL4tR8"));
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
    update(&mut s, Action::Connection(ConnState::Reconnecting));
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
        [Command::Copy { secret: false, .. }]
    ));
    update(&mut s, Action::Connection(ConnState::Live));
    assert!(update(&mut s, key('r')).is_empty(), "rotate asks first");
    assert!(matches!(
        update(&mut s, code(KeyCode::Enter)).as_slice(),
        [Command::Rotate { .. }]
    ));
}

#[test]
fn confirming_while_offline_is_refused_not_dropped() {
    let mut s = state();
    update(&mut s, key('d'));
    update(&mut s, Action::Connection(ConnState::Offline));
    assert!(update(&mut s, key('y')).is_empty());
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("offline"))
    );
}

#[test]
fn new_key_form_defaults_and_create() {
    let mut s = state();
    update(&mut s, key('n'));
    let Screen::NewKey(form) = &s.screen else {
        panic!("no form")
    };
    assert_eq!(form.fields[1].value(), "base62");
    assert_eq!(form.fields[3].value(), "256");
    // Enter without a name is refused inside the form.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(matches!(&s.screen, Screen::NewKey(f) if f.error.is_some()));
    for c in "ci-bot".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Tab));
    for c in "sk_test".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Tab));
    for c in "30d".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::BackTab));
    update(&mut s, code(KeyCode::BackTab));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Tab));
    for c in "owner=ops, tier = gold".chars() {
        update(&mut s, key(c));
    }
    let cmds = update(&mut s, code(KeyCode::Enter));
    let [Command::Create(req)] = cmds.as_slice() else {
        panic!("expected a create, got {cmds:?}")
    };
    assert_eq!(req.name, "ci-bot");
    assert_eq!(req.prefix.as_deref(), Some("sk_test"));
    assert_eq!(req.expires_at, Some(NOW + 30 * DAY));
    assert_eq!(req.meta.get("tier").map(String::as_str), Some("gold"));
    assert!(req.secret_spec.entropy_bits() >= 256.0);
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn new_key_form_reports_bad_fields() {
    let mut f = NewKeyForm::default();
    f.fields[0] = Input::new("x".into());
    f.fields[3] = Input::new("lots".into());
    assert!(f.to_request(NOW).unwrap_err().contains("entropy"));
    f.fields[3] = Input::new("128".into());
    f.fields[4] = Input::new("someday".into());
    assert!(f.to_request(NOW).unwrap_err().contains("expires"));
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
        Action::Created {
            created: Box::new(created()),
            rotated_from: None,
        },
    );
    assert!(matches!(s.screen, Screen::Reveal(_)));
    assert_eq!(s.records.len(), 7);
    assert_eq!(s.selected_record().map(|r| r.name()), Some("new-key"));
    let cmds = update(&mut s, key('c'));
    assert!(
        matches!(&cmds[..], [Command::Copy { secret: true, what, .. }] if what == "the secret")
    );
    let cmds = update(&mut s, key('t'));
    assert!(
        matches!(&cmds[..], [Command::Copy { secret: true, text, .. }] if text.expose().starts_with("sk_live_"))
    );
    let cmds = update(&mut s, key('y'));
    assert!(
        matches!(&cmds[..], [Command::Copy { secret: false, text, .. }] if text.expose() == "K09x9fQ2mZ7pL4tR8")
    );
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
    assert!(!format!("{s:?}").contains("S3cr3t"));
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
                [Command::ReadSecret { id, name }] if id == "K00x9fQ2mZ7pL4tR8" && name == "billing-service"
            ),
            "{mode}: {cmds:?}"
        );
        // The secret goes straight into a copy of a secret and is not kept in the state.
        let cmds = update(
            &mut s,
            Action::SecretRead {
                what: "the secret of billing-service".into(),
                secret: Secret::new("St0r3dS3cr3t".into()),
            },
        );
        let [Command::Copy { text, secret, .. }] = cmds.as_slice() else {
            panic!("{mode}: no copy: {cmds:?}");
        };
        assert!(*secret);
        assert_eq!(text.expose(), "St0r3dS3cr3t");
        drop(cmds);
        assert!(!format!("{s:?}").contains("St0r3dS3cr3t"));
        update(
            &mut s,
            Action::Copied {
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
        [Command::ReadSecret { .. }]
    ));
    assert!(matches!(s.screen, Screen::Detail { .. }));
}

#[test]
fn copy_secret_errors_become_a_status_message() {
    let mut s = state_in(Mode::Sealed, false);
    update(&mut s, key('c'));
    update(
        &mut s,
        Action::Failed(
            "cannot copy the secret: set KEYTUI_MASTER_KEY to reveal sealed secrets".into(),
        ),
    );
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.error && m.text.contains("KEYTUI_MASTER_KEY"))
    );
    // Offline: refused, not queued.
    update(&mut s, Action::Connection(ConnState::Offline));
    assert!(update(&mut s, key('c')).is_empty());
}

#[test]
fn copied_secret_counts_down_and_is_cleared() {
    let mut s = state();
    update(
        &mut s,
        Action::Copied {
            what: "the secret".into(),
            via: ClipboardVia::System,
            secret: true,
        },
    );
    assert_eq!(s.clip.as_ref().map(|c| c.deadline), Some(NOW + 45_000));
    assert_eq!(s.next_tick(), Some(Duration::from_secs(1)));
    s.now = NOW + 44_500;
    assert!(update(&mut s, Action::Tick).is_empty());
    assert_eq!(s.next_tick(), Some(Duration::from_millis(500)));
    s.now = NOW + 45_000;
    assert!(matches!(
        update(&mut s, Action::Tick).as_slice(),
        [Command::ClearClipboard]
    ));
    assert!(s.clip.is_none());
    assert_eq!(s.next_tick(), Some(Duration::from_secs(30)));
}

#[test]
fn quitting_clears_a_secret_still_in_the_clipboard() {
    let mut s = state();
    update(
        &mut s,
        Action::Copied {
            what: "the token".into(),
            via: ClipboardVia::System,
            secret: true,
        },
    );
    assert!(matches!(
        update(&mut s, key('q')).as_slice(),
        [Command::ClearClipboard]
    ));
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_from_a_popup() {
    let mut s = state();
    update(&mut s, key('n'));
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(s.quit);
}

#[test]
fn osc52_fallback_is_reported_and_not_timed() {
    let mut s = state();
    let cmds = update(
        &mut s,
        Action::ClipboardUnavailable {
            text: Secret::new("x".into()),
            what: "the secret".into(),
            secret: true,
        },
    );
    assert!(matches!(cmds.as_slice(), [Command::CopyViaTerminal { .. }]));
    update(
        &mut s,
        Action::Copied {
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
    update(&mut s, Action::RecordChanged(Box::new(changed)));
    assert!(s.records[0].revoked);
    let mut newer = record(7, "brand-new");
    newer.created_at = NOW;
    update(&mut s, Action::RecordChanged(Box::new(newer)));
    assert_eq!(s.records[0].name(), "brand-new");
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("payments-webhook")
    );
    update(
        &mut s,
        Action::RecordGone {
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
    let cmds = update(&mut s, Action::RecordChanged(Box::new(newer)));
    // Until the worker answers, the old rows stay the same keys.
    assert_eq!(ids(&s), before);
    assert!(matches!(cmds.as_slice(), [Command::Filter(_)]));
}

#[test]
fn deleting_the_key_being_confirmed_closes_the_dialog() {
    let mut s = state();
    update(&mut s, key('D'));
    update(
        &mut s,
        Action::RecordGone {
            id: "K00x9fQ2mZ7pL4tR8".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn background_pages_append_without_duplicates_and_stale_loads_are_dropped() {
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    let all = crate::tui::fixtures::rows();
    update(
        &mut s,
        Action::FirstPage {
            load: 1,
            records: all[..2].to_vec(),
            total: 6,
            malformed: 0,
        },
    );
    assert_eq!(s.loading, Loading::More);
    update(
        &mut s,
        Action::MoreRecords {
            load: 0,
            records: all.clone(),
            done: true,
        },
    );
    assert_eq!(s.records.len(), 2);
    update(
        &mut s,
        Action::MoreRecords {
            load: 1,
            records: all[1..].to_vec(),
            done: true,
        },
    );
    assert_eq!(s.records.len(), 6);
    assert_eq!(s.visible.len(), 6);
    assert_eq!(s.loading, Loading::Done);
}

#[test]
fn trimmed_feed_reloads() {
    let mut s = state();
    assert!(matches!(
        update(&mut s, Action::FeedTrimmed).as_slice(),
        [Command::Reload]
    ));
}

#[test]
fn details_load_the_key_events_and_esc_returns() {
    let mut s = state();
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [Command::LoadDetail { id }] if id == "K00x9fQ2mZ7pL4tR8"));
    update(
        &mut s,
        Action::DetailEvents {
            id: "K00x9fQ2mZ7pL4tR8".into(),
            events: vec![],
        },
    );
    assert!(matches!(s.screen, Screen::Detail { .. }));
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn help_opens_and_any_key_closes() {
    let mut s = state();
    update(&mut s, key('?'));
    assert!(matches!(s.screen, Screen::Help));
    update(&mut s, key('x'));
    assert!(matches!(s.screen, Screen::Table));
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    use crossterm::event::MouseButton;
    let mut s = state();
    let body = view::layout(s.area).table_body;
    let click = |row| {
        Action::Mouse(MouseEvent {
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
        Action::Mouse(MouseEvent {
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
    let all = crate::tui::fixtures::rows();
    update(
        &mut s,
        Action::FirstPage {
            load: 1,
            records: all[..2].to_vec(),
            total: 6,
            malformed: 0,
        },
    );
    update(&mut s, key('/'));
    let first = update(&mut s, key('e'));
    assert_eq!(first.len(), 1);
    for chunk in [&all[2..4], &all[4..]] {
        let cmds = update(
            &mut s,
            Action::MoreRecords {
                load: 1,
                records: chunk.to_vec(),
                done: false,
            },
        );
        assert!(cmds.is_empty(), "a run per chunk");
    }
    // The first run answers: its rows are shown, and one more run covers the new records.
    let mut again = Vec::new();
    for c in first {
        if let Command::Filter(job) = c {
            let found = crate::tui::filter::run(&job).expect("current job");
            again = update(
                &mut s,
                Action::FilterDone {
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
    assert!(s.filter.pending);
    assert!(matches!(again.as_slice(), [Command::Filter(j)] if j.records.len() == 6));
    run_filter(&mut s, again);
    assert!(!s.filter.pending);
    assert!(s.visible.len() > 2);
}

#[test]
fn enter_on_an_unranked_result_selects_the_best_match() {
    let mut s = state();
    update(&mut s, key('/'));
    let cmds = update(&mut s, key('p'));
    let Some(Command::Filter(job)) = cmds.into_iter().next() else {
        panic!("no filter job")
    };
    // As a run over too many matches would answer: every match, in table order.
    let found = crate::tui::filter::run(&job).expect("current job");
    let mut table_order = found.indices.clone();
    table_order.sort_unstable();
    update(
        &mut s,
        Action::FilterDone {
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
