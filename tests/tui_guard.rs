//! Slips of the hand in the real TUI (a private tmux server) against a real redis-server:
//! a bracketed paste into the table triggers nothing, a burst of the rotate key rotates
//! nothing, rotate asks first with a choice of grace period, and a key rotated before
//! needs an explicit extra step. Every step waits for the screen or Redis; no sleeps.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::tmux::{Tmux, WAIT, sh_quote};
use serde_json::Value;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keytui")
}

fn cli_json(url: &str, ns: &str, args: &[&str]) -> Value {
    let o = Command::new(bin())
        .env_remove("REDIS_URL")
        .env_remove("KEYTUI_NAMESPACE")
        .env_remove("KEYTUI_PEPPER")
        .env("KEYTUI_ACTOR", "tui-guard-cli")
        .arg(url)
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "keytui {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap()
}

fn keys(url: &str, ns: &str) -> Vec<Value> {
    cli_json(url, ns, &["list", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// The ops of the audit log, oldest first.
fn ops(url: &str, ns: &str) -> Vec<String> {
    let o = Command::new(bin())
        .env_remove("REDIS_URL")
        .arg(url)
        .args(["-n", ns, "events", "--json", "--count", "1000"])
        .output()
        .unwrap();
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

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let old = cli_json(&url, &ns, &["create", "--name", "guarded-svc", "--json"]);
    let old_id = old["id"].as_str().unwrap().to_owned();
    let home = tempfile::tempdir().unwrap();
    for d in ["config", "state"] {
        std::fs::create_dir_all(home.path().join(d)).unwrap();
    }
    let (config, state) = (
        home.path().join("config").display().to_string(),
        home.path().join("state").display().to_string(),
    );
    let script = format!(
        "{} {} -n {} --log-file {}",
        sh_quote(bin()),
        sh_quote(&url),
        sh_quote(&ns),
        sh_quote(home.path().join("keytui.log"))
    );
    let t = Tmux::start(
        100,
        30,
        &[
            ("XDG_CONFIG_HOME", config.as_str()),
            ("XDG_STATE_HOME", state.as_str()),
            ("KEYTUI_ACTOR", "tui-guard"),
        ],
        &script,
    );
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
    t.wait_for("new key");
    let shown = cli_json(&url, &ns, &["show", &old_id, "--json"]);
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
    t.wait_for("new key");
    wait_for("a third key", || (keys(&url, &ns).len() == 3).then_some(()));
    let shown = cli_json(&url, &ns, &["show", &old_id, "--json"]);
    assert_eq!(
        shown["rotated_to"],
        first.as_str(),
        "first successor orphaned"
    );
    t.keys(&["Escape"]);
    t.keys(&["q"]);
}
