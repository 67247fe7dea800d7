//! Running the `keytui` binary with a clean, uniform environment: none of the caller's
//! Redis URL, namespace, pepper, master key, actor, log settings or display leak in, so a
//! test sees the same thing on a developer's machine and in CI. The TUI in tmux gets the
//! same treatment (see [`super::tmux`]) plus a private home ([`TuiHome`]).

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Variables removed from every `keytui` (and tmux server) the tests start.
pub const CLEARED_ENV: &[&str] = &[
    "REDIS_URL",
    "KEYTUI_NAMESPACE",
    "KEYTUI_PEPPER",
    "KEYTUI_MASTER_KEY",
    "KEYTUI_MASTER_KEY_FILE",
    "KEYTUI_ACTOR",
    "KEYTUI_LOG",
    "KEYTUI_LOG_FILE",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "TMUX",
];

/// The actor every CLI run acts as.
pub const CLI_ACTOR: &str = "cli-test";

/// No single `keytui` run in a test takes anywhere near this long; one that hangs is
/// killed and the test fails instead of hanging the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The `keytui` binary cargo built for the tests.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keytui")
}

/// `keytui` with the clean environment and no arguments (for `spawn`ed processes and
/// runs that pass their own URL).
pub fn keytui_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("KEYTUI_ACTOR", CLI_ACTOR);
    cmd
}

/// `keytui` with the clean environment and no arguments, as an `assert_cmd` command.
pub fn keytui_bare() -> Command {
    let mut cmd = Command::from_std(keytui_std());
    cmd.timeout(RUN_TIMEOUT);
    cmd
}

/// `keytui URL -n NS` with the clean environment.
pub fn keytui(url: &str, ns: &str) -> Command {
    let mut cmd = keytui_bare();
    cmd.arg(url).arg("-n").arg(ns);
    cmd
}

/// Runs `keytui URL -n NS ARGS...`.
pub fn run(url: &str, ns: &str, args: &[&str]) -> Output {
    keytui(url, ns).args(args).output().expect("run keytui")
}

/// Runs `keytui URL -n NS ARGS...`, asserts success and returns stdout.
pub fn ok(url: &str, ns: &str, args: &[&str]) -> String {
    let o = run(url, ns, args);
    assert!(o.status.success(), "keytui {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Runs `keytui URL -n NS ARGS...`, asserts success and parses stdout as JSON.
pub fn json(url: &str, ns: &str, args: &[&str]) -> Value {
    let out = ok(url, ns, args);
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("keytui {args:?}: not JSON ({e}): {out}"))
}

/// Asserts that a run succeeded and parses its stdout as JSON.
pub fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// Lossy UTF-8.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// Asserts a clean failure: exit 2, one line on stderr from keytui (`keytui: `) or from
/// argument parsing (`error: `), never a panic or a Rust debug dump. Returns that line.
pub fn one_line_error(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {} stderr: {err}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(
        err.starts_with("keytui: ") || err.starts_with("error: "),
        "{err}"
    );
    for bad in ["panicked", "RUST_BACKTRACE", "Error {", "kind:"] {
        assert!(!err.contains(bad), "{err}");
    }
    err
}

/// A private home for a TUI run: its own config and state directories and log file.
pub struct TuiHome {
    dir: tempfile::TempDir,
}

impl TuiHome {
    pub fn new() -> TuiHome {
        let dir = tempfile::Builder::new()
            .prefix("keytui-tui-")
            .tempdir()
            .expect("create a temporary directory");
        for d in ["config/keytui", "state"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("create a home directory");
        }
        let home = TuiHome { dir };
        // Status messages stay for the whole test: a test waiting for one must not race
        // its expiry on a loaded machine (the expiry has its own tests, on an injected
        // clock). A test may replace the file.
        std::fs::write(home.config_file(), "message_secs = 3600\n").expect("write config.toml");
        home
    }

    /// `$XDG_CONFIG_HOME/keytui/config.toml` of this home.
    pub fn config_file(&self) -> PathBuf {
        self.path("config").join("keytui").join("config.toml")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> PathBuf {
        self.path("keytui.log")
    }

    /// The environment of a keytui in tmux (DISPLAY is added by the caller when wanted).
    pub fn env(&self, actor: &str) -> Vec<(&'static str, String)> {
        vec![
            ("XDG_CONFIG_HOME", self.path("config").display().to_string()),
            ("XDG_STATE_HOME", self.path("state").display().to_string()),
            ("KEYTUI_LOG", "info".into()),
            ("KEYTUI_ACTOR", actor.into()),
        ]
    }
}

/// `env` as the `(&str, &str)` pairs [`super::tmux::Tmux::start`] takes.
pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `keytui create --name NAME --json` plus `extra`, as JSON.
pub fn create_key(url: &str, ns: &str, name: &str, extra: &[&str]) -> Value {
    let mut args = vec!["create", "--name", name, "--json"];
    args.extend_from_slice(extra);
    json(url, ns, &args)
}

/// `keytui show ID --json`, as JSON.
pub fn show_key(url: &str, ns: &str, id: &str) -> Value {
    json(url, ns, &["show", id, "--json"])
}
