//! Marking many rows and acting once, and the attention views, end to end: the real
//! `keytui` binary in tmux against a real `redis-server`. Every step polls the screen or
//! Redis until what it expects is there; nothing depends on timing.

use std::path::Path;

use keytui::layout::Namespace;
use keytui::record::{Status, now_ms};
use keytui::store::Store;

use crate::common;
use crate::common::Target;
use crate::common::data::{raw_at, store};
use crate::common::spawn::{TuiHome, bin, create_key, env_refs, ok, show_key};
use crate::common::tmux::{Tmux, sh_quote, wait_for};

const DAY: i64 = 86_400_000;

fn tui_script(url: &str, ns: &str, log: &Path) -> String {
    format!(
        "{} {} -n {} --log-file {}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(url),
        sh_quote(ns),
        sh_quote(log)
    )
}

/// Creates `name` and backdates it: created `age_days` ago, last used `used_days` ago.
fn key(url: &str, ns: &str, name: &str, age_days: i64, used_days: Option<i64>) -> String {
    let id = create_key(url, ns, name, &[])["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let store = Store::new(raw_at(url).await, Namespace::new(ns).expect("namespace"));
        let now = now_ms();
        store
            .backdate(
                &id,
                now - age_days * DAY,
                None,
                used_days.map(|d| now - d * DAY),
            )
            .await
            .expect("backdate");
    });
    id
}

fn status(url: &str, ns: &str, id: &str) -> String {
    show_key(url, ns, id)["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// How many events of `op` the key's history holds.
fn events(url: &str, ns: &str, id: &str, op: &str) -> usize {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let store = Store::new(raw_at(url).await, Namespace::new(ns).expect("namespace"));
        store
            .key_events(id)
            .await
            .expect("history")
            .iter()
            .filter(|e| e.op == op)
            .count()
    })
}

#[test]
fn revoke_every_key_unused_for_90_days_in_four_keystrokes() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-bulk");
    let stale: Vec<String> = (1..=3)
        .map(|i| key(&url, &ns, &format!("stale-{i}"), 200, None))
        .collect();
    let used_long_ago = key(&url, &ns, "used-long-ago", 200, Some(100));
    let used_lately = key(&url, &ns, "used-lately", 200, Some(1));
    let fresh = key(&url, &ns, "fresh", 2, None);

    let home = TuiHome::new();
    let env = home.env("tui-bulk");
    let t = Tmux::start(
        120,
        35,
        &env_refs(&env),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_until("every key and live", |s| {
        s.contains("● live")
            && ["stale-3", "used-lately", "fresh"]
                .iter()
                .all(|n| s.contains(n))
    });

    // v Enter: the view (unused for the default 90 days); * marks it; d previews.
    t.keys(&["v", "Enter", "*", "d"]);
    let screen = t.wait_for("revoke 4 keys");
    assert!(screen.contains("view: unused for 90d"), "{screen}");
    assert!(screen.contains("4 marked"), "{screen}");
    for name in ["stale-1", "stale-2", "stale-3", "used-long-ago"] {
        assert!(
            screen.contains(&format!("· {name}")),
            "{name} not previewed:\n{screen}"
        );
    }
    assert!(!screen.contains("· fresh"), "{screen}");

    // Meanwhile another client deletes one of them: the summary names it.
    ok(&url, &ns, &["delete", &stale[2], "--yes"]);
    t.keys(&["y"]);
    let screen = t.wait_for("revoked 3 of 4 keys");
    assert!(
        screen.contains(&format!("1 deleted elsewhere ({})", stale[2])),
        "{screen}"
    );
    // The marks are gone after success.
    t.wait_until("no marks", |s| !s.contains("marked"));

    for id in [&stale[0], &stale[1], &used_long_ago] {
        assert_eq!(status(&url, &ns, id), Status::Revoked.as_str(), "{id}");
        assert_eq!(
            events(&url, &ns, id, "revoke"),
            1,
            "one audit event per key: {id}"
        );
    }
    for id in [&used_lately, &fresh] {
        assert_eq!(status(&url, &ns, id), Status::Active.as_str(), "{id}");
        assert_eq!(events(&url, &ns, id, "revoke"), 0, "{id}");
    }
    // The table follows: the revoked keys show as revoked in the view.
    t.wait_until("the rows revoked", |s| {
        s.lines()
            .filter(|l| l.contains("stale-1") || l.contains("used-long-ago"))
            .all(|l| l.contains("revoked"))
    });
    t.keys(&["q"]);
    t.wait_for("EXITED:0");
}

#[test]
fn marked_keys_are_restored_extended_and_deleted_at_once() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-bulk-more");
    let a = create_key(&url, &ns, "sweep-a", &["--expires", "10d"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = create_key(&url, &ns, "sweep-b", &["--expires", "10d"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keep = create_key(&url, &ns, "keep-me", &[])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [&a, &b] {
        ok(&url, &ns, &["revoke", id, "--yes"]);
    }
    let expires = |id: &str| show_key(&url, &ns, id)["expires_at"].clone();
    let before = expires(&a);

    let home = TuiHome::new();
    let env = home.env("tui-bulk");
    let t = Tmux::start(
        120,
        35,
        &env_refs(&env),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_until("the keys, live", |s| {
        s.contains("● live")
            && ["sweep-a", "sweep-b", "keep-me"]
                .iter()
                .all(|n| s.contains(n))
    });
    // Filter to the two, mark them all; the filter goes, the marks stay.
    t.keys(&["/"]);
    t.type_text("sweep");
    t.wait_until("the filter applied", |s| !s.contains("keep-me"));
    t.keys(&["Enter", "*"]);
    t.wait_for("2 marked");
    t.keys(&["Escape"]);
    t.wait_until("marks cleared first", |s| !s.contains("2 marked"));
    t.keys(&["*"]);
    t.wait_for("2 marked");

    // Restore both.
    t.keys(&["u"]);
    t.wait_for("restore 2 keys");
    t.keys(&["y"]);
    t.wait_for("restored 2 of 2 keys");
    wait_for("both active", || {
        (status(&url, &ns, &a) == "active" && status(&url, &ns, &b) == "active").then_some(())
    });

    // Extend both by 5 days (marks cleared after success: mark again).
    t.keys(&["*", "+"]);
    t.wait_for("extend 2 keys");
    t.keys(&["BSpace", "BSpace", "BSpace"]);
    t.type_text("5d");
    t.keys(&["Enter"]);
    t.wait_for("extended 2 of 2 keys");
    let after = expires(&a);
    assert_ne!(before, after, "the expiry moved");
    assert_eq!(events(&url, &ns, &a, "edit"), 1);

    // Delete both: the word typed.
    t.keys(&["*", "D"]);
    t.wait_for("delete 2 keys");
    t.type_text("delete");
    t.keys(&["Enter"]);
    t.wait_for("deleted 2 of 2 keys");
    t.keys(&["Escape"]);
    t.wait_until("only keep-me left", |s| {
        s.contains("keep-me") && !s.contains("sweep-a") && !s.contains("sweep-b")
    });
    let list = ok(&url, &ns, &["list"]);
    assert!(
        list.contains("keep-me") && !list.contains("sweep-"),
        "{list}"
    );
    assert_eq!(status(&url, &ns, &keep), "active");
    t.keys(&["q"]);
    t.wait_for("EXITED:0");
}

on_both!(sync_runs_a_bulk_change_with_progress_and_a_summary);

/// The sync task's next message that `pred` accepts, within a generous deadline.
async fn next_msg(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<keytui::tui::msg::Msg>,
    what: &str,
    mut pred: impl FnMut(&keytui::tui::msg::Msg) -> bool,
) -> keytui::tui::msg::Msg {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(m)) if pred(&m) => return m,
            Ok(Some(_)) => continue,
            _ => panic!("no {what} within 60 s"),
        }
    }
}

/// The sync task runs a bulk revoke of more than one batch: progress per batch, then the
/// outcome, and the change feed brings the revoked rows back.
async fn sync_runs_a_bulk_change_with_progress_and_a_summary(t: Target) {
    use keytui::conn::ConnectOptions;
    use keytui::store::CreateRequest;
    use keytui::tui::msg::{BulkOp, Msg, SyncCmd};

    let s = store(t, "tui-bulk-sync").await;
    s.ensure_meta().await.expect("meta");
    let keys = s
        .create_many(&CreateRequest::new("swept"), 1200, |_| {})
        .await
        .expect("create");
    let mut ids: Vec<String> = keys.iter().map(|c| c.record.id.clone()).collect();
    ids.push("Gone123".into());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let commands = keytui::tui::sync::spawn(s.clone(), ConnectOptions::new(t.url()), tx, false);
    next_msg(&mut rx, "the first page", |m| {
        matches!(m, Msg::FirstPage { .. })
    })
    .await;

    commands
        .send(SyncCmd::Bulk {
            op: BulkOp::Revoke {
                reason: Some("sweep".into()),
            },
            ids: ids.clone(),
        })
        .expect("send");
    let mut progress = Vec::new();
    // Revoked rows come back through the change feed, some before the outcome.
    let mut seen = std::collections::HashSet::new();
    let done = next_msg(&mut rx, "the outcome", |m| {
        if let Msg::BulkProgress { handled, total } = m {
            progress.push((*handled, *total));
        }
        seen.extend(
            changed_records(m)
                .filter(|r| r.revoked)
                .map(|r| r.id.clone()),
        );
        matches!(m, Msg::BulkDone { .. })
    })
    .await;
    assert_eq!(progress, vec![(1000, 1201), (1201, 1201)]);
    let Msg::BulkDone { op, asked, outcome } = done else {
        unreachable!()
    };
    assert_eq!(
        op,
        BulkOp::Revoke {
            reason: Some("sweep".into())
        }
    );
    assert_eq!((asked, outcome.done), (1201, 1200));
    assert_eq!(outcome.missing, vec!["Gone123".to_string()]);
    // The change feed brings every revoked key back as a changed record.
    if seen.len() < 1200 {
        next_msg(&mut rx, "every revoked key from the feed", |m| {
            seen.extend(
                changed_records(m)
                    .filter(|r| r.revoked)
                    .map(|r| r.id.clone()),
            );
            seen.len() == 1200
        })
        .await;
    }
    drop(commands);
}

/// The records a change-feed message brings, one or a batch.
fn changed_records(m: &keytui::tui::msg::Msg) -> impl Iterator<Item = &keytui::record::KeyRecord> {
    let batch: &[keytui::record::KeyRecord] = match m {
        keytui::tui::msg::Msg::RecordChanged(r) => std::slice::from_ref(&**r),
        keytui::tui::msg::Msg::RecordsChanged(rs) => rs,
        _ => &[],
    };
    batch.iter()
}
