//! Update tests of marking, bulk changes and the attention views (marks.rs and the bulk
//! and views popups), on fixed records.

use super::*;
use crate::tui::fixtures::{DAY, NOW, code, key, record, run_filter, state};
use crate::tui::keymap::Keymap;
use crossterm::event::KeyCode;

fn names(s: &State) -> Vec<String> {
    s.visible
        .iter()
        .map(|&i| s.records[i as usize].name().to_owned())
        .collect()
}

fn marked_names(s: &State) -> Vec<String> {
    s.records
        .iter()
        .filter(|r| s.is_marked(r))
        .map(|r| r.name().to_owned())
        .collect()
}

fn typed(s: &mut State, text: &str) -> Vec<Out> {
    text.chars().flat_map(|c| update(s, key(c))).collect()
}

/// Runs the filter job like the event loop would, and feeds the result back.
fn bulk_cmd(cmds: &[Out]) -> Option<(&BulkOp, &Vec<String>)> {
    cmds.iter().find_map(|c| match c {
        Out::Sync(SyncCmd::Bulk { op, ids }) => Some((op, ids)),
        _ => None,
    })
}

fn message(s: &State) -> String {
    s.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

use crate::tui::msg::BulkOp;

#[test]
fn space_marks_and_moves_down_and_esc_clears_the_marks_before_the_filter() {
    let mut s = state();
    update(&mut s, key(' '));
    assert_eq!(s.selected, 1, "Space moves down");
    update(&mut s, key(' '));
    assert_eq!(marked_names(&s), ["billing-service", "search-worker"]);
    assert_eq!(s.marked(), 2);
    // Space on a marked row unmarks it.
    update(&mut s, key('k'));
    update(&mut s, key(' '));
    assert_eq!(marked_names(&s), ["billing-service"]);
    // A filter keeps the marks; Esc clears the marks first, then the filter.
    update(&mut s, key('/'));
    let cmds = typed(&mut s, "mobile");
    run_filter(&mut s, cmds);
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(names(&s), ["mobile-app"]);
    assert_eq!(s.marked(), 1);
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.marked(), 0);
    assert_eq!(s.filter.query(), "mobile");
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.filter.query(), "");
}

#[test]
fn mark_all_marks_every_row_shown_and_no_other() {
    let mut s = state();
    update(&mut s, key('s')); // active only
    update(&mut s, key('*'));
    assert_eq!(
        marked_names(&s),
        [
            "billing-service",
            "mobile-app",
            "analytics-export",
            "partner-\u{1b}[31macme"
        ]
    );
    assert_eq!(message(&s), "4 marked");
}

#[test]
fn marks_survive_reloads_and_live_changes_and_keys_gone_drop_out() {
    let mut s = state();
    update(&mut s, key('*'));
    assert_eq!(s.marked(), 6);
    // A change from elsewhere keeps the mark.
    let mut changed = record(3, "mobile-app-renamed");
    changed.expires_at = Some(NOW + 30 * DAY);
    update(&mut s, Msg::RecordChanged(Box::new(changed)));
    assert!(marked_names(&s).contains(&"mobile-app-renamed".to_owned()));
    // Deleted elsewhere: gone from the marks.
    let id = s.records[0].id().to_owned();
    update(&mut s, Msg::RecordGone { id });
    assert_eq!(s.marked(), 5);
    // A reload without one more key keeps the others' marks.
    let reloaded: Vec<KeyRecord> = crate::tui::fixtures::records()
        .into_iter()
        .skip(2)
        .collect();
    update(
        &mut s,
        Msg::FirstPage {
            load: 2,
            records: reloaded,
            total: 4,
            malformed: vec![],
            done: true,
        },
    );
    assert_eq!(s.marked(), 4);
    assert_eq!(marked_names(&s).len(), 4);
}

#[test]
fn a_reload_in_pages_keeps_the_marks_of_later_pages() {
    let mut s = state();
    update(&mut s, key('*'));
    let all = crate::tui::fixtures::records();
    // The first page holds two keys; the marks of the others wait for the rest.
    update(
        &mut s,
        Msg::FirstPage {
            load: 2,
            records: all[..2].to_vec(),
            total: 6,
            malformed: vec![],
            done: false,
        },
    );
    assert_eq!(s.marked(), 6);
    // The rest, without the last key (deleted while away): its mark drops.
    update(
        &mut s,
        Msg::MoreRecords {
            load: 2,
            records: all[2..5].to_vec().into(),
            malformed: vec![],
            done: true,
            credit: None,
        },
    );
    assert_eq!(s.marked(), 5);
    assert_eq!(marked_names(&s).len(), 5);
}

#[test]
fn bulk_revoke_previews_the_marked_keys_and_sends_one_command() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    let Screen::ConfirmBulk(d) = &s.screen else {
        panic!("no bulk dialog: {:?}", s.screen);
    };
    assert_eq!(d.kind, BulkKind::Revoke);
    assert_eq!(d.ids.len(), 5, "the revoked key is left out");
    assert_eq!(
        (d.skipped, d.skipped_names.as_slice()),
        (1, &["search-worker".to_owned()][..])
    );
    assert_eq!(d.names[0], "billing-service");
    // Tab gives a reason, Enter revokes with it.
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "sweep");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let (op, ids) = bulk_cmd(&cmds).expect("a bulk command");
    assert_eq!(
        op,
        &BulkOp::Revoke {
            reason: Some("sweep".into())
        }
    );
    assert_eq!(ids.len(), 5);
    assert!(matches!(s.screen, Screen::Table));
    // Progress, then the summary names what was skipped; the marks clear.
    update(
        &mut s,
        Msg::BulkProgress {
            handled: 3,
            total: 5,
        },
    );
    assert!(message(&s).contains("3/5"), "{}", message(&s));
    update(
        &mut s,
        Msg::BulkDone {
            op: op.clone(),
            asked: 5,
            outcome: crate::store::BulkOutcome {
                done: 3,
                unchanged: 1,
                missing: vec!["K00x9fQ2mZ7pL4tR8".into()],
                malformed: vec![],
            },
        },
    );
    let m = message(&s);
    assert!(m.starts_with("revoked 3 of 5 keys"), "{m}");
    assert!(m.contains("1 already revoked meanwhile"), "{m}");
    assert!(m.contains("1 deleted elsewhere (K00x9fQ2mZ7pL4tR8)"), "{m}");
    assert_eq!(s.marked(), 0);
}

#[test]
fn a_failed_bulk_change_keeps_the_marks() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    let cmds = update(&mut s, key('y'));
    assert!(bulk_cmd(&cmds).is_some());
    update(
        &mut s,
        Msg::Failed {
            op: SyncOp::Bulk,
            error: "connection refused".into(),
        },
    );
    assert_eq!(s.marked(), 6);
    assert!(
        message(&s).contains("connection refused"),
        "{}",
        message(&s)
    );
}

#[test]
fn bulk_revoke_is_cancelled_by_any_other_key() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    let cmds = update(&mut s, key('d'));
    assert!(bulk_cmd(&cmds).is_none());
    assert!(matches!(s.screen, Screen::Table));
    assert_eq!(s.marked(), 6, "cancelling keeps the marks");
}

#[test]
fn bulk_delete_needs_the_typed_word_and_in_production_the_namespace() {
    let mut s = state();
    update(&mut s, key(' '));
    update(&mut s, key(' '));
    update(&mut s, key('D'));
    assert!(
        matches!(&s.screen, Screen::ConfirmBulk(d) if d.kind == BulkKind::Delete && d.ids.len() == 2)
    );
    typed(&mut s, "delet");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(bulk_cmd(&cmds).is_none());
    assert!(matches!(s.screen, Screen::ConfirmBulk(_)), "kept open");
    typed(&mut s, "e");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert_eq!(bulk_cmd(&cmds).map(|c| c.0), Some(&BulkOp::Delete));

    let mut s = crate::tui::fixtures::state_in(crate::store::Mode::Hash, true);
    update(&mut s, key('*'));
    update(&mut s, key('D'));
    typed(&mut s, "delete");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        bulk_cmd(&cmds).is_none(),
        "production takes the namespace name"
    );
    assert!(matches!(s.screen, Screen::Table));
    update(&mut s, key('D'));
    typed(&mut s, "prod");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert_eq!(bulk_cmd(&cmds).map(|c| c.1.len()), Some(6));
}

#[test]
fn production_bulk_revoke_needs_the_namespace_name() {
    let mut s = crate::tui::fixtures::state_in(crate::store::Mode::Hash, true);
    update(&mut s, key('*'));
    update(&mut s, key('d'));
    let cmds = update(&mut s, key('y'));
    assert!(
        bulk_cmd(&cmds).is_none(),
        "y is typed into the namespace field"
    );
    typed(&mut s, "rod");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(bulk_cmd(&cmds).is_none());
    assert!(message(&s).contains("does not match"), "{}", message(&s));
}

#[test]
fn restore_and_extend_act_on_the_keys_they_apply_to() {
    let mut s = state();
    update(&mut s, key('*'));
    update(&mut s, key('u'));
    let Screen::ConfirmBulk(d) = &s.screen else {
        panic!("no bulk dialog");
    };
    assert_eq!((d.kind, d.ids.len(), d.skipped), (BulkKind::Restore, 1, 5));
    let cmds = update(&mut s, key('y'));
    assert_eq!(bulk_cmd(&cmds).map(|c| c.0), Some(&BulkOp::Restore));

    // Extend without marks: the selected key, when it expires.
    let mut s = state();
    update(&mut s, key('+'));
    assert!(matches!(s.screen, Screen::Table));
    assert!(message(&s).contains("never expire"), "{}", message(&s));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, key('j')); // mobile-app, expiring in 30 days
    update(&mut s, key('+'));
    assert!(matches!(&s.screen, Screen::ConfirmBulk(d) if d.kind == BulkKind::Extend));
    for _ in 0..3 {
        update(&mut s, code(KeyCode::Backspace));
    }
    typed(&mut s, "soon");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(bulk_cmd(&cmds).is_none());
    assert!(message(&s).starts_with("extend by:"), "{}", message(&s));
    update(&mut s, code(KeyCode::Backspace));
    for _ in 0..4 {
        update(&mut s, code(KeyCode::Backspace));
    }
    typed(&mut s, "2w");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let by = std::time::Duration::from_secs(14 * 86_400);
    let (op, ids) = bulk_cmd(&cmds).expect("extend");
    assert_eq!(op, &BulkOp::Extend { by });
    assert_eq!(ids, &vec![s.records[3].id().to_owned()]);
}

/// Keys of every kind for the views: old unused, old used, recent, by bob, expiring.
fn attention_state() -> State {
    let mut v = vec![
        record(0, "fresh"),
        record(1, "expiring-soon"),
        record(2, "expiring-later"),
        record(3, "bobs-key"),
        record(200, "old-never-used"),
        record(201, "old-used-lately"),
        record(202, "old-used-long-ago"),
    ];
    v[1].expires_at = Some(NOW + 3 * DAY);
    v[2].expires_at = Some(NOW + 20 * DAY);
    v[3].created_by = "bob@ci".into();
    v[5].last_used_at = Some(NOW - DAY);
    v[6].last_used_at = Some(NOW - 120 * DAY);
    v[0].last_used_at = Some(NOW - DAY);
    let mut s = State::new(crate::tui::fixtures::server(), Keymap::default(), 45, NOW);
    update(
        &mut s,
        Msg::FirstPage {
            load: 1,
            records: v,
            total: 7,
            malformed: vec![],
            done: true,
        },
    );
    s
}

#[test]
fn views_show_the_keys_that_need_attention() {
    let mut s = attention_state();
    // v Enter: unused for more than 90 days (the default).
    update(&mut s, key('v'));
    assert!(matches!(s.screen, Screen::Views(_)));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(names(&s), ["old-never-used", "old-used-long-ago"]);
    assert_eq!(
        s.attention.as_ref().map(View::label).as_deref(),
        Some("unused for 90d")
    );
    // Typing a number replaces the days shown.
    update(&mut s, key('v'));
    typed(&mut s, "2");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(
        s.attention.as_ref().map(|v| &v.kind),
        Some(&AttentionView::UnusedFor(2))
    );
    assert_eq!(
        names(&s),
        [
            "expiring-soon",
            "expiring-later",
            "bobs-key",
            "old-never-used",
            "old-used-long-ago"
        ]
    );
    // Never used.
    update(&mut s, key('v'));
    update(&mut s, code(KeyCode::Down));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(
        names(&s),
        [
            "expiring-soon",
            "expiring-later",
            "bobs-key",
            "old-never-used"
        ]
    );
    // Expiring within 7 days.
    update(&mut s, key('v'));
    update(&mut s, code(KeyCode::Down));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(names(&s), ["expiring-soon"]);
    // Created by bob (typed over the selected key's creator).
    update(&mut s, key('v'));
    update(&mut s, code(KeyCode::Down));
    typed(&mut s, "bob");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(names(&s), ["bobs-key"]);
    // Esc leaves the view.
    update(&mut s, code(KeyCode::Esc));
    assert!(s.attention.is_none());
    assert_eq!(s.visible.len(), 7);
}

#[test]
fn a_bad_number_keeps_the_picker_open() {
    let mut s = attention_state();
    update(&mut s, key('v'));
    typed(&mut s, "x");
    update(&mut s, code(KeyCode::Enter));
    assert!(matches!(s.screen, Screen::Views(_)));
    assert!(message(&s).contains("number of days"), "{}", message(&s));
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.screen, Screen::Table));
    assert!(s.attention.is_none());
}

#[test]
fn the_configured_days_are_where_the_picker_starts() {
    let mut s = attention_state();
    s.unused_days = 100;
    update(&mut s, key('v'));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(names(&s), ["old-never-used", "old-used-long-ago"]);
    assert_eq!(
        s.attention.as_ref().map(|v| &v.kind),
        Some(&AttentionView::UnusedFor(100))
    );
}

#[test]
fn views_combine_with_the_fuzzy_filter_and_marking() {
    let mut s = attention_state();
    update(&mut s, key('v'));
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, key('/'));
    // "used" matches three names; the view keeps two of them.
    let cmds = typed(&mut s, "used");
    run_filter(&mut s, cmds);
    update(&mut s, code(KeyCode::Enter));
    let mut shown = names(&s);
    shown.sort();
    assert_eq!(shown, ["old-never-used", "old-used-long-ago"]);
    update(&mut s, key('*'));
    assert_eq!(marked_names(&s), ["old-never-used", "old-used-long-ago"]);
}

#[test]
fn revoking_every_key_unused_for_90_days_is_four_keys_and_a_confirmation() {
    let mut s = attention_state();
    let mut cmds = Vec::new();
    for k in [key('v'), code(KeyCode::Enter), key('*'), key('d'), key('y')] {
        cmds.extend(update(&mut s, k));
    }
    let (op, ids) = bulk_cmd(&cmds).expect("a bulk revoke");
    assert_eq!(op, &BulkOp::Revoke { reason: None });
    let want: Vec<String> = s
        .records
        .iter()
        .filter(|r| r.name().starts_with("old-never") || r.name().ends_with("long-ago"))
        .map(|r| r.id().to_owned())
        .collect();
    assert_eq!(ids, &want);
}
