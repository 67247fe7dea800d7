//! The real `keytui` binary in a real pseudo-terminal (a private tmux server) against a real
//! `redis-server`, with the system clipboard served by a private X server (Xvfb).
//!
//! No fixed sleeps and no timing assertions: every step polls the screen (or Redis, or the
//! clipboard) until what it expects is there, with a generous timeout.

use std::path::Path;
use std::time::Instant;

use crate::common;
use crate::common::spawn::{TuiHome, bin, env_refs, json, keytui, ok};
use crate::common::tmux::{Tmux, sh_quote, wait_for};
use crate::common::xvfb::Xvfb;

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
    let home = TuiHome::new();
    let mut env = home.env("tui-e2e");
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
    let list = json(&url, &ns, &["list", "--json"]);
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
    let o = keytui(&url, &ns)
        .args(["verify", &id])
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

    // t, then y: each time the status line names what the clipboard really holds.
    let token = popup_value(&screen, "token").expect("token on screen");
    t.keys(&["t"]);
    wait_for("the token in the clipboard", || {
        x.clipboard().filter(|c| *c == token)
    });
    t.wait_for("the token of e2e-created in clipboard, cleared in");
    t.keys(&["y"]);
    wait_for("the id in the clipboard", || {
        x.clipboard().filter(|c| *c == id)
    });
    let screen = t.wait_for(&format!("copied the id {id} of e2e-created"));
    let status = row(&screen, "copied the id").unwrap_or_default();
    assert!(!status.contains("token"), "{screen}");

    // Esc: back to the table, the new key selected; d, y: revoked on screen and in Redis.
    t.keys(&["Escape"]);
    let screen = t.wait_until("the table without the reveal popup", |s| {
        !s.contains("key created") && row(s, "e2e-created").is_some()
    });
    assert!(!screen.contains(&shown_secret), "secret still on screen");
    // In the details, y copies the id of the key shown.
    x.set_clipboard("something else");
    t.keys(&["Enter"]);
    t.wait_for("audit events");
    t.keys(&["y"]);
    wait_for("the id in the clipboard", || {
        x.clipboard().filter(|c| *c == id)
    });
    t.wait_for(&format!("copied the id {id} of e2e-created"));
    t.keys(&["Escape"]);
    t.wait_until("the table", |s| !s.contains("audit events"));
    t.keys(&["d"]);
    t.wait_for("Revoke key");
    t.keys(&["y"]);
    t.wait_until("the row to show revoked", |s| {
        !s.contains("Revoke key") && row(s, "e2e-created").is_some_and(|r| r.contains("revoked"))
    });
    let shown = json(&url, &ns, &["show", &id, "--json"]);
    assert_eq!(shown["status"], "revoked", "{shown}");

    // Changes made elsewhere show up without a key press: the CLI creates, revokes,
    // restores.
    let created = json(&url, &ns, &["create", "--name", "live-from-cli", "--json"]);
    let live_id = created["id"].as_str().unwrap().to_owned();
    t.wait_until("live-from-cli to appear as active", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("active"))
    });
    ok(&url, &ns, &["revoke", &live_id, "--reason", "e2e"]);
    t.wait_until("live-from-cli to show revoked", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("revoked"))
    });
    ok(&url, &ns, &["restore", &live_id]);
    t.wait_until("live-from-cli to show active again", |s| {
        row(s, "live-from-cli").is_some_and(|r| r.contains("active"))
    });
    let screen = t.wait_for("1 active 1 revoked");
    assert!(screen.contains("● live"), "{screen}");

    // Another keytui on the same namespace: filter to the CLI's key and revoke it there.
    let other = t.new_window(
        "other",
        &env_refs(&home.env("tui-e2e")),
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
    let shown = json(&url, &ns, &["show", &live_id, "--json"]);
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
    let home = TuiHome::new();
    let err = home.path("stderr.txt");
    let script = format!(
        "{} redis://127.0.0.1:{port} -n unreachable --log-file {} 2>{}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(home.log()),
        sh_quote(&err)
    );
    let t = Tmux::start(100, 20, &env_refs(&home.env("tui-e2e")), &script);
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
        ok(&url, &ns, &["create", "--name", name, "--meta", "team=e2e"]);
    }
    let home = TuiHome::new();
    let t = Tmux::start(
        20,
        5,
        &env_refs(&home.env("tui-e2e")),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_for("● live");

    // Popups and help in 20x5, each seen open and closed again (Esc and the next key sent
    // at once would read as one Alt-key). Popups have a border corner; the details a footer
    // of their own; the table's footer starts with the help key.
    let on_table =
        |s: &str| !s.contains('┌') && s.lines().last().is_some_and(|l| l.starts_with("? help"));
    t.wait_until("the table", on_table);
    for (key, close) in [
        ("n", "Escape"),
        ("?", "Escape"),
        ("Enter", "Escape"),
        ("d", "n"),
    ] {
        t.keys(&[key]);
        t.wait_until(&format!("{key} to open something"), |s| {
            s.contains('┌') || s.contains("Esc back")
        });
        t.keys(&[close]);
        t.wait_until(&format!("{close} to close it"), on_table);
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
    // What is on the screen after quitting is tmux's: after resizes down to 1x1 in the
    // alternate screen, tmux 3.3 sometimes brings lines of the alternate screen back into the
    // normal one when it switches back (seen about once in sixteen runs). The terminal's
    // own state is keytui's, and is checked as in every other test.
    let screen = t.wait_for("TTY:cooked");
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left on");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse capture left on");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor left hidden");
}

#[test]
fn a_key_that_expires_shows_expired_without_a_key_press() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-expiry");
    ok(&url, &ns, &["create", "--name", "stays-active"]);
    let home = TuiHome::new();
    let t = Tmux::start(
        100,
        20,
        &env_refs(&home.env("tui-e2e")),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_until("the table", |s| row(s, "stays-active").is_some());
    // A key that expires a few seconds after it is created, made elsewhere: nothing is
    // typed in the TUI from here on, so only its own clock can redraw the row.
    ok(
        &url,
        &ns,
        &["create", "--name", "short-lived", "--expires", "4s"],
    );
    t.wait_until("short-lived to appear", |s| row(s, "short-lived").is_some());
    let screen = t.wait_until("short-lived to show expired", |s| {
        row(s, "short-lived").is_some_and(|r| r.contains("expired") && !r.contains("active"))
    });
    assert!(screen.contains("1 expired"), "{screen}");
    assert!(
        row(&screen, "stays-active").is_some_and(|r| r.contains("active")),
        "{screen}"
    );
    t.keys(&["q"]);
    assert_quit_cleanly(&t);
}

#[test]
fn help_scrolls_at_80x24_and_q_goes_back_before_it_quits() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-help");
    ok(&url, &ns, &["create", "--name", "only-key"]);
    let home = TuiHome::new();
    let t = Tmux::start(
        80,
        24,
        &env_refs(&home.env("tui-e2e")),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_until("the table", |s| row(s, "only-key").is_some());

    // ? at 80x24: the help says there is more, and scrolls to its last line.
    t.keys(&["?"]);
    let screen = t.wait_for("↓ more");
    assert!(!screen.contains("quit from anywhere"), "{screen}");
    t.keys(&["G"]);
    let screen = t.wait_for("quit from anywhere");
    assert!(screen.contains("↑ more"), "{screen}");
    t.keys(&["k"]);
    t.wait_for("↓ more");

    // q closes the help (back to the table), Esc and q close the details; q then quits.
    t.keys(&["q"]);
    t.wait_until("the table without the help", |s| {
        !s.contains("more") && row(s, "only-key").is_some()
    });
    t.keys(&["Enter"]);
    t.wait_for("audit events");
    t.keys(&["q"]);
    let screen = t.wait_until("the table again", |s| !s.contains("audit events"));
    assert!(
        !screen.contains("EXITED"),
        "q in the details quit:\n{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("audit events");
    t.keys(&["Escape"]);
    t.wait_until("the table again", |s| !s.contains("audit events"));
    t.keys(&["q"]);
    assert_quit_cleanly(&t);
}

#[test]
fn the_new_key_form_stays_open_on_errors_and_takes_commas_in_metadata() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-form");
    let home = TuiHome::new();
    let t = Tmux::start(
        100,
        30,
        &env_refs(&home.env("tui-e2e")),
        &tui_script(&url, &ns, &home.log()),
    );
    t.wait_for("no keys yet");
    t.keys(&["n"]);
    t.wait_for("new key");
    t.type_text("form-e2e");
    // Format uuid, prefix SK-Live, 8 bytes: each is said under its field as it is typed.
    t.keys(&[
        "Tab", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace",
    ]);
    t.type_text("uuid");
    t.keys(&["Tab"]);
    t.type_text("SK-Live");
    t.keys(&["Tab", "BSpace", "BSpace"]);
    t.type_text("8");
    t.wait_until("the errors under the fields", |s| {
        s.contains("✗ uuid is for ids only")
            && s.contains("✗ must be lowercase letters")
            && s.contains("✗ 8 is too weak")
    });
    // Enter keeps the form and everything typed; nothing is created.
    t.keys(&["Enter"]);
    let screen = t.wait_for("fix the fields marked");
    assert!(
        screen.contains("SK-Live") && screen.contains("form-e2e"),
        "{screen}"
    );
    assert_eq!(json(&url, &ns, &["list", "--json"]), serde_json::json!([]));

    // Fix them (Enter put the cursor on the first wrong field, the format); metadata with
    // a comma in a value and a quoted space.
    for _ in 0..4 {
        t.keys(&["BSpace"]);
    }
    t.type_text("hex");
    t.keys(&["Tab"]);
    for _ in 0..7 {
        t.keys(&["BSpace"]);
    }
    t.type_text("sk_live");
    t.keys(&["Tab", "BSpace"]);
    t.type_text("16");
    t.keys(&["Tab", "Tab"]);
    t.type_text("scopes=read,write note=\"two words\"");
    t.wait_until("no errors left", |s| {
        !s.contains('✗') && s.contains("= 128 bits, 32 characters")
    });
    t.keys(&["Enter"]);
    let screen = t.wait_for("key created");
    let id = popup_value(&screen, "id").expect("id on screen");
    let shown = json(&url, &ns, &["show", &id, "--json"]);
    assert_eq!(shown["meta"]["scopes"], "read,write", "{shown}");
    assert_eq!(shown["meta"]["note"], "two words", "{shown}");
    assert_eq!(shown["token_prefix"], "sk_live", "{shown}");
    let secret = popup_value(&screen, "secret").expect("secret on screen");
    assert_eq!(secret.len(), 32, "16 bytes of hex");
    // (Esc and the next key sent at once would read as Alt-q: wait in between.)
    t.keys(&["Escape"]);
    t.wait_until("the table", |s| !s.contains("key created"));
    t.keys(&["q"]);
    assert_quit_cleanly(&t);
}

/// `keytui demo` (dispatched by `app`, not the CLI) starts a private redis-server, seeds it
/// and opens the TUI on it; `q` quits with exit 0.
#[test]
fn demo_opens_the_tui_on_a_seeded_private_server() {
    let home = TuiHome::new();
    let script = format!(
        "{} demo --log-file {}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(home.log()),
    );
    let t = Tmux::start(120, 30, &env_refs(&home.env("tui-demo")), &script);
    t.wait_until("the seeded keys in the table", |s| {
        s.contains("STATUS") && s.contains("billing")
    });
    t.keys(&["q"]);
    let screen = t.wait_for("EXITED:");
    assert!(screen.contains("EXITED:0"), "{screen}");
}
