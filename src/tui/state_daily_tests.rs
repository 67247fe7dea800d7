//! Update tests of the daily-work parts of the table: status messages that expire, the
//! sort order and its header arrow, the columns, the `:` command line and the edit form.
//! The clock is injected (`State::now`): nothing sleeps.

use super::*;
use crate::tui::fixtures::{NOW, code, key, run_filter, state};
use crate::tui::table_view::{Column, Sort, SortKey};
use crossterm::event::KeyCode;

fn names(s: &State) -> Vec<String> {
    s.visible
        .iter()
        .map(|&i| crate::sanitize::line(s.records[i as usize].name()))
        .collect()
}

/// The screen drawn at `w`x`h`, line by line.
fn drawn(s: &mut State, w: u16, h: u16) -> Vec<String> {
    s.area = ratatui::layout::Rect::new(0, 0, w, h);
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| crate::tui::draw::render(s, f)).expect("draw");
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

fn header(s: &mut State) -> String {
    drawn(s, 100, 24)
        .into_iter()
        .find(|l| l.contains("NAME"))
        .unwrap_or_default()
}

/// Types `:line` and Enter.
fn command(s: &mut State, line: &str) -> Vec<Out> {
    let mut outs = update(s, key(':'));
    outs.extend(typed(s, line));
    outs.extend(update(s, code(KeyCode::Enter)));
    outs
}

fn saved(outs: &[Out]) -> Option<(Option<String>, Vec<String>)> {
    outs.iter().find_map(|o| match o {
        Out::SaveView { sort, columns } => Some((sort.clone(), columns.clone())),
        _ => None,
    })
}

/// Runs the filter job like the event loop would, and feeds the result back.
fn typed(s: &mut State, text: &str) -> Vec<Out> {
    let mut outs = Vec::new();
    for c in text.chars() {
        outs.extend(update(s, key(c)));
    }
    outs
}

fn text(s: &State) -> Option<&str> {
    s.message.as_ref().map(|m| m.text.as_str())
}

#[test]
fn a_status_message_goes_away_after_a_few_seconds_errors_stay_longer() {
    let mut s = state();
    // An ordinary message: gone on the tick five seconds later, not before.
    update(&mut s, key('s'));
    assert_eq!(text(&s), Some("showing active keys"));
    let due = s.next_tick().expect("the message's end is a tick");
    assert!(due <= Duration::from_millis(MESSAGE_MS as u64), "{due:?}");
    s.now = NOW + MESSAGE_MS - 1;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), Some("showing active keys"));
    s.now = NOW + MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);

    // An error stays longer than a message would.
    s.now = NOW + 10_000;
    update(&mut s, Msg::Connection(ConnState::Offline));
    assert!(s.message.as_ref().is_some_and(|m| m.error));
    s.now += MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert!(s.message.is_some(), "an error outlives an ordinary message");
    s.now = NOW + 10_000 + ERROR_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);
}

#[test]
fn a_newer_message_replaces_the_old_one_and_gets_its_own_time() {
    let mut s = state();
    update(&mut s, key('s'));
    s.now = NOW + 4_000;
    update(&mut s, key('s'));
    assert_eq!(text(&s), Some("showing revoked keys"));
    // The first message's time is up, the second's is not.
    s.now = NOW + MESSAGE_MS + 1;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), Some("showing revoked keys"));
    s.now = NOW + 4_000 + MESSAGE_MS;
    update(&mut s, Msg::Tick);
    assert_eq!(text(&s), None);
}

#[test]
fn o_cycles_the_sort_and_capital_o_flips_it_with_an_arrow_in_the_header() {
    let mut s = state();
    assert_eq!(names(&s)[0], "billing-service", "newest first");
    assert!(!header(&mut s).contains('↑'));
    let outs = update(&mut s, key('o'));
    assert_eq!(s.view.sort, Some(Sort::by(SortKey::Name)));
    assert_eq!(
        names(&s),
        [
            "analytics-export",
            "billing-service",
            "mobile-app",
            "partner-?[31macme",
            "payments-webhook",
            "search-worker"
        ]
    );
    assert!(header(&mut s).contains("NAME↑"), "{}", header(&mut s));
    assert_eq!(saved(&outs).and_then(|v| v.0).as_deref(), Some("name asc"));
    let outs = update(&mut s, key('O'));
    assert_eq!(names(&s)[0], "search-worker");
    assert!(header(&mut s).contains("NAME↓"));
    assert_eq!(saved(&outs).and_then(|v| v.0).as_deref(), Some("name desc"));
    // Next: created (newest first), then expires with the arrow on its column.
    update(&mut s, key('o'));
    assert_eq!(s.view.sort, Some(Sort::by(SortKey::Created)));
    assert!(header(&mut s).contains("AGE↓"));
    update(&mut s, key('o'));
    assert_eq!(names(&s)[..2], ["payments-webhook", "mobile-app"]);
    assert!(header(&mut s).contains("EXPIRES↑"));
}

#[test]
fn the_cursor_stays_on_its_key_when_the_order_changes() {
    let mut s = state();
    update(&mut s, code(KeyCode::Down));
    let before = s.selected_record().map(|r| r.id().to_owned());
    update(&mut s, key('o'));
    assert_eq!(s.selected_record().map(|r| r.id().to_owned()), before);
    assert_ne!(s.selected, 1);
}

#[test]
fn a_sort_orders_the_filter_matches_too() {
    let mut s = state();
    // No sort: best match first.
    let outs = update(&mut s, key('/'));
    run_filter(&mut s, outs);
    let outs = typed(&mut s, "e");
    run_filter(&mut s, outs);
    update(&mut s, code(KeyCode::Enter));
    let matched = names(&s);
    assert!(matched.len() > 2, "{matched:?}");
    // Sorted by name: the same matches, in name order; the filter stays.
    let outs = command(&mut s, "sort name desc");
    run_filter(&mut s, outs);
    let mut want = matched.clone();
    want.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names(&s), want);
    assert_eq!(s.filter.query(), "e");
    // Records appended while sorted keep the order.
    let mut extra = crate::tui::fixtures::record(9, "zzz-extra");
    extra.created_at = NOW - 100 * crate::tui::fixtures::DAY;
    let outs = update(&mut s, Msg::RecordChanged(Box::new(extra)));
    run_filter(&mut s, outs);
    assert_eq!(names(&s)[0], "zzz-extra");
}

#[test]
fn the_command_line_sorts_sets_columns_and_says_what_it_does_not_know() {
    let mut s = state();
    update(&mut s, key(':'));
    assert!(s.command.is_some());
    assert!(drawn(&mut s, 80, 24).iter().any(|l| l.starts_with(':')));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.command.is_none());

    let outs = command(&mut s, "sort expires desc");
    assert_eq!(
        s.view.sort,
        Some(Sort {
            key: SortKey::Expires,
            descending: true
        })
    );
    assert_eq!(
        saved(&outs).and_then(|v| v.0).as_deref(),
        Some("expires desc")
    );

    let outs = command(&mut s, "columns id,name,meta.owner,created_by");
    let want = [
        Column::Id,
        Column::Name,
        Column::Meta("owner".into()),
        Column::CreatedBy,
    ];
    assert_eq!(s.view.columns, want);
    assert_eq!(
        saved(&outs).map(|v| v.1),
        Some(vec![
            "id".to_owned(),
            "name".into(),
            "meta.owner".into(),
            "created_by".into()
        ])
    );
    let screen = drawn(&mut s, 100, 24);
    let head = screen
        .iter()
        .find(|l| l.contains("NAME"))
        .cloned()
        .unwrap_or_default();
    assert!(head.starts_with("ID"), "{head}");
    assert!(head.contains("OWNER") && head.contains("BY"), "{head}");
    let row = screen
        .iter()
        .find(|l| l.contains("analytics-export"))
        .cloned()
        .unwrap_or_default();
    assert!(
        row.contains("K04x9fQ2mZ7pL4tR8") && row.contains("team-data"),
        "{row}"
    );
    assert!(row.contains("alice@laptop"), "{row}");

    // Mistakes are one line in the status line; nothing changes.
    let before = s.view.clone();
    assert!(command(&mut s, "frobnicate").is_empty());
    assert!(text(&s).is_some_and(|t| t.contains("unknown command :frobnicate")));
    assert!(s.message.as_ref().is_some_and(|m| m.error));
    command(&mut s, "columns id,owner");
    assert!(
        text(&s).is_some_and(|t| t.contains("no column")),
        "{:?}",
        text(&s)
    );
    command(&mut s, "sort colour");
    assert!(text(&s).is_some_and(|t| t.contains("cannot sort by")));
    assert_eq!(s.view, before);

    // Table actions are commands by their config names; :q quits.
    command(&mut s, "help");
    assert!(matches!(s.screen, Screen::Help(_)));
    update(&mut s, code(KeyCode::Esc));
    // :ns opens the namespace picker and asks the sync task for the list.
    let outs = command(&mut s, "ns");
    assert!(matches!(s.screen, Screen::Namespaces(_)), "{:?}", s.screen);
    assert!(
        outs.iter()
            .any(|o| matches!(o, Out::Sync(SyncCmd::Namespaces))),
        "{outs:?}"
    );
    update(&mut s, code(KeyCode::Esc));
    // :ns NAME types the picker's filter; more words are a mistake.
    command(&mut s, "ns bill");
    match &s.screen {
        Screen::Namespaces(p) => assert_eq!(p.typed.value(), "bill"),
        other => panic!("{other:?}"),
    }
    update(&mut s, code(KeyCode::Esc));
    command(&mut s, "ns a b");
    assert!(text(&s).is_some_and(|t| t.contains("usage: :ns [name]")));
    assert!(matches!(s.screen, Screen::Table));
    command(&mut s, "q");
    assert!(s.quit);
}

#[test]
fn tab_completes_command_names_and_their_arguments() {
    use crate::tui::state::command::complete;
    // `sort` and the `sort_direction` action share a start.
    assert_eq!(complete("so"), "sort");
    assert_eq!(complete("col"), "columns ");
    assert_eq!(complete("sort ex"), "sort expires");
    assert_eq!(
        complete("columns id,meta.owner,crea"),
        "columns id,meta.owner,created_by"
    );
    assert_eq!(complete("rel"), "reload ");
    assert_eq!(complete("xyz"), "xyz");
    // Tab in the line itself.
    let mut s = state();
    update(&mut s, key(':'));
    typed(&mut s, "col");
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.command.as_ref().map(|i| i.value()), Some("columns "));
}

#[test]
fn the_whole_id_shows_on_a_120_column_screen() {
    let mut s = state();
    let screen = drawn(&mut s, 120, 30);
    let row = screen
        .iter()
        .find(|l| l.contains("billing-service"))
        .cloned()
        .unwrap_or_default();
    assert!(row.contains("K00x9fQ2mZ7pL4tR8"), "{row}");
    // Too narrow for everything: the last columns go, then the id is cut, never the name.
    let screen = drawn(&mut s, 50, 24);
    let head = screen
        .iter()
        .find(|l| l.contains("NAME"))
        .cloned()
        .unwrap_or_default();
    assert!(!head.contains("USED") && head.contains("ID"), "{head}");
}

#[test]
fn sorting_a_million_rows_sorts_indices() {
    // Not a timing test: it checks that a big table sorts (by index) to the right order.
    let rows: Vec<crate::tui::row::Row> = (0..200_000)
        .map(|i| {
            let mut r =
                crate::tui::fixtures::record(i % 90, &format!("k{:06}", (i * 7919) % 200_000));
            r.id = format!("I{i:07}");
            crate::tui::row::Row::from(r)
        })
        .collect();
    let mut v: Vec<u32> = (0..rows.len() as u32).collect();
    crate::tui::table_view::sort_indices(&rows, &mut v, Sort::by(SortKey::Name), NOW);
    assert!(
        v.windows(2)
            .all(|w| rows[w[0] as usize].name() <= rows[w[1] as usize].name())
    );
}

fn edit_form(s: &State) -> &EditForm {
    match &s.screen {
        Screen::EditKey(f) => f,
        other => panic!("no edit form: {other:?}"),
    }
}

/// Empties the focused field of the edit form.
fn clear_field(s: &mut State) {
    update(s, code(KeyCode::End));
    for _ in 0..80 {
        update(s, code(KeyCode::Backspace));
    }
}

fn sent_edit(outs: &[Out]) -> Option<(String, crate::store::KeyEdit)> {
    outs.iter().find_map(|o| match o {
        Out::Sync(SyncCmd::Edit { id, edit }) => Some((id.clone(), (**edit).clone())),
        _ => None,
    })
}

#[test]
fn e_opens_the_edit_form_prefilled_and_enter_sends_only_what_changed() {
    let mut s = state();
    for _ in 0..4 {
        update(&mut s, code(KeyCode::Down));
    }
    update(&mut s, key('e'));
    let f = edit_form(&s);
    assert_eq!(f.id, "K04x9fQ2mZ7pL4tR8");
    let values: Vec<&str> = f.fields.iter().map(|i| i.value()).collect();
    assert_eq!(
        values,
        ["analytics-export", "", "owner=team-data scopes=read"]
    );
    // Rename, drop `scopes`, change `owner`, add an expiry.
    clear_field(&mut s);
    typed(&mut s, "analytics-nightly");
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "30d");
    update(&mut s, code(KeyCode::Tab));
    clear_field(&mut s);
    typed(&mut s, "owner=\"team data\"");
    let outs = update(&mut s, code(KeyCode::Enter));
    let (id, edit) = sent_edit(&outs).expect("an edit is sent");
    assert_eq!(id, "K04x9fQ2mZ7pL4tR8");
    assert_eq!(edit.name.as_deref(), Some("analytics-nightly"));
    assert_eq!(
        edit.expires_at,
        Some(Some(NOW + 30 * crate::tui::fixtures::DAY))
    );
    assert_eq!(
        edit.set_meta.get("owner").map(String::as_str),
        Some("team data")
    );
    assert_eq!(edit.set_meta.len(), 1);
    assert_eq!(edit.unset_meta, ["scopes"]);
    // The form waits for the answer; the row follows the change event.
    assert!(edit_form(&s).saving);
    let mut changed = crate::tui::fixtures::records().remove(4);
    changed.name = "analytics-nightly".into();
    update(&mut s, Msg::RecordChanged(Box::new(changed)));
    update(
        &mut s,
        Msg::Done {
            op: SyncOp::Edit,
            id: "K04x9fQ2mZ7pL4tR8".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Table));
    assert_eq!(
        s.selected_record().map(|r| r.name()),
        Some("analytics-nightly")
    );
    assert!(text(&s).is_some_and(|t| t.starts_with("saved")));
}

#[test]
fn a_wrong_field_keeps_the_edit_form_open_with_the_error_under_it() {
    let mut s = state();
    update(&mut s, key('e'));
    clear_field(&mut s);
    update(&mut s, code(KeyCode::Tab));
    typed(&mut s, "someday");
    let outs = update(&mut s, code(KeyCode::Enter));
    assert!(sent_edit(&outs).is_none());
    let f = edit_form(&s);
    let errors = f.shown_errors(s.now);
    assert_eq!(errors[0].as_deref(), Some("give the key a name"));
    assert!(errors[1].is_some());
    assert_eq!(f.focus, 0, "the cursor goes to the first wrong field");
    let screen = drawn(&mut s, 80, 24).join("\n");
    assert!(screen.contains("✗ give the key a name"), "{screen}");
    // Nothing changed: nothing is sent, the form says so and closes.
    let mut s = state();
    update(&mut s, key('e'));
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(matches!(s.screen, Screen::Table));
    assert_eq!(text(&s), Some("nothing changed"));
}

#[test]
fn a_failed_edit_leaves_the_form_open_with_why() {
    let mut s = state();
    update(&mut s, key('e'));
    typed(&mut s, "-2");
    assert!(sent_edit(&update(&mut s, code(KeyCode::Enter))).is_some());
    update(
        &mut s,
        Msg::Failed {
            op: SyncOp::Edit,
            error: "connection refused".into(),
        },
    );
    let f = edit_form(&s);
    assert!(!f.saving);
    assert!(
        f.error
            .as_deref()
            .is_some_and(|e| e.contains("connection refused"))
    );
    assert_eq!(f.fields[0].value(), "billing-service-2");
}

#[test]
fn shortening_a_production_expiry_needs_the_namespace_name() {
    let mut s = crate::tui::fixtures::state_in(crate::store::Mode::Hash, true);
    // mobile-app expires in 30 days.
    for _ in 0..3 {
        update(&mut s, code(KeyCode::Down));
    }
    update(&mut s, key('e'));
    update(&mut s, code(KeyCode::Tab));
    clear_field(&mut s);
    typed(&mut s, "1d");
    assert!(sent_edit(&update(&mut s, code(KeyCode::Enter))).is_none());
    let f = edit_form(&s);
    assert!(f.asks_namespace());
    assert!(
        drawn(&mut s, 80, 24)
            .join("\n")
            .contains("type the namespace name")
    );
    typed(&mut s, "wrong");
    assert!(sent_edit(&update(&mut s, code(KeyCode::Enter))).is_none());
    assert!(
        edit_form(&s)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("does not match"))
    );
    clear_field(&mut s);
    let ns = s.server.namespace.clone();
    typed(&mut s, &ns);
    let (_, edit) = sent_edit(&update(&mut s, code(KeyCode::Enter))).expect("sent");
    assert_eq!(edit.expires_at, Some(Some(NOW + crate::tui::fixtures::DAY)));

    // Making it longer (or a rename) asks nothing more.
    let mut s = crate::tui::fixtures::state_in(crate::store::Mode::Hash, true);
    for _ in 0..3 {
        update(&mut s, code(KeyCode::Down));
    }
    update(&mut s, key('e'));
    update(&mut s, code(KeyCode::Tab));
    clear_field(&mut s);
    typed(&mut s, "60d");
    assert!(sent_edit(&update(&mut s, code(KeyCode::Enter))).is_some());
}

#[test]
fn the_metadata_line_reads_back_as_it_was() {
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("note".to_owned(), "two words \"quoted\" and \\".to_owned());
    meta.insert("scopes".to_owned(), "read,write".to_owned());
    meta.insert("odd key".to_owned(), "it's".to_owned());
    let line = crate::tui::screens::edit_key::meta_line(&meta);
    assert_eq!(crate::input::parse_meta_line(&line).unwrap(), meta);
}

/// The footer line as drawn at `w` columns.
fn footer(s: &mut State, w: u16) -> String {
    drawn(s, w, 24).pop().unwrap_or_default()
}

#[test]
fn the_table_footer_shows_copy_token_delete_and_reload_and_drops_the_least_useful() {
    let mut s = state();
    let wide = footer(&mut s, 80);
    for hint in [
        "? help", "q quit", "/ filter", "n new", "t token", "D delete", "R reload",
    ] {
        assert!(wide.contains(hint), "{hint:?} missing: {wide}");
    }
    // Narrower: the last (least useful) hints go, the first stay, nothing is cut.
    let narrow = footer(&mut s, 40);
    assert!(narrow.starts_with("? help  q quit  / filter"), "{narrow}");
    assert!(!narrow.contains("reload"), "{narrow}");
    // Rebinding a key changes the footer: it comes from the key table.
    let mut keys = std::collections::BTreeMap::new();
    keys.insert(
        "reload".to_owned(),
        crate::tui::keymap::KeySpec::One("ctrl-r".into()),
    );
    assert!(s.keymap.apply_overrides(&keys).is_empty());
    assert!(
        footer(&mut s, 120).contains("Ctrl-r reload"),
        "{}",
        footer(&mut s, 120)
    );
}

#[test]
fn every_screen_has_a_footer_from_the_key_table() {
    let mut seen = Vec::new();
    for (open, want) in [
        (key('e'), "save"),
        (key(':'), "complete"),
        (key('/'), "keep filter"),
        (code(KeyCode::Enter), "token"),
        (key('?'), "close"),
        (key('n'), "create"),
    ] {
        let mut s = state();
        update(&mut s, open);
        let f: Vec<String> = crate::tui::widgets::footer::hints(&s)
            .into_iter()
            .map(|(k, what)| format!("{k} {what}"))
            .collect();
        assert!(
            f.iter().any(|h| h.ends_with(want)),
            "{want:?} missing: {f:?}"
        );
        seen.push(f);
    }
    assert_eq!(seen.len(), 6);
}

#[test]
fn t_on_the_table_copies_the_whole_token_where_the_secret_is_kept() {
    let mut s = crate::tui::fixtures::state_in(crate::store::Mode::Sealed, false);
    for _ in 0..5 {
        update(&mut s, code(KeyCode::Down));
    }
    let outs = update(&mut s, key('t'));
    match outs.as_slice() {
        [
            Out::Sync(SyncCmd::ReadToken {
                id,
                prefix,
                checksum,
                ..
            }),
        ] => {
            assert_eq!(id, "K05x9fQ2mZ7pL4tR8");
            assert_eq!(prefix.as_deref(), Some("sk_live"));
            assert!(checksum);
        }
        other => panic!("{other:?}"),
    }
    let token = crate::keygen::Secret::new("sk_live_K05_x".to_owned());
    let outs = update(
        &mut s,
        Msg::TokenRead {
            name: "partner".into(),
            token,
        },
    );
    assert!(matches!(
        outs.as_slice(),
        [Out::Clip(ClipCmd::Copy { what, secret: true, .. })] if what == "the token of partner"
    ));
    // Hashed secrets: nothing to read; the status line says why.
    let mut s = state();
    assert!(update(&mut s, key('t')).is_empty());
    assert!(text(&s).is_some_and(|t| t.contains("cannot copy the token")));
}
