//! `keytui edit` and [`Store::edit`] against real Redis (a server and a 3-master cluster):
//! one audit event naming each change, no event for no change, one-line errors that change
//! nothing, the production confirmation, and concurrent edits that never lose a field.

use std::collections::BTreeMap;

use keytui::layout::Namespace;
use keytui::store::{CreateRequest, KeyEdit, Store};
use serde_json::Value;

use crate::common::Target;
use crate::common::data::{raw, unique_namespace};
use crate::common::spawn::{keytui, one_line_error, stderr, stdout};

on_both!(
    edit_changes_fields_with_one_audit_event,
    concurrent_edits_never_lose_a_field,
);

fn events_of(url: &str, ns: &str) -> Vec<Value> {
    let o = keytui(url, ns)
        .args(["events", "--json", "--count", "1000"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

use crate::common::spawn::{create_key as create, show_key as show};

async fn edit_changes_fields_with_one_audit_event(t: Target) {
    let url = t.url();
    let ns = unique_namespace("edit");
    let k = create(
        &url,
        &ns,
        "svc",
        &[
            "--meta",
            "owner=ops",
            "--meta",
            "tier=1",
            "--expires",
            "10d",
        ],
    );
    let id = k["id"].as_str().unwrap();
    let o = keytui(&url, &ns)
        .args([
            "edit",
            id,
            "--name",
            "billing",
            "--meta",
            "owner=pay",
            "--unset-meta",
            "tier",
            "--no-expiry",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["changed"], true);
    assert_eq!(v["changes"].as_array().unwrap().len(), 4, "{v}");
    let r = show(&url, &ns, id);
    assert_eq!(r["name"], "billing");
    assert_eq!(r["meta"], serde_json::json!({"owner": "pay"}));
    assert_eq!(r["expires_at"], Value::Null);
    let edits: Vec<Value> = events_of(&url, &ns)
        .into_iter()
        .filter(|e| e["op"] == "edit")
        .collect();
    assert_eq!(edits.len(), 1, "{edits:?}");
    let detail = edits[0]["detail"].as_str().unwrap();
    for part in [
        "name \"svc\" -> \"billing\"",
        "meta.owner \"ops\" -> \"pay\"",
        "meta.tier \"1\" -> (none)",
        "-> never",
    ] {
        assert!(detail.contains(part), "{detail}");
    }
    assert!(!detail.contains(k["secret"].as_str().unwrap()));
    // The key's history has the event too.
    let mut c = raw(t).await;
    let hist: Vec<(String, BTreeMap<String, String>)> = redis::cmd("XRANGE")
        .arg(format!("{{{ns}}}:history:{id}"))
        .arg("-")
        .arg("+")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        hist.iter()
            .any(|(_, f)| f.get("op").map(String::as_str) == Some("edit"))
    );
    // The same values again: no change, no event.
    let o = keytui(&url, &ns)
        .args(["edit", id, "--name", "billing"])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("already has these values"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        events_of(&url, &ns)
            .iter()
            .filter(|e| e["op"] == "edit")
            .count(),
        1
    );
    // Bad input: one line, exit 2, nothing changed.
    for bad in [
        vec!["edit", id],
        vec!["edit", id, "--name", " "],
        vec!["edit", id, "--meta", "novalue"],
        vec!["edit", id, "--expires", "soonish"],
        vec!["edit", id, "--expires", "2001-01-01T00:00:00Z"],
        vec!["edit", id, "--meta", "a=1", "--unset-meta", "a"],
        vec!["edit", id, "--expires", "1d", "--no-expiry"],
        vec!["edit", "NoSuchKey1", "--name", "x"],
    ] {
        let o = keytui(&url, &ns).args(&bad).output().unwrap();
        one_line_error(&o);
    }
    assert_eq!(show(&url, &ns, id)["name"], "billing");

    // Production: shortening an expiry refuses without --yes off a terminal; lengthening
    // does not ask.
    let pns = unique_namespace("edit-prod");
    keytui(&url, &pns)
        .args(["init", "--production"])
        .assert()
        .success();
    let p = create(&url, &pns, "prod-svc", &["--expires", "30d"]);
    let pid = p["id"].as_str().unwrap();
    let o = keytui(&url, &pns)
        .args(["edit", pid, "--expires", "1d"])
        .output()
        .unwrap();
    let err = one_line_error(&o);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(show(&url, &pns, pid)["expires_at"], p["expires_at"]);
    keytui(&url, &pns)
        .args(["edit", pid, "--expires", "60d"])
        .assert()
        .success();
    keytui(&url, &pns)
        .args(["edit", pid, "--expires", "1d", "--yes"])
        .assert()
        .success();
}

async fn concurrent_edits_never_lose_a_field(t: Target) {
    let ns = Namespace::new(&unique_namespace("edit-race")).unwrap();
    let s = Store::new(raw(t).await, ns).with_actor("racer");
    let k = s.create(&CreateRequest::new("race")).await.unwrap();
    let id = k.record.id.clone();
    // 40 edits at once, each setting its own metadata key: all must survive.
    // (One task, many requests in flight on the multiplexed connection: the scripts
    // interleave on the server.)
    let edits = (0..40).map(|i| {
        let s = s.clone();
        let id = id.clone();
        async move {
            let e = KeyEdit {
                set_meta: [(format!("k{i}"), format!("v{i}"))].into(),
                ..KeyEdit::default()
            };
            s.edit(&id, &e).await.unwrap()
        }
    });
    futures::future::join_all(edits).await;
    let r = s.get(&id).await.unwrap();
    assert_eq!(r.meta.len(), 40, "{:?}", r.meta);
    for i in 0..40 {
        assert_eq!(r.meta.get(&format!("k{i}")), Some(&format!("v{i}")));
    }
    let events = s.key_events(&id).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.op == "edit").count(), 40);
}
