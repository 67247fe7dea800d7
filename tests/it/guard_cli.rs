//! Nothing irreversible on one unguarded command: rotate (shape, `--force`, production),
//! `migrate --to hash` on a sealed namespace, and import (everything checked before the
//! first write; a write that fails midway says how far it got). The real binary against
//! real redis-server.

use serde_json::Value;

use crate::common;
use crate::common::spawn::{json, keytui, ok, one_line_error, run, stderr, stdout};

fn key_count(url: &str, ns: &str) -> usize {
    json(url, ns, &["list", "--json"]).as_array().unwrap().len()
}

fn ms(rfc3339: &Value) -> i64 {
    rfc3339
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[test]
fn rotate_keeps_the_shape_and_prints_the_old_keys_real_expiry() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("rotshape");
    let old = json(
        &url,
        &ns,
        &[
            "create",
            "--name",
            "svc",
            "--format",
            "hex",
            "--length",
            "40",
            "--id-format",
            "alphanumeric",
            "--id-length",
            "20",
            "--prefix",
            "pk_test",
            "--no-checksum",
            "--expires",
            "1h",
            "--json",
        ],
    );
    let old_id = old["id"].as_str().unwrap();
    let new = json(&url, &ns, &["rotate", old_id, "--json"]);
    let (id, secret) = (new["id"].as_str().unwrap(), new["secret"].as_str().unwrap());
    assert_eq!(secret.len(), 40, "{new}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{new}"
    );
    assert_eq!(id.len(), 20, "{new}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{new}"
    );
    // same prefix, still without a checksum
    assert_eq!(new["token"], format!("pk_test_{id}_{secret}"), "{new}");
    // a key expiring in 1 h gets a successor with a 1 h lifetime
    let lifetime = ms(&new["expires_at"]) - now();
    assert!(
        (3_300_000..=3_601_000).contains(&lifetime),
        "successor lifetime {lifetime} ms: {new}"
    );

    // The old key expires at its own expiry (1 h) when that comes before the grace (24 h):
    // rotate prints that, not now + grace.
    let other = json(
        &url,
        &ns,
        &["create", "--name", "short", "--expires", "1h", "--json"],
    );
    let other_id = other["id"].as_str().unwrap();
    let text = ok(&url, &ns, &["rotate", other_id]);
    let shown = json(&url, &ns, &["show", other_id, "--json"]);
    let line = format!(
        "old key {other_id} expires {}",
        shown["expires_at"].as_str().unwrap()
    );
    assert!(text.contains(&line), "{text:?} lacks {line:?}");
    assert_eq!(shown["expires_at"], other["expires_at"]);
}

#[test]
fn rotating_twice_needs_force_and_never_orphans_the_first_successor() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("rotforce");
    let old = json(&url, &ns, &["create", "--name", "svc", "--json"]);
    let old_id = old["id"].as_str().unwrap();
    let first = json(&url, &ns, &["rotate", old_id, "--json"]);
    let first_id = first["id"].as_str().unwrap();

    let o = run(&url, &ns, &["rotate", old_id]);
    let err = one_line_error(&o);
    assert!(
        err.contains("already rotated") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains(first_id), "{err}");
    assert_eq!(key_count(&url, &ns), 2, "a refused rotation made a key");

    let second = json(&url, &ns, &["rotate", old_id, "--force", "--json"]);
    let second_id = second["id"].as_str().unwrap();
    assert_ne!(second_id, first_id);
    // --json carries what the text output says about the old key.
    assert_eq!(first["old_id"], old_id);
    assert!(first["first_successor"].is_null(), "{first}");
    assert_eq!(second["first_successor"], first_id, "{second}");
    assert_eq!(second["old_deleted"], false);
    let old_expiry = json(&url, &ns, &["show", old_id, "--json"])["expires_at"].clone();
    assert!(old_expiry.is_string(), "{old_expiry}");
    assert_eq!(second["old_expires_at"], old_expiry, "{second}");
    let shown = json(&url, &ns, &["show", old_id, "--json"]);
    assert_eq!(
        shown["rotated_to"], first_id,
        "the first successor lost its link"
    );
    assert_eq!(
        json(&url, &ns, &["show", second_id, "--json"])["rotated_from"],
        old_id
    );
    // the first successor still works
    let o = keytui(&url, &ns)
        .args(["verify", first_id])
        .write_stdin(format!("{}\n", first["secret"].as_str().unwrap()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn rotate_in_a_production_namespace_needs_confirmation() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("rotprod");
    ok(&url, &ns, &["init", "--production"]);
    let old = json(&url, &ns, &["create", "--name", "svc", "--json"]);
    let old_id = old["id"].as_str().unwrap();
    let o = run(&url, &ns, &["rotate", old_id]);
    let err = one_line_error(&o);
    assert!(err.contains("production") && err.contains("--yes"), "{err}");
    assert_eq!(key_count(&url, &ns), 1);
    json(&url, &ns, &["rotate", old_id, "--yes", "--json"]);
    assert_eq!(key_count(&url, &ns), 2);
}

#[test]
fn migrate_to_hash_on_a_sealed_namespace_asks_first() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("migseal");
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("master.key");
    let keyfile = keyfile.to_str().unwrap();
    ok(
        &url,
        &ns,
        &["init", "--mode", "sealed", "--generate-master-key", keyfile],
    );
    let mut ids = Vec::new();
    for _ in 0..3 {
        let c = json(
            &url,
            &ns,
            &[
                "--master-key-file",
                keyfile,
                "create",
                "--name",
                "s",
                "--json",
            ],
        );
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    // not a terminal, no --yes: refused, naming the count and that it cannot be undone
    let o = run(
        &url,
        &ns,
        &["--master-key-file", keyfile, "migrate", "--to", "hash"],
    );
    let err = one_line_error(&o);
    assert!(err.contains("3 keys"), "{err}");
    assert!(
        err.contains("cannot be undone") && err.contains("--yes"),
        "{err}"
    );
    ok(
        &url,
        &ns,
        &["--master-key-file", keyfile, "reveal", &ids[0]],
    );
    // --yes: done
    ok(
        &url,
        &ns,
        &[
            "--master-key-file",
            keyfile,
            "migrate",
            "--to",
            "hash",
            "--yes",
        ],
    );
    let o = run(
        &url,
        &ns,
        &["--master-key-file", keyfile, "reveal", &ids[0]],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A 40-hex-character secret for `i` (the shape of a tastypie key; strong by the import
/// rule: no repeated period, many distinct characters).
fn hex40(i: usize) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(i.to_string().as_bytes()))[..40].to_owned()
}

/// `n` JSON lines of valid keys with ids `Imp<i>x`.
fn good_lines(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"Imp{i}x\",\"secret\":\"{}\",\"name\":\"n{i}\"}}\n",
                hex40(i)
            )
        })
        .collect()
}

#[test]
fn import_checks_the_whole_input_before_writing_anything() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("impall");
    let mut input = good_lines(1001);
    input.push_str("{\"id\":\"bad id\",\"secret\":\"0123456789012345678901234567890123456789\"}\n");
    let o = keytui(&url, &ns)
        .arg("import")
        .write_stdin(input)
        .output()
        .unwrap();
    let err = one_line_error(&o);
    assert!(
        err.contains("line 1002") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        key_count(&url, &ns),
        0,
        "keys were written before the bad line"
    );
}

#[test]
fn import_applies_the_weak_secret_rule_unless_allowed() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("impweak");
    let input = format!(
        "{}{{\"id\":\"Legacy1\",\"secret\":\"abcde\"}}\n",
        good_lines(2)
    );
    let o = keytui(&url, &ns)
        .arg("import")
        .write_stdin(input.clone())
        .output()
        .unwrap();
    let err = one_line_error(&o);
    assert!(
        err.contains("line 3") && err.contains("--allow-weak"),
        "{err}"
    );
    assert!(!err.contains("abcde"), "the secret is in the error: {err}");
    assert_eq!(key_count(&url, &ns), 0);
    let o = keytui(&url, &ns)
        .args(["import", "--allow-weak"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("imported 3 of 3"), "{text}");
    assert!(
        text.contains("1 weak secret") && text.contains("Legacy1"),
        "{text}"
    );
}

#[test]
fn an_import_that_fails_midway_says_how_many_were_written() {
    // A private server whose memory runs out partway through the import: the write fails
    // with OOM after some batches went in.
    let server = common::RedisServer::start();
    let url = server.url();
    let ns = common::unique_namespace("imppart");
    let mut c = server.connection();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let used: u64 = common::info_field(&info, "used_memory")
        .unwrap()
        .parse()
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 3 * 1024 * 1024)
        .query(&mut c)
        .unwrap();
    let total = 30_000;
    let input = good_lines(total);
    let o = keytui(&url, &ns)
        .arg("import")
        .write_stdin(input.clone())
        .output()
        .unwrap();
    let err = one_line_error(&o);
    let written: usize = redis::cmd("ZCARD")
        .arg(format!("{{{ns}}}:index"))
        .query(&mut c)
        .unwrap();
    assert!(written > 0 && written < total, "{written} written: {err}");
    assert!(
        err.contains(&format!("after writing {written} of {total} keys")),
        "{err}"
    );
    assert!(err.contains("run the same import again"), "{err}");
    // a rerun with memory to spare skips what was written and writes the rest
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .query(&mut c)
        .unwrap();
    let o = keytui(&url, &ns)
        .args(["import", "--json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(report["imported"], total - written);
    assert_eq!(
        report["skipped_existing"].as_array().unwrap().len(),
        written
    );
}

#[test]
fn migrate_to_hash_on_a_plain_namespace_asks_first() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("migplain");
    ok(&url, &ns, &["init", "--mode", "plain"]);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let c = json(&url, &ns, &["create", "--name", "p", "--json"]);
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    // not a terminal, no --yes: refused, naming the plaintext count; nothing changes
    let err = one_line_error(&run(&url, &ns, &["migrate", "--to", "hash"]));
    assert!(
        err.contains("plaintext secrets of 2 keys") && err.contains("cannot be undone"),
        "{err}"
    );
    assert!(err.contains("--yes"), "{err}");
    ok(&url, &ns, &["reveal", &ids[0]]);
    // --yes: done, and the secrets are gone
    ok(&url, &ns, &["migrate", "--to", "hash", "--yes"]);
    let o = run(&url, &ns, &["reveal", &ids[0]]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
}

/// The import rule counts repetition and few distinct characters, so `"a"` forty times and
/// `"password"` five times are weak; a numeric secret is named as not a string; an id given
/// twice in one file is refused before anything is written.
#[test]
fn import_refuses_repeated_secrets_numbers_and_duplicate_ids() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("impmore");
    for secret in ["a".repeat(40), "password".repeat(5)] {
        let input = format!(
            "{}{{\"id\":\"Weak1\",\"secret\":\"{secret}\"}}\n",
            good_lines(1)
        );
        let err = one_line_error(&run_import(&url, &ns, &input));
        assert!(
            err.contains("line 2") && err.contains("--allow-weak"),
            "{secret}: {err}"
        );
        assert!(!err.contains(&secret), "the secret is in the error: {err}");
    }
    let err = one_line_error(&run_import(
        &url,
        &ns,
        "{\"id\":\"Num1\",\"secret\":12345678901234567890}\n",
    ));
    assert!(err.contains("secret must be a string"), "{err}");
    let input = format!(
        "{}{{\"id\":\"Imp0x\",\"secret\":\"{}\"}}\n",
        good_lines(2),
        hex40(99)
    );
    let err = one_line_error(&run_import(&url, &ns, &input));
    assert!(
        err.contains("line 3") && err.contains("also on line 1"),
        "{err}"
    );
    assert_eq!(key_count(&url, &ns), 0, "something was written");
}

fn run_import(url: &str, ns: &str, input: &str) -> std::process::Output {
    keytui(url, ns)
        .arg("import")
        .write_stdin(input.to_owned())
        .output()
        .unwrap()
}

/// `init --generate-master-key NEW` against a namespace that exists (sealed, with another
/// key) is refused before the new key file is written.
#[test]
fn init_with_a_new_master_key_on_an_existing_namespace_writes_no_key_file() {
    let url = common::shared_server().url();
    let ns = common::unique_namespace("initkey");
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.key");
    ok(
        &url,
        &ns,
        &[
            "init",
            "--mode",
            "sealed",
            "--generate-master-key",
            first.to_str().unwrap(),
        ],
    );
    let second = dir.path().join("second.key");
    let o = run(
        &url,
        &ns,
        &[
            "init",
            "--mode",
            "sealed",
            "--generate-master-key",
            second.to_str().unwrap(),
        ],
    );
    let err = one_line_error(&o);
    assert!(err.contains("exists already"), "{err}");
    assert!(
        !second.exists(),
        "a key file was written for a refused init"
    );
}
