//! Storage modes (hash, sealed, plain), reveal, migrate, import, check and secret hygiene,
//! against real Redis (standalone and cluster) and the real binary.

use crate::common;
use crate::common::Target;
use crate::common::data::store;
use crate::common::spawn::{keytui, keytui_bare, stdout as out};

use std::collections::HashMap;

use keytui::error::Error;
use keytui::keygen::Secret;
use keytui::migrate::ImportItem;
use keytui::seal::MasterKey;
use keytui::store::{CreateRequest, Mode, Store, Verdict};
use redis::AsyncCommands;

async fn fields(s: &Store, id: &str) -> HashMap<String, String> {
    s.conn()
        .hgetall(s.namespace().record_key(id))
        .await
        .unwrap()
}

on_both!(
    sealed_reveals_and_refuses_wrong_keys,
    plain_namespaces_store_and_reveal_the_secret,
    migrate_plain_to_hash_removes_plaintext_and_resumes,
    migrate_between_sealed_and_hash,
    import_keeps_keys_working_and_never_overwrites,
    migrate_plain_with_a_pepper_records_its_check,
);

async fn sealed_reveals_and_refuses_wrong_keys(t: Target) {
    let key = MasterKey::generate().unwrap();
    let base = store(t, "sealed").await;
    let s = base.clone().with_master_key(Some(key.clone()));
    // init without a key is refused
    assert!(matches!(
        base.init(Mode::Sealed, false).await,
        Err(Error::Setup(_))
    ));
    s.init(Mode::Sealed, false).await.unwrap();
    let c = s.create(&CreateRequest::new("sealed")).await.unwrap();
    assert!(c.record.sealed);
    let f = fields(&s, &c.record.id).await;
    assert!(f["secret_sealed"].starts_with("xchacha20poly1305:"));
    assert!(
        !f.values().any(|v| v.contains(c.secret.expose())),
        "plaintext stored"
    );
    assert_eq!(
        s.reveal(&c.record.id).await.unwrap().expose(),
        c.secret.expose()
    );
    // verification needs no master key
    assert!(matches!(
        base.verify(&c.record.id, c.secret.expose()).await.unwrap(),
        Verdict::Valid { .. }
    ));
    // a missing or wrong key: clear errors, nothing written
    let before = s.count().await.unwrap();
    let wrong = base
        .clone()
        .with_master_key(Some(MasterKey::generate().unwrap()));
    let err = wrong.create(&CreateRequest::new("x")).await.unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    assert!(
        wrong
            .reveal(&c.record.id)
            .await
            .unwrap_err()
            .to_string()
            .contains("does not match")
    );
    assert!(matches!(
        base.create(&CreateRequest::new("x")).await,
        Err(Error::Setup(_))
    ));
    assert_eq!(s.count().await.unwrap(), before);
    assert_eq!(fields(&s, &c.record.id).await, f, "record changed");
}

async fn plain_namespaces_store_and_reveal_the_secret(t: Target) {
    let s = store(t, "plain").await;
    s.init(Mode::Plain, false).await.unwrap();
    let c = s.create(&CreateRequest::new("legacy")).await.unwrap();
    let f = fields(&s, &c.record.id).await;
    assert_eq!(f["secret_alg"], "plain");
    assert_eq!(f["secret"], c.secret.expose());
    assert_eq!(
        s.reveal(&c.record.id).await.unwrap().expose(),
        c.secret.expose()
    );
    assert!(matches!(
        s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
        Verdict::Valid { .. }
    ));
    // hash namespaces refuse to reveal, and say why
    let h = store(t, "hashreveal").await;
    let c = h.create(&CreateRequest::new("h")).await.unwrap();
    let err = h.reveal(&c.record.id).await.unwrap_err().to_string();
    assert!(err.contains("shown once"), "{err}");
}

async fn migrate_plain_to_hash_removes_plaintext_and_resumes(t: Target) {
    let s = store(t, "migrate").await;
    s.init(Mode::Plain, false).await.unwrap();
    let created = s
        .create_many(&CreateRequest::new("p"), 30, |_| {})
        .await
        .unwrap();
    // interrupted after 10 conversions
    let partial = s.migrate(Mode::Hash, Some(10), |_, _| {}).await.unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.converted, 10);
    let meta = s.meta().await.unwrap().unwrap();
    assert_eq!(meta.mode, Mode::Plain);
    assert_eq!(meta.migrating_to, Some(Mode::Hash));
    // every key verifies mid-migration, converted or not
    for c in &created {
        assert!(matches!(
            s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
    // keys created mid-migration are written in the target mode
    let mid = s.create(&CreateRequest::new("mid")).await.unwrap();
    assert_eq!(fields(&s, &mid.record.id).await["secret_alg"], "sha256");
    // run again: finishes
    let done = s.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    assert!(done.complete);
    assert_eq!(done.converted, 20);
    let meta = s.meta().await.unwrap().unwrap();
    assert_eq!(meta.mode, Mode::Hash);
    assert_eq!(meta.migrating_to, None);
    for c in &created {
        let f = fields(&s, &c.record.id).await;
        assert_eq!(f["secret_alg"], "sha256");
        assert!(!f.values().any(|v| v.contains(c.secret.expose())));
        assert!(matches!(
            s.verify(&c.record.id, c.secret.expose()).await.unwrap(),
            Verdict::Valid { .. }
        ));
    }
    assert!(matches!(
        s.migrate(Mode::Plain, None, |_, _| {}).await,
        Err(Error::Input(_))
    ));
    // a pepper in the environment does not switch a sha256 namespace to HMAC
    use keytui::crypto::Pepper;
    let peppered = s.clone().with_pepper(Some(Pepper::new(b"p1".to_vec())));
    peppered.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    assert_eq!(
        s.meta().await.unwrap().unwrap().secret_alg.as_str(),
        "sha256"
    );
    assert!(s.create(&CreateRequest::new("still works")).await.is_ok());
}

async fn migrate_plain_with_a_pepper_records_its_check(t: Target) {
    use keytui::crypto::Pepper;
    let s = store(t, "migpepper").await;
    s.init(Mode::Plain, false).await.unwrap();
    let c = s.create(&CreateRequest::new("p")).await.unwrap();
    let right = s.clone().with_pepper(Some(Pepper::new(b"right".to_vec())));
    right.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    let meta = s.meta().await.unwrap().unwrap();
    assert_eq!(meta.secret_alg.as_str(), "hmac-sha256");
    assert!(meta.pepper_check.is_some());
    assert!(matches!(
        right.verify(&c.record.id, c.secret.expose()).await.unwrap(),
        Verdict::Valid { .. }
    ));
    let wrong = s.clone().with_pepper(Some(Pepper::new(b"wrong".to_vec())));
    assert!(matches!(
        wrong.create(&CreateRequest::new("x")).await,
        Err(Error::Setup(_))
    ));
}

async fn migrate_between_sealed_and_hash(t: Target) {
    let key = MasterKey::generate().unwrap();
    let base = store(t, "seal2hash").await;
    let s = base.clone().with_master_key(Some(key));
    let hashed = s.create(&CreateRequest::new("before")).await.unwrap(); // hash namespace
    let r = s.migrate(Mode::Sealed, None, |_, _| {}).await.unwrap();
    assert!(r.complete);
    assert_eq!(r.digest_only, 1, "a hash-only key cannot be sealed");
    let sealed = s.create(&CreateRequest::new("after")).await.unwrap();
    assert_eq!(
        s.reveal(&sealed.record.id).await.unwrap().expose(),
        sealed.secret.expose()
    );
    assert!(s.reveal(&hashed.record.id).await.is_err());
    let r = s.migrate(Mode::Hash, None, |_, _| {}).await.unwrap();
    assert_eq!(r.converted, 1);
    assert!(
        !fields(&s, &sealed.record.id)
            .await
            .contains_key("secret_sealed")
    );
    assert!(matches!(
        base.verify(&sealed.record.id, sealed.secret.expose())
            .await
            .unwrap(),
        Verdict::Valid { .. }
    ));
}

async fn import_keeps_keys_working_and_never_overwrites(t: Target) {
    let s = store(t, "import").await;
    let item = |id: &str, secret: &str| ImportItem {
        id: id.into(),
        secret: Secret::new(secret.into()),
        name: String::new(),
        created_at: Some(1_600_000_000_000),
        expires_at: None,
        meta: Default::default(),
        revoked: false,
    };
    let tasty = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";
    // a weak secret is refused like create refuses one, and nothing is written
    let refused = s
        .import(
            vec![item("alice", tasty), item("bob_smith", "other-secret")],
            false,
            |_| {},
        )
        .await;
    assert!(
        matches!(&refused, Err(Error::Input(m)) if m.contains("bob_smith") && m.contains("--allow-weak")),
        "{refused:?}"
    );
    assert_eq!(s.count().await.unwrap(), 0);
    let r = s
        .import(
            vec![item("alice", tasty), item("bob_smith", "other-secret")],
            true,
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.imported, 2);
    assert_eq!(r.weak, vec!["bob_smith".to_string()]);
    assert!(matches!(
        s.verify("alice", tasty).await.unwrap(),
        Verdict::Valid { .. }
    ));
    assert!(matches!(
        s.verify("bob_smith", "other-secret").await.unwrap(),
        Verdict::Valid { .. }
    ));
    assert!(
        !fields(&s, "alice")
            .await
            .values()
            .any(|v| v.contains(tasty))
    );
    assert_eq!(s.get("alice").await.unwrap().created_at, 1_600_000_000_000);
    // importing again never overwrites
    let r = s
        .import(vec![item("alice", "replaced")], true, |_| {})
        .await
        .unwrap();
    assert_eq!(r.imported, 0);
    assert_eq!(r.skipped_existing, vec!["alice".to_string()]);
    assert!(matches!(
        s.verify("alice", tasty).await.unwrap(),
        Verdict::Valid { .. }
    ));
    // an unsafe id is refused with a clear error
    assert!(
        s.import(vec![item("bad id", "x")], true, |_| {})
            .await
            .is_err()
    );
}

// ---- CLI ------------------------------------------------------------------------------

#[test]
fn cli_sealed_reveal_import_check_and_production() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("clisealed");
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("master.key");
    let o = keytui(&url, &ns)
        .args(["init", "--mode", "sealed", "--generate-master-key"])
        .arg(&keyfile)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = keytui(&url, &ns)
        .arg("--master-key-file")
        .arg(&keyfile)
        .args(["create", "--name", "s", "--json"])
        .output()
        .unwrap();
    let c: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    let id = c["id"].as_str().unwrap();
    let o = keytui(&url, &ns)
        .env("KEYTUI_MASTER_KEY_FILE", &keyfile)
        .args(["reveal", id])
        .output()
        .unwrap();
    assert_eq!(out(&o).trim(), c["secret"].as_str().unwrap());
    // a key file others can read is refused
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keyfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = keytui(&url, &ns)
        .env("KEYTUI_MASTER_KEY_FILE", &keyfile)
        .args(["reveal", id])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0600"));

    // check: offline, no Redis needed
    let token = c["token"].as_str().unwrap();
    let o = keytui_bare()
        .args(["--url", "redis://127.0.0.1:1", "check"])
        .write_stdin(token)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let mut typo = token.to_owned();
    let mid = typo.len() / 2;
    let ch = typo.remove(mid);
    typo.insert(mid, if ch == 'a' { 'b' } else { 'a' });
    let o = keytui_bare()
        .arg("check")
        .write_stdin(typo)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let o = keytui_bare()
        .arg("check")
        .write_stdin("hello")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("not a keytui token"));

    // tastypie import: CSV and django-style rows
    let ns2 = common::unique_namespace("tastypie");
    let key = "9f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e";
    let o = keytui(&url, &ns2)
        .args(["import", "--format", "tastypie"])
        .write_stdin(format!(
            "username,key\nalice,{key}\n{{\"username\":\"bob\",\"key\":\"{}\"}}\n",
            "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out(&o).contains("imported 2 of 2"));
    let o = keytui(&url, &ns2)
        .args(["verify", "alice"])
        .write_stdin(key)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = keytui(&url, &ns2)
        .args(["import"])
        .write_stdin("{\"id\":\"Imp0rted\",\"secret\":\"abc\",\"name\":\"j\",\"expires_at\":\"2099-01-01T00:00:00Z\"}\nnot json\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("line 2"), "{err}");
    // django dumpdata rows: fields under "fields", "created" as the creation time
    let o = keytui(&url, &ns2)
        .args(["import", "--format", "tastypie"])
        .write_stdin(format!(
            "[{{\"model\":\"tastypie.apikey\",\"fields\":{{\"username\":\"carol\",\"key\":\"{}\",\"created\":\"2015-03-01T10:00:00Z\"}}}}]",
            "2f4e6d8c0b1a39587654fedcba98765432f1e0d9"
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = keytui(&url, &ns2)
        .args(["show", "carol", "--json"])
        .output()
        .unwrap();
    assert!(out(&o).contains("2015-03-01T10:00:00Z"), "{}", out(&o));
    let o = keytui(&url, &ns2)
        .args(["import"])
        .write_stdin("{\"id\":\"Dis4bled\",\"secret\":\"abc\",\"status\":\"disabled\"}\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    // production: revoke needs --yes (or the name typed on a terminal)
    let ns3 = common::unique_namespace("prod");
    assert!(
        keytui(&url, &ns3)
            .args(["init", "--production"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let o = keytui(&url, &ns3)
        .args(["create", "--name", "p", "--json"])
        .output()
        .unwrap();
    let c: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    let id = c["id"].as_str().unwrap();
    let o = keytui(&url, &ns3).args(["revoke", id]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("production"));
    let o = keytui(&url, &ns3)
        .args(["show", id, "--json"])
        .output()
        .unwrap();
    assert!(out(&o).contains("\"active\""));
    let o = keytui(&url, &ns3)
        .args(["revoke", id, "--yes"])
        .output()
        .unwrap();
    assert!(o.status.success());
}

/// A scripted session with debug logging: the secret never reaches the log or stderr.
#[test]
fn secrets_never_reach_logs_or_stderr() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("hygiene");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keytui.log");
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = keytui(&url, &ns);
        cmd.env("KEYTUI_LOG", "trace")
            .env("RUST_LOG", "trace")
            .arg("--log-file")
            .arg(&log)
            .args(args);
        if let Some(s) = stdin {
            cmd.write_stdin(s.to_owned());
        }
        cmd.output().unwrap()
    };
    let o = run(&["create", "--name", "h", "--json"], None);
    let c: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    let (id, secret, token) = (
        c["id"].as_str().unwrap().to_owned(),
        c["secret"].as_str().unwrap().to_owned(),
        c["token"].as_str().unwrap().to_owned(),
    );
    let mut stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    for (args, stdin) in [
        (vec!["verify", id.as_str()], Some(secret.as_str())),
        (vec!["verify", id.as_str()], Some("wrong-secret-attempt")),
        (vec!["verify", "--token"], Some(token.as_str())),
        (vec!["check"], Some(token.as_str())),
        (vec!["list", "--json"], None),
        (vec!["show", id.as_str()], None),
        (vec!["revoke", id.as_str()], None),
        (vec!["rotate", id.as_str()], None),
        (vec!["events"], None),
        (vec!["reveal", id.as_str()], None),
        (vec!["doctor"], None),
    ] {
        let o = run(&args, stdin);
        stderr.push_str(&String::from_utf8_lossy(&o.stderr));
        if args[0] != "check" && args[0] != "verify" {
            assert!(!out(&o).contains(&secret), "{args:?} printed the secret");
        }
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !logged.is_empty(),
        "trace logging wrote nothing: the test would prove nothing"
    );
    for text in [&logged, &stderr] {
        assert!(!text.contains(&secret), "secret leaked");
        assert!(!text.contains(&token), "token leaked");
        assert!(
            !text.contains("wrong-secret-attempt"),
            "presented secret leaked"
        );
    }
}
