//! `keytui namespaces` against real Redis: every namespace, on every master of a cluster,
//! with its mode, production mark and key count.

use serde_json::Value;

use crate::common::Target;
use crate::common::data::unique_namespace;
use crate::common::spawn::{json, keytui, stderr, stdout};

on_both!(namespaces_lists_every_namespace);

fn create(url: &str, ns: &str, name: &str, extra: &[&str]) -> Value {
    let mut args = vec!["create", "--name", name, "--json"];
    args.extend_from_slice(extra);
    json(url, ns, &args)
}

async fn namespaces_lists_every_namespace(t: Target) {
    let url = t.url();
    // Enough namespaces that a cluster spreads them over every master.
    let names: Vec<String> = (0..12)
        .map(|i| unique_namespace(&format!("nsl{i}")))
        .collect();
    for (i, n) in names.iter().enumerate() {
        if i == 0 {
            keytui(&url, n)
                .args(["init", "--production"])
                .assert()
                .success();
        }
        for _ in 0..=i % 3 {
            create(&url, n, "k", &[]);
        }
    }
    let o = keytui(&url, "keytui")
        .args(["namespaces", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let list: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    for (i, n) in names.iter().enumerate() {
        let e = list
            .iter()
            .find(|e| e["name"] == n.as_str())
            .unwrap_or_else(|| panic!("{n} missing from {list:?}"));
        assert_eq!(e["mode"], "hash");
        assert_eq!(e["keys"], (i % 3 + 1) as u64);
        assert_eq!(e["production"], i == 0);
        assert_eq!(e["layout"], "2", "a new namespace is of layout 2");
    }
    let o = keytui(&url, "keytui").arg("namespaces").output().unwrap();
    let text = stdout(&o);
    assert!(text.starts_with("NAME"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with(names[0].as_str()))
        .unwrap_or_else(|| panic!("{} missing: {text}", names[0]));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1..], ["hash", "2", "yes", "1"], "{line}");
}
