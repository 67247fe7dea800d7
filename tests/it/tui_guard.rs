//! Slips of the hand in the real TUI (a private tmux server) against a real redis-server:
//! a bracketed paste into the table triggers nothing, a burst of the rotate key rotates
//! nothing, rotate asks first with a choice of grace period, and a key rotated before
//! needs an explicit extra step. Every step waits for the screen or Redis; no sleeps.

use serde_json::Value;

use crate::common;
use crate::common::spawn::{TuiHome, bin, create_key, env_refs, json, run, show_key};
use crate::common::tmux::{Tmux, sh_quote, wait_for};

fn keys(url: &str, ns: &str) -> Vec<Value> {
    json(url, ns, &["list", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// The ops of the audit log, oldest first.
fn ops(url: &str, ns: &str) -> Vec<String> {
    let o = run(url, ns, &["events", "--json", "--count", "1000"]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Pastes `text` into the first window as a bracketed paste (when the program asked
/// for one; otherwise tmux types it).
fn bracketed_paste(t: &Tmux, text: &str) {
    t.run(["set-buffer", "-b", "guard", "--", text]);
    t.run(["paste-buffer", "-p", "-b", "guard", "-t", "main:0"]);
}

#[test]
fn pastes_and_key_bursts_never_rotate_and_rotate_asks_first() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("tuiguard");
    let old = json(&url, &ns, &["create", "--name", "guarded-svc", "--json"]);
    let old_id = old["id"].as_str().unwrap().to_owned();
    let home = TuiHome::new();
    let script = format!(
        "{} {} -n {} --log-file {}",
        sh_quote(bin()),
        sh_quote(&url),
        sh_quote(&ns),
        sh_quote(home.log())
    );
    let t = Tmux::start(100, 30, &env_refs(&home.env("tui-guard")), &script);
    t.wait_until("the key in a live table", |s| {
        s.contains("guarded-svc") && s.contains("live")
    });

    // 1. A paste into the table: the letters of rotate, revoke + confirm, delete, quit.
    bracketed_paste(&t, "rrrrrr\ndydyDq\n");
    t.wait_for("paste ignored");
    assert_eq!(keys(&url, &ns).len(), 1);
    assert_eq!(ops(&url, &ns), ["init", "create"]);

    // 2. A burst of the rotate key: one dialog, the rest typed into its grace field.
    t.keys(&["r", "r", "r", "r", "r", "r"]);
    t.wait_for("24hrrrrr");
    t.keys(&["Enter"]);
    t.wait_for("grace period: give a duration");
    t.keys(&["Escape"]);
    t.wait_for("rotate cancelled");
    assert_eq!(keys(&url, &ns).len(), 1);
    assert_eq!(ops(&url, &ns), ["init", "create"]);

    // 3. Rotate with a chosen grace period: Down from 24h is 7d.
    t.keys(&["r"]);
    t.wait_for("> 24h");
    t.keys(&["Down"]);
    t.wait_for("> 7d");
    t.keys(&["Enter"]);
    // The reveal of the successor, titled after the old key. (Not just "new key": the
    // dialog that is still open says "A new key of the same name", and so does the footer.)
    let revealed = format!("rotated {old_id}: new key");
    t.wait_for(&revealed);
    let shown = json(&url, &ns, &["show", &old_id, "--json"]);
    let first = shown["rotated_to"].as_str().unwrap().to_owned();
    let expires = shown["expires_at"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    let left = expires - jiff::Timestamp::now().as_millisecond();
    assert!(
        (6 * 86_400_000..=7 * 86_400_000 + 1000).contains(&left),
        "old key expires in {left} ms, not 7 days"
    );
    t.keys(&["Escape"]);
    t.wait_for("not shown again");

    // 4. The old key again: the dialog says it was rotated, Enter alone does nothing.
    let screen = t.screen();
    let at = |id: &str| screen.lines().position(|l| l.contains(&id[..8]));
    wait_for("both rows", || at(&old_id).zip(at(&first)));
    // the new key is newest and selected; the old one is the next row
    t.keys(&["j", "r"]);
    t.wait_for("Already rotated");
    t.keys(&["Enter"]);
    t.wait_for("this key was rotated before");
    assert_eq!(keys(&url, &ns).len(), 2);
    // the explicit extra step: Tab to the field, type `again`
    t.keys(&["Tab"]);
    t.type_text("again");
    t.keys(&["Enter"]);
    t.wait_for(&revealed);
    wait_for("a third key", || (keys(&url, &ns).len() == 3).then_some(()));
    let shown = json(&url, &ns, &["show", &old_id, "--json"]);
    assert_eq!(
        shown["rotated_to"],
        first.as_str(),
        "first successor orphaned"
    );
    t.keys(&["Escape"]);
    t.keys(&["q"]);
}

/// `doctor --repair --delete-malformed` on a terminal in a production namespace asks for the
/// namespace name, like revoke: a `y` is not enough and deletes nothing.
#[test]
fn deleting_malformed_records_in_production_needs_the_typed_name() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("prodmal");
    run(&url, &ns, &["init", "--production"]);
    let record = format!("{ns}:key:{{Bad1}}");
    let mut c = server.connection();
    let _: () = redis::cmd("SET")
        .arg(&record)
        .arg("x")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(format!("{{{ns}}}:index"))
        .arg(1)
        .arg("Bad1")
        .query(&mut c)
        .unwrap();
    let home = TuiHome::new();
    let script = format!(
        "{} {} -n {} doctor --repair --delete-malformed; echo EXIT=$?",
        sh_quote(bin()),
        sh_quote(&url),
        sh_quote(&ns),
    );
    let t = Tmux::start(200, 30, &env_refs(&home.env("prod-malformed")), &script);
    t.wait_for("type its name");
    t.type_text("y");
    t.keys(&["Enter"]);
    t.wait_for("EXIT=");
    let exists: bool = redis::cmd("EXISTS").arg(&record).query(&mut c).unwrap();
    assert!(exists, "deleted after a plain y in production");
    // The typed name goes on.
    let script = format!(
        "{} {} -n {} doctor --repair --delete-malformed; echo DONE=$?",
        sh_quote(bin()),
        sh_quote(&url),
        sh_quote(&ns),
    );
    let t = Tmux::start(200, 30, &env_refs(&home.env("prod-malformed")), &script);
    t.wait_for("type its name");
    t.type_text(&ns);
    t.keys(&["Enter"]);
    t.wait_for("DONE=");
    let exists: bool = redis::cmd("EXISTS").arg(&record).query(&mut c).unwrap();
    assert!(!exists, "not deleted after the typed name");
}

/// `revoke` on a terminal in a production namespace with the wrong name typed is a "no":
/// exit 3 (declined, nothing changed) like every other declined prompt, not 2 (an error).
#[test]
fn revoke_in_production_with_a_wrong_typed_name_exits_declined() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("proddecl");
    run(&url, &ns, &["init", "--production"]);
    let id = create_key(&url, &ns, "svc", &[])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let home = TuiHome::new();
    let script = format!(
        "{} {} -n {} revoke {}; echo EXIT=$?",
        sh_quote(bin()),
        sh_quote(&url),
        sh_quote(&ns),
        sh_quote(&id),
    );
    let t = Tmux::start(200, 30, &env_refs(&home.env("prod-declined")), &script);
    t.wait_for("type its name");
    t.type_text("not-the-namespace");
    t.keys(&["Enter"]);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=3"), "{screen}");
    assert!(screen.contains("not confirmed"), "{screen}");
    assert_eq!(show_key(&url, &ns, &id)["status"], "active");
}

/// `upgrade` on a terminal asks first; in a production namespace a `y` is not enough and
/// changes nothing, the typed name goes on.
#[test]
fn upgrading_a_production_namespace_needs_the_typed_name() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("produp");
    run(&url, &ns, &["init", "--production"]);
    create_key(&url, &ns, "old", &[]);
    let mut c = server.connection();
    let meta = format!("{{{ns}}}:meta");
    let _: () = redis::cmd("HSET")
        .arg(&meta)
        .arg("layout")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let layout = |c: &mut redis::Connection| -> String {
        redis::cmd("HGET")
            .arg(&meta)
            .arg("layout")
            .query(c)
            .unwrap()
    };
    let home = TuiHome::new();
    let script = |mark: &str| {
        format!(
            "{} {} -n {} upgrade; echo {mark}=$?",
            sh_quote(bin()),
            sh_quote(&url),
            sh_quote(&ns),
        )
    };
    let t = Tmux::start(
        200,
        30,
        &env_refs(&home.env("prod-upgrade")),
        &script("EXIT"),
    );
    t.wait_for("type its name");
    assert!(
        t.screen()
            .contains("close older keytui TUIs and scripts first")
    );
    t.type_text("y");
    t.keys(&["Enter"]);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=3"), "declined: exit 3\n{screen}");
    assert_eq!(
        layout(&mut c),
        "1",
        "upgraded after a plain y in production"
    );
    let t = Tmux::start(
        200,
        30,
        &env_refs(&home.env("prod-upgrade")),
        &script("DONE"),
    );
    t.wait_for("type its name");
    t.type_text(&ns);
    t.keys(&["Enter"]);
    let screen = t.wait_for("DONE=");
    assert!(screen.contains("DONE=0"), "{screen}");
    assert_eq!(layout(&mut c), "2", "not upgraded after the typed name");
}
