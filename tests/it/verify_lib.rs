//! The app-facing verification API (`keytui::verify`) and the example web service built on
//! it, against real Redis: every scenario runs on a standalone server and on a 3-master
//! cluster.

use crate::common::data::{ACTOR, namespace, raw, raw_at};
use crate::common::{RedisServer, Target};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keytui::conn::Conn;
use keytui::crypto::Pepper;
use keytui::error::Error;
use keytui::keygen::{Encoding, Length, Spec};
use keytui::layout::Namespace;
use keytui::record::{UnixMs, now_ms};
use keytui::store::{CreateRequest, Created, Store};
use keytui::verify::{self, Rejection, Verdict, Verifier};
use redis::AsyncCommands;

on_both!(
    verdicts,
    tokens_and_checksums,
    record_use_is_eventual_and_throttled,
    unknown_ids_never_get_a_record,
    peppered_namespaces,
    example_service_end_to_end,
);

/// A store (to create keys) and a fresh namespace.
async fn setup(target: Target, tag: &str) -> (Store, Conn, Namespace) {
    let conn = raw(target).await;
    let ns = namespace(tag);
    let store = Store::new(conn.clone(), ns.clone()).with_actor(ACTOR);
    (store, conn, ns)
}

fn valid(c: &Created) -> Verdict {
    Verdict::Valid {
        id: c.record.id.clone(),
        name: c.record.name.clone(),
    }
}

fn rejected(why: Rejection) -> Verdict {
    Verdict::Rejected(why)
}

async fn last_used_at(conn: &mut Conn, ns: &Namespace, id: &str) -> Option<UnixMs> {
    let v: Option<String> = conn.hget(ns.record_key(id), "last_used_at").await.unwrap();
    v.map(|v| v.parse().unwrap())
}

/// Polls `last_used_at` until it is set and differs from `before`, for up to 2 s.
async fn wait_for_use(conn: &mut Conn, ns: &Namespace, id: &str, before: Option<UnixMs>) -> UnixMs {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = last_used_at(conn, ns, id).await;
        if let Some(t) = now
            && now != before
        {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "last_used_at of {id} was not recorded within 2 s (still {now:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn verdicts(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-verdicts").await;
    let c = store.create(&CreateRequest::new("billing")).await.unwrap();
    let id = &c.record.id;
    let secret = c.secret.expose();
    let wrong = format!("{secret}x");
    let v = Verifier::new(conn.clone(), ns.clone());

    // valid, through the free function, the Verifier and the Store (one implementation)
    assert_eq!(
        verify::verify(&mut conn, &ns, id, secret).await.unwrap(),
        valid(&c)
    );
    assert_eq!(v.verify(id, secret).await.unwrap(), valid(&c));
    assert_eq!(store.verify(id, secret).await.unwrap(), valid(&c));
    assert!(v.verify(id, secret).await.unwrap().is_valid());

    // wrong secret, unknown id, an id that cannot exist
    assert_eq!(
        verify::verify(&mut conn, &ns, id, &wrong).await.unwrap(),
        rejected(Rejection::WrongSecret)
    );
    assert_eq!(
        v.verify(id, &wrong).await.unwrap(),
        rejected(Rejection::WrongSecret)
    );
    assert_eq!(
        v.verify(id, "").await.unwrap(),
        rejected(Rejection::WrongSecret)
    );
    assert_eq!(
        v.verify("Unknown0Key", secret).await.unwrap(),
        rejected(Rejection::Unknown)
    );
    assert_eq!(
        verify::verify(&mut conn, &ns, "bad{id}", "x")
            .await
            .unwrap(),
        rejected(Rejection::Unknown)
    );
    // the same id in another namespace is unknown
    let other = namespace("vl-other");
    assert_eq!(
        verify::verify(&mut conn, &other, id, secret).await.unwrap(),
        rejected(Rejection::Unknown)
    );

    // revoked; a wrong secret on a revoked key still says wrong secret
    store.revoke(id, Some("test")).await.unwrap();
    assert_eq!(
        v.verify(id, secret).await.unwrap(),
        rejected(Rejection::Revoked)
    );
    assert_eq!(
        verify::verify(&mut conn, &ns, id, secret).await.unwrap(),
        rejected(Rejection::Revoked)
    );
    assert_eq!(
        v.verify(id, &wrong).await.unwrap(),
        rejected(Rejection::WrongSecret)
    );
    store.restore(id).await.unwrap();
    assert_eq!(v.verify(id, secret).await.unwrap(), valid(&c));

    // expired: valid until its expiry, then expired (the expiry moved into the past
    // rather than waited for, so that no timing decides the test)
    let mut req = CreateRequest::new("short");
    req.expires_at = Some(now_ms() + 3_600_000);
    let e = store.create(&req).await.unwrap();
    assert_eq!(
        v.verify(&e.record.id, e.secret.expose()).await.unwrap(),
        valid(&e)
    );
    store
        .backdate(&e.record.id, now_ms() - 10_000, Some(now_ms() - 1), None)
        .await
        .unwrap();
    assert_eq!(
        v.verify(&e.record.id, e.secret.expose()).await.unwrap(),
        rejected(Rejection::Expired)
    );
    assert_eq!(
        verify::verify(&mut conn, &ns, &e.record.id, e.secret.expose())
            .await
            .unwrap(),
        rejected(Rejection::Expired)
    );

    // codes are stable; the Debug of a Verifier holds no secret material
    assert_eq!(Rejection::WrongSecret.code(), "wrong_secret");
    assert_eq!(Rejection::BadChecksum.code(), "bad_checksum");
    let shown = format!(
        "{:?}",
        v.clone().with_pepper(Pepper::new(b"p3pp3r".to_vec()))
    );
    assert!(!shown.contains("p3pp3r"), "{shown}");
}

async fn tokens_and_checksums(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-tokens").await;
    let mut req = CreateRequest::new("tok");
    req.prefix = Some("sk_live".into());
    req.secret_spec = Spec {
        encoding: Encoding::Base64Url,
        length: Length::Bytes(32),
    };
    let c = store.create(&req).await.unwrap();
    let token = c.token.expose().to_owned();
    let v = Verifier::new(conn.clone(), ns.clone());
    assert_eq!(v.verify_token(&token).await.unwrap(), valid(&c));
    assert_eq!(
        verify::verify_token(&mut conn, &ns, &token).await.unwrap(),
        valid(&c)
    );

    // one changed checksum character
    let mut bad = token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        v.verify_token(&bad).await.unwrap(),
        rejected(Rejection::BadChecksum)
    );
    assert_eq!(
        verify::verify_token(&mut conn, &ns, &bad).await.unwrap(),
        rejected(Rejection::BadChecksum)
    );
    // a truncated token
    assert_eq!(
        v.verify_token(&token[..token.len() - 1]).await.unwrap(),
        rejected(Rejection::BadChecksum)
    );

    // without a checksum the whole rest is the secret
    let mut req = CreateRequest::new("nock");
    req.checksum = false;
    let n = store.create(&req).await.unwrap();
    assert_eq!(v.verify_token(n.token.expose()).await.unwrap(), valid(&n));
    let typo = format!("{}x", n.token.expose());
    assert_eq!(
        v.verify_token(&typo).await.unwrap(),
        rejected(Rejection::WrongSecret)
    );

    // not a token at all
    for garbage in ["", "garbage", "_", "sk_live_", "sk_live_bad{id}_secret"] {
        assert_eq!(
            v.verify_token(garbage).await.unwrap(),
            rejected(Rejection::Unknown),
            "{garbage:?}"
        );
    }
    // revoked, through a token
    store.revoke(&c.record.id, None).await.unwrap();
    assert_eq!(
        v.verify_token(&token).await.unwrap(),
        rejected(Rejection::Revoked)
    );
}

async fn record_use_is_eventual_and_throttled(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-use").await;
    let c = store.create(&CreateRequest::new("used")).await.unwrap();
    let id = &c.record.id;
    let secret = c.secret.expose();

    // without record_use nothing is written
    let plain = Verifier::new(conn.clone(), ns.clone());
    assert!(plain.verify(id, secret).await.unwrap().is_valid());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(last_used_at(&mut conn, &ns, id).await, None);

    // rejections are not uses
    let throttled = Verifier::new(conn.clone(), ns.clone()).record_use(Duration::from_secs(60));
    assert!(!throttled.verify(id, "nope").await.unwrap().is_valid());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(last_used_at(&mut conn, &ns, id).await, None);

    // the first valid verification records the use, soon
    let before = now_ms();
    assert!(throttled.verify(id, secret).await.unwrap().is_valid());
    let first = wait_for_use(&mut conn, &ns, id, None).await;
    assert!(first >= before && first <= now_ms(), "{first}");
    assert_eq!(store.get(id).await.unwrap().last_used_at, Some(first));

    // within the throttle nothing is written again (and a token is the same key)
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(throttled.verify(id, secret).await.unwrap().is_valid());
    assert!(
        throttled
            .verify_token(c.token.expose())
            .await
            .unwrap()
            .is_valid()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(last_used_at(&mut conn, &ns, id).await, Some(first));

    // a throttle of zero records every use
    let every = Verifier::new(conn.clone(), ns.clone()).record_use(Duration::ZERO);
    assert!(every.verify(id, secret).await.unwrap().is_valid());
    let second = wait_for_use(&mut conn, &ns, id, Some(first)).await;
    assert!(second > first);

    // once the throttle has passed, the throttled verifier records again
    let short = Verifier::new(conn.clone(), ns.clone()).record_use(Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(short.verify(id, secret).await.unwrap().is_valid());
    let third = wait_for_use(&mut conn, &ns, id, Some(second)).await;
    assert!(third > second);
}

async fn unknown_ids_never_get_a_record(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-unknown").await;
    let c = store.create(&CreateRequest::new("real")).await.unwrap();
    let v = Verifier::new(conn.clone(), ns.clone()).record_use(Duration::ZERO);
    let token_for_nobody = "sk_live_NoSuchKey1_0123456789abcdef";
    assert_eq!(
        v.verify("NoSuchKey1", "whatever").await.unwrap(),
        rejected(Rejection::Unknown)
    );
    assert_eq!(
        v.verify_token(token_for_nobody).await.unwrap(),
        rejected(Rejection::Unknown)
    );
    verify::touch(&mut conn, &ns, "NoSuchKey1").await.unwrap();
    // a key deleted between a valid verification and its recording stays deleted
    assert!(
        v.verify(&c.record.id, c.secret.expose())
            .await
            .unwrap()
            .is_valid()
    );
    store.delete(&c.record.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in ["NoSuchKey1", c.record.id.as_str()] {
        let exists: bool = conn.exists(ns.record_key(id)).await.unwrap();
        assert!(!exists, "a record for {id} was created");
        assert!(matches!(store.get(id).await, Err(Error::NotFound(_))));
    }
}

async fn peppered_namespaces(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-pepper").await;
    let pepper = Pepper::new(b"pepper-1".to_vec());
    let c = store
        .clone()
        .with_pepper(Some(pepper.clone()))
        .create(&CreateRequest::new("p"))
        .await
        .unwrap();
    let id = &c.record.id;
    let good = Verifier::new(conn.clone(), ns.clone()).with_pepper(pepper);
    assert_eq!(good.verify(id, c.secret.expose()).await.unwrap(), valid(&c));
    assert!(good.check_namespace().await.unwrap().is_some());

    let none = Verifier::new(conn.clone(), ns.clone());
    assert!(matches!(none.check_namespace().await, Err(Error::Setup(_))));
    assert!(matches!(
        none.verify(id, c.secret.expose()).await,
        Err(Error::Setup(_))
    ));
    assert!(matches!(
        verify::verify(&mut conn, &ns, id, c.secret.expose()).await,
        Err(Error::Setup(_))
    ));

    let wrong = Verifier::new(conn.clone(), ns.clone())
        .with_pepper(Some(Pepper::new(b"pepper-2".to_vec())));
    assert!(matches!(
        wrong.check_namespace().await,
        Err(Error::Setup(_))
    ));
    assert_eq!(
        wrong.verify(id, c.secret.expose()).await.unwrap(),
        rejected(Rejection::WrongSecret)
    );

    // a namespace nobody created yet
    let empty = namespace("vl-empty");
    let v = Verifier::new(conn.clone(), empty);
    assert!(v.check_namespace().await.unwrap().is_none());
}

// ---------------------------------------------------------------------------------------
// The example service, as a child process spoken to over raw HTTP/1.1
// ---------------------------------------------------------------------------------------

/// Builds `examples/verify_service.rs` once per test process (cargo does not build
/// examples for an integration test) and returns the binary's path.
fn service_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // This test runs as <target>/<profile>/deps/verify_lib-<hash>.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--example", "verify_service"])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // Variables cargo sets for this test process: some build scripts (ring's) track
        // them, and a nested build that sees them would rebuild half the dependency tree.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let per_crate = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|p| key.starts_with(p));
            if per_crate || key == "CARGO_PRIMARY_PACKAGE" || key == "CARGO_TARGET_TMPDIR" {
                cmd.env_remove(key.as_ref());
            }
        }
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "cargo build --example verify_service failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join("examples").join("verify_service");
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
}

/// A running example service, killed on drop. Its log goes to a file so that tests can
/// check it never contains a secret.
struct Service {
    child: Child,
    addr: String,
    log: tempfile::NamedTempFile,
}

impl Service {
    fn start(url: &str, ns: &Namespace) -> Service {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(service_binary())
            .args(["--url", url, "--namespace", ns.as_str()])
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "trace")
            .env_remove("REDIS_URL")
            .env_remove("KEYTUI_PEPPER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        // The first line names the port the service got (we asked for port 0).
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let mut service = Service {
            child,
            addr: String::new(),
            log,
        };
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            panic!(
                "the service did not start: {line:?}\n{}",
                service.log_text()
            );
        };
        service.addr = addr.to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        while service.get("/health", None).0 != 200 {
            assert!(Instant::now() < deadline, "/health never answered 200");
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    /// `GET path` with an optional `Authorization` header: (status, body).
    fn get(&self, path: &str, authorization: Option<&str>) -> (u16, String) {
        let Ok(mut s) = TcpStream::connect(&self.addr) else {
            return (0, String::new());
        };
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(a) = authorization {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, body.to_owned())
    }

    fn json(&self, path: &str, authorization: Option<&str>) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path, authorization);
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: body {body:?} is not JSON: {e}"));
        (status, value)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn example_service_end_to_end(t: Target) {
    let (store, mut conn, ns) = setup(t, "vl-service").await;
    let mut req = CreateRequest::new("billing-service");
    req.prefix = Some("sk_live".into());
    let c = store.create(&req).await.unwrap();
    let id = c.record.id.clone();
    let secret = c.secret.expose().to_owned();
    let token = c.token.expose().to_owned();
    let mut req = CreateRequest::new("gone");
    req.expires_at = Some(now_ms() + 200);
    let expired = store.create(&req).await.unwrap();
    let revoked = store.create(&CreateRequest::new("old")).await.unwrap();
    store.revoke(&revoked.record.id, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;

    let url = t.url();
    let ns2 = ns.clone();
    let service = tokio::task::spawn_blocking(move || Service::start(&url, &ns2))
        .await
        .unwrap();
    let svc = std::sync::Arc::new(service);
    let call = |path: &'static str, auth: Option<String>| {
        let svc = svc.clone();
        async move {
            tokio::task::spawn_blocking(move || svc.json(path, auth.as_deref()))
                .await
                .unwrap()
        }
    };

    let health = {
        let svc = svc.clone();
        tokio::task::spawn_blocking(move || svc.get("/health", None))
            .await
            .unwrap()
    };
    assert_eq!(health, (200, "ok".into()));

    let ok = serde_json::json!({"key_id": id, "name": "billing-service"});
    assert_eq!(
        call("/protected", Some(format!("Bearer {token}"))).await,
        (200, ok.clone())
    );
    assert_eq!(
        call("/protected", Some(format!("ApiKey {id}:{secret}"))).await,
        (200, ok.clone())
    );
    // the scheme is case-insensitive
    assert_eq!(
        call("/protected", Some(format!("bearer {token}"))).await,
        (200, ok)
    );
    // a valid request records the use
    wait_for_use(&mut conn, &ns, &id, None).await;

    let err = |reason: &str| (401, serde_json::json!({ "error": reason }));
    let mut bad_sum = token.clone();
    let last = bad_sum.pop().unwrap();
    bad_sum.push(if last == 'A' { 'B' } else { 'A' });
    let cases = [
        (None, "missing_credentials"),
        (Some("Basic dXNlcjpwYXNz".to_owned()), "missing_credentials"),
        (Some(format!("ApiKey {id}")), "missing_credentials"),
        (Some(format!("ApiKey {id}:{secret}x")), "wrong_secret"),
        (Some(format!("ApiKey NoSuchKey1:{secret}")), "unknown"),
        (Some("Bearer not-a-token".to_owned()), "unknown"),
        (Some(format!("Bearer {bad_sum}")), "bad_checksum"),
        (
            Some(format!("Bearer {}", revoked.token.expose())),
            "revoked",
        ),
        (
            Some(format!(
                "ApiKey {}:{}",
                expired.record.id,
                expired.secret.expose()
            )),
            "expired",
        ),
    ];
    for (auth, reason) in cases {
        assert_eq!(
            call("/protected", auth.clone()).await,
            err(reason),
            "{auth:?}"
        );
    }
    assert!(
        !svc.log_text().contains(&secret),
        "the service logged a secret"
    );
}

/// Redis going away gives 503 with a JSON error, not a hang or a 401; the secret stays
/// out of the body and the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_service_answers_503_without_redis() {
    let server = RedisServer::start();
    let conn = raw_at(&server.url()).await;
    let ns = namespace("vl-503");
    let store = Store::new(conn, ns.clone());
    let c = store.create(&CreateRequest::new("k")).await.unwrap();
    let auth = format!("ApiKey {}:{}", c.record.id, c.secret.expose());
    let url = server.url();
    let secret = c.secret.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let svc = Service::start(&url, &ns);
        assert_eq!(svc.json("/protected", Some(&auth)).0, 200);
        drop(server);
        let (status, body) = svc.get("/protected", Some(&auth));
        assert_eq!(status, 503, "{body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": "unavailable"})
        );
        assert!(!body.contains(&secret));
        let log = svc.log_text();
        assert!(log.contains("verification failed"), "{log}");
        assert!(!log.contains(&secret), "the service logged a secret");
        // still alive for the health check
        assert_eq!(svc.get("/health", None).0, 200);
    })
    .await
    .unwrap();
}
