//! The real `keytui` binary in a real pseudo-terminal (a private tmux server) against a real
//! `redis-server`, with the system clipboard served by a private X server (Xvfb).
//!
//! No fixed sleeps and no timing assertions: every step polls the screen (or Redis, or the
//! clipboard) until what it expects is there, with a generous timeout.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::tmux::{Tmux, WAIT, sh_quote};
use common::xvfb::Xvfb;
use serde_json::Value;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keytui")
}

/// The CLI on the same server and namespace.
fn cli(url: &str, ns: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .env_remove("REDIS_URL")
        .env_remove("KEYTUI_NAMESPACE")
        .env_remove("KEYTUI_PEPPER")
        .env_remove("DISPLAY")
        .env("KEYTUI_ACTOR", "tui-e2e-cli")
        .arg(url)
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(url: &str, ns: &str, args: &[&str]) -> String {
    let o = cli(url, ns, args);
    assert!(
        o.status.success(),
        "keytui {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn cli_json(url: &str, ns: &str, args: &[&str]) -> Value {
    serde_json::from_str(cli_ok(url, ns, args).trim()).unwrap()
}

/// A private directory for config, state and the log, so no user config interferes.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::Builder::new()
                .prefix("keytui-e2e-")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> PathBuf {
        self.path("keytui.log")
    }

    /// The environment of a keytui in tmux (DISPLAY is added by the caller when wanted).
    fn env(&self) -> Vec<(&'static str, String)> {
        for d in ["config", "state"] {
            std::fs::create_dir_all(self.path(d)).unwrap();
        }
        vec![
            ("XDG_CONFIG_HOME", self.path("config").display().to_string()),
            ("XDG_STATE_HOME", self.path("state").display().to_string()),
            ("KEYTUI_LOG", "info".into()),
            ("KEYTUI_ACTOR", "tui-e2e".into()),
        ]
    }
}

/// `keytui URL -n NS --log-file LOG`, then the exit status and whether the tty is back in
/// cooked mode (canonical input), each on a line of its own.
fn tui_script(url: &str, ns: &str, log: &Path) -> String {
    format!(
        "{} {} -n {} --log-file {}; echo EXITED:$?; \
         stty -a | tr ' ;' '\\n\\n' | grep -qx icanon && echo TTY:cooked",
        sh_quote(bin()),
        sh_quote(url),
        sh_quote(ns),
        sh_quote(log)
    )
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The screen line that shows `name` (the table row).
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name))
}

/// The value after `label` on a line of the reveal popup (`│id     ABC…   │`).
fn popup_value(screen: &str, label: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let inner = l.trim().trim_start_matches('│');
        let rest = inner.strip_prefix(label)?;
        let v = rest.trim_start().split(['│', ' ']).next()?;
        (!v.is_empty()).then(|| v.to_owned())
    })
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

/// After `q`: the process exited 0, the alternate screen, mouse mode and raw mode are off
/// and the cursor is visible again.
fn assert_quit_cleanly(t: &Tmux) {
    let screen = t.wait_for("TTY:cooked");
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert!(
        !screen.contains("● live"),
        "the TUI is still drawn:\n{screen}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left on");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse capture left on");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor left hidden");
}

#[test]
fn create_copy_verify_revoke_and_live_changes() {
    let started = Instant::now();
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-e2e");
    let x = Xvfb::start();
    let home = Home::new();
    let mut env = home.env();
    env.push(("DISPLAY", x.display().to_owned()));
    let t = Tmux::start(
        120,
        30,
        &env_refs(&env),
        &tui_script(&url, &ns, &home.log()),
    );

    // Launch on an empty namespace.
    let screen = t.wait_for("no keys yet");
    assert!(screen.contains("● live"), "{screen}");
    assert!(screen.contains(&ns), "{screen}");
    assert!(
        screen.contains("STATUS") && screen.contains("NAME"),
        "{screen}"
    );

    // n, a name, Enter (the other fields keep their defaults: base62, 256 bits, no expiry).
    t.keys(&["n"]);
    t.wait_for("new key");
    t.type_text("e2e-created");
    t.wait_for("e2e-created");
    t.keys(&["Enter"]);
    let screen = t.wait_for("key created");
    assert!(screen.contains("Shown only this once"), "{screen}");
    let shown_secret = popup_value(&screen, "secret").expect("secret on screen");
    let id = popup_value(&screen, "id").expect("id on screen");
    assert_eq!(popup_value(&screen, "name").as_deref(), Some("e2e-created"));

    // Redis has exactly this key.
    let list = cli_json(&url, &ns, &["list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["name"], "e2e-created");
    assert_eq!(list[0]["status"], "active");

    // c: the clipboard (read back through X) holds the secret, and it verifies.
    t.keys(&["c"]);
    let copied = wait_for("the secret in the clipboard", || {
        x.clipboard().filter(|c| !c.trim().is_empty())
    });
    assert_eq!(copied, shown_secret, "the clipboard holds something else");
    t.wait_for("copied the secret");
    let o = Command::new(bin())
        .env_remove("REDIS_URL")
        .env_remove("KEYTUI_PEPPER")
        .args([url.as_str(), "-n", &ns, "verify", &id])
        .write_stdin(format!("{copied}\n"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "the copied secret does not verify: {} {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // Esc: back to the table, the new key selected; d, y: revoked on screen and in Redis.
    t.keys(&["Escape"]);
    let screen = t.wait_until("the table without the reveal popup", |s| {
        !s.contains("key created") && row(s, "e2e-created").is_some()
    });
    assert!(!screen.contains(&shown_secret), "secret still on screen");
    t.keys(&["d"]);
    t.wait_for("Revoke key");
    t.keys(&["y"]);
    t.wait_until("the row to show revoked", |s| {
        !s.contains("Revoke key") && row(s, "e2e-created").is_some_and(|r| r.contains("revoked"))
    });
    let shown = cli_json(&url, &ns, &["show", &id, "--json"]);
    assert_eq!(shown["status"], "revoked", "{shown}");

    // Changes made elsewhere show up without a key press: the CLI creates, revokes,
    // restores.
    let created = cli_json(&url, &ns, &["create", "--name", "live-from-cli", "--json"]);
    let live_id = created["id"].as_str().unwrap().to_owned();
    t.wait_until("live-from-cli to appear as active", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("active"))
    });
    cli_ok(&url, &ns, &["revoke", &live_id, "--reason", "e2e"]);
    t.wait_until("live-from-cli to show revoked", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("revoked"))
    });
    cli_ok(&url, &ns, &["restore", &live_id]);
    t.wait_until("live-from-cli to show active again", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("active"))
    });
    let screen = t.wait_for("1 active 1 revoked");
    assert!(screen.contains("● live"), "{screen}");

    // Another keytui on the same namespace: filter to the CLI's key and revoke it there.
    let other = t.new_window(
        "other",
        &env_refs(&home.env()),
        &tui_script(&url, &ns, &home.path("other.log")),
    );
    t.wait_until_in(&other, "the second keytui's table", |s| {
        row(s, "live-from-cli").is_some()
    });
    t.keys_to(&other, &["/"]);
    t.type_text_to(&other, "live-from-cli");
    t.wait_until_in(&other, "the filter to leave one row", |s| {
        row(s, "e2e-created").is_none() && row(s, "live-from-cli").is_some()
    });
    t.keys_to(&other, &["Enter"]);
    t.keys_to(&other, &["d"]);
    t.wait_until_in(&other, "the revoke popup", |s| s.contains("Revoke key"));
    t.keys_to(&other, &["y"]);
    t.wait_until("the other keytui's revoke to show up", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("revoked"))
    });
    let shown = cli_json(&url, &ns, &["show", &live_id, "--json"]);
    assert_eq!(shown["status"], "revoked", "{shown}");
    t.keys_to(&other, &["q"]);
    t.wait_until_in(&other, "the second keytui to quit", |s| {
        s.contains("EXITED:0")
    });

    // q: keytui exits 0 and gives the terminal back.
    t.keys(&["q"]);
    assert_quit_cleanly(&t);

    // The log got the timing events and never the secret.
    let log = std::fs::read_to_string(home.log()).unwrap_or_default();
    for event in ["connected", "first_rows_drawn"] {
        assert!(log.contains(event), "no {event} in the log:\n{log}");
    }
    assert!(!log.contains(&shown_secret), "the secret is in the log");
    eprintln!("create/copy/revoke/live test took {:?}", started.elapsed());
}

#[test]
fn unreachable_redis_exits_2_with_a_hint() {
    // A port that nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Home::new();
    let err = home.path("stderr.txt");
    let script = format!(
        "{} redis://127.0.0.1:{port} -n unreachable --log-file {} 2>{}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(home.log()),
        sh_quote(&err)
    );
    let t = Tmux::start(100, 20, &env_refs(&home.env()), &script);
    let screen = t.wait_for("EXITED:");
    assert!(screen.contains("EXITED:2"), "{screen}");
    // It never took the terminal: nothing drawn, no alternate screen.
    assert!(!screen.contains("STATUS"), "{screen}");
    assert_eq!(t.format("#{alternate_on}"), "0");
    let err = std::fs::read_to_string(&err).unwrap();
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("keytui: "), "{err}");
    assert!(first.contains(&port.to_string()), "{err}");
    assert!(
        err.contains("keytui demo"),
        "no hint to `keytui demo`: {err}"
    );
    for bad in ["panicked", "RUST_BACKTRACE", "Error {"] {
        assert!(!err.contains(bad), "{err}");
    }
}

#[test]
fn tiny_terminal_and_resizes_do_not_crash() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-tiny");
    for name in ["first-key-with-a-rather-long-name", "second"] {
        cli_ok(&url, &ns, &["create", "--name", name, "--meta", "team=e2e"]);
    }
    let home = Home::new();
    let t = Tmux::start(
        20,
        5,
        &env_refs(&home.env()),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_for("● live");

    // Popups and help in 20x5. Each step waits for the screen: an Escape followed at once
    // by the next key reaches keytui as one Alt+key sequence.
    let table_shown = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.contains("? help"))
    };
    t.wait_until("the table at 20x5", table_shown);
    for (key, close) in [
        ("n", "Escape"),
        ("?", "Escape"),
        ("Enter", "Escape"),
        ("d", "n"),
    ] {
        t.keys(&[key]);
        t.wait_until(&format!("{key} to open a popup"), |s| !table_shown(s));
        t.keys(&[close]);
        t.wait_until(&format!("{close} to close it"), table_shown);
    }
    t.keys(&["j", "k", "G", "g"]);

    // Bigger (the table and both rows), smaller than anything sensible, wide (detail pane).
    t.resize(120, 30);
    t.wait_until("both rows at 120x30", |s| {
        row(s, "second").is_some() && row(s, "first-key").is_some()
    });
    t.resize(1, 1);
    t.resize(8, 2);
    t.resize(3, 7);
    t.resize(140, 30);
    t.wait_until("the detail pane at 140 columns", |s| {
        s.contains("created by")
    });
    t.keys(&["n"]);
    t.resize(30, 6);
    t.keys(&["Escape"]);
    t.resize(60, 10);
    let screen = t.wait_until("the table at 60x10", |s| {
        s.contains("● live") && s.contains("STATUS")
    });
    assert!(!screen.contains("EXITED"), "keytui died:\n{screen}");

    t.keys(&["q"]);
    assert_quit_cleanly(&t);
}
