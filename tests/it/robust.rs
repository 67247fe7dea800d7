//! Hostile data and newer layouts, against real servers (a standalone server and a
//! 3-master cluster):
//!
//! * a namespace of more than 1,000 records with every kind of damage we could think of
//!   never blinds a reader: the store, `list`, `show`, `doctor`, `verify`, bulk changes,
//!   migrate and import report each bad record and go on with the rest;
//! * a namespace whose meta says a newer layout (or is not a hash, or has a layout that is
//!   not a number) is refused by every command of the CLI, enumerated from its clap
//!   definition, with one line and exit 2, and nothing in Redis changes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Output;
use std::time::Duration;

use clap::CommandFactory;
use keytui::conn::{self, Conn, ConnectOptions};
use keytui::error::Error;
use keytui::layout::Namespace;
use keytui::migrate::ImportItem;
use keytui::record::now_ms;
use keytui::store::{CreateRequest, KeyFilter, Mode, Repair, RotateRequest, Store, Verdict};
use keytui::verify::Verifier;
use redis::AsyncCommands;
use serde_json::Value;

use crate::common::Target;
use crate::common::data::{raw, store};
use crate::common::spawn::{self, keytui, text};

/// Good keys in the damaged namespace.
const GOOD: usize = 800;
/// Copies of each kind of damage.
const COPIES: usize = 12;

on_both!(
    damaged_namespace_never_blinds_the_store,
    damaged_namespace_never_blinds_the_cli,
    newer_layout_is_refused_by_every_command,
    verifier_refuses_a_newer_layout_once_per_verifier,
);

/// A namespace with [`GOOD`] keys, a few odd but readable ones, and [`COPIES`] records of
/// each kind of damage, all indexed.
struct Damaged {
    store: Store,
    /// id -> secret of every key that must list and verify.
    good: BTreeMap<String, String>,
    /// Readable records with strange content (control characters, a megabyte name, damaged
    /// display fields).
    odd: BTreeSet<String>,
    /// Records that must be reported as malformed, with a word their problem must contain.
    bad: BTreeMap<String, &'static str>,
    /// Index entries without a record.
    dangling: BTreeSet<String>,
    /// The readable records of `odd` whose display fields are damaged (listed, marked).
    damaged: BTreeSet<String>,
}

impl Damaged {
    fn listed(&self) -> BTreeSet<String> {
        self.good.keys().chain(&self.odd).cloned().collect()
    }
}

/// A record's fields, as bytes.
type Fields = Vec<(String, Vec<u8>)>;

/// A valid record's fields for `id`, as keytui writes them (secret `s3cret-<id>`).
fn fields_of(id: &str) -> Fields {
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!("s3cret-{id}").as_bytes()))
    };
    [
        ("id", id.to_owned()),
        ("name", format!("odd {id}")),
        ("status", "active".into()),
        ("secret_alg", "sha256".into()),
        ("secret", digest),
        ("token_checksum", "0".into()),
        ("created_at", (now_ms() - 3_600_000).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_bytes()))
    .collect()
}

/// Writes a record as another program following the layout would: its fields, and its
/// `verify` field by the document's function.
async fn write_hash(c: &mut Conn, key: &str, fields: &[(String, Vec<u8>)]) {
    crate::common::layout_doc::hset_as_documented_async(c, key, fields).await;
}

fn with(mut f: Fields, name: &str, value: &[u8]) -> Fields {
    f.retain(|(k, _)| k != name);
    f.push((name.to_owned(), value.to_vec()));
    f
}

fn without(mut f: Fields, name: &str) -> Fields {
    f.retain(|(k, _)| k != name);
    f
}

async fn damaged(t: Target, tag: &str) -> Damaged {
    let store = store(t, tag).await;
    let ns = store.namespace().clone();
    let created = store
        .create_many(&CreateRequest::new("fine"), GOOD, |_| {})
        .await
        .unwrap();
    let good = created
        .iter()
        .map(|c| (c.record.id.clone(), c.secret.expose().to_owned()))
        .collect();
    let mut c = raw(t).await;
    let mut odd = BTreeSet::new();
    let mut bad = BTreeMap::new();
    let mut dangling = BTreeSet::new();
    let mut damaged_ids = BTreeSet::new();
    let megabyte = vec![b'x'; 1 << 20];
    for n in 0..COPIES {
        let id = |kind: &str| format!("Bad{kind}{n}");
        // Record keys of every other Redis type.
        let k = id("Str");
        let _: () = c.set(ns.record_key(&k), "x").await.unwrap();
        bad.insert(k, "string");
        let k = id("List");
        let _: () = c.rpush(ns.record_key(&k), "x").await.unwrap();
        bad.insert(k, "list");
        let k = id("Set");
        let _: () = c.sadd(ns.record_key(&k), "x").await.unwrap();
        bad.insert(k, "set");
        let k = id("Zset");
        let _: () = c.zadd(ns.record_key(&k), "x", 1).await.unwrap();
        bad.insert(k, "zset");
        let k = id("Stream");
        let _: String = redis::cmd("XADD")
            .arg(ns.record_key(&k))
            .arg("*")
            .arg("f")
            .arg("v")
            .query_async(&mut c)
            .await
            .unwrap();
        bad.insert(k, "stream");
        // Hashes that cannot be read.
        let cases: Vec<(String, Fields, &'static str)> = vec![
            (
                id("NoStatus"),
                without(fields_of(&id("NoStatus")), "status"),
                "status",
            ),
            (
                id("NoSecret"),
                without(fields_of(&id("NoSecret")), "secret"),
                "secret",
            ),
            (
                id("NoAlg"),
                without(fields_of(&id("NoAlg")), "secret_alg"),
                "secret_alg",
            ),
            (id("NoId"), without(fields_of(&id("NoId")), "id"), "id"),
            (
                id("BadExpiry"),
                with(fields_of(&id("BadExpiry")), "expires_at", b"soon"),
                "expires_at",
            ),
            (
                id("HugeExpiry"),
                with(
                    fields_of(&id("HugeExpiry")),
                    "expires_at",
                    b"99999999999999999999999",
                ),
                "expires_at",
            ),
            (
                id("Utf8Status"),
                with(fields_of(&id("Utf8Status")), "status", b"act\xffive"),
                "UTF-8",
            ),
            (
                id("CtrlStatus"),
                with(fields_of(&id("CtrlStatus")), "status", b"active\x1b[31m"),
                "status",
            ),
            (
                id("Status"),
                with(fields_of(&id("Status")), "status", b"paused"),
                "status",
            ),
            (
                id("Alg"),
                with(fields_of(&id("Alg")), "secret_alg", b"md5"),
                "secret_alg",
            ),
            (
                id("HugeStatus"),
                with(fields_of(&id("HugeStatus")), "status", &megabyte),
                "status",
            ),
            (
                id("OtherId"),
                with(fields_of(&id("OtherId")), "id", b"SomebodyElse"),
                "another id",
            ),
            (
                id("HugeId"),
                with(fields_of(&id("HugeId")), "id", &megabyte),
                "another id",
            ),
            (
                id("EmptyStatus"),
                with(fields_of(&id("EmptyStatus")), "status", b""),
                "status",
            ),
        ];
        // Damage in display fields only: the record still lists (marked damaged) and
        // verifies.
        let damaged_cases: Vec<(String, Fields)> = vec![
            (
                id("NoCreated"),
                without(fields_of(&id("NoCreated")), "created_at"),
            ),
            (
                id("BadCreated"),
                with(fields_of(&id("BadCreated")), "created_at", b"yesterday"),
            ),
            (
                id("BadUsed"),
                with(fields_of(&id("BadUsed")), "last_used_at", b"1e9"),
            ),
            (
                id("Utf8Name"),
                with(fields_of(&id("Utf8Name")), "name", b"\xff\xfebad"),
            ),
            (id("Meta"), with(fields_of(&id("Meta")), "meta", b"[1,2]")),
        ];
        for (k, f) in damaged_cases {
            write_hash(&mut c, &ns.record_key(&k), &f).await;
            odd.insert(k.clone());
            damaged_ids.insert(k);
        }
        if n < 2 {
            let k = id("HugeMeta");
            write_hash(
                &mut c,
                &ns.record_key(&k),
                &with(fields_of(&k), "meta", &megabyte),
            )
            .await;
            odd.insert(k.clone());
            damaged_ids.insert(k);
        }
        // Megabyte fields in two copies only: enough to see them handled, without filling
        // the shared servers' memory.
        for (k, f, word) in cases
            .into_iter()
            .filter(|(k, _, _)| n < 2 || !k.contains("Huge"))
        {
            write_hash(&mut c, &ns.record_key(&k), &f).await;
            bad.insert(k, word);
        }
        // Readable, if strange: they list (printed safely) and verify.
        let k = id("OddCtrl");
        write_hash(
            &mut c,
            &ns.record_key(&k),
            &with(fields_of(&k), "name", b"\x1b[2J\x07evil\nname\r"),
        )
        .await;
        odd.insert(k);
        if n < 2 {
            let k = id("OddHugeName");
            write_hash(
                &mut c,
                &ns.record_key(&k),
                &with(fields_of(&k), "name", &megabyte),
            )
            .await;
            odd.insert(k);
        }
        // Index entries without a record, old enough for doctor to remove.
        dangling.insert(id("Dangling"));
    }
    let old = now_ms() - 3_600_000;
    for k in bad.keys().chain(&odd).chain(&dangling) {
        let _: () = c.zadd(ns.index_key(), k, old).await.unwrap();
    }
    assert!(GOOD + bad.len() + odd.len() + dangling.len() >= 1000);
    Damaged {
        store,
        good,
        odd,
        bad,
        dangling,
        damaged: damaged_ids,
    }
}

/// Every key of the namespace on every master, with its type and serialized value.
async fn snapshot(t: Target, ns: &Namespace) -> BTreeMap<Vec<u8>, (String, Vec<u8>)> {
    let mut all = BTreeMap::new();
    for url in t.urls() {
        let opts = ConnectOptions {
            cluster: Some(false),
            ..ConnectOptions::new(url)
        };
        let mut c = conn::connect(&opts).await.unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
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
            let dump: Vec<u8> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut c)
                .await
                .unwrap();
            all.insert(key, (kind, dump));
        }
    }
    all
}

async fn damaged_namespace_never_blinds_the_store(t: Target) {
    let d = damaged(t, "damage").await;
    let s = &d.store;
    let ns = s.namespace().clone();
    let bad_ids: BTreeSet<String> = d.bad.keys().cloned().collect();

    // Listing: every readable record, every bad one reported, the rest dangling.
    let all = s.list_all(|_, _| {}).await.unwrap();
    let listed: BTreeSet<String> = all.records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(listed, d.listed());
    // Damage in display fields is noted on the record that still lists.
    let noted: BTreeSet<String> = all
        .records
        .iter()
        .filter(|r| !r.damage.is_empty())
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(noted, d.damaged);
    let malformed: BTreeSet<String> = all.malformed.iter().map(|e| e.id.clone()).collect();
    assert_eq!(malformed, bad_ids);
    // The same listing read through the ordinary connection instead of the bulk-read pipe
    // (standalone; a cluster has no pipe): the same answer, reasons included.
    let plain = Store::new(
        conn::connect(&ConnectOptions {
            bulk_pipe: false,
            ..ConnectOptions::new(t.url())
        })
        .await
        .unwrap(),
        ns.clone(),
    );
    let again = plain.list_all(|_, _| {}).await.unwrap();
    assert_eq!(again.records, all.records);
    let reasons = |p: &keytui::store::Page| {
        p.malformed
            .iter()
            .map(|e| (e.id.clone(), e.reason.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(&again), reasons(&all));
    assert_eq!(again.dangling, all.dangling);
    for e in &all.malformed {
        let word = d.bad[&e.id];
        assert!(
            e.reason.contains(word),
            "{}: {:?} lacks {word:?}",
            e.id,
            e.reason
        );
        assert!(e.to_string().len() < 300, "a reason stays short: {}", e.id);
    }
    let dangling: BTreeSet<String> = all.dangling.iter().cloned().collect();
    assert_eq!(dangling, d.dangling);
    // Pages (what the TUI loads) see the same.
    let mut paged = Vec::new();
    let mut paged_bad = Vec::new();
    for offset in (0..all.total).step_by(200) {
        let page = s.page(offset, 200).await.unwrap();
        paged.extend(page.records.into_iter().map(|r| r.id));
        paged_bad.extend(page.malformed.into_iter().map(|e| e.id));
    }
    assert_eq!(paged.into_iter().collect::<BTreeSet<_>>(), d.listed());
    assert_eq!(paged_bad.into_iter().collect::<BTreeSet<_>>(), bad_ids);

    // One record at a time: a wrong type is malformed, named by its type.
    for (id, word) in &d.bad {
        match s.get(id).await {
            Err(Error::Malformed(e)) => {
                if ["string", "list", "set", "zset", "stream"].contains(word) {
                    assert_eq!(e.reason, format!("the record key is a {word}, not a hash"));
                }
            }
            // Invalid UTF-8 in a name shows with replacement characters.
            Ok(r) => assert!(r.name.contains('\u{fffd}'), "{id} read as {r:?}"),
            Err(e) => panic!("get {id}: {e}"),
        }
    }

    // Verification: the good keys verify, the bad ones are rejected or malformed, never a
    // Redis error.
    for (id, secret) in d.good.iter().take(50) {
        assert!(s.verify(id, secret).await.unwrap().is_valid());
    }
    for id in &d.odd {
        assert!(
            s.verify(id, &format!("s3cret-{id}"))
                .await
                .unwrap()
                .is_valid()
        );
    }
    for id in d.bad.keys() {
        match s.verify(id, &format!("s3cret-{id}")).await {
            Ok(Verdict::Valid { .. }) if id.contains("Utf8Name") || id.contains("BadUsed") => {}
            Ok(Verdict::Valid { .. }) if id.contains("Meta") || id.contains("BadCreated") => {}
            Ok(Verdict::Valid { .. }) if id.contains("NoCreated") || id.contains("NoId") => {}
            Ok(Verdict::Valid { .. }) if id.contains("OtherId") || id.contains("HugeId") => {}
            Ok(Verdict::Valid { .. }) => panic!("{id} verified"),
            Ok(Verdict::Rejected(_)) | Err(Error::Malformed(_)) => {}
            Err(e) => panic!("verify {id}: {e}"),
        }
    }

    // Changes never trip over them: bulk revoke of everything revokes the readable keys
    // and leaves every bad record as it was.
    let bad_before: BTreeMap<_, _> = snapshot(t, &ns)
        .await
        .into_iter()
        .filter(|(k, _)| d.bad.keys().any(|id| k == ns.record_key(id).as_bytes()))
        .collect();
    assert_eq!(bad_before.len(), d.bad.len());
    for id in d.bad.keys().filter(|id| id.starts_with("BadStr")) {
        assert!(matches!(s.revoke(id, None).await, Err(Error::Malformed(_))));
        assert!(matches!(s.restore(id).await, Err(Error::Malformed(_))));
        let rotated = s.rotate(id, &RotateRequest::new(Duration::ZERO)).await;
        assert!(matches!(rotated, Err(Error::Malformed(_))), "{id}");
    }
    let selected = s.select(&KeyFilter::default()).await.unwrap();
    assert_eq!(selected.len(), d.listed().len());
    let ids: Vec<String> = selected.iter().map(|r| r.id.clone()).collect();
    let outcome = s.revoke_many(&ids, Some("drill"), |_| {}).await.unwrap();
    assert_eq!(outcome.done, ids.len());
    // A bad record handed to a bulk change (changed type since it was read) is reported.
    let wrong_types: Vec<String> = d
        .bad
        .iter()
        .filter(|(_, word)| ["string", "list", "set", "zset", "stream"].contains(word))
        .map(|(id, _)| id.clone())
        .collect();
    let outcome = s.revoke_many(&wrong_types, None, |_| {}).await.unwrap();
    assert_eq!(outcome.done, 0);
    assert_eq!(outcome.malformed, wrong_types);
    // Import over bad records never overwrites them.
    let items: Vec<ImportItem> = d
        .bad
        .keys()
        .map(|id| ImportItem {
            id: id.clone(),
            secret: keytui::keygen::Secret::new("an imported secret of some length".into()),
            name: "imported".into(),
            created_at: None,
            expires_at: None,
            meta: BTreeMap::new(),
            revoked: false,
        })
        .collect();
    let report = s.import(items, false, |_| {}).await.unwrap();
    assert_eq!(report.imported, 0);
    // Migrate walks past them.
    let report = s.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    assert!(report.complete);
    let bad_after: BTreeMap<_, _> = snapshot(t, &ns)
        .await
        .into_iter()
        .filter(|(k, _)| bad_before.contains_key(k))
        .collect();
    assert_eq!(bad_after, bad_before, "bad records were changed");

    // An audit log entry another program wrote with invalid UTF-8 does not hide the rest.
    let mut c = raw(t).await;
    let _: String = redis::cmd("XADD")
        .arg(ns.events_key())
        .arg("*")
        .arg("op")
        .arg(&b"\xffjunk"[..])
        .query_async(&mut c)
        .await
        .unwrap();
    let events = s.recent_events(10).await.unwrap();
    assert_eq!(events.len(), 10);
    assert!(events.last().unwrap().op.contains('\u{fffd}'));

    // Doctor names each bad record and what is wrong with it.
    let report = s.doctor(false, &t.urls()).await.unwrap();
    let named: BTreeMap<String, String> = report
        .malformed_records
        .iter()
        .map(|m| (m.id.clone(), m.problem.clone()))
        .collect();
    assert_eq!(named.keys().cloned().collect::<BTreeSet<_>>(), bad_ids);
    for (id, problem) in &named {
        assert!(problem.contains(d.bad[id]), "{id}: {problem}");
    }
    assert_eq!(
        report.dangling.iter().cloned().collect::<BTreeSet<_>>(),
        d.dangling
    );
    // Repair moves them out of the index and keeps their data, except those that could
    // still verify (an active record whose only fault is its id field): they stay indexed,
    // so list and bulk revoke keep seeing them.
    let verifiable: BTreeSet<String> = d
        .bad
        .keys()
        .filter(|id| id.contains("NoId") || id.contains("OtherId") || id.contains("HugeId"))
        .cloned()
        .collect();
    let report = s.doctor(true, &t.urls()).await.unwrap();
    assert_eq!(report.unindexed, d.bad.len() - verifiable.len());
    assert_eq!(
        report
            .kept_verifiable
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        verifiable
    );
    assert_eq!(report.deleted, 0);
    let all = s.list_all(|_, _| {}).await.unwrap();
    assert!(all.dangling.is_empty());
    assert_eq!(
        all.malformed
            .iter()
            .map(|e| e.id.clone())
            .collect::<BTreeSet<_>>(),
        verifiable
    );
    assert_eq!(all.records.len(), d.listed().len());
    let bad_after: BTreeMap<_, _> = snapshot(t, &ns)
        .await
        .into_iter()
        .filter(|(k, _)| bad_before.contains_key(k))
        .collect();
    assert_eq!(bad_after, bad_before, "repair changed a bad record");
    // Still named (outside the index, or kept in it when they could verify), never
    // indexed again.
    let report = s.doctor(true, &t.urls()).await.unwrap();
    assert_eq!(report.malformed_records.len(), d.bad.len());
    for m in &report.malformed_records {
        assert_eq!(m.indexed, verifiable.contains(&m.id), "{}", m.id);
        assert_eq!(m.verifiable, verifiable.contains(&m.id), "{}", m.id);
    }
    assert!(report.orphans.is_empty());
    assert_eq!(report.repaired, 0);
    // Deleting needs the explicit choice, and deletes only what was chosen.
    let chosen: HashSet<String> = d.bad.keys().take(3).cloned().collect();
    let report = s
        .doctor_with(&Repair::DeleteMalformed(chosen.clone()), &t.urls())
        .await
        .unwrap();
    assert_eq!(report.deleted, 3);
    for id in d.bad.keys() {
        let exists: bool = c.exists(ns.record_key(id)).await.unwrap();
        assert_eq!(exists, !chosen.contains(id), "{id}");
    }
}

/// Exit 2 and one line on stderr from keytui itself (not argument parsing), nothing like
/// a panic.
fn one_line_error(o: &Output) -> String {
    let err = spawn::one_line_error(o);
    assert!(err.starts_with("keytui: "), "{err}");
    err
}

async fn damaged_namespace_never_blinds_the_cli(t: Target) {
    let d = damaged(t, "damagecli").await;
    let ns = d.store.namespace().as_str().to_owned();
    let url = t.url();
    let run = |args: &[&str]| keytui(&url, &ns).args(args).output().unwrap();

    let o = run(&["list"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1 + d.listed().len());
    assert!(!out.contains('\x1b') && !out.contains('\x07'));
    let err = text(&o.stderr);
    for id in d.bad.keys() {
        assert!(err.contains(&format!("{id:?}")), "{id} not reported: {err}");
    }
    assert!(!err.contains('\x1b'));
    assert!(err.len() < 100_000, "warnings stay short");

    let o = run(&["list", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let ids: BTreeSet<String> = list
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, d.listed());

    let o = run(&["list", "--limit", "2000"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).lines().count(), 1 + d.listed().len());

    for id in ["BadStr0", "BadList0", "BadStream0"] {
        let err = one_line_error(&run(&["show", id]));
        assert!(
            err.contains("malformed record") && err.contains("not a hash"),
            "{err}"
        );
        let o = keytui(&url, &ns)
            .args(["verify", id])
            .write_stdin("s3cret\n")
            .output()
            .unwrap();
        let err = one_line_error(&o);
        assert!(err.contains("malformed record"), "{err}");
        let err = one_line_error(&run(&["revoke", id]));
        assert!(err.contains("malformed record"), "{err}");
    }
    let (good_id, good_secret) = d.good.iter().next().unwrap();
    let o = keytui(&url, &ns)
        .args(["verify", good_id])
        .write_stdin(format!("{good_secret}\n"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // doctor names every bad record and what is wrong with it.
    let o = run(&["doctor"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for (id, word) in &d.bad {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("{id:?}")))
            .unwrap_or_else(|| panic!("{id} not named: {out}"));
        assert!(line.contains(word), "{line}");
    }
    assert!(!out.contains('\x1b'));

    // Bulk revoke of every key goes through the readable keys and takes the malformed
    // records by id: those with an active status are revoked, the others named as left
    // unchanged, and the exit (2) says not everything was.
    let o = run(&["revoke", "--all-matching", "", "--yes", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let revoked = v["revoked"].as_u64().unwrap() as usize;
    let left = v["malformed"].as_array().unwrap().len();
    assert!(revoked > d.listed().len(), "{v}");
    assert_eq!(revoked + left, d.listed().len() + d.bad.len(), "{v}");
    assert!(
        v["malformed"]
            .as_array()
            .unwrap()
            .contains(&Value::from("BadStr0"))
    );

    // doctor --repair moves them out of the index, keeps them, and says so (exit 1: bad
    // records are left).
    let o = run(&["doctor", "--repair"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("out of the index"));
    let o = run(&["list", "--json"]);
    assert!(o.status.success());
    // Only the damaged (but listed) records are warned about now.
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), d.damaged.len(), "{err}");
    assert!(err.lines().all(|l| l.contains("damaged record")), "{err}");
    // Deleting them needs --yes without a terminal, and then happens.
    let err = one_line_error(&run(&["doctor", "--repair", "--delete-malformed"]));
    assert!(err.contains(&format!("{} malformed", d.bad.len())), "{err}");
    let mut c = raw(t).await;
    let ns_ = d.store.namespace();
    let exists: bool = c.exists(ns_.record_key("BadStr0")).await.unwrap();
    assert!(exists, "deleted without --yes");
    // Exit 1 afterwards: the damaged records are still reported (repair cannot know what
    // their fields should hold), and nothing else is.
    let o = run(&["doctor", "--repair", "--delete-malformed", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let exists: bool = c.exists(ns_.record_key("BadStr0")).await.unwrap();
    assert!(!exists);
    let o = run(&["doctor"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(!out.contains("malformed record"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("damaged record")).count(),
        d.damaged.len(),
        "{out}"
    );
}

/// The arguments each subcommand is run with against a refused namespace. A subcommand
/// missing here runs bare and must still be refused (add it here when it needs arguments).
fn invocations(id: &str, token: &str) -> Vec<(Vec<String>, Option<String>)> {
    let mut runs: Vec<(Vec<&str>, Option<String>)> = Vec::new();
    let skip = ["completions", "check", "demo", "help"];
    let cli = keytui::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        if skip.contains(&name) {
            continue;
        }
        let mut these: Vec<(Vec<&str>, Option<String>)> = match name {
            "init" => vec![(vec!["init"], None), (vec!["init", "--production"], None)],
            "create" => vec![(vec!["create", "--name", "x"], None)],
            "list" => vec![
                (vec!["list"], None),
                (vec!["list", "--json"], None),
                (vec!["list", "--limit", "5"], None),
                (vec!["list", "--sort", "name", "--never-used"], None),
            ],
            "show" => vec![(vec!["show", id], None)],
            "revoke" => vec![
                (vec!["revoke", id, "--yes"], None),
                (vec!["revoke", "--all-matching", "", "--yes"], None),
            ],
            "restore" => vec![(vec!["restore", id], None)],
            "delete" => vec![
                (vec!["delete", id, "--yes"], None),
                (vec!["delete", "--all-matching", "", "--yes"], None),
            ],
            "rotate" => vec![(vec!["rotate", id], None)],
            "edit" => vec![
                (vec!["edit", id, "--name", "y"], None),
                (vec!["edit", id, "--expires", "1d", "--yes"], None),
            ],
            "scan" => vec![
                (
                    vec!["scan", "--revoke", "--yes"],
                    Some(format!("{token}\n")),
                ),
                (vec!["scan", "--json"], Some(format!("{token}\n"))),
            ],
            "verify" => vec![
                (vec!["verify", id, "--touch"], Some("whatever\n".into())),
                (vec!["verify", "--token"], Some(format!("{token}\n"))),
            ],
            "events" => vec![(vec!["events"], None), (vec!["events", "--follow"], None)],
            "reveal" => vec![(vec!["reveal", id], None)],
            "migrate" => vec![
                (vec!["migrate", "--to", "hash"], None),
                (vec!["migrate", "--to", "sealed"], None),
            ],
            "import" => vec![(
                vec!["import"],
                Some(
                    "{\"id\":\"Imported1\",\"secret\":\"a-long-enough-secret-0123456789\"}\n"
                        .into(),
                ),
            )],
            "doctor" => vec![
                (vec!["doctor"], None),
                (vec!["doctor", "--repair"], None),
                (
                    vec!["doctor", "--repair", "--delete-malformed", "--yes"],
                    None,
                ),
            ],
            _ => vec![(vec![name], None)],
        };
        runs.append(&mut these);
    }
    // No command: the terminal UI, which must refuse before it takes the terminal.
    runs.push((vec![], None));
    runs.into_iter()
        .map(|(args, stdin)| (args.into_iter().map(str::to_owned).collect(), stdin))
        .collect()
}

async fn newer_layout_is_refused_by_every_command(t: Target) {
    let s = store(t, "layout").await;
    let ns = s.namespace().clone();
    s.create_many(&CreateRequest::new("kept"), 5, |_| {})
        .await
        .unwrap();
    let created = s.create(&CreateRequest::new("target")).await.unwrap();
    let id = created.record.id.clone();
    let token = created.token.expose().to_owned();
    let mut c = raw(t).await;
    let url = t.url();
    // Each way a meta hash can be beyond this keytui, with a word the refusal must say.
    type Setup = fn(&mut redis::Cmd, &str);
    let variants: [(&str, Setup, &str); 4] = [
        (
            "newer layout",
            |cmd, key| {
                cmd.arg("HSET").arg(key).arg("layout").arg("99");
            },
            "layout version 99",
        ),
        (
            "layout not a number",
            |cmd, key| {
                cmd.arg("HSET").arg(key).arg("layout").arg("one");
            },
            "not a version number",
        ),
        (
            "no layout field",
            |cmd, key| {
                cmd.arg("HDEL").arg(key).arg("layout");
            },
            "no layout field",
        ),
        (
            "meta not a hash",
            |cmd, key| {
                cmd.arg("SET").arg(key).arg("layout=1");
            },
            "not a hash",
        ),
    ];
    let master_key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(master_key.path(), "00".repeat(32)).unwrap();
    let meta_fields: Vec<(String, String)> = c.hgetall(ns.meta_key()).await.unwrap();
    for (what, setup, word) in variants {
        // Back to a good meta hash, then damage it.
        let _: () = c.del(ns.meta_key()).await.unwrap();
        let _: () = c.hset_multiple(ns.meta_key(), &meta_fields).await.unwrap();
        let mut cmd = redis::Cmd::new();
        setup(&mut cmd, &ns.meta_key());
        cmd.query_async::<()>(&mut c).await.unwrap();
        let before = snapshot(t, &ns).await;
        assert!(before.len() >= 9, "{what}: {before:?}");
        for (args, stdin) in invocations(&id, &token) {
            let mut cmd = keytui(&url, ns.as_str());
            cmd.env("KEYTUI_MASTER_KEY_FILE", master_key.path());
            cmd.args(&args);
            if let Some(input) = &stdin {
                cmd.write_stdin(input.as_str());
            }
            let o = cmd.output().unwrap();
            let err = one_line_error(&o);
            assert!(err.contains(word), "{what}: {args:?}: {err}");
            assert!(err.contains(ns.as_str()), "{what}: {args:?}: {err}");
            assert!(o.stdout.is_empty(), "{what}: {args:?}: {}", text(&o.stdout));
            let after = snapshot(t, &ns).await;
            assert!(after == before, "{what}: {args:?} changed Redis");
        }
        // The library refuses the same way, before any round trip of its own.
        let fresh = Store::new(raw(t).await, ns.clone());
        for result in [
            fresh.list_all(|_, _| {}).await.map(|_| ()),
            fresh.revoke(&id, None).await.map(|_| ()),
            fresh.count().await.map(|_| ()),
        ] {
            match result {
                Err(Error::Setup(m)) => assert!(m.contains(word), "{what}: {m}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        assert!(
            snapshot(t, &ns).await == before,
            "{what}: the store changed Redis"
        );
    }
}

async fn verifier_refuses_a_newer_layout_once_per_verifier(t: Target) {
    let s = store(t, "verifier").await;
    let ns = s.namespace().clone();
    let created = s.create(&CreateRequest::new("app")).await.unwrap();
    let secret = created.secret.expose().to_owned();
    let id = created.record.id.clone();
    let verifier = Verifier::new(raw(t).await, ns.clone());
    assert!(verifier.verify(&id, &secret).await.unwrap().is_valid());
    let mut c = raw(t).await;
    let _: () = c.hset(ns.meta_key(), "layout", "99").await.unwrap();
    // A new verifier refuses, on every call, and so does its startup check.
    let fresh = Verifier::new(raw(t).await, ns.clone());
    for _ in 0..2 {
        match fresh.verify(&id, &secret).await {
            Err(Error::Setup(m)) => assert!(m.contains("layout version 99"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        fresh.check_namespace().await,
        Err(Error::Setup(_))
    ));
    // The layout is checked once per verifier: one that passed keeps verifying (an app
    // checks at startup; one that read an older layout keeps reading its fields, which
    // every newer layout keeps right).
    assert!(verifier.verify(&id, &secret).await.unwrap().is_valid());
    // The gate's own check, for apps with their own connections.
    let err = keytui::gate::check_layout(&mut c, &ns).await.unwrap_err();
    assert!(err.to_string().contains("upgrade keytui"), "{err}");
    let _: () = c.hset(ns.meta_key(), "layout", "1").await.unwrap();
    assert_eq!(
        keytui::gate::check_layout(&mut c, &ns).await.unwrap(),
        Some(1)
    );
}
