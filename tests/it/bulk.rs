//! Bulk revoke and delete (`--all-matching`) against real Redis: the store's
//! `revoke_many` / `delete_many` and the CLI's confirmation, on a standalone server and on a
//! 3-master cluster.

use crate::common::Target;
use crate::common::data::{ACTOR, raw, store};
use crate::common::spawn::{json_of, keytui};

use std::collections::{BTreeMap, HashSet};

use keytui::error::Error;
use keytui::keygen::Secret;
use keytui::migrate::ImportItem;
use keytui::record::{Status, now_ms};
use keytui::store::{CreateRequest, KeyFilter, Rejection, Verdict};
use redis::AsyncCommands;

fn request(name: &str, meta: &[(&str, &str)]) -> CreateRequest {
    let mut req = CreateRequest::new(name);
    req.meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    req
}

on_both!(
    revoke_many_revokes_exactly_the_selection,
    delete_many_removes_records_and_index_entries,
    cli_bulk_revoke_and_delete,
    import_refuses_an_id_given_twice_before_writing,
    restore_many_restores_revoked_keys_only,
    extend_many_moves_expiries_later,
);

async fn revoke_many_revokes_exactly_the_selection(t: Target) {
    let s = store(t, "bulk-revoke").await;
    // More than one batch (1,000) of matching keys, and keys that must stay untouched.
    let billing = s
        .create_many(&request("Billing-svc", &[("owner", "pay")]), 1500, |_| {})
        .await
        .unwrap();
    let search = s
        .create_many(&request("search", &[("owner", "find")]), 300, |_| {})
        .await
        .unwrap();
    let already = &billing[0].record.id;
    s.revoke(already, Some("earlier")).await.unwrap();

    let filter = KeyFilter {
        name_contains: Some("billing".into()),
        ..KeyFilter::default()
    };
    let selected = s.select(&filter).await.unwrap();
    assert_eq!(selected.len(), 1500);
    let mut ids: Vec<String> = selected.into_iter().map(|r| r.id).collect();
    // An id that has no record: reported, nothing created for it.
    ids.push("Gone123".into());
    // A record with a status keytui does not know: reported and left alone.
    let ns = s.namespace().clone();
    let mut c = raw(t).await;
    let _: () = c
        .hset_multiple(
            ns.record_key("Odd1"),
            &[("id", "Odd1"), ("status", "paused")],
        )
        .await
        .unwrap();
    ids.push("Odd1".into());

    let mut seen = Vec::new();
    let outcome = s
        .revoke_many(&ids, Some("bulk test"), |n| seen.push(n))
        .await
        .unwrap();
    assert_eq!(outcome.done, 1499);
    assert_eq!(outcome.unchanged, 1);
    assert_eq!(outcome.missing, vec!["Gone123".to_string()]);
    assert_eq!(outcome.malformed, vec!["Odd1".to_string()]);
    assert_eq!(seen.last(), Some(&ids.len()));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    let exists: bool = c.exists(ns.record_key("Gone123")).await.unwrap();
    assert!(!exists, "revoke must not create records");
    let odd: String = c.hget(ns.record_key("Odd1"), "status").await.unwrap();
    assert_eq!(odd, "paused");

    for k in billing.iter().step_by(97) {
        assert_eq!(
            s.verify(&k.record.id, k.secret.expose()).await.unwrap(),
            Verdict::Rejected(Rejection::Revoked)
        );
    }
    let r = s.get(&billing[7].record.id).await.unwrap();
    assert_eq!(r.revoked_reason.as_deref(), Some("bulk test"));
    assert!(r.revoked_at.is_some_and(|at| at <= now_ms()));
    // the earlier revocation keeps its reason
    let r = s.get(already).await.unwrap();
    assert_eq!(r.revoked_reason.as_deref(), Some("earlier"));
    for k in search.iter().step_by(50) {
        assert!(matches!(
            s.verify(&k.record.id, k.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }

    // one revoke event per key changed, with the reason
    let events = s.recent_events(10_000).await.unwrap();
    let revokes: Vec<_> = events.iter().filter(|e| e.op == "revoke").collect();
    assert_eq!(revokes.len(), 1500);
    let bulk: HashSet<&str> = revokes
        .iter()
        .filter(|e| e.detail.as_deref() == Some("bulk test"))
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(bulk.len(), 1499);
    assert!(!bulk.contains(already.as_str()));
    assert!(revokes.iter().all(|e| e.actor == ACTOR));

    // the filter over status and meta
    let revoked = KeyFilter {
        status: Some(Status::Revoked),
        ..KeyFilter::default()
    };
    assert_eq!(s.select(&revoked).await.unwrap().len(), 1500);
    let find = KeyFilter {
        meta: BTreeMap::from([("owner".to_string(), "find".to_string())]),
        ..KeyFilter::default()
    };
    assert_eq!(s.select(&find).await.unwrap().len(), 300);
    assert!(KeyFilter::default().is_empty());
    assert_eq!(KeyFilter::default().to_string(), "every key");
}

async fn delete_many_removes_records_and_index_entries(t: Target) {
    let s = store(t, "bulk-delete").await;
    let doomed = s
        .create_many(&request("temp", &[]), 1200, |_| {})
        .await
        .unwrap();
    let kept = s
        .create_many(&request("keep", &[]), 50, |_| {})
        .await
        .unwrap();
    let mut ids: Vec<String> = doomed.iter().map(|c| c.record.id.clone()).collect();
    ids.push("Never1".into());
    let mut seen = Vec::new();
    let outcome = s.delete_many(&ids, |n| seen.push(n)).await.unwrap();
    assert_eq!(outcome.done, 1200);
    assert_eq!(outcome.missing, vec!["Never1".to_string()]);
    assert_eq!(seen.last(), Some(&ids.len()));

    assert_eq!(s.count().await.unwrap(), 50);
    let all = s.list_all(|_, _| {}).await.unwrap();
    assert_eq!(all.records.len(), 50);
    assert!(all.dangling.is_empty(), "{:?}", all.dangling);
    for k in doomed.iter().step_by(101) {
        assert_eq!(
            s.verify(&k.record.id, k.secret.expose()).await.unwrap(),
            Verdict::Rejected(Rejection::Unknown)
        );
    }
    for k in kept.iter().step_by(10) {
        assert!(matches!(
            s.verify(&k.record.id, k.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
    let events = s.recent_events(10_000).await.unwrap();
    let deleted: HashSet<&str> = events
        .iter()
        .filter(|e| e.op == "delete")
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(deleted.len(), 1200);
    assert!(!deleted.contains("Never1"));
}

async fn cli_bulk_revoke_and_delete(t: Target) {
    let s = store(t, "bulk-cli").await;
    let ns = s.namespace().as_str().to_owned();
    s.create_many(&request("ci-runner", &[("team", "a")]), 30, |_| {})
        .await
        .unwrap();
    s.create_many(&request("ci-runner", &[("team", "b")]), 20, |_| {})
        .await
        .unwrap();
    s.create_many(&request("web", &[]), 5, |_| {})
        .await
        .unwrap();

    // Not on a terminal and without --yes: refused, with the count, nothing changed.
    let o = keytui(&t.url(), &ns)
        .args(["revoke", "--all-matching", "CI", "--meta", "team=a"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("would revoke 30 keys"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    let revoked = KeyFilter {
        status: Some(Status::Revoked),
        ..KeyFilter::default()
    };
    assert!(s.select(&revoked).await.unwrap().is_empty());

    // --status and --meta only narrow --all-matching.
    let o = keytui(&t.url(), &ns)
        .args(["revoke", "--status", "active", "--yes"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    let v = json_of(
        &keytui(&t.url(), &ns)
            .args(["revoke", "--all-matching", "CI", "--meta", "team=a"])
            .args(["--reason", "rotation", "--yes", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["matched"], 30);
    assert_eq!(v["revoked"], 30);
    assert_eq!(s.select(&revoked).await.unwrap().len(), 30);

    // Again: nothing matches as active any more.
    let v = json_of(
        &keytui(&t.url(), &ns)
            .args(["revoke", "--all-matching", "ci", "--status", "active"])
            .args(["--meta", "team=a", "--yes", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["matched"], 0);

    let o = keytui(&t.url(), &ns)
        .args([
            "delete",
            "--all-matching",
            "",
            "--status",
            "revoked",
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("deleted 30 of 30"), "{text}");
    assert_eq!(s.count().await.unwrap(), 25);
    assert!(s.select(&revoked).await.unwrap().is_empty());

    // A single delete still needs --yes; a single revoke still works by id.
    let some = s.page(0, 1).await.unwrap().records.remove(0);
    let o = keytui(&t.url(), &ns)
        .args(["delete", &some.id])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json_of(
        &keytui(&t.url(), &ns)
            .args(["revoke", &some.id, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["changed"], true);
}

async fn import_refuses_an_id_given_twice_before_writing(t: Target) {
    let s = store(t, "import-twice").await;
    let item = |id: &str, secret: &str| ImportItem {
        id: id.into(),
        secret: Secret::new(secret.into()),
        name: String::new(),
        created_at: None,
        expires_at: None,
        meta: Default::default(),
        revoked: false,
    };
    let items = || {
        vec![
            item("alice", "Zq8mW3rT9vXk2LpN7bYc4HdJ"),
            item("bob", "Pw6nE1sQ5uAz8GfK3jVm9RtX"),
            item("alice", "Hy2cU7oB4iMe9TlD6wSa1KgF"),
        ]
    };
    let err = s.import(items(), false, |_| {}).await;
    let Err(Error::Input(m)) = &err else {
        panic!("{err:?}");
    };
    assert!(
        m.contains("\"alice\" is given twice (items 1 and 3)"),
        "{m}"
    );
    assert!(!m.contains("Zq8mW3") && !m.contains("Hy2cU7"), "{m}");
    // Nothing written: no key, not even the namespace's meta.
    assert!(s.meta().await.unwrap().is_none());
    assert_eq!(s.count().await.unwrap(), 0);
    // Without the repeat the same input imports.
    let mut once = items();
    once.pop();
    let r = s.import(once, false, |_| {}).await.unwrap();
    assert_eq!(r.imported, 2);
    assert_eq!(s.count().await.unwrap(), 2);
}

async fn restore_many_restores_revoked_keys_only(t: Target) {
    let s = store(t, "bulk-restore").await;
    // More than one batch, so the progress counts go up in steps.
    let keys = s
        .create_many(&request("restore-me", &[]), 1200, |_| {})
        .await
        .unwrap();
    let ids: Vec<String> = keys.iter().map(|c| c.record.id.clone()).collect();
    let revoked = s
        .revoke_many(&ids[..1100], Some("sweep"), |_| {})
        .await
        .unwrap();
    assert_eq!(revoked.done, 1100);
    let mut asked = ids.clone();
    asked.push("Gone123".into());
    let mut seen = Vec::new();
    let outcome = s.restore_many(&asked, |n| seen.push(n)).await.unwrap();
    assert_eq!(outcome.done, 1100);
    assert_eq!(outcome.unchanged, 100, "the active ones");
    assert_eq!(outcome.missing, vec!["Gone123".to_string()]);
    assert_eq!(seen, vec![1000, asked.len()]);
    let now = now_ms();
    for id in [&ids[0], &ids[1099], &ids[1199]] {
        let r = s.get(id).await.unwrap();
        assert_eq!(r.status_at(now), Status::Active, "{id}");
        assert_eq!(r.revoked_at, None);
        assert_eq!(r.revoked_reason, None);
    }
    // One restore event per key restored, in the feed and in the key's history.
    let events = s.recent_events(10_000).await.unwrap();
    let restores: HashSet<&str> = events
        .iter()
        .filter(|e| e.op == "restore")
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(restores.len(), 1100);
    assert!(restores.contains(ids[0].as_str()) && !restores.contains(ids[1150].as_str()));
    let history = s.key_events(&ids[5]).await.unwrap();
    assert_eq!(
        history.iter().filter(|e| e.op == "restore").count(),
        1,
        "{history:?}"
    );
}

async fn extend_many_moves_expiries_later(t: Target) {
    let s = store(t, "bulk-extend").await;
    let day = 86_400_000i64;
    let mut expiring = request("expiring", &[]);
    expiring.expires_at = Some(now_ms() + 2 * day);
    let expiring = s.create_many(&expiring, 1100, |_| {}).await.unwrap();
    let forever = s.create(&request("forever", &[])).await.unwrap();
    let mut ids: Vec<String> = expiring.iter().map(|c| c.record.id.clone()).collect();
    ids.push(forever.record.id.clone());
    ids.push("Gone123".into());
    let before: Vec<i64> = expiring
        .iter()
        .map(|c| c.record.expires_at.unwrap())
        .collect();

    let mut seen = Vec::new();
    let outcome = s
        .extend_many(&ids, std::time::Duration::from_secs(30 * 86_400), |n| {
            seen.push(n)
        })
        .await
        .unwrap();
    assert_eq!(outcome.done, 1100);
    assert_eq!(outcome.unchanged, 1, "a key that never expires stays so");
    assert_eq!(outcome.missing, vec!["Gone123".to_string()]);
    assert_eq!(seen, vec![1000, ids.len()]);
    for (i, c) in expiring.iter().enumerate().step_by(137) {
        let r = s.get(&c.record.id).await.unwrap();
        assert_eq!(r.expires_at, Some(before[i] + 30 * day), "{}", c.record.id);
    }
    assert_eq!(s.get(&forever.record.id).await.unwrap().expires_at, None);
    // One edit event per key, saying what changed.
    let history = s.key_events(&expiring[3].record.id).await.unwrap();
    let edits: Vec<_> = history.iter().filter(|e| e.op == "edit").collect();
    assert_eq!(edits.len(), 1, "{history:?}");
    let detail = edits[0].detail.as_deref().unwrap_or("");
    assert!(
        detail.starts_with("expires_at ") && detail.contains(" -> "),
        "{detail}"
    );
    let events = s.recent_events(10_000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.op == "edit").count(), 1100);
    // An expired key is extended from now, not from its old expiry.
    let mut c = raw(t).await;
    let ns = s.namespace().clone();
    let id = &expiring[7].record.id;
    let past = now_ms() - 10 * day;
    let _: () = c
        .hset(ns.record_key(id), "expires_at", past.to_string())
        .await
        .unwrap();
    let at = now_ms();
    let o = s
        .extend_many(
            std::slice::from_ref(id),
            std::time::Duration::from_secs(86_400),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(o.done, 1);
    let e = s.get(id).await.unwrap().expires_at.unwrap();
    assert!(e >= at + day && e <= now_ms() + day, "{e} vs {at}");
    // A zero extension is refused before anything is written.
    assert!(
        s.extend_many(std::slice::from_ref(id), std::time::Duration::ZERO, |_| {})
            .await
            .is_err()
    );
    // Extending never goes past the latest expiry a command accepts (year 9999), however
    // often it is repeated; a key there already is left unchanged.
    let max = keytui::input::MAX_EXPIRY_MS;
    let century = std::time::Duration::from_secs(36_600 * 86_400);
    for _ in 0..90 {
        s.extend_many(std::slice::from_ref(id), century, |_| {})
            .await
            .unwrap();
    }
    assert_eq!(s.get(id).await.unwrap().expires_at, Some(max));
    let o = s
        .extend_many(std::slice::from_ref(id), century, |_| {})
        .await
        .unwrap();
    assert_eq!((o.done, o.unchanged), (0, 1));
}
