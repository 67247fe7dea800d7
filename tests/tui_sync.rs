//! The TUI's sync task against a real, private redis-server: the first page arrives, and a
//! change made by another client shows up as a typed action without a reload.

use std::time::Duration;

use keytui::conn::{self, ConnectOptions};
use keytui::layout::Namespace;
use keytui::store::{CreateRequest, Store};
use keytui::tui::demo::DemoServer;
use keytui::tui::state::{Action, Command};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

async fn next_matching(
    rx: &mut UnboundedReceiver<Action>,
    what: &str,
    mut pred: impl FnMut(&Action) -> bool,
) -> Action {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(a)) if pred(&a) => return a,
            Ok(Some(_)) => continue,
            _ => panic!("no {what} within 5 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_loads_follows_changes_and_runs_commands() {
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    let ns = Namespace::new("synctest").expect("namespace");
    let store = Store::new(conn::connect(&opts).await.expect("connect"), ns);
    store.ensure_meta().await.expect("meta");
    for i in 0..3 {
        store
            .create(&CreateRequest::new(format!("key-{i}")))
            .await
            .expect("create");
    }

    let (tx, mut rx) = unbounded_channel();
    let commands = keytui::tui::sync::spawn(store.clone(), opts, tx, false);
    let first = next_matching(&mut rx, "first page", |a| {
        matches!(a, Action::FirstPage { .. })
    })
    .await;
    let Action::FirstPage { records, total, .. } = first else {
        unreachable!()
    };
    assert_eq!((records.len(), total), (3, 3));
    assert_eq!(records[0].name, "key-2");

    // Another client revokes a key: the change arrives without a reload.
    let id = records[1].id.clone();
    store.revoke(&id, Some("test")).await.expect("revoke");
    next_matching(
        &mut rx,
        "record change",
        |a| matches!(a, Action::RecordChanged(r) if r.id == id && r.revoked),
    )
    .await;

    // Another client deletes one: it is dropped.
    let gone = records[2].id.clone();
    store.delete(&gone).await.expect("delete");
    next_matching(
        &mut rx,
        "record gone",
        |a| matches!(a, Action::RecordGone { id } if *id == gone),
    )
    .await;

    // A create through the sync task comes back with its secret once.
    commands
        .send(Command::Create(Box::new(CreateRequest::new("from-tui"))))
        .expect("send");
    let created = next_matching(&mut rx, "created", |a| matches!(a, Action::Created { .. })).await;
    let Action::Created { created, .. } = created else {
        unreachable!()
    };
    assert_eq!(created.record.name, "from-tui");
    assert!(!created.secret.expose().is_empty());
    drop(server);
}
