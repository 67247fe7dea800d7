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
    assert_eq!(records[0].name(), "key-2");

    // Another client revokes a key: the change arrives without a reload.
    let id = records[1].id().to_owned();
    store.revoke(&id, Some("test")).await.expect("revoke");
    next_matching(
        &mut rx,
        "record change",
        |a| matches!(a, Action::RecordChanged(r) if r.id == id && r.revoked),
    )
    .await;

    // Another client deletes one: it is dropped.
    let gone = records[2].id().to_owned();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seed_spreads_creation_and_use_and_keeps_records_valid() {
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    let ns = Namespace::new("demotest").expect("namespace");
    let store = Store::new(conn::connect(&opts).await.expect("connect"), ns.clone());
    keytui::tui::demo::seed(&store).await.expect("seed");
    let now = keytui::record::now_ms();
    let day = 86_400_000;

    let page = store.list_all(|_, _| {}).await.expect("list");
    assert_eq!(page.records.len(), 50);
    assert!(page.malformed.is_empty() && page.dangling.is_empty());
    let oldest = page.records.iter().map(|r| r.created_at).min().unwrap();
    let newest = page.records.iter().map(|r| r.created_at).max().unwrap();
    assert!(
        oldest < now - 60 * day && oldest > now - 91 * day,
        "oldest {oldest}"
    );
    assert!(newest > now - 3 * day, "newest {newest}");
    let used: Vec<_> = page.records.iter().filter_map(|r| r.last_used_at).collect();
    assert!(used.len() >= 25 && used.len() < 50, "{} used", used.len());
    let mut c = store.conn();
    for r in &page.records {
        let score: f64 = redis::cmd("ZSCORE")
            .arg(ns.index_key())
            .arg(&r.id)
            .query_async(&mut c)
            .await
            .expect("zscore");
        assert_eq!(score as i64, r.created_at, "index score of {}", r.id);
        if let Some(u) = r.last_used_at {
            assert!(u > r.created_at && u <= now, "{}", r.id);
        }
        if let Some(e) = r.expires_at {
            assert!(e > r.created_at, "{}", r.id);
        }
        if let Some(t) = r.revoked_at {
            assert!(t > r.created_at, "{}", r.id);
        }
    }
    let report = store.doctor(false, &[]).await.expect("doctor");
    assert!(report.is_healthy(), "{report:?}");
    let meta = store.meta().await.expect("meta").expect("meta exists");
    assert!(!meta.production);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reads_stored_secrets_for_copying_and_revokes_with_a_reason() {
    use keytui::store::Mode;
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    for (ns, mode) in [("plainns", Mode::Plain), ("hashns", Mode::Hash)] {
        let store = Store::new(
            conn::connect(&opts).await.expect("connect"),
            Namespace::new(ns).expect("namespace"),
        );
        store.init(mode, true).await.expect("init");
        let created = store
            .create(&CreateRequest::new("stored"))
            .await
            .expect("create");
        let id = created.record.id.clone();
        let (tx, mut rx) = unbounded_channel();
        let commands = keytui::tui::sync::spawn(store.clone(), opts.clone(), tx, false);
        let server_info = next_matching(&mut rx, "server info", |a| {
            matches!(a, Action::Server { .. })
        })
        .await;
        assert!(
            matches!(server_info, Action::Server { mode: Some(m), production: true, .. } if m == mode)
        );
        commands
            .send(Command::ReadSecret {
                id: id.clone(),
                name: "stored".into(),
            })
            .expect("send");
        let answer = next_matching(&mut rx, "secret or failure", |a| {
            matches!(a, Action::SecretRead { .. } | Action::Failed(_))
        })
        .await;
        match (mode, answer) {
            (Mode::Plain, Action::SecretRead { what, secret }) => {
                assert_eq!(secret.expose(), created.secret.expose());
                assert_eq!(what, "the secret of stored");
            }
            (Mode::Hash, Action::Failed(m)) => {
                assert!(m.starts_with("cannot copy the secret:"), "{m}");
            }
            (_, other) => panic!("{mode}: unexpected {other:?}"),
        }
        commands
            .send(Command::Revoke {
                id: id.clone(),
                reason: Some("from the dialog".into()),
            })
            .expect("send");
        next_matching(
            &mut rx,
            "revoked",
            |a| matches!(a, Action::RecordChanged(r) if r.id == id && r.revoked),
        )
        .await;
        let r = store.get(&id).await.expect("get");
        assert_eq!(r.revoked_reason.as_deref(), Some("from the dialog"));
    }
    drop(server);
}
