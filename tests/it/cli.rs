//! The real `keytui` binary against real Redis: output shapes, exit codes, one-line errors,
//! and that bad input never loses data.

use std::process::Output;

use serde_json::Value;

use crate::common;
use crate::common::spawn::{
    CLEARED_ENV, bin, keytui, keytui_bare, keytui_std, one_line_error as assert_one_line_error,
    stderr, stdout,
};

fn create(url: &str, ns: &str, extra: &[&str]) -> Value {
    let o = keytui(url, ns)
        .args(["create", "--name", "svc", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).unwrap()
}

fn verify(url: &str, ns: &str, id: &str, secret: &str) -> Output {
    keytui(url, ns)
        .args(["verify", id])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap()
}

fn main_flow(url: &str) {
    let ns = common::unique_namespace("cli");
    let c = create(url, &ns, &["--meta", "owner=ops", "--prefix", "sk_live"]);
    for field in ["id", "secret", "token", "name", "status", "created_at"] {
        assert!(c.get(field).is_some(), "missing {field} in {c}");
    }
    assert_eq!(c["status"], "active");
    let id = c["id"].as_str().unwrap().to_owned();
    let secret = c["secret"].as_str().unwrap().to_owned();
    let token = c["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sk_live_"));

    // list --json: an array of records without secrets
    let o = keytui(url, &ns).args(["list", "--json"]).output().unwrap();
    assert!(o.status.success());
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arr = list.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    for field in ["id", "name", "status", "created_at", "expires_at"] {
        assert!(arr[0].get(field).is_some(), "missing {field}");
    }
    assert!(!stdout(&o).contains(&secret));
    assert_eq!(arr[0]["meta"]["owner"], "ops");

    // verify: 0 valid, 1 rejected with the reason
    let o = verify(url, &ns, &id, &secret);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = verify(url, &ns, &id, "wrong");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("wrong secret"));
    let o = keytui(url, &ns)
        .args(["verify", "--token"])
        .write_stdin(token.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // revoke, idempotently; verify says revoked
    for _ in 0..2 {
        let o = keytui(url, &ns)
            .args(["revoke", &id, "--reason", "test"])
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    let o = verify(url, &ns, &id, &secret);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("revoked"));
    let o = keytui(url, &ns)
        .args(["list", "--status", "revoked", "--json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let o = keytui(url, &ns)
        .args(["list", "--status", "active", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o).trim(), "[]");

    // restore
    let o = keytui(url, &ns).args(["restore", &id]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(verify(url, &ns, &id, &secret).status.code(), Some(0));

    // rotate: a new key, the old one in its grace period
    let o = keytui(url, &ns)
        .args(["rotate", &id, "--grace", "1h", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let rotated: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let new_id = rotated["id"].as_str().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(rotated["name"], "svc");
    assert_eq!(
        verify(url, &ns, new_id, rotated["secret"].as_str().unwrap())
            .status
            .code(),
        Some(0)
    );
    let o = keytui(url, &ns)
        .args(["show", &id, "--json"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(shown["expires_at"].is_string());
    assert_eq!(shown["rotated_to"], new_id);

    // delete needs --yes
    let o = keytui(url, &ns).args(["delete", &id]).output().unwrap();
    assert!(assert_one_line_error(&o).contains("--yes"));
    assert_eq!(verify(url, &ns, &id, &secret).status.code(), Some(0));
    let o = keytui(url, &ns)
        .args(["delete", &id, "--yes"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = verify(url, &ns, &id, &secret);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("unknown"));

    // events and doctor
    let o = keytui(url, &ns)
        .args(["events", "--json"])
        .output()
        .unwrap();
    let ops: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ops,
        [
            "init", "create", "revoke", "restore", "create", "rotate", "delete"
        ]
    );
    let o = keytui(url, &ns).args(["doctor"]).output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("healthy"));

    // bulk creation: one JSON object per line
    let o = keytui(url, &ns)
        .args(["create", "--name", "bulk", "--count", "50", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50);
    assert!(lines.iter().all(|l| l["secret"].is_string()));
}

#[test]
fn main_flow_standalone() {
    main_flow(&common::shared_server().url());
}

#[test]
fn main_flow_cluster() {
    main_flow(&common::shared_cluster().url());
}

#[test]
fn formats_and_entropy() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("fmt");
    let c = create(&url, &ns, &["--tastypie"]);
    let secret = c["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 40);
    assert!(secret.chars().all(|ch| matches!(ch, '0'..='9' | 'a'..='f')));
    let c = create(&url, &ns, &["--format", "hex", "--bytes", "16"]);
    assert_eq!(c["secret"].as_str().unwrap().len(), 32);
    assert_eq!(c["entropy_bits"], 128.0);
    let c = create(&url, &ns, &["--id-format", "uuid"]);
    assert_eq!(c["id"].as_str().unwrap().len(), 36);
    let c = create(&url, &ns, &["--format", "custom:abc", "--length", "100"]);
    assert!(
        c["secret"]
            .as_str()
            .unwrap()
            .chars()
            .all(|ch| "abc".contains(ch))
    );
    // weak secrets are refused unless allowed
    let o = keytui(&url, &ns)
        .args([
            "create", "--name", "weak", "--format", "hex", "--bytes", "8",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&o);
    let c = create(
        &url,
        &ns,
        &["--format", "hex", "--bytes", "8", "--allow-weak"],
    );
    assert_eq!(c["secret"].as_str().unwrap().len(), 16);
    // an expiry in the past, a bad duration, a bad encoding, a bad meta
    for args in [
        vec!["--expires", "2001-01-01T00:00:00Z"],
        vec!["--expires", "soon"],
        vec!["--format", "base1000"],
        vec!["--meta", "novalue"],
        vec!["--prefix", "SK-Live"],
    ] {
        let o = keytui(&url, &ns)
            .args(["create", "--name", "bad"])
            .args(&args)
            .output()
            .unwrap();
        assert_one_line_error(&o);
    }
}

#[test]
fn unreachable_redis_is_one_line() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://user:hunter2@127.0.0.1:{port}");
    let o = keytui(&url, "x").args(["list"]).output().unwrap();
    let err = assert_one_line_error(&o);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

#[test]
fn wrong_password_and_acl_denial() {
    let server = common::RedisServer::builder()
        .password("s3cret-pass")
        .start();
    let good = server.url().replace("redis://", "redis://:s3cret-pass@");
    let bad = server.url().replace("redis://", "redis://:wrong-pass@");
    let ns = common::unique_namespace("acl");
    let c = create(&good, &ns, &[]);
    let id = c["id"].as_str().unwrap();

    let o = keytui(&bad, &ns).args(["list"]).output().unwrap();
    let err = assert_one_line_error(&o);
    assert!(!err.contains("wrong-pass"), "{err}");
    assert!(
        err.to_lowercase().contains("auth") || err.contains("WRONGPASS"),
        "{err}"
    );

    // a read-only ACL user may list but not revoke
    server.add_acl_user(
        "reader",
        "ro-pass",
        "~* +@read +@connection +info -@write -eval -evalsha",
    );
    let ro = server.url_for_user("reader", "ro-pass");
    let o = keytui(&ro, &ns).args(["list", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = keytui(&ro, &ns).args(["revoke", id]).output().unwrap();
    let err = assert_one_line_error(&o);
    assert!(err.contains("permission denied"), "{err}");
    assert!(!err.contains("ro-pass"));
    // nothing changed
    let o = keytui(&good, &ns)
        .args(["show", id, "--json"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(shown["status"], "active");
}

#[test]
fn bad_input_is_one_line_and_never_a_panic() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("bad");
    create(&url, &ns, &[]);
    for args in [
        vec!["show", "NoSuchKey1"],
        vec!["revoke", "NoSuchKey1"],
        vec!["restore", "NoSuchKey1"],
        vec!["delete", "NoSuchKey1", "--yes"],
        vec!["rotate", "NoSuchKey1"],
        vec!["rotate", "NoSuchKey1", "--grace", "forever"],
        vec!["rotate", "NoSuchKey1", "--grace", "292271023y"],
        vec!["create", "--name", "x", "--count", "0"],
    ] {
        let o = keytui(&url, &ns).args(&args).output().unwrap();
        assert_one_line_error(&o);
    }
    // invalid flags and namespaces (clap's own usage errors exit 2 too)
    let o = keytui(&url, &ns).args(["create"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = keytui(&url, "bad{ns}").args(["list"]).output().unwrap();
    assert_one_line_error(&o);
    let o = keytui("http://example", &ns)
        .args(["list"])
        .output()
        .unwrap();
    assert_one_line_error(&o);
    // verify never takes a secret from argv
    let o = keytui(&url, &ns)
        .args(["verify", "Id1", "the-secret"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // verify with nothing on stdin
    let o = keytui(&url, &ns)
        .args(["verify", "Id1"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_one_line_error(&o);
}

#[test]
fn malformed_record_written_by_someone_else() {
    let server = common::shared_server();
    let ns = common::unique_namespace("evil");
    let good = create(&server.url(), &ns, &[]);
    let mut c = server.connection();
    let key = format!("{ns}:key:{{Evil1}}");
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("id")
        .arg("Evil1")
        .arg("name")
        .arg("\x1b[31mred\x07")
        .arg("status")
        .arg("zombie")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(format!("{{{ns}}}:index"))
        .arg(1)
        .arg("Evil1")
        .query(&mut c)
        .unwrap();
    let o = keytui(&server.url(), &ns).args(["list"]).output().unwrap();
    assert!(o.status.success());
    assert!(stdout(&o).contains(good["id"].as_str().unwrap()));
    assert!(stderr(&o).contains("malformed record"));
    assert!(!stderr(&o).contains('\x1b'));
    let o = keytui(&server.url(), &ns)
        .args(["show", "Evil1"])
        .output()
        .unwrap();
    assert_one_line_error(&o);
    let o = keytui(&server.url(), &ns)
        .args(["revoke", "Evil1"])
        .output()
        .unwrap();
    assert_one_line_error(&o);
    let status: String = redis::cmd("HGET")
        .arg(&key)
        .arg("status")
        .query(&mut c)
        .unwrap();
    assert_eq!(status, "zombie");
    let o = keytui(&server.url(), &ns)
        .args(["doctor"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("malformed"));
}

#[test]
fn help_never_shows_the_redis_password() {
    let o = keytui_bare()
        .env("REDIS_URL", "redis://app:topsecret@db:6379")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("REDIS_URL"));
    assert!(!out.contains("topsecret"), "{out}");
}

#[test]
fn completions_are_generated() {
    let o = keytui_bare()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(stdout(&o).contains("revoke"));
}

#[test]
fn tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=keytui-test-ca",
    ]);
    sh(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
    let tls_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = common::RedisServer::builder()
        .extra_args(&[
            "--tls-port",
            &tls_port.to_string(),
            "--tls-cert-file",
            d.join("server.pem").to_str().unwrap(),
            "--tls-key-file",
            d.join("server.key").to_str().unwrap(),
            "--tls-ca-cert-file",
            d.join("ca.pem").to_str().unwrap(),
            "--tls-auth-clients",
            "no",
        ])
        .start();
    let _ = &server;
    let url = format!("rediss://localhost:{tls_port}");
    let ns = common::unique_namespace("tls");
    let ca = d.join("ca.pem");
    let o = keytui(&url, &ns)
        .args([
            "--tls-ca",
            ca.to_str().unwrap(),
            "create",
            "--name",
            "tls",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // without the CA the certificate is not trusted: one line, exit 2
    let o = keytui(&url, &ns).args(["list"]).output().unwrap();
    assert_one_line_error(&o);
}

#[test]
fn events_follow_prints_changes_live() {
    use std::io::{BufRead, BufReader};
    let url = common::shared_server().url();
    let ns = common::unique_namespace("follow");
    create(&url, &ns, &[]);
    let mut child = keytui_std()
        .args([url.as_str(), "-n", &ns, "events", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // the history first: init and create
    assert!(lines.next().unwrap().unwrap().contains("\"init\""));
    assert!(lines.next().unwrap().unwrap().contains("\"create\""));
    // then a change made by another process
    std::thread::sleep(std::time::Duration::from_millis(300));
    let c = create(&url, &ns, &[]);
    let o = keytui(&url, &ns)
        .args(["revoke", c["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let next = lines.next().unwrap().unwrap();
    assert!(
        next.contains("\"create\"") && next.contains(c["id"].as_str().unwrap()),
        "{next}"
    );
    let next = lines.next().unwrap().unwrap();
    assert!(next.contains("\"revoke\""), "{next}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn two_processes_creating_and_revoking_lose_nothing() {
    for url in [
        common::shared_server().url(),
        common::shared_cluster().url(),
    ] {
        let ns = common::unique_namespace("twoproc");
        let seed: Vec<String> = {
            let o = keytui(&url, &ns)
                .args(["create", "--name", "seed", "--count", "40", "--json"])
                .output()
                .unwrap();
            stdout(&o)
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        let spawn = |args: Vec<String>| {
            keytui_std()
                .args([url.as_str(), "-n", &ns])
                .args(args)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut children = vec![
            spawn(vec![
                "create".into(),
                "--name".into(),
                "a".into(),
                "--count".into(),
                "500".into(),
            ]),
            spawn(vec![
                "create".into(),
                "--name".into(),
                "b".into(),
                "--count".into(),
                "500".into(),
            ]),
        ];
        // revoke the seed keys from many short-lived processes while the creates run
        for id in &seed {
            children.push(spawn(vec!["revoke".into(), id.clone()]));
        }
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let o = keytui(&url, &ns).args(["list", "--json"]).output().unwrap();
        let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let arr = list.as_array().unwrap();
        assert_eq!(arr.len(), 1040);
        assert_eq!(arr.iter().filter(|r| r["status"] == "revoked").count(), 40);
        let o = keytui(&url, &ns).args(["doctor"]).output().unwrap();
        assert!(o.status.success(), "{}", stdout(&o));
    }
}

#[test]
fn closed_output_is_not_an_error() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("pipe");
    keytui(&url, &ns)
        .args(["create", "--name", "p", "--count", "3000"])
        .output()
        .unwrap();
    // The table and the JSON array alike: no message, exit status 0.
    for args in ["list", "list --json"] {
        let mut sh = std::process::Command::new("bash");
        for var in CLEARED_ENV {
            sh.env_remove(var);
        }
        let o = sh
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' '{url}' -n '{ns}' {args} | head -c 100 >/dev/null; echo $?",
                bin().display()
            ))
            .output()
            .unwrap();
        assert!(
            o.stderr.is_empty(),
            "{args}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(stdout(&o).trim(), "0", "{args}");
    }
}

#[test]
fn several_seed_nodes_and_forced_cluster_mode() {
    let cluster = common::shared_cluster();
    let ns = common::unique_namespace("seeds");
    let seeds = cluster.urls().join(",");
    let c = create(&seeds, &ns, &[]);
    // any single node, with cluster mode forced, sees the same key
    for url in cluster.urls() {
        let o = keytui(&url, &ns)
            .args(["--cluster", "show", c["id"].as_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // forcing cluster mode on a standalone server is a clear error
    let o = keytui(&common::shared_server().url(), &ns)
        .args(["--cluster", "list"])
        .output()
        .unwrap();
    assert_one_line_error(&o);
}

#[test]
fn unbounded_values_are_refused_with_one_line() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("bounds");
    for args in [
        vec!["create", "--name", "x", "--expires", "999999999d"],
        vec!["create", "--name", "x", "--count", "18446744073709551615"],
        vec!["create", "--name", "x", "--count", "1000001"],
        vec!["events", "--count", "18446744073709551615"],
    ] {
        let o = keytui(&url, &ns).args(&args).output().unwrap();
        let err = assert_one_line_error(&o);
        assert!(
            err.contains("9999") || err.contains("at most"),
            "{args:?}: {err}"
        );
    }
    let mut c = server.connection();
    let n: usize = redis::cmd("ZCARD")
        .arg(format!("{{{ns}}}:index"))
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 0, "nothing was created");
    // The largest accepted values still work.
    let v = create(&url, &ns, &["--expires", "9999-12-30T00:00:00Z"]);
    assert_eq!(v["expires_at"], "9999-12-30T00:00:00Z");
    let o = keytui(&url, &ns)
        .args(["events", "--count", "1000000"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A record without `status`, and a record key of another type: revoke, restore, reveal and
/// show all call them malformed (never "no key", never a raw Redis error), and change nothing.
#[test]
fn per_record_errors_are_classified_the_same_everywhere() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("classify");
    keytui(&url, &ns)
        .args(["init", "--mode", "plain"])
        .output()
        .unwrap();
    let c = create(&url, &ns, &[]);
    let id = c["id"].as_str().unwrap();
    let mut con = server.connection();
    let _: () = redis::cmd("HDEL")
        .arg(format!("{ns}:key:{{{id}}}"))
        .arg("status")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{ns}:key:{{Str1}}"))
        .arg("x")
        .query(&mut con)
        .unwrap();
    for target in [id, "Str1"] {
        for cmd in ["show", "revoke", "restore", "reveal"] {
            let o = keytui(&url, &ns).args([cmd, target]).output().unwrap();
            let err = assert_one_line_error(&o);
            assert!(
                err.contains("malformed record") && !err.contains("WRONGTYPE"),
                "{cmd} {target}: {err}"
            );
        }
    }
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(format!("{ns}:key:{{{id}}}"))
        .query(&mut con)
        .unwrap();
    assert!(!fields.iter().any(|f| f == "status" || f == "revoked_at"));
}

/// A record whose only damage is in display fields (meta not JSON, created_at not a number,
/// name not UTF-8) still lists, marked damaged, and verifies; a malformed record that could
/// still verify (its `id` field missing) is never moved out of the index by `doctor --repair`; bulk
/// revoke of every key takes malformed records by id and, like bulk delete, never claims
/// success while records were left unread.
#[test]
fn damaged_records_stay_visible_and_bulk_changes_never_hide_them() {
    let server = common::shared_server();
    let url = server.url();
    let ns = common::unique_namespace("damaged");
    let mut keys = Vec::new();
    for _ in 0..4 {
        let c = create(&url, &ns, &[]);
        keys.push((
            c["id"].as_str().unwrap().to_owned(),
            c["secret"].as_str().unwrap().to_owned(),
        ));
    }
    let record = |id: &str| format!("{ns}:key:{{{id}}}");
    let mut con = server.connection();
    let hset = |con: &mut redis::Connection, id: &str, field: &str, value: &[u8]| {
        let _: () = redis::cmd("HSET")
            .arg(record(id))
            .arg(field)
            .arg(value)
            .query(con)
            .unwrap();
    };
    hset(&mut con, &keys[0].0, "meta", b"notjson");
    hset(&mut con, &keys[1].0, "created_at", b"x");
    hset(&mut con, &keys[2].0, "name", b"\xff\xfebad");
    let _: () = redis::cmd("HDEL")
        .arg(record(&keys[3].0))
        .arg("id")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(record("Wrong1"))
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(format!("{{{ns}}}:index"))
        .arg(1)
        .arg("Wrong1")
        .query(&mut con)
        .unwrap();
    let damaged = &keys[..3];
    let (bad_expiry, bad_expiry_secret) = &keys[3];

    let o = keytui(&url, &ns).args(["list"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for (id, secret) in damaged {
        let line = stdout(&o)
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not listed: {}", stdout(&o)))
            .to_owned();
        assert!(line.contains("[damaged]"), "{line}");
        assert!(stderr(&o).contains(&format!("damaged record {id:?}")));
        assert_eq!(verify(&url, &ns, id, secret).status.code(), Some(0));
    }
    let o = keytui(&url, &ns).args(["list", "--json"]).output().unwrap();
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let shown = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == keys[2].0.as_str())
        .unwrap();
    assert!(shown["name"].as_str().unwrap().ends_with("bad"), "{shown}");
    assert!(shown["damaged"][0].as_str().unwrap().contains("name"));

    // Bulk delete with a filter cannot evaluate the malformed records: it says so, exit 2.
    let o = keytui(&url, &ns)
        .args(["delete", "--all-matching", "nothing-matches", "--yes"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("2 malformed record(s) not evaluated")
            && stdout(&o).contains("Wrong1")
            && stdout(&o).contains(bad_expiry.as_str()),
        "{}",
        stdout(&o)
    );

    // Revoking everything takes the malformed records by id: the bad-expiry one is revoked,
    // the wrong-type one is named as left unchanged, and the exit says not everything was.
    let o = keytui(&url, &ns)
        .args(["revoke", "--all-matching", "", "--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["revoked"], 4, "{v}");
    assert_eq!(v["malformed"], serde_json::json!(["Wrong1"]), "{v}");
    let status: String = redis::cmd("HGET")
        .arg(record(bad_expiry))
        .arg("status")
        .query(&mut con)
        .unwrap();
    assert_eq!(status, "revoked");

    // doctor --repair keeps a malformed record that could still verify in the index.
    common::layout_doc::hset_as_documented(&mut con, &record(bad_expiry), &[("status", b"active")]);
    assert_eq!(
        verify(&url, &ns, bad_expiry, bad_expiry_secret)
            .status
            .code(),
        Some(0),
        "the record without an id field still verifies"
    );
    let o = keytui(&url, &ns)
        .args(["doctor", "--repair"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("could still verify"), "{}", stdout(&o));
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{{{ns}}}:index"))
        .arg(bad_expiry)
        .query(&mut con)
        .unwrap();
    assert!(score.is_some(), "a record that could verify was unindexed");
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{{{ns}}}:index"))
        .arg("Wrong1")
        .query(&mut con)
        .unwrap();
    assert!(score.is_none(), "the wrong-type record stays indexed");
}
