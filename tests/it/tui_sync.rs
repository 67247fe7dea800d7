//! The TUI's sync task against a real, private redis-server: the first page arrives, and a
//! change made by another client shows up as a typed action without a reload.

use std::time::Duration;

use keytui::conn::{self, ConnectOptions};
use keytui::layout::Namespace;
use keytui::store::{CreateRequest, Store};
use keytui::tui::demo::DemoServer;
use keytui::tui::msg::{Msg as Action, Out, SyncCmd as Command, SyncOp};
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
    next_matching(&mut rx, "record change", |a| {
        changed(a, |r| r.id == id && r.revoked)
    })
    .await;

    // Another client deletes one: it is dropped.
    let gone = records[2].id.clone();
    store.delete(&gone).await.expect("delete");
    next_matching(&mut rx, "record gone", |a| gone_id(a, &gone)).await;

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
        oldest < now - 150 * day && oldest > now - 181 * day,
        "oldest {oldest}"
    );
    assert!(newest > now - 3 * day, "newest {newest}");
    let used: Vec<_> = page.records.iter().filter_map(|r| r.last_used_at).collect();
    assert!(used.len() >= 25 && used.len() < 50, "{} used", used.len());
    // The "unused for 90 days" view has keys in it (the screenshot shows that sweep).
    let unused_90 = page
        .records
        .iter()
        .filter(|r| r.last_used_at.unwrap_or(r.created_at) < now - 90 * day)
        .count();
    assert!(unused_90 >= 5, "{unused_90} unused for 90 days");
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
            matches!(a, Action::SecretRead { .. } | Action::Failed { .. })
        })
        .await;
        match (mode, answer) {
            (Mode::Plain, Action::SecretRead { name, secret }) => {
                assert_eq!(secret.expose(), created.secret.expose());
                assert_eq!(name, "stored");
            }
            (Mode::Hash, Action::Failed { op, error }) => {
                assert_eq!(op, SyncOp::ReadSecret, "{error}");
            }
            (_, other) => panic!("{mode}: unexpected {other:?}"),
        }
        commands
            .send(Command::Revoke {
                id: id.clone(),
                reason: Some("from the dialog".into()),
            })
            .expect("send");
        next_matching(&mut rx, "revoked", |a| {
            changed(a, |r| r.id == id && r.revoked)
        })
        .await;
        let r = store.get(&id).await.expect("get");
        assert_eq!(r.revoked_reason.as_deref(), Some("from the dialog"));
    }
    drop(server);
}

// ---------------------------------------------------------------------------------------
// Faults: restarts, damaged records, old history. Each test drives the sync task through a
// real `State`, as the TUI does: actions go through `update`, and the commands it returns
// for the sync task go back to it.
// ---------------------------------------------------------------------------------------

use crate::common;
use crate::common::data::raw_at;
use keytui::record::now_ms;
use keytui::tui::keymap::Keymap;
use keytui::tui::state::{ConnState, ServerInfo, State, update};
use keytui::tui::sync::SyncOptions;
use tokio::sync::mpsc::UnboundedSender;

/// How long a condition may take to come true (generous: loaded 2-core machines).
const UI_WAIT: Duration = Duration::from_secs(30);

/// The sync task and a `State` in front of it.
struct Ui {
    state: State,
    rx: UnboundedReceiver<Action>,
    commands: UnboundedSender<Command>,
    /// Every status-line text seen, in order.
    said: Vec<String>,
}

impl Ui {
    fn start(store: &Store, opts: &ConnectOptions, options: SyncOptions) -> Ui {
        let (tx, rx) = unbounded_channel();
        let commands = keytui::tui::sync::spawn_with(store.clone(), opts.clone(), tx, options);
        let state = State::new(ServerInfo::default(), Keymap::default(), 30, now_ms());
        Ui {
            state,
            rx,
            commands,
            said: Vec::new(),
        }
    }

    fn apply(&mut self, action: Action) {
        self.state.now = now_ms();
        for cmd in update(&mut self.state, action) {
            if let Out::Sync(cmd) = cmd {
                self.commands.send(cmd).expect("sync task alive");
            }
        }
        if let Some(m) = &self.state.message
            && self.said.last() != Some(&m.text)
        {
            self.said.push(m.text.clone());
        }
    }

    /// Applies actions until `done(state)` holds; panics after [`UI_WAIT`].
    async fn until(&mut self, what: &str, mut done: impl FnMut(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + UI_WAIT;
        while !done(&self.state) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(a)) => self.apply(a),
                _ => panic!(
                    "no {what} within {UI_WAIT:?}; conn {:?}, {} rows, said {:?}",
                    self.state.conn,
                    self.state.records.len(),
                    self.said
                ),
            }
        }
    }

    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .state
            .records
            .iter()
            .map(|r| r.name().to_owned())
            .collect();
        n.sort();
        n
    }
}

/// A server with AOF written on every change, so a `kill -9` loses nothing.
fn aof_server() -> common::RedisServer {
    common::RedisServer::builder()
        .extra_args(&["--appendonly", "yes", "--appendfsync", "always"])
        .start()
}

async fn store_on(url: &str, ns: &str) -> (Store, ConnectOptions) {
    let opts = ConnectOptions::new(url);
    let store = Store::new(raw_at(url).await, Namespace::new(ns).expect("namespace"));
    (store, opts)
}

/// Another client (as `keytui create` in another terminal): its own connection.
async fn create_elsewhere(url: &str, ns: &str, name: &str) -> String {
    let (store, _) = store_on(url, ns).await;
    store
        .create(&CreateRequest::new(name))
        .await
        .expect("create elsewhere")
        .record
        .id
}

/// A blocking read much longer than any wait below: "live" must come from catching up,
/// never from a blocking read that timed out.
fn long_block() -> SyncOptions {
    SyncOptions {
        block: Duration::from_secs(120),
        ..SyncOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_changes_after_a_kill9_and_restart_with_aof() {
    let mut server = aof_server();
    let url = server.url();
    let ns = "restart-aof";
    let (store, opts) = store_on(&url, ns).await;
    for name in ["before-1", "before-2"] {
        store
            .create(&CreateRequest::new(name))
            .await
            .expect("create");
    }
    let mut ui = Ui::start(&store, &opts, long_block());
    ui.until("both keys, live", |s| {
        s.records.len() == 2 && s.conn == ConnState::Live
    })
    .await;

    server.kill9();
    ui.until("the connection loss", |s| s.conn != ConnState::Live)
        .await;
    server.restart(false);
    // Live again as soon as it is back and caught up (the blocking read waits 120 s).
    ui.until("live again", |s| s.conn == ConnState::Live).await;

    // A key created elsewhere after the restart shows up: the event is not skipped.
    create_elsewhere(&url, ns, "after-restart").await;
    ui.until("the key created after the restart", |s| {
        s.records.iter().any(|r| r.name() == "after-restart")
    })
    .await;
    assert_eq!(ui.names(), ["after-restart", "before-1", "before-2"]);
    // The same data came back: nothing to reload.
    assert!(
        !ui.said.iter().any(|m| m.contains("reload")),
        "{:?}",
        ui.said
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reloads_when_redis_comes_back_empty() {
    let mut server = aof_server();
    let url = server.url();
    let ns = "restart-empty";
    let (store, opts) = store_on(&url, ns).await;
    for name in ["gone-1", "gone-2"] {
        store
            .create(&CreateRequest::new(name))
            .await
            .expect("create");
    }
    let mut ui = Ui::start(&store, &opts, long_block());
    ui.until("both keys, live", |s| {
        s.records.len() == 2 && s.conn == ConnState::Live
    })
    .await;

    server.kill9();
    ui.until("the connection loss", |s| s.conn != ConnState::Live)
        .await;
    server.restart(true);
    ui.until("the keys that no longer exist to disappear", |s| {
        s.records.is_empty() && s.conn == ConnState::Live
    })
    .await;
    assert!(
        ui.said.iter().any(|m| m.contains("restarted")),
        "no message saying why: {:?}",
        ui.said
    );
    // And it follows the new server.
    create_elsewhere(&url, ns, "fresh").await;
    ui.until("the new key", |s| s.records.len() == 1).await;
    assert_eq!(ui.names(), ["fresh"]);
}

/// Copies a directory tree (the server's AOF files).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reloads_when_redis_comes_back_from_an_older_snapshot() {
    let mut server = aof_server();
    let url = server.url();
    let ns = "restart-older";
    let (store, opts) = store_on(&url, ns).await;
    store
        .create(&CreateRequest::new("in-snapshot"))
        .await
        .expect("create");
    let aof = server.dir().join("appendonlydir");
    let saved = tempfile::tempdir().expect("tempdir");
    copy_dir(&aof, saved.path());

    let mut ui = Ui::start(&store, &opts, long_block());
    ui.until("the first key, live", |s| {
        s.records.len() == 1 && s.conn == ConnState::Live
    })
    .await;
    create_elsewhere(&url, ns, "after-snapshot").await;
    ui.until("the second key", |s| s.records.len() == 2).await;

    server.kill9();
    ui.until("the connection loss", |s| s.conn != ConnState::Live)
        .await;
    std::fs::remove_dir_all(&aof).expect("rm aof");
    copy_dir(saved.path(), &aof);
    server.restart(false);
    ui.until("the key missing from the snapshot to disappear", |s| {
        s.records.len() == 1 && s.conn == ConnState::Live
    })
    .await;
    assert_eq!(ui.names(), ["in-snapshot"]);
    assert!(
        ui.said.iter().any(|m| m.contains("restarted")),
        "no message saying why: {:?}",
        ui.said
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_loader_skips_damaged_records_and_counts_them_all() {
    use redis::AsyncCommands;
    let server = common::shared_server();
    let url = server.url();
    let ns_name = common::unique_namespace("tui-damage");
    let (store, opts) = store_on(&url, &ns_name).await;
    let ns = store.namespace().clone();
    let good = store
        .create_many(&CreateRequest::new("good"), 1_000, |_| {})
        .await
        .expect("create");
    let mut c = store.conn();
    let now = now_ms();
    // (id, malformed?): written as other programs might.
    let mut damaged: Vec<(String, bool)> = Vec::new();
    for i in 0..40 {
        // Half among the newest (first page), half among the oldest (background reads).
        let score = if i % 2 == 0 { now + 1000 + i } else { 1000 + i };
        let id = format!("Damaged{i}");
        let key = ns.record_key(&id);
        let malformed = match i % 10 {
            0 => {
                let _: () = c.set(&key, "x").await.unwrap(); // wrong type: string
                true
            }
            1 => {
                let _: () = c.rpush(&key, "x").await.unwrap(); // wrong type: list
                true
            }
            2 => {
                let _: () = c.hset(&key, "name", "no-other-fields").await.unwrap();
                true
            }
            3 => {
                let _: () = c
                    .hset_multiple(
                        &key,
                        &[
                            ("id", id.as_str()),
                            ("name", "bad-number"),
                            ("status", "active"),
                            ("secret_alg", "sha256"),
                            ("secret", "00"),
                            ("created_at", &now.to_string()),
                            ("expires_at", "tomorrow"),
                        ],
                    )
                    .await
                    .unwrap();
                true
            }
            4 => {
                let _: () = redis::cmd("HSET")
                    .arg(&key)
                    .arg("id")
                    .arg(&id)
                    .arg("name")
                    .arg("bad-alg")
                    .arg("status")
                    .arg("active")
                    .arg("secret_alg")
                    .arg(&b"\xff\xfe not utf-8"[..])
                    .arg("secret")
                    .arg("00")
                    .arg("created_at")
                    .arg(now)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                true
            }
            5 => {
                // A megabyte of metadata that is not JSON: damaged in a display field only,
                // so it loads (docs/redis-layout.md, "Malformed and damaged records").
                let _: () = c
                    .hset_multiple(
                        &key,
                        &[
                            ("id", id.as_str()),
                            ("name", "huge-meta"),
                            ("status", "active"),
                            ("secret_alg", "sha256"),
                            ("secret", "00"),
                            ("created_at", &now.to_string()),
                            ("meta", &"{".repeat(1 << 20)),
                        ],
                    )
                    .await
                    .unwrap();
                false
            }
            6 => {
                let _: () = c
                    .hset_multiple(
                        &key,
                        &[
                            ("id", id.as_str()),
                            ("name", "unknown-status"),
                            ("status", "paused"),
                            ("secret_alg", "sha256"),
                            ("secret", "00"),
                            ("created_at", &now.to_string()),
                        ],
                    )
                    .await
                    .unwrap();
                true
            }
            7 => {
                let _: () = c.sadd(&key, "x").await.unwrap(); // wrong type: set
                true
            }
            // Dangling index entries: no record at all.
            8 => {
                let _: () = c.zadd(ns.index_key(), &id, score).await.unwrap();
                continue;
            }
            _ => {
                // Valid but odd: control characters in the name.
                let _: () = c
                    .hset_multiple(
                        &key,
                        &[
                            ("id", id.as_str()),
                            ("name", "odd\u{1b}[31m\u{7}name"),
                            ("status", "active"),
                            ("secret_alg", "sha256"),
                            ("secret", "00"),
                            ("created_at", &now.to_string()),
                        ],
                    )
                    .await
                    .unwrap();
                false
            }
        };
        let _: () = c.zadd(ns.index_key(), &id, score).await.unwrap();
        damaged.push((id, malformed));
    }
    let malformed: HashSet<&str> = damaged
        .iter()
        .filter(|(_, m)| *m)
        .map(|(id, _)| id.as_str())
        .collect();
    let mut ui = Ui::start(&store, &opts, SyncOptions::default());
    ui.until("every record loaded", |s| {
        s.loading == keytui::tui::state::Loading::Done
    })
    .await;
    let loaded: HashSet<&str> = ui.state.records.iter().map(|r| r.id()).collect();
    for g in &good {
        assert!(loaded.contains(g.record.id.as_str()), "good key missing");
    }
    for (id, m) in &damaged {
        assert_eq!(loaded.contains(id.as_str()), !m, "{id}");
    }
    assert_eq!(
        ui.state.records.len(),
        1_000 + damaged.len() - malformed.len()
    );
    assert_eq!(ui.state.malformed.len(), malformed.len(), "malformed count");
    assert!(
        !ui.said
            .iter()
            .any(|m| m.contains("failed") || m.contains("stopped")),
        "{:?}",
        ui.said
    );
}

use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_detail_events_reach_back_past_the_newest_events() {
    let server = common::shared_server();
    let url = server.url();
    let ns_name = common::unique_namespace("tui-history");
    let (store, opts) = store_on(&url, &ns_name).await;
    let old = store
        .create(&CreateRequest::new("old-key"))
        .await
        .expect("create");
    let id = old.record.id.clone();
    store.revoke(&id, Some("early")).await.expect("revoke");
    // Then a busy namespace: 6,000 changes of another key.
    let other = store
        .create(&CreateRequest::new("busy"))
        .await
        .expect("create")
        .record
        .id;
    for _ in 0..3_000 {
        store.revoke(&other, None).await.expect("revoke");
        store.restore(&other).await.expect("restore");
    }
    let (tx, mut rx) = unbounded_channel();
    let commands = keytui::tui::sync::spawn(store.clone(), opts, tx, false);
    commands
        .send(Command::LoadDetail { id: id.clone() })
        .expect("send");
    let events = next_matching(
        &mut rx,
        "the key's events",
        |a| matches!(a, Action::DetailEvents { id: d, .. } if *d == id),
    )
    .await;
    let Action::DetailEvents { events, .. } = events else {
        unreachable!()
    };
    let ops: Vec<&str> = events.iter().map(|e| e.op.as_str()).collect();
    assert_eq!(ops, ["create", "revoke"]);
    assert_eq!(events[1].detail.as_deref(), Some("early"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_detail_says_cannot_read_while_redis_is_down_then_reads() {
    use crossterm::event::{KeyCode, KeyEvent};
    use keytui::tui::state::{KeyHistory, Screen};
    let mut server = aof_server();
    let url = server.url();
    let (store, opts) = store_on(&url, "detail-down").await;
    store
        .create(&CreateRequest::new("watched"))
        .await
        .expect("create");
    let mut ui = Ui::start(&store, &opts, SyncOptions::default());
    ui.until("the key", |s| s.records.len() == 1).await;
    server.kill9();
    ui.apply(Action::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(matches!(ui.state.screen, Screen::Detail { .. }));
    ui.until("the detail view to say it cannot read", |s| {
        matches!(s.detail_events, KeyHistory::Unreadable(_))
    })
    .await;
    // Back with its data: asked again, and answered.
    server.restart(false);
    ui.until(
        "the events read again",
        |s| matches!(&s.detail_events, KeyHistory::Loaded(e) if e.iter().any(|e| e.op == "create")),
    )
    .await;
}

/// Writes a record hash that cannot be read (a word where the expiry's number belongs: a
/// field verification depends on, so the record is malformed, not merely damaged), indexed
/// as the newest key, as another program might.
async fn write_malformed(store: &Store, id: &str) {
    use redis::AsyncCommands;
    let ns = store.namespace();
    let mut c = raw_at(&common::shared_server().url()).await;
    let _: () = c
        .hset_multiple(
            ns.record_key(id),
            &[
                ("id", id),
                ("name", "broken"),
                ("status", "active"),
                ("secret_alg", "sha256"),
                ("secret", "00"),
                ("created_at", "1700000000000"),
                ("expires_at", "soon"),
            ],
        )
        .await
        .expect("hset");
    let _: () = c
        .zadd(ns.index_key(), id, now_ms() + 60_000)
        .await
        .expect("zadd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_counts_a_malformed_record_once_however_often_it_changes() {
    use keytui::tui::state::Loading;
    use redis::AsyncCommands;
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-malformed-once");
    let (store, opts) = store_on(&url, &ns).await;
    for i in 0..3 {
        store
            .create(&CreateRequest::new(format!("good-{i}")))
            .await
            .expect("create");
    }
    write_malformed(&store, "Broken1").await;
    // And a dangling index entry: fewer rows than index entries, loading still ends.
    let _: () = store
        .conn()
        .zadd(
            store.namespace().index_key(),
            "Dangling1",
            now_ms() + 30_000,
        )
        .await
        .expect("zadd");
    let mut ui = Ui::start(&store, &opts, SyncOptions::default());
    ui.until("loading done and live", |s| {
        s.loading == Loading::Done && s.conn == ConnState::Live
    })
    .await;
    assert_eq!(ui.state.records.len(), 3);
    assert_eq!(ui.state.malformed.len(), 1);
    // The malformed record is revoked and restored by another client, three times over:
    // each change re-reads it, and it is still one malformed record.
    for _ in 0..3 {
        store.revoke("Broken1", None).await.expect("revoke");
        store.restore("Broken1").await.expect("restore");
    }
    create_elsewhere(&url, &ns, "after").await;
    ui.until("the key created after the changes", |s| {
        s.records.iter().any(|r| r.name() == "after")
    })
    .await;
    assert_eq!(ui.state.malformed.len(), 1, "said {:?}", ui.said);
    assert_eq!(ui.state.loading, Loading::Done);
}

/// The ids in the namespace's index, as a set.
async fn indexed(store: &Store) -> HashSet<String> {
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(store.namespace().index_key())
        .arg(0)
        .arg(-1)
        .query_async(&mut store.conn())
        .await
        .expect("zrange");
    ids.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_loader_misses_no_key_when_newer_ones_are_deleted_between_pages() {
    use keytui::tui::state::Loading;
    use redis::AsyncCommands;
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-page-shift");
    let (store, opts) = store_on(&url, &ns).await;
    let created = store
        .create_many(&CreateRequest::new("k"), 40, |_| {})
        .await
        .expect("create");
    // Old data: scores written before they were strictly ordered tie in groups of four,
    // across the page boundaries (pages of 10).
    let mut c = store.conn();
    for (i, k) in created.iter().enumerate() {
        let _: () = c
            .zadd(
                store.namespace().index_key(),
                &k.record.id,
                1_000_000 + i / 4,
            )
            .await
            .expect("zadd");
    }
    let pages = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let mut ui = Ui::start(
        &store,
        &opts,
        SyncOptions {
            first_page: 10,
            chunk: 10,
            pages: Some(pages.clone()),
            ..SyncOptions::default()
        },
    );
    ui.until("the first page", |s| s.loading != Loading::FirstPage)
        .await;
    assert_eq!(ui.state.records.len(), 10);
    // Another client deletes the five newest keys before the next page is read.
    let newest: Vec<String> = ui.state.records[..5]
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    for id in &newest {
        store.delete(id).await.expect("delete");
    }
    pages.add_permits(1_000);
    let expected = indexed(&store).await;
    assert_eq!(expected.len(), 35);
    ui.until("every key still indexed, loading done, live", |s| {
        s.loading == Loading::Done
            && s.conn == ConnState::Live
            && s.records.len() == expected.len()
            && s.records.iter().all(|r| expected.contains(r.id()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_commands_once_the_namespace_moves_to_a_newer_layout() {
    use redis::AsyncCommands;
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-layout-moved");
    let (store, opts) = store_on(&url, &ns).await;
    let id = store
        .create(&CreateRequest::new("watched"))
        .await
        .expect("create")
        .record
        .id;
    let mut ui = Ui::start(&store, &opts, SyncOptions::default());
    ui.until("the key, live", |s| {
        s.records.len() == 1 && s.conn == ConnState::Live
    })
    .await;
    // Another program moves the namespace to a newer layout while the TUI is open.
    let mut raw = raw_at(&url).await;
    let _: () = raw
        .hset(store.namespace().meta_key(), "layout", 99)
        .await
        .expect("hset");
    ui.commands
        .send(Command::Revoke {
            id: id.clone(),
            reason: None,
        })
        .expect("send");
    ui.until("the refusal", |s| s.conn == ConnState::Refused)
        .await;
    assert!(
        ui.said.iter().any(|m| m.contains("layout version 99")),
        "{:?}",
        ui.said
    );
    let status: Option<String> = raw
        .hget(store.namespace().record_key(&id), "status")
        .await
        .expect("hget");
    assert_eq!(status.as_deref(), Some("active"), "a revoke landed");
}

/// The edit form's command and `t` on the table, through the sync task: an edit comes back
/// as the changed record and `Done`, with one audit event; a token is put together from
/// the stored secret as the key was made (it verifies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_edits_a_key_and_reads_its_whole_token() {
    use keytui::store::{KeyEdit, Mode};
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    let store = Store::new(
        conn::connect(&opts).await.expect("connect"),
        Namespace::new("editns").expect("namespace"),
    );
    store.init(Mode::Plain, false).await.expect("init");
    let mut req = CreateRequest::new("before");
    req.prefix = Some("sk_test".into());
    let created = store.create(&req).await.expect("create");
    let id = created.record.id.clone();
    let (tx, mut rx) = unbounded_channel();
    let commands = keytui::tui::sync::spawn(store.clone(), opts.clone(), tx, false);
    next_matching(&mut rx, "server info", |a| {
        matches!(a, Action::Server { .. })
    })
    .await;

    let mut edit = KeyEdit {
        name: Some("after".into()),
        ..KeyEdit::default()
    };
    edit.set_meta.insert("owner".into(), "ops".into());
    commands
        .send(Command::Edit {
            id: id.clone(),
            edit: Box::new(edit),
        })
        .expect("send");
    next_matching(&mut rx, "the edited record", |a| {
        changed(a, |r| r.id == id && r.name == "after")
    })
    .await;
    next_matching(
        &mut rx,
        "done",
        |a| matches!(a, Action::Done { op: SyncOp::Edit, id: d } if *d == id),
    )
    .await;
    let events = store.key_events(&id).await.expect("events");
    assert_eq!(events.iter().filter(|e| e.op == "edit").count(), 1);

    commands
        .send(Command::ReadToken {
            id: id.clone(),
            name: "after".into(),
            prefix: Some("sk_test".into()),
            checksum: created.record.token_checksum,
        })
        .expect("send");
    match next_matching(&mut rx, "the token", |a| {
        matches!(a, Action::TokenRead { .. } | Action::Failed { .. })
    })
    .await
    {
        Action::TokenRead { name, token } => {
            assert_eq!(name, "after");
            assert_eq!(token.expose(), created.token.expose());
        }
        other => panic!("unexpected {other:?}"),
    }
    drop(server);
}

/// Whether a change-feed message brings a record (alone or in a batch) that `f` accepts.
fn changed(a: &Action, f: impl Fn(&keytui::record::KeyRecord) -> bool) -> bool {
    match a {
        Action::RecordChanged(r) => f(r),
        Action::RecordsChanged(rs) => rs.iter().any(f),
        _ => false,
    }
}

/// Whether a change-feed message says the key `id` is gone (alone or in a batch).
fn gone_id(a: &Action, id: &str) -> bool {
    match a {
        Action::RecordGone { id: g } => g == id,
        Action::RecordsGone(ids) => ids.iter().any(|g| g == id),
        _ => false,
    }
}

/// The loader keeps at most two pages waiting for the UI: a UI that has not taken them in
/// gets no third one (a million records never queue up in the channel); taking one in lets
/// the next come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loader_waits_for_the_ui_to_take_its_pages_in() {
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    let ns = Namespace::new("credits").expect("namespace");
    let store = Store::new(conn::connect(&opts).await.expect("connect"), ns);
    store
        .create_many(&CreateRequest::new("k"), 60, |_| {})
        .await
        .expect("create");
    let (tx, mut rx) = unbounded_channel();
    let _commands = keytui::tui::sync::spawn_with(
        store.clone(),
        opts,
        tx,
        SyncOptions {
            first_page: 10,
            chunk: 10,
            ..SyncOptions::default()
        },
    );
    let is_page = |a: &Action| matches!(a, Action::MoreRecords { .. });
    // Held, not handled: their credits stay taken.
    let first = next_matching(&mut rx, "a page", is_page).await;
    let second = next_matching(&mut rx, "a second page", is_page).await;
    // A third page would follow at once (five are ready); none may come while two are held.
    let waited = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match rx.recv().await {
                Some(a) if is_page(&a) => return a,
                Some(_) => continue,
                None => std::future::pending().await,
            }
        }
    })
    .await;
    assert!(waited.is_err(), "a third page came while two were held");
    drop(first);
    next_matching(&mut rx, "the next page once one is taken in", is_page).await;
    drop(second);
    drop(server);
}

/// When the loader's bulk-read connection dies in the middle of a load (here killed with
/// `CLIENT KILL`, as the server's idle `timeout` would while the UI holds pages), the rest
/// is read through the ordinary connection: every key arrives once, and no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_goes_on_when_its_bulk_read_connection_is_killed() {
    let server = DemoServer::start().await.expect("redis-server");
    let opts = ConnectOptions::new(server.url());
    let ns = Namespace::new("killed").expect("namespace");
    let store = Store::new(conn::connect(&opts).await.expect("connect"), ns);
    let created: HashSet<String> = store
        .create_many(&CreateRequest::new("k"), 100, |_| {})
        .await
        .expect("create")
        .into_iter()
        .map(|c| c.record.id)
        .collect();
    let (tx, mut rx) = unbounded_channel();
    let _commands = keytui::tui::sync::spawn_with(
        store.clone(),
        opts,
        tx,
        SyncOptions {
            first_page: 10,
            chunk: 10,
            ..SyncOptions::default()
        },
    );
    let mut loaded: Vec<String> = Vec::new();
    let mut add = |a: &Action| match a {
        Action::FirstPage { records, .. } => loaded.extend(records.iter().map(|r| r.id.clone())),
        Action::MoreRecords { records, .. } => {
            loaded.extend(records.to_records().into_iter().map(|r| r.id))
        }
        _ => {}
    };
    let first = next_matching(&mut rx, "the first page", |a| {
        matches!(a, Action::FirstPage { .. })
    })
    .await;
    add(&first);
    // Held: the loader waits for it with its bulk-read connection open.
    let held = next_matching(&mut rx, "a page", |a| {
        matches!(a, Action::MoreRecords { .. })
    })
    .await;
    add(&held);
    let mut admin = redis::Client::open(server.url())
        .expect("url")
        .get_connection()
        .expect("admin connection");
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut admin)
        .expect("list");
    let pipe: Vec<&str> = clients
        .lines()
        .filter(|l| l.contains(&format!("name={}", keytui::redis::pipe::PIPE_NAME)))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert_eq!(pipe.len(), 1, "one bulk-read connection open: {clients}");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(pipe[0])
        .query(&mut admin)
        .expect("kill");
    assert_eq!(killed, 1);
    drop(held);
    loop {
        let a = next_matching(&mut rx, "the rest of the load", |a| {
            matches!(a, Action::MoreRecords { .. } | Action::Failed { .. })
        })
        .await;
        assert!(!matches!(a, Action::Failed { .. }), "{a:?}");
        add(&a);
        if matches!(a, Action::MoreRecords { done: true, .. }) {
            break;
        }
    }
    let unique: HashSet<String> = loaded.iter().cloned().collect();
    assert_eq!(loaded.len(), 100, "every key once");
    assert_eq!(unique, created);
    drop(server);
}
