//! The store against real Redis: every scenario runs on a standalone server and on a
//! 3-master cluster.

use crate::common::Target;
use crate::common::data::{ACTOR, raw, store};

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use keytui::conn::{self, ConnectOptions};
use keytui::error::Error;
use keytui::keygen::{Encoding, Length, Spec};
use keytui::layout::Namespace;
use keytui::record::{Status, now_ms};
use keytui::store::{Change, CreateRequest, Rejection, RotateRequest, Store, Verdict};
use redis::AsyncCommands;

/// Every string value stored under the namespace (records, meta, events), read back from
/// every master.
async fn all_stored_text(target: Target, ns: &Namespace) -> String {
    let mut text = String::new();
    for url in target.urls() {
        let opts = ConnectOptions {
            cluster: Some(false),
            ..ConnectOptions::new(url)
        };
        let mut c = conn::connect(&opts).await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("*{}*", ns.as_str()))
            .query_async(&mut c)
            .await
            .unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut c)
                .await
                .unwrap();
            let dump: redis::Value = match kind.as_str() {
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                "stream" => redis::cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                other => panic!("unexpected type {other} for {key}"),
            };
            text.push_str(&format!("{key} {dump:?}\n"));
        }
    }
    text
}

on_both!(
    create_verify_and_no_plaintext,
    bulk_create_and_pages_newest_first,
    revoke_restore_are_idempotent,
    verify_verdicts,
    tokens_verify_and_checksums_catch_typos,
    delete_is_permanent,
    rotate_keeps_name_and_expires_old,
    events_record_every_mutation,
    doctor_reports_and_repairs_crash_states,
    never_overwrites_an_existing_id,
    malformed_records_do_not_break_listing,
    concurrent_writers_lose_nothing,
    pepper_namespaces_need_the_right_pepper,
    fetch_page_answers_as_fetch_does,
    first_writers_of_a_fresh_namespace_race_without_refusals,
);

async fn create_verify_and_no_plaintext(t: Target) {
    let s = store(t, "create").await;
    let mut req = CreateRequest::new("billing");
    req.meta.insert("owner".into(), "team-a".into());
    let c = s.create(&req).await.unwrap();
    assert_eq!(c.record.name, "billing");
    assert_eq!(c.record.created_by, "tester");
    let stored = s.get(&c.record.id).await.unwrap();
    assert_eq!(stored, c.record);
    assert_eq!(stored.status(), Status::Active);
    assert_eq!(
        s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
        Verdict::Valid {
            id: c.record.id.clone(),
            name: "billing".into()
        }
    );
    let text = all_stored_text(t, s.namespace()).await;
    assert!(text.contains(&c.record.id), "the dump should hold the id");
    assert!(
        !text.contains(c.secret.expose()),
        "the secret is stored in plaintext"
    );
    let meta = s.meta().await.unwrap().unwrap();
    assert_eq!(meta.mode.as_str(), "hash");
}

async fn bulk_create_and_pages_newest_first(t: Target) {
    let s = store(t, "bulk").await;
    let mut seen = Vec::new();
    let created = s
        .create_many(&CreateRequest::new("bulk"), 2500, |n| seen.push(n))
        .await
        .unwrap();
    assert_eq!(created.len(), 2500);
    assert_eq!(seen.last(), Some(&2500));
    let ids: HashSet<_> = created.iter().map(|c| c.record.id.clone()).collect();
    assert_eq!(ids.len(), 2500, "ids must be distinct");
    assert_eq!(s.count().await.unwrap(), 2500);

    let first = s.page(0, 100).await.unwrap();
    assert_eq!(first.total, 2500);
    assert_eq!(first.records.len(), 100);
    let times: Vec<_> = first.records.iter().map(|r| r.created_at).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let all = s.list_all(|_, _| {}).await.unwrap();
    assert_eq!(all.records.len(), 2500);
    assert!(all.dangling.is_empty() && all.malformed.is_empty());
    // a sample of secrets verifies
    for c in created.iter().step_by(500) {
        assert!(matches!(
            s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
}

async fn revoke_restore_are_idempotent(t: Target) {
    let s = store(t, "revoke").await;
    let c = s.create(&CreateRequest::new("r")).await.unwrap();
    let id = &c.record.id;
    assert_eq!(s.revoke(id, Some("leaked")).await.unwrap(), Change::Done);
    assert_eq!(
        s.revoke(id, Some("again")).await.unwrap(),
        Change::Unchanged
    );
    let r = s.get(id).await.unwrap();
    assert_eq!(r.status(), Status::Revoked);
    assert_eq!(r.revoked_reason.as_deref(), Some("leaked"));
    assert!(r.revoked_at.is_some());
    assert_eq!(
        s.verify(id, c.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    assert_eq!(s.restore(id).await.unwrap(), Change::Done);
    assert_eq!(s.restore(id).await.unwrap(), Change::Unchanged);
    let r = s.get(id).await.unwrap();
    assert_eq!(r.status(), Status::Active);
    assert_eq!(r.revoked_at, None);
    assert!(matches!(
        s.revoke("NoSuchKey1", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        s.restore("NoSuchKey1").await,
        Err(Error::NotFound(_))
    ));
}

async fn verify_verdicts(t: Target) {
    let s = store(t, "verify").await;
    let c = s.create(&CreateRequest::new("v")).await.unwrap();
    let id = &c.record.id;
    let wrong = format!("{}x", c.secret.expose());
    assert_eq!(
        s.verify(id, &wrong).await.unwrap(),
        Verdict::Rejected(Rejection::WrongSecret)
    );
    assert_eq!(
        s.verify("Unknown0Key", c.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Unknown)
    );
    assert_eq!(
        s.verify("bad{id}", "x").await.unwrap(),
        Verdict::Rejected(Rejection::Unknown)
    );
    // expiry (moved into the past rather than waited for: no timing decides the test)
    let mut req = CreateRequest::new("short");
    req.expires_at = Some(now_ms() + 3_600_000);
    let e = s.create(&req).await.unwrap();
    assert!(matches!(
        s.verify(&e.record.id, e.secret.expose()).await.unwrap(),
        Verdict::Valid { .. }
    ));
    s.backdate(&e.record.id, now_ms() - 10_000, Some(now_ms() - 1), None)
        .await
        .unwrap();
    assert_eq!(
        s.verify(&e.record.id, e.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Expired)
    );
    assert_eq!(s.get(&e.record.id).await.unwrap().status(), Status::Expired);
    // a wrong secret on a revoked key says wrong secret, not revoked
    s.revoke(id, None).await.unwrap();
    assert_eq!(
        s.verify(id, &wrong).await.unwrap(),
        Verdict::Rejected(Rejection::WrongSecret)
    );
    // touch records use without creating unknown records
    s.touch("NoSuchKey1").await.unwrap();
    assert!(matches!(s.get("NoSuchKey1").await, Err(Error::NotFound(_))));
    s.touch(&e.record.id).await.unwrap();
    assert!(s.get(&e.record.id).await.unwrap().last_used_at.is_some());
}

async fn tokens_verify_and_checksums_catch_typos(t: Target) {
    let s = store(t, "token").await;
    let mut req = CreateRequest::new("tok");
    req.prefix = Some("sk_live".into());
    req.secret_spec = Spec {
        encoding: Encoding::Base64Url,
        length: Length::Bytes(32),
    };
    let c = s.create(&req).await.unwrap();
    let token = c.token.expose().to_owned();
    assert!(token.starts_with(&format!("sk_live_{}_", c.record.id)));
    assert!(matches!(
        s.verify_token(&token).await.unwrap(),
        Verdict::Valid { .. }
    ));
    // flip the last checksum character
    let mut bad = token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        s.verify_token(&bad).await.unwrap(),
        Verdict::Rejected(Rejection::BadChecksum)
    );
    // without a checksum the whole rest is the secret
    let mut req = CreateRequest::new("nock");
    req.checksum = false;
    let n = s.create(&req).await.unwrap();
    assert!(matches!(
        s.verify_token(n.token.expose()).await.unwrap(),
        Verdict::Valid { .. }
    ));
    assert_eq!(
        s.verify_token("garbage").await.unwrap(),
        Verdict::Rejected(Rejection::Unknown)
    );
}

async fn delete_is_permanent(t: Target) {
    let s = store(t, "delete").await;
    let c = s.create(&CreateRequest::new("d")).await.unwrap();
    let keep = s.create(&CreateRequest::new("keep")).await.unwrap();
    s.delete(&c.record.id).await.unwrap();
    assert!(matches!(s.get(&c.record.id).await, Err(Error::NotFound(_))));
    assert!(matches!(
        s.delete(&c.record.id).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Unknown)
    );
    assert_eq!(s.count().await.unwrap(), 1);
    assert_eq!(s.get(&keep.record.id).await.unwrap().name, "keep");
}

async fn rotate_keeps_name_and_expires_old(t: Target) {
    let s = store(t, "rotate").await;
    let mut req = CreateRequest::new("svc");
    req.meta = BTreeMap::from([("owner".to_string(), "ops".to_string())]);
    let old = s.create(&req).await.unwrap();
    let new = s
        .rotate(
            &old.record.id,
            &RotateRequest::new(Duration::from_secs(3600)),
        )
        .await
        .unwrap()
        .created;
    assert_ne!(new.record.id, old.record.id);
    assert_eq!(new.record.name, "svc");
    assert_eq!(
        new.record.meta.get("owner").map(String::as_str),
        Some("ops")
    );
    let new_stored = s.get(&new.record.id).await.unwrap();
    assert_eq!(
        new_stored.rotated_from.as_deref(),
        Some(old.record.id.as_str())
    );
    let old_stored = s.get(&old.record.id).await.unwrap();
    assert_eq!(
        old_stored.rotated_to.as_deref(),
        Some(new.record.id.as_str())
    );
    let exp = old_stored.expires_at.unwrap();
    assert!(exp > now_ms() + 3_000_000 && exp <= now_ms() + 3_600_000);
    // both work during the grace period
    for (id, secret) in [(&old.record.id, &old.secret), (&new.record.id, &new.secret)] {
        assert!(matches!(
            s.verify(id, secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
    // a zero grace expires the old key at once
    let newer = s
        .rotate(&new.record.id, &RotateRequest::new(Duration::ZERO))
        .await
        .unwrap()
        .created;
    assert_eq!(
        s.verify(&new.record.id, new.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Expired)
    );
    assert!(matches!(
        s.verify(&newer.record.id, newer.secret.expose())
            .await
            .unwrap(),
        Verdict::Valid { .. }
    ));
}

async fn events_record_every_mutation(t: Target) {
    let s = store(t, "events").await;
    let c = s.create(&CreateRequest::new("e")).await.unwrap();
    let id = c.record.id.clone();
    s.revoke(&id, Some("why")).await.unwrap();
    s.revoke(&id, None).await.unwrap(); // unchanged: no event
    s.restore(&id).await.unwrap();
    s.delete(&id).await.unwrap();
    let events = s.recent_events(100).await.unwrap();
    let ops: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.op.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("init", ""),
            ("create", id.as_str()),
            ("revoke", id.as_str()),
            ("restore", id.as_str()),
            ("delete", id.as_str())
        ]
    );
    assert!(events.iter().all(|e| e.actor == ACTOR && e.at > 0));
    assert_eq!(events[2].detail.as_deref(), Some("why"));
    // cursors
    let after = s.events_after(&events[1].cursor, 10).await.unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(s.last_event_cursor().await.unwrap(), events[4].cursor);
    // the blocking follower sees a new event
    let url = t.urls()[0].clone();
    let mut blocking = conn::connect_blocking(&ConnectOptions::new(url), Duration::from_secs(2))
        .await
        .unwrap();
    let cursor = events[4].cursor.clone();
    let ns = s.namespace().clone();
    let waiter = tokio::spawn(async move {
        Store::wait_events(&mut blocking, &ns, &cursor, Duration::from_secs(2), 10).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let c2 = s.create(&CreateRequest::new("live")).await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, c2.record.id);
}

async fn doctor_reports_and_repairs_crash_states(t: Target) {
    let s = store(t, "doctor").await;
    let good = s.create(&CreateRequest::new("good")).await.unwrap();
    let report = s.doctor(false, &t.urls()).await.unwrap();
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.indexed, 1);
    assert_eq!(report.records_scanned, 1);

    let ns = s.namespace().clone();
    let mut c = raw(t).await;
    // crash after the index step of a create (long ago): dangling entry
    let _: () = c
        .zadd(ns.index_key(), "Dangling1", now_ms() - 3_600_000)
        .await
        .unwrap();
    // a create in flight right now: young dangling entry, left alone
    let _: () = c.zadd(ns.index_key(), "InFlight1", now_ms()).await.unwrap();
    // a record missing from the index
    let orphan = s.create(&CreateRequest::new("orphan")).await.unwrap();
    let _: () = c.zrem(ns.index_key(), &orphan.record.id).await.unwrap();
    // a malformed record, indexed (written as the layout says: its verify field too)
    crate::common::layout_doc::hset_as_documented_async(
        &mut c,
        &ns.record_key("Broken1"),
        &[
            ("id".to_owned(), b"Broken1".to_vec()),
            ("status".to_owned(), b"weird".to_vec()),
        ],
    )
    .await;
    let _: () = c
        .zadd(ns.index_key(), "Broken1", now_ms() - 100_000)
        .await
        .unwrap();

    let report = s.doctor(false, &t.urls()).await.unwrap();
    assert!(!report.is_healthy());
    assert_eq!(report.dangling, vec!["Dangling1".to_string()]);
    assert_eq!(report.in_flight, vec!["InFlight1".to_string()]);
    assert_eq!(report.orphans, vec![orphan.record.id.clone()]);
    assert_eq!(report.malformed.len(), 1);
    // listing survives all of it
    let page = s.page(0, 10).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].id, good.record.id);

    let repaired = s.doctor(true, &t.urls()).await.unwrap();
    // the dangling entry, the orphan, and the malformed record moved out of the index
    assert_eq!(repaired.repaired, 3);
    assert_eq!(repaired.unindexed, 1);
    let after = s.doctor(false, &t.urls()).await.unwrap();
    assert!(
        after.dangling.is_empty() && after.orphans.is_empty(),
        "{after:?}"
    );
    assert_eq!(
        after.malformed.len(),
        1,
        "malformed records are never changed, only moved out of the index"
    );
    assert!(!after.malformed_records[0].indexed, "{after:?}");
    let fields: std::collections::HashMap<String, String> =
        c.hgetall(ns.record_key("Broken1")).await.unwrap();
    assert_eq!(fields.get("status").map(String::as_str), Some("weird"));
    // the orphan is listed again, with its creation time
    let page = s.page(0, 10).await.unwrap();
    assert!(page.records.iter().any(|r| r.id == orphan.record.id));
}

async fn never_overwrites_an_existing_id(t: Target) {
    let s = store(t, "overwrite").await;
    // an id space of ten ids: "0".."9"
    let mut req = CreateRequest::new("tiny");
    req.id_spec = Spec {
        encoding: "custom:0123456789".parse().unwrap(),
        length: Length::Chars(1),
    };
    let created = s.create_many(&req, 10, |_| {}).await.unwrap();
    let ids: HashSet<_> = created.iter().map(|c| c.record.id.clone()).collect();
    assert_eq!(ids.len(), 10);
    let err = s.create(&req).await.unwrap_err();
    assert!(err.to_string().contains("id space"), "{err}");
    // every original key still verifies with its own secret
    for c in &created {
        assert!(matches!(
            s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
    assert_eq!(s.count().await.unwrap(), 10);
}

async fn malformed_records_do_not_break_listing(t: Target) {
    let s = store(t, "malformed").await;
    let good = s.create(&CreateRequest::new("fine")).await.unwrap();
    let ns = s.namespace().clone();
    let mut c = raw(t).await;
    let now = now_ms();
    let _: () = c
        .hset_multiple(
            ns.record_key("Evil1"),
            &[
                ("id", "Evil1"),
                ("status", "active"),
                ("secret_alg", "sha256"),
                ("secret", "00"),
                ("created_at", "1"),
                ("expires_at", "not a time"),
            ],
        )
        .await
        .unwrap();
    let _: () = c.zadd(ns.index_key(), "Evil1", now).await.unwrap();
    let page = s.page(0, 10).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].id, good.record.id);
    assert_eq!(page.malformed.len(), 1);
    assert!(matches!(s.get("Evil1").await, Err(Error::Malformed(_))));
    // a display field holding invalid UTF-8 makes that one record damaged, not the page an
    // error: it still lists (the damage noted), verifies and shows
    let _: () = c
        .hset(ns.record_key(&good.record.id), "name", &b"\xff\xfebad"[..])
        .await
        .unwrap();
    let page = s.page(0, 10).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].damage, vec!["field name is not UTF-8 text"]);
    assert_eq!(page.malformed.len(), 1);
    assert!(s.get(&good.record.id).await.unwrap().name.ends_with("bad"));
    assert!(matches!(
        s.verify(&good.record.id, good.secret.expose())
            .await
            .unwrap(),
        Verdict::Valid { .. }
    ));
    // revoking a record with a strange status changes nothing
    let _: () = c
        .hset(ns.record_key("Evil1"), "status", "paused")
        .await
        .unwrap();
    assert!(matches!(
        s.revoke("Evil1", None).await,
        Err(Error::Malformed(_))
    ));
    let status: String = c.hget(ns.record_key("Evil1"), "status").await.unwrap();
    assert_eq!(status, "paused");
}

/// `Store::fetch_page` (the TUI loader's read: `HMGET` of the listed fields) gives the
/// answer `Store::fetch` (`HGETALL`) gives, damaged records included: a hash holding none of
/// the listed fields is malformed, not a dangling index entry.
async fn fetch_page_answers_as_fetch_does(t: Target) {
    let s = store(t, "fetchpage").await;
    let good = s
        .create_many(&CreateRequest::new("fine"), 20, |_| {})
        .await
        .unwrap();
    let ns = s.namespace().clone();
    let mut c = raw(t).await;
    let now = now_ms();
    let _: () = c
        .hset(ns.record_key("Other1"), "not_a_field", "x")
        .await
        .unwrap();
    let _: () = c.set(ns.record_key("Wrong1"), "x").await.unwrap();
    let _: () = c
        .hset_multiple(
            ns.record_key("Evil1"),
            &[
                ("id", "Evil1"),
                ("status", "active"),
                ("secret_alg", "sha256"),
            ],
        )
        .await
        .unwrap();
    for id in ["Other1", "Wrong1", "Evil1", "Gone1"] {
        let _: () = c.zadd(ns.index_key(), id, now).await.unwrap();
    }
    let mut ids: Vec<String> = good.iter().map(|g| g.record.id.clone()).collect();
    ids.extend(["Other1", "Wrong1", "Evil1", "Gone1"].map(String::from));
    let fetched = s.fetch(&ids).await.unwrap();
    let paged = s.fetch_page(&ids).await.unwrap();
    let malformed = |p: &keytui::store::Page| -> Vec<(String, String)> {
        let mut m: Vec<(String, String)> = p
            .malformed
            .iter()
            .map(|e| (e.id.clone(), e.reason.clone()))
            .collect();
        m.sort();
        m
    };
    assert!(paged.records == fetched.records, "the records differ");
    assert_eq!(paged.records.len(), 20);
    assert_eq!(malformed(&paged), malformed(&fetched));
    assert_eq!(
        malformed(&paged)
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["Evil1", "Other1", "Wrong1"]
    );
    assert_eq!(paged.dangling, fetched.dangling);
    assert_eq!(paged.dangling, ["Gone1"]);
}

/// Writers that start together on a namespace nobody created yet: the one that loses the
/// race to create its meta must not find it "without a layout field" (read between the
/// other's check and its create) and refuse.
async fn first_writers_of_a_fresh_namespace_race_without_refusals(t: Target) {
    for round in 0..20 {
        let ns = crate::common::data::namespace(&format!("race{round}"));
        let mut writers = Vec::new();
        for _ in 0..4 {
            let s = Store::new(raw(t).await, ns.clone()).with_actor(ACTOR);
            writers.push(async move { s.create(&CreateRequest::new("first")).await });
        }
        for r in futures::future::join_all(writers).await {
            if let Err(e) = r {
                panic!("round {round}: a first writer failed: {e}");
            }
        }
    }
}

async fn concurrent_writers_lose_nothing(t: Target) {
    let a = store(t, "concurrent").await;
    let b = Store::new(raw(t).await, a.namespace().clone()).with_actor("other");
    let first = a
        .create_many(&CreateRequest::new("seed"), 200, |_| {})
        .await
        .unwrap();
    let ids: Vec<String> = first.iter().map(|c| c.record.id.clone()).collect();
    let (req_a, req_b) = (CreateRequest::new("a"), CreateRequest::new("b"));
    let (ra, rb, ca, cb) = tokio::join!(
        async {
            for id in ids.iter().step_by(2) {
                a.revoke(id, None).await.unwrap();
            }
        },
        async {
            for id in ids.iter().skip(1).step_by(2) {
                b.revoke(id, None).await.unwrap();
            }
        },
        a.create_many(&req_a, 300, |_| {}),
        b.create_many(&req_b, 300, |_| {}),
    );
    let _ = (ra, rb);
    assert_eq!(ca.unwrap().len(), 300);
    assert_eq!(cb.unwrap().len(), 300);
    assert_eq!(a.count().await.unwrap(), 800);
    let all = a.list_all(|_, _| {}).await.unwrap();
    assert_eq!(all.records.len(), 800);
    let revoked = all.records.iter().filter(|r| r.revoked).count();
    assert_eq!(revoked, 200);
    let events = a.recent_events(10_000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.op == "create").count(), 800);
    assert_eq!(events.iter().filter(|e| e.op == "revoke").count(), 200);
}

async fn pepper_namespaces_need_the_right_pepper(t: Target) {
    use keytui::crypto::Pepper;
    let s = store(t, "pepper").await;
    let peppered = s
        .clone()
        .with_pepper(Some(Pepper::new(b"pepper-1".to_vec())));
    let c = peppered.create(&CreateRequest::new("p")).await.unwrap();
    assert_eq!(c.record.secret_alg.as_str(), "hmac-sha256");
    assert!(matches!(
        peppered
            .verify(&c.record.id, c.secret.expose())
            .await
            .unwrap(),
        Verdict::Valid { .. }
    ));
    // without the pepper: a clear setup error, on create and verify
    assert!(matches!(
        s.create(&CreateRequest::new("x")).await,
        Err(Error::Setup(_))
    ));
    assert!(matches!(
        s.verify(&c.record.id, c.secret.expose()).await,
        Err(Error::Setup(_))
    ));
    // a wrong pepper is refused before anything is written
    let wrong = s
        .clone()
        .with_pepper(Some(Pepper::new(b"pepper-2".to_vec())));
    let err = wrong.create(&CreateRequest::new("x")).await.unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    assert_eq!(s.count().await.unwrap(), 1);
    let text = all_stored_text(t, s.namespace()).await;
    assert!(!text.contains(c.secret.expose()));
}

/// Listing on a cluster sends one pipeline per master, routed by the slots it read once;
/// after a slot moved to another master, the commands the old owner answers with `MOVED`
/// are sent again (following the redirection), so the listing stays complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_listing_follows_a_moved_slot() {
    // A cluster of its own: the test moves a slot.
    let cluster = crate::common::RedisCluster::start();
    let conn = conn::connect(&ConnectOptions::new(cluster.url()))
        .await
        .unwrap();
    let ns = Namespace::new(&crate::common::unique_namespace("moved")).unwrap();
    let s = Store::new(conn, ns.clone()).with_actor("tester");
    s.create_many(&CreateRequest::new("k"), 300, |_| {})
        .await
        .unwrap();
    let before: HashSet<String> = s
        .list_all(|_, _| {})
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(before.len(), 300);

    // Move the slot of one record to another master, the way redis-cli --cluster reshard
    // does: IMPORTING / MIGRATING, MIGRATE the keys, then SETSLOT NODE on every master.
    let id = before.iter().next().unwrap().clone();
    let key = ns.record_key(&id);
    let mut nodes: Vec<redis::Connection> = (0..3).map(|i| cluster.node_connection(i)).collect();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&key)
        .query(&mut nodes[0])
        .unwrap();
    let node_id = |c: &mut redis::Connection| -> String {
        redis::cmd("CLUSTER").arg("MYID").query(c).unwrap()
    };
    let ids: Vec<String> = nodes.iter_mut().map(node_id).collect();
    let owner = (0..3)
        .find(|&i| {
            let n: i64 = redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query(&mut nodes[i])
                .unwrap();
            n > 0
        })
        .expect("a master holds the record");
    let dest = (owner + 1) % 3;
    let ports = cluster.ports();
    let setslot = |c: &mut redis::Connection, how: &str, node: &str| {
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(how)
            .arg(node)
            .query::<()>(c)
            .unwrap();
    };
    setslot(&mut nodes[dest], "IMPORTING", &ids[owner]);
    setslot(&mut nodes[owner], "MIGRATING", &ids[dest]);
    let keys: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(1000)
        .query(&mut nodes[owner])
        .unwrap();
    assert!(keys.contains(&key));
    redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(ports[dest])
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys)
        .query::<()>(&mut nodes[owner])
        .unwrap();
    for c in nodes.iter_mut() {
        setslot(c, "NODE", &ids[dest]);
    }

    // The same store (its slot owners read before the move) lists every record again.
    let after = s.list_all(|_, _| {}).await.unwrap();
    assert!(after.malformed.is_empty(), "{:?}", after.malformed);
    assert!(after.dangling.is_empty(), "{:?}", after.dangling);
    let after: HashSet<String> = after.records.into_iter().map(|r| r.id).collect();
    assert_eq!(after, before);
    // And a fetch of the moved record by id (HGETALL through the same path) finds it.
    let page = s.fetch(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(page.records.len(), 1);
}

/// Connections a server has accepted so far (`INFO stats`).
fn connections_received(admin: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(admin).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO stats has total_connections_received")
}

/// On a standalone server a listing reads over a connection of its own (the bulk-read
/// pipe), logged in as the URL's user on the URL's database, even as an ACL user who may
/// not name a connection; without the pipe it opens none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_reads_over_its_own_connection_as_the_urls_user() {
    // A server of its own: the test counts the connections it accepts.
    let server = crate::common::RedisServer::start();
    server.add_acl_user("lister", "l1st-pass", "~* +@all -client");
    let url = format!("{}/3", server.url_for_user("lister", "l1st-pass"));
    let ns = Namespace::new(&crate::common::unique_namespace("pipe")).unwrap();
    let mut admin = server.connection();
    for bulk_pipe in [true, false] {
        let opts = ConnectOptions {
            bulk_pipe,
            ..ConnectOptions::new(&url)
        };
        let s = Store::new(conn::connect(&opts).await.unwrap(), ns.clone()).with_actor("tester");
        if bulk_pipe {
            s.create_many(&CreateRequest::new("k"), 2500, |_| {})
                .await
                .unwrap();
        }
        s.count().await.unwrap();
        let before = connections_received(&mut admin);
        let all = s.list_all(|_, _| {}).await.unwrap();
        let opened = connections_received(&mut admin) - before;
        // Database 3 as the user: every record, none dangling (database 0 has none).
        assert_eq!(all.records.len(), 2500, "bulk_pipe {bulk_pipe}");
        assert!(all.malformed.is_empty() && all.dangling.is_empty());
        assert_eq!(opened, u64::from(bulk_pipe), "bulk_pipe {bulk_pipe}");
    }
    let in_db0: u64 = redis::cmd("DBSIZE").query(&mut admin).unwrap();
    assert_eq!(in_db0, 0);
}
