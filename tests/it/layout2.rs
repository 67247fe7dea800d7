//! Layout 2 (docs/redis-layout.md, "The verify field"): every write keeps a record's
//! `verify` field in step with its fields, verification through that one field answers
//! as verification through the fields does, and `upgrade` brings a namespace of layout 1
//! to 2. Every scenario runs on a standalone server and on a 3-master cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use keytui::conn::Conn;
use keytui::error::Error;
use keytui::keygen::Secret;
use keytui::layout::{Namespace, field};
use keytui::record::{now_ms, verify_field};
use keytui::store::migrate::ImportItem;
use keytui::store::{CreateRequest, KeyEdit, Mode, RotateRequest, Store};
use keytui::verify::{self, Rejection, Verdict, Verifier};
use redis::AsyncCommands;

use crate::common::Target;
use crate::common::data::{ACTOR, namespace, raw};
use crate::common::layout_doc::rewrite_as_documented;
use crate::common::spawn::{keytui, stderr, stdout};

on_both!(
    every_write_keeps_verify_in_step,
    the_documented_function_is_keytuis,
    both_reads_give_the_same_verdicts,
    the_fast_read_sees_only_verify_and_doctor_mends_it,
    upgrade_from_layout_1,
    an_interrupted_upgrade_is_finished_by_running_it_again,
    tabs_that_do_not_fit_the_verify_field,
    a_verifier_started_before_the_namespace_learns_its_layout,
);

async fn setup(t: Target, tag: &str) -> (Store, Conn, Namespace) {
    let conn = raw(t).await;
    let ns = namespace(tag);
    (
        Store::new(conn.clone(), ns.clone()).with_actor(ACTOR),
        conn,
        ns,
    )
}

/// The fields of [`verify_field::Sources`], then `verify`.
const FIELDS: [&str; 7] = [
    field::STATUS,
    field::SECRET_ALG,
    field::SECRET,
    field::EXPIRES_AT,
    field::TOKEN_CHECKSUM,
    field::NAME,
    field::VERIFY,
];

/// The record's `verify` field, and what its fields say it must be.
async fn verify_and_expected(
    conn: &mut Conn,
    ns: &Namespace,
    id: &str,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let f: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
        .arg(ns.record_key(id))
        .arg(&FIELDS[..])
        .query_async(conn)
        .await
        .unwrap();
    let sources = verify_field::Sources {
        status: f[0].as_deref(),
        secret_alg: f[1].as_deref(),
        secret: f[2].as_deref(),
        expires_at: f[3].as_deref(),
        token_checksum: f[4].as_deref(),
        name: f[5].as_deref(),
    };
    (f[6].clone(), verify_field::expected(sources))
}

async fn assert_in_step(conn: &mut Conn, ns: &Namespace, ids: &[&str], after: &str) {
    for id in ids {
        let (stored, expected) = verify_and_expected(conn, ns, id).await;
        assert!(expected.is_some(), "{id} has its fields after {after}");
        assert_eq!(
            stored.as_deref().map(String::from_utf8_lossy),
            expected.as_deref().map(String::from_utf8_lossy),
            "the verify field of {id} after {after}"
        );
    }
}

async fn layout_of(conn: &mut Conn, ns: &Namespace) -> Option<String> {
    conn.hget(ns.meta_key(), "layout").await.unwrap()
}

async fn every_write_keeps_verify_in_step(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-writes").await;
    let mut req = CreateRequest::new("billing\tservice");
    req.prefix = Some("sk_live".into());
    req.expires_at = Some(now_ms() + 86_400_000);
    let a = store.create(&req).await.unwrap();
    let b = store
        .create(&CreateRequest::new("plain old"))
        .await
        .unwrap();
    let (a_id, b_id) = (a.record.id.as_str(), b.record.id.as_str());
    assert_eq!(
        layout_of(&mut conn, &ns).await.as_deref(),
        Some("2"),
        "a new namespace is of layout 2"
    );
    assert_in_step(&mut conn, &ns, &[a_id, b_id], "create").await;

    store.revoke(a_id, Some("leaked")).await.unwrap();
    assert_in_step(&mut conn, &ns, &[a_id], "revoke").await;
    store.restore(a_id).await.unwrap();
    assert_in_step(&mut conn, &ns, &[a_id], "restore").await;
    store
        .revoke_many(&[b_id.to_owned()], Some("bulk"), |_| {})
        .await
        .unwrap();
    assert_in_step(&mut conn, &ns, &[b_id], "bulk revoke").await;
    store
        .restore_many(&[b_id.to_owned()], |_| {})
        .await
        .unwrap();
    assert_in_step(&mut conn, &ns, &[b_id], "bulk restore").await;

    let edit = KeyEdit {
        name: Some("renamed".into()),
        expires_at: Some(Some(now_ms() + 2 * 86_400_000)),
        set_meta: BTreeMap::from([("owner".to_owned(), "team-a".to_owned())]),
        ..KeyEdit::default()
    };
    store.edit(a_id, &edit).await.unwrap();
    assert_in_step(&mut conn, &ns, &[a_id], "edit").await;
    let never = KeyEdit {
        expires_at: Some(None),
        ..KeyEdit::default()
    };
    store.edit(a_id, &never).await.unwrap();
    assert_in_step(&mut conn, &ns, &[a_id], "edit to never").await;
    store
        .extend_many(&[b_id.to_owned()], Duration::from_secs(3600), |_| {})
        .await
        .unwrap();
    assert_in_step(&mut conn, &ns, &[b_id], "extend").await;

    let rotated = store
        .rotate(a_id, &RotateRequest::new(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_in_step(
        &mut conn,
        &ns,
        &[a_id, &rotated.created.record.id],
        "rotate",
    )
    .await;
    let (stored, _) = verify_and_expected(&mut conn, &ns, a_id).await;
    assert!(
        String::from_utf8_lossy(&stored.unwrap()).split('\t').nth(2) != Some(""),
        "the rotated key expires now, and its verify field says so"
    );

    store
        .backdate(b_id, now_ms() - 10_000, Some(now_ms() - 5_000), None)
        .await
        .unwrap();
    assert_in_step(&mut conn, &ns, &[b_id], "backdate").await;
    let v = Verifier::new(conn.clone(), ns.clone());
    assert_eq!(
        v.verify(b_id, b.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Expired)
    );

    let imported = ImportItem {
        id: "Imported1".into(),
        secret: Secret::new("a".repeat(40)),
        name: "from tastypie".into(),
        created_at: None,
        expires_at: None,
        meta: BTreeMap::new(),
        revoked: true,
    };
    store.import(vec![imported], true, |_| {}).await.unwrap();
    assert_in_step(&mut conn, &ns, &["Imported1"], "import").await;
    assert_eq!(
        v.verify("Imported1", &"a".repeat(40)).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );

    // A plain namespace migrated to hash: the secret and its algorithm change.
    let (plain, mut pconn, pns) = setup(t, "l2-migrate").await;
    plain.init(Mode::Plain, false).await.unwrap();
    let p = plain.create(&CreateRequest::new("legacy")).await.unwrap();
    assert_in_step(&mut pconn, &pns, &[&p.record.id], "create (plain)").await;
    plain.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    let (stored, _) = verify_and_expected(&mut pconn, &pns, &p.record.id).await;
    assert!(String::from_utf8_lossy(stored.as_deref().unwrap()).starts_with("active\tsha256\t"));
    assert_in_step(&mut pconn, &pns, &[&p.record.id], "migrate").await;
    let pv = Verifier::new(pconn.clone(), pns.clone());
    assert!(
        pv.verify(&p.record.id, p.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
}

/// The document's function and keytui's scripts write the same value, and the Rust twin
/// agrees with both, on records keytui would never write.
async fn the_documented_function_is_keytuis(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-doc").await;
    let c = store.create(&CreateRequest::new("x")).await.unwrap();
    let id = c.record.id.clone();
    let key = ns.record_key(&id);
    let digest: Vec<u8> = conn.hget(&key, "secret").await.unwrap();
    let masters = store.master_urls(&t.url()).await.unwrap();
    // (field, value or None to delete)
    type Change = &'static [(&'static str, Option<&'static [u8]>)];
    let cases: &[Change] = &[
        &[],
        &[("status", Some(b"disabled"))],
        &[("status", Some(b""))],
        &[("expires_at", Some(b"not a number"))],
        &[("name", Some(b"tab\there \xff\xfe"))],
        &[("name", None), ("token_checksum", None)],
        &[("secret_alg", Some(b"md5"))],
        &[("secret", Some(b"with\ttab"))],
        &[("secret_alg", Some(b"sha\t256"))],
        &[("secret", None)],
        &[("status", None), ("secret_alg", None)],
        &[("status", None), ("secret_alg", None), ("secret", None)],
    ];
    for change in cases {
        // Back to a sound record by hand (the earlier cases' fields), then the change by
        // hand, then the document's function.
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg(&[
                ("status", "active"),
                ("secret_alg", "sha256"),
                ("name", "x"),
                ("token_checksum", "1"),
            ])
            .arg("secret")
            .arg(&digest)
            .query_async(&mut conn)
            .await
            .unwrap();
        for (f, v) in *change {
            let _: () = match v {
                Some(v) => conn.hset(&key, *f, *v).await.unwrap(),
                None => conn.hdel(&key, *f).await.unwrap(),
            };
        }
        rewrite_as_documented(&mut conn, &key).await;
        let (by_doc, expected) = verify_and_expected(&mut conn, &ns, &id).await;
        assert_eq!(
            by_doc, expected,
            "the document's function and the Rust twin, after {change:?}"
        );
        // keytui's own script (doctor's repair rewrites a verify field found out of step).
        let _: () = conn.hset(&key, "verify", "stale").await.unwrap();
        store.doctor(true, &masters).await.unwrap();
        let (by_keytui, _) = verify_and_expected(&mut conn, &ns, &id).await;
        assert_eq!(
            by_keytui, by_doc,
            "keytui's script and the document's, after {change:?}"
        );
    }
}

/// What each read answers: the verdict, or the word `malformed` for a record error.
fn outcome(r: keytui::Result<Verdict>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(Error::Malformed(_)) => "malformed".into(),
        Err(e) => panic!("not a verdict: {e}"),
    }
}

async fn both_reads_give_the_same_verdicts(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-same").await;
    let mut req = CreateRequest::new("tok");
    req.prefix = Some("pk_test".into());
    let mut keys = Vec::new();
    for _ in 0..8 {
        keys.push(store.create(&req).await.unwrap());
    }
    let id = |i: usize| keys[i].record.id.clone();
    store.revoke(&id(1), None).await.unwrap();
    store
        .backdate(&id(2), now_ms() - 10_000, Some(now_ms() - 1), None)
        .await
        .unwrap();
    // Malformed by hand, rewritten as the document says: a missing secret, an unknown
    // algorithm, an expiry that is not a number; and a record key of another type.
    let doc = |f: &'static str, v: Option<&'static [u8]>| (f, v);
    let broken = [
        (3, doc("secret", None)),
        (4, doc("secret_alg", Some(&b"md5"[..]))),
        (5, doc("expires_at", Some(&b"soon"[..]))),
    ];
    for (i, (f, v)) in broken {
        let key = ns.record_key(&id(i));
        let _: () = match v {
            Some(v) => conn.hset(&key, f, v).await.unwrap(),
            None => conn.hdel(&key, f).await.unwrap(),
        };
        rewrite_as_documented(&mut conn, &key).await;
    }
    let _: () = conn.del(ns.record_key(&id(6))).await.unwrap();
    let _: () = conn.set(ns.record_key(&id(6)), "x").await.unwrap();

    let fast = Verifier::new(conn.clone(), ns.clone());
    fast.check_namespace().await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (i, k) in keys.iter().enumerate() {
        let token = k.token.expose();
        let mut bad_checksum = token.to_owned();
        let last = bad_checksum.pop().unwrap();
        bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
        let wrong = format!("{}x", k.secret.expose());
        for (secret, what) in [(k.secret.expose(), "secret"), (wrong.as_str(), "wrong")] {
            let by_field = outcome(fast.verify(&k.record.id, secret).await);
            let by_fields =
                outcome(verify::verify(&mut conn.clone(), &ns, &k.record.id, secret).await);
            assert_eq!(by_field, by_fields, "key {i}, {what}");
            seen.insert(by_field);
        }
        for tok in [token, bad_checksum.as_str()] {
            let by_field = outcome(fast.verify_token(tok).await);
            let by_fields = outcome(verify::verify_token(&mut conn.clone(), &ns, tok).await);
            assert_eq!(by_field, by_fields, "key {i}, token");
            seen.insert(by_field);
        }
    }
    let unknown = outcome(fast.verify("Unknown0Key", "x").await);
    assert_eq!(
        unknown,
        outcome(verify::verify(&mut conn.clone(), &ns, "Unknown0Key", "x").await)
    );
    seen.insert(unknown);
    // Every kind of answer was compared, so the scenario covers what it says.
    for want in [
        "Valid",
        "WrongSecret",
        "Revoked",
        "Expired",
        "BadChecksum",
        "Unknown",
        "malformed",
    ] {
        assert!(
            seen.iter().any(|s| s.contains(want)),
            "{want} not seen: {seen:?}"
        );
    }
}

/// A hand-made `HSET status revoked` without the document's function: the fields say
/// revoked, `verify` still says active. The one-field read goes by `verify` (which is what
/// makes it one field), doctor names the record, and its repair mends it.
async fn the_fast_read_sees_only_verify_and_doctor_mends_it(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-stale").await;
    let c = store.create(&CreateRequest::new("svc")).await.unwrap();
    let id = c.record.id.as_str();
    let secret = c.secret.expose();
    let _: () = conn
        .hset(ns.record_key(id), "status", "revoked")
        .await
        .unwrap();
    let fast = Verifier::new(conn.clone(), ns.clone());
    assert!(
        fast.verify(id, secret).await.unwrap().is_valid(),
        "the one-field read reads one field"
    );
    assert_eq!(
        verify::verify(&mut conn, &ns, id, secret).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    let masters = store.master_urls(&t.url()).await.unwrap();
    let report = store.doctor(false, &masters).await.unwrap();
    assert_eq!(report.stale_verify, vec![id.to_owned()]);
    assert!(!report.is_healthy());
    // The command says it too: exit 1, the id in the text and in the JSON.
    let o = keytui(&t.url(), ns.as_str())
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "verify field out of step with the record's fields: {id}"
        )),
        "{}",
        stdout(&o)
    );
    let o = keytui(&t.url(), ns.as_str())
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(json["stale_verify"], serde_json::json!([id]), "{json}");
    let report = store.doctor(true, &masters).await.unwrap();
    assert!(report.repaired >= 1);
    assert_eq!(
        fast.verify(id, secret).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    let report = store.doctor(false, &masters).await.unwrap();
    assert!(
        report.stale_verify.is_empty() && report.is_healthy(),
        "{report:?}"
    );

    // `keytui revoke` of a key a hand-made HSET revoked already: "already revoked", and
    // the verify field says so afterwards too (a revoke never leaves the key valid).
    let d = store.create(&CreateRequest::new("svc")).await.unwrap();
    let _: () = conn
        .hset(ns.record_key(&d.record.id), "status", "revoked")
        .await
        .unwrap();
    assert!(
        fast.verify(&d.record.id, d.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
    store.revoke(&d.record.id, None).await.unwrap();
    assert_eq!(
        fast.verify(&d.record.id, d.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    // And restore of a key a hand-made HSET restored.
    let _: () = conn
        .hset(ns.record_key(&d.record.id), "status", "active")
        .await
        .unwrap();
    store.restore(&d.record.id).await.unwrap();
    assert!(
        fast.verify(&d.record.id, d.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
}

async fn upgrade_from_layout_1(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-upgrade").await;
    let mut keys = Vec::new();
    for _ in 0..5 {
        keys.push(store.create(&CreateRequest::new("old")).await.unwrap());
    }
    // What keytui of layout 1 left: no verify fields, layout 1.
    let _: () = conn.hset(ns.meta_key(), "layout", "1").await.unwrap();
    for k in &keys {
        let _: () = conn
            .hdel(ns.record_key(&k.record.id), "verify")
            .await
            .unwrap();
    }
    let old = Verifier::new(conn.clone(), ns.clone());
    assert!(
        old.verify(&keys[0].record.id, keys[0].secret.expose())
            .await
            .unwrap()
            .is_valid()
    );

    // Elsewhere than a terminal the command refuses without --yes, and changes nothing.
    let o = keytui(&t.url(), ns.as_str())
        .arg("upgrade")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(layout_of(&mut conn, &ns).await.as_deref(), Some("1"));

    let o = keytui(&t.url(), ns.as_str())
        .args(["upgrade", "--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(report["from"], 1);
    assert_eq!(report["to"], 2);
    assert_eq!(report["records"], 5);
    assert_eq!(layout_of(&mut conn, &ns).await.as_deref(), Some("2"));
    let ids: Vec<&str> = keys.iter().map(|k| k.record.id.as_str()).collect();
    assert_in_step(&mut conn, &ns, &ids, "upgrade").await;
    let events = store.recent_events(5).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.op == "upgrade" && e.detail.as_deref() == Some("layout 1 -> 2"))
    );

    // The verifier that read layout 1 at start goes on reading the fields, rightly; a new
    // one reads the verify field.
    store.revoke(&keys[0].record.id, None).await.unwrap();
    assert_eq!(
        old.verify(&keys[0].record.id, keys[0].secret.expose())
            .await
            .unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    let new = Verifier::new(conn.clone(), ns.clone());
    assert_eq!(
        new.verify(&keys[0].record.id, keys[0].secret.expose())
            .await
            .unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    assert!(
        new.verify(&keys[1].record.id, keys[1].secret.expose())
            .await
            .unwrap()
            .is_valid()
    );

    // Again: the layout stays, and only the last pass runs (every record, once).
    let again = store
        .upgrade(&store.master_urls(&t.url()).await.unwrap(), |_, _| {})
        .await
        .unwrap();
    assert_eq!((again.from, again.to, again.records), (2, 2, 5));
    // A namespace that does not exist has nothing to upgrade.
    let (empty, _, _) = setup(t, "l2-none").await;
    assert!(matches!(
        empty.upgrade(&[t.url()], |_, _| {}).await,
        Err(Error::Setup(_))
    ));
}

/// An upgrade that died after it set the layout (before its last pass): running it again
/// on the namespace, now of layout 2, still does the last pass.
async fn an_interrupted_upgrade_is_finished_by_running_it_again(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-rerun").await;
    let a = store.create(&CreateRequest::new("a")).await.unwrap();
    let b = store.create(&CreateRequest::new("b")).await.unwrap();
    // What a writer of layout 1 did between the passes: a revoke by the fields only, and
    // a record without its verify field.
    let _: () = conn
        .hset(ns.record_key(&a.record.id), "status", "revoked")
        .await
        .unwrap();
    let _: () = conn
        .hdel(ns.record_key(&b.record.id), "verify")
        .await
        .unwrap();
    let fast = Verifier::new(conn.clone(), ns.clone());
    assert!(
        fast.verify(&a.record.id, a.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
    let o = keytui(&t.url(), ns.as_str())
        .args(["upgrade", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "no question on a namespace of layout 2: {}",
        stderr(&o)
    );
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (report["from"].as_u64(), report["to"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(report["records"], 2);
    assert_eq!(
        fast.verify(&a.record.id, a.secret.expose()).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    assert!(
        fast.verify(&b.record.id, b.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
    assert_in_step(&mut conn, &ns, &[&a.record.id, &b.record.id], "the rerun").await;
}

/// A tab inside a part the verify field holds: keytui never writes one (an import refuses
/// it), and doctor and upgrade name a record another program wrote with one.
async fn tabs_that_do_not_fit_the_verify_field(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-tab").await;
    store.init(Mode::Plain, false).await.unwrap();
    let item = |id: &str, secret: &str| ImportItem {
        id: id.into(),
        secret: Secret::new(secret.to_owned()),
        name: "imported".into(),
        created_at: None,
        expires_at: None,
        meta: BTreeMap::new(),
        revoked: false,
    };
    let tabbed = format!("{}\t{}", "a".repeat(30), "b".repeat(30));
    let refused = store
        .import(vec![item("Tabbed1", &tabbed)], false, |_| {})
        .await;
    assert!(
        matches!(refused, Err(Error::Input(ref m)) if m.contains("control character")),
        "{refused:?}"
    );
    let exists: bool = conn.exists(ns.record_key("Tabbed1")).await.unwrap();
    assert!(!exists, "nothing of a refused import is written");

    // Another program's record, written as the layout says, with a tab in its secret.
    let c = store.create(&CreateRequest::new("fine")).await.unwrap();
    let key = ns.record_key("Tabbed2");
    crate::common::layout_doc::hset_as_documented_async(
        &mut conn,
        &key,
        &[
            ("id".to_owned(), b"Tabbed2".to_vec()),
            ("name".to_owned(), b"theirs".to_vec()),
            ("status".to_owned(), b"active".to_vec()),
            ("secret_alg".to_owned(), b"plain".to_vec()),
            ("secret".to_owned(), tabbed.clone().into_bytes()),
            ("created_at".to_owned(), now_ms().to_string().into_bytes()),
        ],
    )
    .await;
    let _: () = conn
        .zadd(ns.index_key(), "Tabbed2", now_ms())
        .await
        .unwrap();
    let masters = store.master_urls(&t.url()).await.unwrap();
    let report = store.doctor(false, &masters).await.unwrap();
    assert_eq!(
        report.unverifiable,
        vec!["Tabbed2".to_owned()],
        "{report:?}"
    );
    assert!(report.stale_verify.is_empty(), "{report:?}");
    assert!(!report.is_healthy());
    let fast = Verifier::new(conn.clone(), ns.clone());
    assert!(matches!(
        fast.verify("Tabbed2", &tabbed).await,
        Err(Error::Malformed(_))
    ));
    assert!(
        fast.verify(&c.record.id, c.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
    // An upgrade from layout 1 refuses to switch while an active key has one (apps would
    // stop accepting it), and goes on once it is revoked.
    let _: () = conn.hset(ns.meta_key(), "layout", "1").await.unwrap();
    let refused = store.upgrade(&masters, |_, _| {}).await;
    assert!(
        matches!(refused, Err(Error::Conflict(ref m)) if m.contains("Tabbed2") && m.contains("stays of layout 1")),
        "{refused:?}"
    );
    assert_eq!(layout_of(&mut conn, &ns).await.as_deref(), Some("1"));
    store.revoke("Tabbed2", None).await.unwrap();
    let report = store.doctor(false, &masters).await.unwrap();
    assert!(
        report.unverifiable.is_empty(),
        "a revoked key is not counted: {report:?}"
    );
    let up = store.upgrade(&masters, |_, _| {}).await.unwrap();
    assert_eq!(
        (up.from, up.to, up.records, up.unverifiable),
        (1, 2, 2, 0),
        "{up:?}"
    );
}

/// A verifier whose gate found no namespace (an app started before the first key) reads
/// the fields; once it finds a record it reads the layout again and from then on reads
/// the verify field. The stale-verify trick shows which read answered.
async fn a_verifier_started_before_the_namespace_learns_its_layout(t: Target) {
    let (store, mut conn, ns) = setup(t, "l2-later").await;
    let v = Verifier::new(conn.clone(), ns.clone());
    assert_eq!(
        v.verify("NotYet1", "x").await.unwrap(),
        Verdict::Rejected(Rejection::Unknown)
    );
    assert!(
        v.check_namespace().await.unwrap().is_none(),
        "no namespace yet"
    );
    let c = store.create(&CreateRequest::new("first")).await.unwrap();
    let (id, secret) = (c.record.id.as_str(), c.secret.expose());
    let _: () = conn
        .hset(ns.record_key(id), "status", "revoked")
        .await
        .unwrap();
    // The fields say revoked; this read goes by them, then learns layout 2.
    assert_eq!(
        v.verify(id, secret).await.unwrap(),
        Verdict::Rejected(Rejection::Revoked)
    );
    // Now the one-field read: the (stale) verify field says active.
    assert!(v.verify(id, secret).await.unwrap().is_valid());

    // A namespace that turns up of a newer layout is refused, from then on.
    let (store, mut conn, ns) = setup(t, "l2-later-newer").await;
    let v = Verifier::new(conn.clone(), ns.clone());
    assert!(v.check_namespace().await.unwrap().is_none());
    let c = store.create(&CreateRequest::new("first")).await.unwrap();
    let _: () = conn.hset(ns.meta_key(), "layout", "3").await.unwrap();
    let first = v.verify(&c.record.id, c.secret.expose()).await;
    assert!(matches!(first, Err(Error::Setup(_))), "{first:?}");
    for _ in 0..3 {
        let again = v.verify(&c.record.id, c.secret.expose()).await;
        assert!(matches!(again, Err(Error::Setup(_))), "{again:?}");
    }
}
