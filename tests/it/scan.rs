//! `keytui scan` against real Redis (a server and a 3-master cluster): tokens found in
//! files and standard input, reported with their key's status and never the secret; exit
//! codes; `--revoke` asking first and naming the place as the reason.

use serde_json::Value;

use crate::common::Target;
use crate::common::data::unique_namespace;
use crate::common::spawn::{keytui, one_line_error, stderr, stdout};

on_both!(scan_reports_and_revokes_leaked_tokens);

use crate::common::spawn::{create_key as create, show_key as show};

async fn scan_reports_and_revokes_leaked_tokens(t: Target) {
    let url = t.url();
    let ns = unique_namespace("scan");
    let live = create(&url, &ns, "billing", &["--prefix", "sk_live"]);
    let gone = create(&url, &ns, "old", &[]);
    let other_ns = unique_namespace("scan-other");
    let foreign = create(&url, &other_ns, "elsewhere", &[]);
    keytui(&url, &ns)
        .args(["revoke", gone["id"].as_str().unwrap()])
        .assert()
        .success();
    let tok = |v: &Value| v["token"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ci.log");
    std::fs::write(
        &log,
        format!(
            "step 1\nexport API_KEY={}\nsome_snake_case\n\"token\": \"{}\"\n{}\n",
            tok(&live),
            tok(&gone),
            tok(&foreign)
        ),
    )
    .unwrap();
    let clean = dir.path().join("clean.log");
    std::fs::write(&clean, format!("nothing here {}\n", tok(&gone))).unwrap();

    // Text: file:line, id, status, name; never the secret; exit 1 for a live key.
    let o = keytui(&url, &ns).arg("scan").arg(&log).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out} {}", stderr(&o));
    let log_s = log.display().to_string();
    let live_id = live["id"].as_str().unwrap();
    let gone_id = gone["id"].as_str().unwrap();
    assert!(
        out.contains(&format!("{log_s}:2: {live_id} active \"billing\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{log_s}:4: {gone_id} revoked \"old\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{log_s}:5: {} unknown",
            foreign["id"].as_str().unwrap()
        )),
        "{out}"
    );
    for v in [&live, &gone, &foreign] {
        assert!(!out.contains(v["secret"].as_str().unwrap()), "{out}");
    }
    // No live key: exit 0. Standard input when no path.
    let o = keytui(&url, &ns).arg("scan").arg(&clean).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = keytui(&url, &ns)
        .args(["scan", "--json"])
        .write_stdin(format!("x\n{}\n", tok(&live)))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["live"], 1);
    assert_eq!(v["findings"][0]["file"], "-");
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(v["findings"][0]["id"], live_id);
    assert_eq!(v["findings"][0]["status"], "active");

    // --revoke off a terminal refuses without --yes, and changes nothing.
    let o = keytui(&url, &ns)
        .args(["scan", "--revoke"])
        .arg(&log)
        .output()
        .unwrap();
    let err = one_line_error(&o);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(show(&url, &ns, live_id)["status"], "active");
    // With --yes: revoked, with the file and line as the reason, one event.
    let o = keytui(&url, &ns)
        .args(["scan", "--revoke", "--yes"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("revoked {live_id}")));
    let r = show(&url, &ns, live_id);
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["revoked_reason"], format!("leaked: found in {log_s}:2"));
    // Now nothing live: exit 0.
    let o = keytui(&url, &ns).arg("scan").arg(&log).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A missing file: one line, exit 2.
    let o = keytui(&url, &ns)
        .arg("scan")
        .arg(dir.path().join("missing.log"))
        .output()
        .unwrap();
    one_line_error(&o);
}
