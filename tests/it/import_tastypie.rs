//! `keytui import --format tastypie` on what a real Django + django-tastypie install
//! writes: a tiny project (tests/tastypie/settings.py) in a venv cached under target/,
//! users and ApiKey rows made by tastypie itself, `django-admin dumpdata tastypie.ApiKey`
//! with and without `--natural-foreign`, imported and verified with `keytui verify`
//! against a real redis-server.

use std::path::{Path, PathBuf};
use std::process::{Command as Std, Output};

use serde_json::Value;

use crate::common;
use crate::common::spawn::keytui;

const DJANGO: &str = "Django>=5.2,<5.3";
const TASTYPIE: &str = "django-tastypie==0.15.1";

/// The venv with Django and tastypie, made once and kept under target/ (a marker file
/// says the install finished). Tests of this binary run in parallel threads: the first
/// makes it while the others wait, so no test runs pip in a venv another is creating.
fn venv() -> PathBuf {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tastypie-venv");
    let marker = dir.join(format!("installed {DJANGO} {TASTYPIE}"));
    if marker.exists() {
        return dir;
    }
    let run = |cmd: &mut Std, what: &str| {
        let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            o.status.success(),
            "{what} failed (script/bootstrap installs python3-venv): {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(
        Std::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    );
    run(
        Std::new(dir.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            DJANGO,
            TASTYPIE,
        ]),
        "pip install Django django-tastypie",
    );
    std::fs::write(&marker, "").unwrap();
    dir
}

/// A Django command in the test project, with the sqlite database in `db`.
fn django(venv: &Path, db: &Path, program: &str, args: &[&str]) -> Output {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tastypie");
    let o = Std::new(venv.join("bin").join(program))
        .args(args)
        .current_dir(&project)
        .env("PYTHONPATH", &project)
        .env("DJANGO_SETTINGS_MODULE", "settings")
        .env("KEYTUI_TEST_DB", db)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn import(url: &str, ns: &str, dump: &[u8], extra: &[&str]) -> Output {
    keytui(url, ns)
        .args(["import", "--format", "tastypie"])
        .args(extra)
        .write_stdin(dump)
        .output()
        .unwrap()
}

fn verify(url: &str, ns: &str, id: &str, secret: &str) -> Option<i32> {
    keytui(url, ns)
        .args(["verify", id])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn real_dumpdata_output_imports_and_verifies() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite3");
    django(&venv, &db, "django-admin", &["migrate", "-v", "0"]);
    let made = django(
        &venv,
        &db,
        "python",
        &["make_keys.py", "alice", "bob", "josé"],
    );
    let keys: Vec<(String, String)> = String::from_utf8(made.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (u, k) = l.split_once(' ').unwrap();
            (u.to_owned(), k.to_owned())
        })
        .collect();
    assert_eq!(keys.len(), 3);
    let url = common::shared_server().url();

    // Without --natural-foreign the rows name users by primary key: refused, nothing
    // written, and the message names the flag.
    let by_pk = django(&venv, &db, "django-admin", &["dumpdata", "tastypie.ApiKey"]);
    let ns = common::unique_namespace("tastypk");
    let o = import(&url, &ns, &by_pk.stdout, &[]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--natural-foreign"), "{err}");
    let list = keytui(&url, &ns).args(["list", "--json"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&list.stdout).unwrap(),
        Value::Array(vec![])
    );

    // With it (a JSON array, and JSON lines): alice and bob imported and verified, josé
    // (not a valid key id) reported and left out.
    for format in ["json", "jsonl"] {
        let dump = django(
            &venv,
            &db,
            "django-admin",
            &[
                "dumpdata",
                "tastypie.ApiKey",
                "--natural-foreign",
                "--format",
                format,
            ],
        );
        let ns = common::unique_namespace("tastynat");
        let o = import(&url, &ns, &dump.stdout, &[]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("imported 2 of 3"), "{format}: {out}");
        assert!(
            out.contains("josé") && out.contains("not a valid key id"),
            "{format}: {out}"
        );
        for (user, key) in &keys {
            let code = verify(&url, &ns, user, key);
            if user == "josé" {
                assert_eq!(code, Some(1), "{format}: josé was imported");
            } else {
                assert_eq!(code, Some(0), "{format}: {user} does not verify");
            }
        }
        let shown = keytui(&url, &ns)
            .args(["show", "alice", "--json"])
            .output()
            .unwrap();
        let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(shown["meta"]["source"], "tastypie");
    }
}

/// A full dump (auth.user rows next to the ApiKey rows) with a UTF-8 byte order mark in
/// front, as some editors save it: the BOM is ignored, the other models are left out with a
/// note naming them, and the keys are imported. A dump with no ApiKey row at all imports
/// nothing and says so with a non-zero exit.
#[test]
fn full_dump_with_a_bom_imports_the_keys_and_names_other_models() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite3");
    django(&venv, &db, "django-admin", &["migrate", "-v", "0"]);
    let made = django(&venv, &db, "python", &["make_keys.py", "carol"]);
    let made = String::from_utf8(made.stdout).unwrap();
    let (_, key) = made.trim().split_once(' ').unwrap();
    let url = common::shared_server().url();
    let dump = django(
        &venv,
        &db,
        "django-admin",
        &[
            "dumpdata",
            "auth.user",
            "tastypie.ApiKey",
            "--natural-foreign",
        ],
    );
    let mut with_bom = "\u{feff}".as_bytes().to_vec();
    with_bom.extend_from_slice(&dump.stdout);
    let ns = common::unique_namespace("tastybom");
    let o = import(&url, &ns, &with_bom, &[]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("imported 1 of 2"), "{out}");
    assert!(out.contains("auth.user row"), "{out}");
    assert!(!out.contains("missing key"), "{out}");
    assert_eq!(verify(&url, &ns, "carol", key), Some(0));

    let users = django(
        &venv,
        &db,
        "django-admin",
        &["dumpdata", "auth.user", "--natural-foreign"],
    );
    let ns = common::unique_namespace("tastynone");
    let o = import(&url, &ns, &users.stdout, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing was imported"));
}
