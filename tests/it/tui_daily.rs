//! The TUI for daily work, end to end: the real binary in tmux against a real
//! `redis-server`. Sorting and choosing columns through the `:` command line (kept in the
//! config file, read again at the next start), and editing a key in the form (the row
//! follows, Redis holds the change and one audit event). Every step polls the screen, Redis
//! or the file until what it expects is there; nothing sleeps.

use serde_json::Value;

use crate::common;
use crate::common::spawn::{TuiHome, bin, create_key, env_refs, keytui, show_key, stderr, stdout};
use crate::common::tmux::{Tmux, sh_quote, wait_for};

fn tui_script(url: &str, ns: &str) -> String {
    format!(
        "{} {} -n {}; echo EXITED:$?",
        sh_quote(bin()),
        sh_quote(url),
        sh_quote(ns)
    )
}

/// The screen line number of the row showing `name`.
fn line_of(screen: &str, name: &str) -> Option<usize> {
    screen.lines().position(|l| l.contains(name))
}

fn edit_events(url: &str, ns: &str) -> Vec<Value> {
    let o = keytui(url, ns)
        .args(["events", "--json", "--count", "1000"])
        .output()
        .expect("run keytui events");
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["op"] == "edit")
        .collect()
}

#[test]
fn sort_and_columns_from_the_command_line_are_kept_and_e_edits_a_key() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("tui-daily");
    let alpha = create_key(&url, &ns, "alpha-svc", &["--meta", "owner=ops"]);
    create_key(&url, &ns, "zulu-svc", &["--meta", "owner=pay"]);
    create_key(&url, &ns, "mike-svc", &[]);
    let alpha_id = alpha["id"].as_str().expect("id").to_owned();
    let home = TuiHome::new();
    let env = home.env("tui-daily");
    // Status messages stay for the whole test (their expiry is tested with an injected
    // clock); the rest of this file must survive keytui writing the view into it.
    let config = home.config_file();
    std::fs::write(&config, "# mine\nmessage_secs = 3600\n").expect("write config.toml");
    let t = Tmux::start(120, 35, &env_refs(&env), &tui_script(&url, &ns));

    // Newest first, the whole id on a 120-column screen.
    let screen = t.wait_for("alpha-svc");
    assert!(screen.contains(&alpha_id), "{screen}");
    t.wait_until("newest first", |s| {
        matches!((line_of(s, "mike-svc"), line_of(s, "alpha-svc")), (Some(m), Some(a)) if m < a)
    });

    // :sort name: A-Z, the arrow on NAME, and the choice in the config file.
    t.keys(&[":"]);
    t.type_text("sort name");
    t.keys(&["Enter"]);
    t.wait_until("sorted by name", |s| {
        s.contains("NAME↑")
            && matches!(
                (line_of(s, "alpha-svc"), line_of(s, "mike-svc"), line_of(s, "zulu-svc")),
                (Some(a), Some(m), Some(z)) if a < m && m < z
            )
    });
    wait_for("sort in config.toml", || {
        std::fs::read_to_string(&config)
            .ok()
            .filter(|c| c.contains("sort = \"name asc\""))
    });

    // :columns with a metadata key as a column; Tab completes the command name.
    t.keys(&[":"]);
    t.type_text("colu");
    t.keys(&["Tab"]);
    t.wait_for(":columns");
    t.type_text("name,meta.owner,id");
    t.keys(&["Enter"]);
    let screen = t.wait_until("the owner column", |s| {
        line_of(s, "alpha-svc").is_some_and(|i| {
            s.lines()
                .nth(i)
                .is_some_and(|l| l.contains("ops") && !l.contains("active"))
        }) && s.contains("OWNER")
    });
    assert!(screen.contains(&alpha_id), "{screen}");
    let text = wait_for("columns in config.toml", || {
        std::fs::read_to_string(&config)
            .ok()
            .filter(|c| c.contains("columns = [\"name\", \"meta.owner\", \"id\"]"))
    });
    assert!(
        text.contains("message_secs = 3600"),
        "the rest is kept: {text}"
    );

    // An unknown command: one line in the status line.
    t.keys(&[":"]);
    t.type_text("frobnicate");
    t.keys(&["Enter"]);
    t.wait_for("unknown command :frobnicate");

    // e on alpha-svc (first row now): rename it and change its metadata.
    t.keys(&["g", "e"]);
    t.wait_for(&format!("edit {alpha_id}"));
    t.keys(&["End"]);
    t.keys(&["BSpace"; 20]);
    t.type_text("alpha-renamed");
    t.keys(&["Tab", "Tab", "End"]);
    t.keys(&["BSpace"; 30]);
    t.type_text("owner=sec tier=2");
    t.keys(&["Enter"]);
    t.wait_until("the renamed row", |s| {
        s.contains(&format!("saved {alpha_id}"))
            && line_of(s, "alpha-renamed")
                .is_some_and(|i| s.lines().nth(i).is_some_and(|l| l.contains("sec")))
    });
    let r = show_key(&url, &ns, &alpha_id);
    assert_eq!(r["name"], "alpha-renamed");
    assert_eq!(r["meta"], serde_json::json!({"owner": "sec", "tier": "2"}));
    let edits = edit_events(&url, &ns);
    assert_eq!(edits.len(), 1, "{edits:?}");
    let detail = edits[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("name \"alpha-svc\" -> \"alpha-renamed\"")
            && detail.contains("meta.owner \"ops\" -> \"sec\""),
        "{detail}"
    );
    assert!(!detail.contains(alpha["secret"].as_str().unwrap_or("-")));

    // A bad expiry keeps the form open with the error under the field.
    t.keys(&["e", "Tab"]);
    t.type_text("someday");
    t.keys(&["Enter"]);
    t.wait_for("✗");
    t.keys(&["Escape"]);
    t.wait_for("edit cancelled");
    assert_eq!(edit_events(&url, &ns).len(), 1);

    // Quit and start again: the order and the columns come back from the config file.
    t.keys(&["q"]);
    t.wait_for("EXITED:0");
    let again = t.new_window("again", &env_refs(&env), &tui_script(&url, &ns));
    t.wait_until_in(&again, "the kept view", |s| {
        s.contains("NAME↑")
            && s.contains("OWNER")
            && matches!(
                (line_of(s, "alpha-renamed"), line_of(s, "mike-svc")),
                (Some(a), Some(m)) if a < m
            )
    });
    t.keys_to(&again, &["q"]);
}
