//! The real TUI (a private tmux server) against a real redis-server, for the daily work of
//! issue 11's part C: a leaked token pasted into the table (looked up, selected, revoked
//! in one confirmation, never shown or logged), the namespace picker switching in place,
//! the detail view scrolling and following changes made elsewhere, and damaged records
//! marked. Every step waits for the screen or Redis; no sleeps.

use std::time::Duration;

use keytui::conn::ConnectOptions;
use keytui::keygen::{Secret, Token};
use keytui::store::{CreateRequest, Rejection, Verdict};
use keytui::tui::msg::{LeakFound, Msg, SyncCmd};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::common;
use crate::common::Target;
use crate::common::spawn::{TuiHome, bin, create_key, env_refs, keytui, show_key};
use crate::common::tmux::{Tmux, sh_quote};

fn start(url: &str, ns: &str, home: &TuiHome, width: u16, height: u16) -> Tmux {
    let script = format!(
        "{} {} -n {} --log-file {}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(url),
        sh_quote(ns),
        sh_quote(home.log())
    );
    Tmux::start(width, height, &env_refs(&home.env("tui-leak")), &script)
}

/// Pastes `text` as a bracketed paste (the TUI turns bracketed paste on).
fn paste(t: &Tmux, text: &str) {
    t.run(["set-buffer", "-b", "leak", "--", text]);
    t.run(["paste-buffer", "-p", "-b", "leak", "-t", "main:0"]);
}

/// A token of key `id` with this secret and a valid checksum.
fn token_of(prefix: Option<&str>, id: &str, secret: &str) -> String {
    Token::new(
        prefix.map(str::to_owned),
        id.to_owned(),
        Secret::new(secret.to_owned()),
        true,
    )
    .expect("token")
    .format()
    .expose()
    .to_owned()
}

#[test]
fn a_pasted_token_is_judged_selected_and_revoked_in_one_confirmation() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("tuileak");
    let leaked = create_key(&url, &ns, "billing-service", &[]);
    create_key(&url, &ns, "other-a", &[]);
    create_key(&url, &ns, "other-b", &[]);
    let id = leaked["id"].as_str().unwrap().to_owned();
    let token = leaked["token"].as_str().unwrap().to_owned();
    let secret = leaked["secret"].as_str().unwrap().to_owned();
    let home = TuiHome::new();
    let t = start(&url, &ns, &home, 120, 30);
    t.wait_until("three keys, live", |s| {
        s.contains("billing-service") && s.contains("other-b") && s.contains("live")
    });
    // A filter that hides the leaked key.
    t.keys(&["/"]);
    t.type_text("other");
    t.keys(&["Enter"]);
    t.wait_until("the filter to hide the key", |s| {
        !s.contains("billing-service") && s.contains("other-a")
    });

    // The token inside a log line: checked, looked up, selected (the filter cleared).
    paste(
        &t,
        &format!("2026-01-01 WARN 401 Authorization: Bearer {token} from 10.0.0.1\n"),
    );
    let screen = t.wait_for("valid key billing-service, active, never used: d revokes it");
    assert!(
        !screen.contains(&secret),
        "the secret is on screen:\n{screen}"
    );
    assert!(screen.contains("other-a"), "{screen}");
    // d: the usual revoke dialog for that key; y revokes it.
    t.keys(&["d"]);
    let screen = t.wait_for("Revoke key");
    assert!(screen.contains("billing-service"), "{screen}");
    t.keys(&["y"]);
    common::tmux::wait_for("the key revoked in Redis", || {
        (show_key(&url, &ns, &id)["status"] == "revoked").then_some(())
    });

    // The same token again: revoked now.
    paste(&t, &token);
    t.wait_for("key billing-service was revoked");
    // The right key, another secret.
    let other = create_key(&url, &ns, "wrong-secret-target", &[]);
    let other_id = other["id"].as_str().unwrap();
    let prefix = Token::parse(&token).unwrap().prefix;
    paste(
        &t,
        &token_of(prefix.as_deref(), other_id, "NotTheSecretNotTheSecret1"),
    );
    t.wait_for("secret does not match key wrong-secret-target");
    // A well-formed token of no key here.
    paste(
        &t,
        &token_of(prefix.as_deref(), "Knosuchkey123", "Whatever1Whatever2"),
    );
    t.wait_for("well-formed but no such key in this namespace (id Knosuchkey123)");
    // A typo: the checksum fails, nothing is looked up.
    let last = token.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &token[..token.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    paste(&t, &typo);
    t.wait_for("checksum fails: not a keytui token");

    // The pasted text never reached the log (read once keytui has exited).
    t.keys(&["q"]);
    t.wait_for("EXITED:0");
    let log = std::fs::read_to_string(home.log()).expect("the log");
    assert!(
        log.contains("first_rows_drawn"),
        "the log is not this run's:\n{log}"
    );
    assert!(!log.contains(&secret), "the secret is in the log");
    assert!(
        !log.contains("NotTheSecret"),
        "a pasted secret is in the log"
    );
}

#[test]
fn the_namespace_picker_switches_in_place_and_the_banner_follows() {
    let url = common::shared_server().url();
    let first = common::unique_namespace("tuinsa");
    let second = common::unique_namespace("tuinsb");
    create_key(&url, &first, "alpha-key", &[]);
    keytui(&url, &second)
        .args(["init", "--production"])
        .assert()
        .success();
    create_key(&url, &second, "beta-key", &[]);
    let home = TuiHome::new();
    let t = start(&url, &first, &home, 120, 30);
    t.wait_until("the first namespace, live", |s| {
        s.contains("alpha-key") && s.contains("live")
    });
    assert!(!t.screen().contains("PRODUCTION"));

    t.keys(&["N"]);
    t.wait_for("namespaces · Enter switches");
    t.type_text(&second);
    t.wait_until("the second namespace alone in the picker", |s| {
        s.contains(&format!("> {second}"))
            && s.contains(&format!("  {second}"))
            && s.contains("PRODUCTION")
            && !s.contains(&format!("* {first}"))
    });
    t.keys(&["Enter"]);
    let screen = t.wait_until("the second namespace's keys", |s| {
        s.contains("beta-key") && s.contains("switched to namespace")
    });
    assert!(!screen.contains("alpha-key"), "{screen}");
    assert!(screen.contains(&second), "{screen}");
    assert!(screen.contains("PRODUCTION"), "the banner:\n{screen}");

    // The new namespace is followed live; the old one no longer is.
    create_key(&url, &first, "delta-key", &[]);
    create_key(&url, &second, "gamma-key", &[]);
    let screen = t.wait_for("gamma-key");
    assert!(!screen.contains("delta-key"), "{screen}");
    // And its keys act there: revoke asks for the typed namespace (production).
    t.keys(&["d"]);
    t.wait_for("Revoke key");
    t.keys(&["Escape"]);
}

#[test]
fn the_detail_view_scrolls_and_follows_changes_made_elsewhere() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("tuidetail");
    let k = create_key(&url, &ns, "watched-key", &["--meta", "owner=team-a"]);
    let id = k["id"].as_str().unwrap().to_owned();
    // Enough history that the view does not fit a short terminal.
    for i in 0..12 {
        keytui(&url, &ns)
            .args(["edit", &id, "--meta", &format!("step={i}")])
            .assert()
            .success();
    }
    let home = TuiHome::new();
    let t = start(&url, &ns, &home, 100, 16);
    t.wait_until("the key, live", |s| {
        s.contains("watched-key") && s.contains("live")
    });
    t.keys(&["Enter"]);
    let screen = t.wait_for("↓ more");
    assert!(screen.contains("● active"), "{screen}");
    // At the end the history shows `reading…` until it is read; then to the end again,
    // which it has made longer.
    t.keys(&["G"]);
    t.wait_until("the history read", |s| {
        s.contains("cli-test (") && !s.contains("reading…")
    });
    t.keys(&["G"]);
    let screen = t.wait_until("the end of the history", |s| {
        s.contains("↑ more") && !s.contains("↓ more")
    });
    assert!(screen.contains("create  "), "the oldest event:\n{screen}");
    t.keys(&["g"]);
    t.wait_until("the top again", |s| {
        !s.contains("↑ more") && s.contains("● active")
    });

    // Revoked elsewhere: the view shows it, and the revoke joins the history.
    keytui(&url, &ns)
        .args(["revoke", &id, "--reason", "rotated-by-ops", "--yes"])
        .assert()
        .success();
    t.wait_until("the revoke in the view", |s| {
        s.contains("✗ revoked") && s.contains("rotated-by-ops")
    });
    // Deleted elsewhere: said in the view.
    keytui(&url, &ns)
        .args(["delete", &id, "--yes"])
        .assert()
        .success();
    t.wait_for("was deleted elsewhere");
}

#[test]
fn a_damaged_record_is_marked_in_the_table_and_explained_in_its_details() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tuidamaged");
    let k = create_key(&url, &ns, "damaged-key", &[]);
    create_key(&url, &ns, "sound-key", &[]);
    let id = k["id"].as_str().unwrap();
    let key = keytui::layout::Namespace::new(&ns).unwrap().record_key(id);
    let mut c = server.connection();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("meta")
        .arg("not json")
        .query(&mut c)
        .unwrap();
    let home = TuiHome::new();
    let t = start(&url, &ns, &home, 120, 30);
    let screen = t.wait_until("both keys, live", |s| {
        s.contains("damaged-key") && s.contains("sound-key") && s.contains("live")
    });
    assert!(screen.contains("[damaged] damaged-key"), "{screen}");
    assert!(!screen.contains("[damaged] sound-key"), "{screen}");
    // damaged-key is the older one: the second row.
    t.keys(&["j", "Enter"]);
    let screen = t.wait_for("audit events");
    assert!(
        screen.contains("damaged field meta is not a JSON object of strings"),
        "{screen}"
    );
}

on_both!(the_sync_task_judges_pasted_tokens_and_lists_namespaces);

/// The next message of the sync task that `pred` accepts (others are skipped).
async fn next_where(
    rx: &mut UnboundedReceiver<Msg>,
    what: &str,
    pred: impl Fn(&Msg) -> bool,
) -> Msg {
    let wait = Duration::from_secs(30);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(m)) if pred(&m) => return m,
            Ok(Some(_)) => continue,
            _ => panic!("no {what} within {wait:?}"),
        }
    }
}

/// The verdict of the sync task on a pasted token of key `id`.
async fn lookup(
    cmds: &tokio::sync::mpsc::UnboundedSender<SyncCmd>,
    rx: &mut UnboundedReceiver<Msg>,
    id: &str,
    token: String,
) -> LeakFound {
    cmds.send(SyncCmd::Lookup {
        id: id.to_owned(),
        token: Secret::new(token),
    })
    .expect("send");
    match next_where(
        rx,
        "lookup answer",
        |m| matches!(m, Msg::Leak { id: i, .. } if i == id),
    )
    .await
    {
        Msg::Leak { found, .. } => found,
        _ => unreachable!(),
    }
}

/// The sync task (standalone and cluster): a pasted token's key read and the token verified
/// (every verdict), without recording a use; the namespaces listed for the picker.
async fn the_sync_task_judges_pasted_tokens_and_lists_namespaces(t: Target) {
    let store = common::data::store(t, "tuileaksync").await;
    store.ensure_meta().await.expect("meta");
    let created = store
        .create(&CreateRequest::new("leaky"))
        .await
        .expect("create");
    let id = created.record.id.clone();
    let token = created.token.expose().to_owned();
    let prefix = Token::parse(&token).expect("token").prefix;
    let (tx, mut rx) = unbounded_channel();
    let cmds = keytui::tui::sync::spawn(store.clone(), ConnectOptions::new(t.url()), tx, false);

    let found = lookup(&cmds, &mut rx, &id, token.clone()).await;
    assert!(
        matches!(&found, LeakFound::Key(Verdict::Valid { id: i, name }) if *i == id && name == "leaky"),
        "{found:?}"
    );
    // Looking a leak up is no use of the key.
    assert_eq!(store.get(&id).await.expect("get").last_used_at, None);
    let wrong = token_of(prefix.as_deref(), &id, "NotTheSecretNotTheSecret1");
    assert_eq!(
        lookup(&cmds, &mut rx, &id, wrong).await,
        LeakFound::Key(Verdict::Rejected(Rejection::WrongSecret))
    );
    let nobody = token_of(prefix.as_deref(), "Knosuchkey123", "Whatever1Whatever2");
    assert_eq!(
        lookup(&cmds, &mut rx, "Knosuchkey123", nobody).await,
        LeakFound::Missing
    );
    store.revoke(&id, Some("leaked")).await.expect("revoke");
    assert_eq!(
        lookup(&cmds, &mut rx, &id, token).await,
        LeakFound::Key(Verdict::Rejected(Rejection::Revoked))
    );

    cmds.send(SyncCmd::Namespaces).expect("send");
    let Msg::Namespaces(list) = next_where(&mut rx, "the namespaces", |m| {
        matches!(m, Msg::Namespaces(_))
    })
    .await
    else {
        unreachable!()
    };
    let ns = store.namespace().as_str();
    let mine = list
        .iter()
        .find(|n| n.name == ns)
        .unwrap_or_else(|| panic!("{ns} not in {list:?}"));
    assert_eq!((mine.keys, mine.production), (1, false));
}
