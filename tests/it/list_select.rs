//! `keytui list` with attention filters (`--unused-for`, `--expiring-within`,
//! `--never-used`, `--created-by`) and `--sort`, and the same filters narrowing
//! `revoke --all-matching`, against real Redis (a server and a 3-master cluster); and that
//! `list --json`, printed from the bytes of the replies, says what `show --json` says.

use keytui::record::now_ms;
use redis::AsyncCommands;
use serde_json::Value;

use crate::common::Target;
use crate::common::data::{raw, unique_namespace};
use crate::common::spawn::{CLI_ACTOR, keytui, one_line_error, stderr, stdout};

on_both!(
    list_attention_filters_and_sort,
    list_prints_each_record_as_show_does
);

use crate::common::spawn::{create_key as create, show_key as show};

async fn list_attention_filters_and_sort(t: Target) {
    let url = t.url();
    let ns = unique_namespace("attn");
    let a = create(&url, &ns, "alpha", &["--expires", "3d"]);
    let b = create(&url, &ns, "Bravo", &["--expires", "30d"]);
    let c = create(&url, &ns, "charlie", &[]);
    let d = create(&url, &ns, "delta", &[]);
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    // c was used long ago, d recently; a and b never. d was created by someone else, and
    // a long ago.
    let mut conn = raw(t).await;
    let day = 24 * 3600 * 1000;
    let rec = |v: &Value| format!("{ns}:key:{{{}}}", id(v));
    let _: () = conn
        .hset(rec(&c), "last_used_at", now_ms() - 200 * day)
        .await
        .unwrap();
    let _: () = conn.hset(rec(&d), "last_used_at", now_ms()).await.unwrap();
    let _: () = conn.hset(rec(&d), "created_by", "ann@box").await.unwrap();
    let _: () = conn
        .hset(rec(&a), "created_at", now_ms() - 100 * day)
        .await
        .unwrap();
    let ids = |args: &[&str]| -> Vec<String> {
        let o = keytui(&url, &ns)
            .arg("list")
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let v: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
        v.iter().map(id).collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(ids(&["--never-used"])), sorted(vec![id(&a), id(&b)]));
    assert_eq!(
        sorted(ids(&["--unused-for", "90d"])),
        sorted(vec![id(&a), id(&c)])
    );
    assert_eq!(ids(&["--expiring-within", "7d"]), vec![id(&a)]);
    assert_eq!(ids(&["--created-by", "ann"]), vec![id(&d)]);
    assert_eq!(
        ids(&[
            "--created-by",
            CLI_ACTOR,
            "--never-used",
            "--expiring-within",
            "7d"
        ]),
        vec![id(&a)]
    );
    // Sorts: names case-insensitively; expiry soonest first with never last either way.
    assert_eq!(
        ids(&["--sort", "name"]),
        vec![id(&a), id(&b), id(&c), id(&d)]
    );
    assert_eq!(
        ids(&["--sort", "name", "--desc"]),
        vec![id(&d), id(&c), id(&b), id(&a)]
    );
    assert_eq!(ids(&["--sort", "expires"])[..2], [id(&a), id(&b)]);
    assert_eq!(ids(&["--sort", "expires", "--desc"])[..2], [id(&b), id(&a)]);
    assert_eq!(ids(&["--sort", "last-used"])[..2], [id(&d), id(&c)]);
    assert_eq!(ids(&["--sort", "created", "--asc"])[0], id(&a));
    assert_eq!(ids(&["--sort", "name", "--limit", "1"]), vec![id(&a)]);
    // The table shows the expiry.
    let o = keytui(&url, &ns).arg("list").output().unwrap();
    let text = stdout(&o);
    assert!(text.lines().next().unwrap().contains("EXPIRES"), "{text}");
    assert!(text.contains("never"), "{text}");
    // The same filters select for a bulk revoke.
    let o = keytui(&url, &ns)
        .args([
            "revoke",
            "--all-matching",
            "",
            "--unused-for",
            "90d",
            "--yes",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["revoked"], 2, "{v}");
    assert_eq!(show(&url, &ns, &id(&a))["status"], "revoked");
    assert_eq!(show(&url, &ns, &id(&b))["status"], "active");
    // Without --all-matching the filters are refused; bad durations too.
    one_line_error(
        &keytui(&url, &ns)
            .args(["revoke", &id(&b), "--never-used"])
            .output()
            .unwrap(),
    );
    one_line_error(
        &keytui(&url, &ns)
            .args(["list", "--unused-for", "lots"])
            .output()
            .unwrap(),
    );
}

/// `list --json` prints records from the bytes of the replies, `show --json` from an owned
/// record: escapes, metadata written by other programs (unsorted, a key given twice, not
/// UTF-8) and damaged fields come out the same, in both orders of reading.
async fn list_prints_each_record_as_show_does(t: Target) {
    let url = t.url();
    let ns = unique_namespace("listshow");
    let ids: Vec<String> = ["plain", "odd", "lossy", "badmeta"]
        .iter()
        .map(|n| {
            create(&url, &ns, n, &["--meta", "team=a"])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let rec = |i: usize| format!("{ns}:key:{{{}}}", ids[i]);
    let mut conn = raw(t).await;
    let writes: [(usize, &str, &[u8]); 6] = [
        (1, "name", b"tab\tquote\"back\\slash \x01 \xc3\xa9"),
        (
            1,
            "meta",
            br#"{"z":"1","a":"q\"uote \u00e9","a":"last","k\u00e9y":"\n","e":"\ud83d\ude00"}"#,
        ),
        (1, "revoked_reason", b"why \"not\""),
        (2, "name", b"\xffname"),
        (2, "meta", b"{\"m\":\"\xff\"}"),
        (3, "meta", b"[1]"),
    ];
    for (i, field, value) in writes {
        let _: () = conn.hset(rec(i), field, value).await.unwrap();
    }
    let o = keytui(&url, &ns).args(["list", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // Metadata in key order, the last of a key given twice, escapes as serde_json writes them.
    assert!(
        out.contains(
            "\"meta\":{\"a\":\"last\",\"e\":\"\u{1f600}\",\"k\u{e9}y\":\"\\n\",\"z\":\"1\"}"
        ),
        "{out}"
    );
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), ids.len());
    for v in &listed {
        let id = v["id"].as_str().unwrap();
        assert_eq!(v, &show(&url, &ns, id), "{id}");
    }
    let damaged = |v: &Value| v.get("damaged").is_some();
    assert_eq!(listed.iter().filter(|v| damaged(v)).count(), 2, "{out}");
}
