//! A private tmux server (its own socket, no user config) running one command in a
//! pseudo-terminal of a fixed size: send keys, read the screen, wait for text. The server
//! is killed on drop.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::spawn::CLEARED_ENV;

/// How long to wait for something to show up on screen (generous: loaded CI machines).
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// One tmux server on a private socket with one session (`main`).
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

/// Quotes `s` for `sh`.
pub fn sh_quote(s: impl AsRef<OsStr>) -> String {
    let s = s.as_ref().to_string_lossy();
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The pane outlives `script` so that its last screen can be read. (With `remain-on-exit`
/// instead, tmux 3.3 loses output written just before the command ends.) The sleep dies
/// with the server.
fn keep_alive(script: &str) -> String {
    format!("{script}\nexec sleep 86400")
}

impl Tmux {
    /// Starts a server whose session runs `sh -c script` in a `width` x `height` pane, with
    /// `env` added to the clean environment of [`super::spawn`] (nothing of the caller's).
    pub fn start(width: u16, height: u16, env: &[(&str, &str)], script: &str) -> Tmux {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "tmux not found: run script/bootstrap"
        );
        let dir = tempfile::Builder::new()
            .prefix("keytui-tmux-")
            .tempdir()
            .expect("create a temporary directory");
        let tmux = Tmux {
            socket: dir.path().join("sock"),
            _dir: dir,
        };
        let mut cmd = tmux.command();
        cmd.args(["new-session", "-d", "-s", "main", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string());
        for (k, v) in env {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.arg("sh").arg("-c").arg(keep_alive(script));
        // The server inherits this environment: keep the caller's Redis settings out of it.
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        cmd.env("TERM", "xterm-256color");
        let out = cmd.output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-f")
            .arg("/dev/null")
            .arg("-S")
            .arg(&self.socket)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a tmux command; panics when it fails.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.command().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Opens another window running `sh -c script` (same size); returns its target.
    pub fn new_window(&self, name: &str, env: &[(&str, &str)], script: &str) -> String {
        let mut args: Vec<String> =
            vec!["new-window".into(), "-d".into(), "-n".into(), name.into()];
        for (k, v) in env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.extend(["sh".into(), "-c".into(), keep_alive(script)]);
        self.run(&args);
        format!("main:{name}")
    }

    /// The visible screen of the first window, as plain text.
    pub fn screen(&self) -> String {
        self.screen_of("main:0")
    }

    pub fn screen_of(&self, target: &str) -> String {
        let out = self.run(["capture-pane", "-p", "-t", target]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally into the first window.
    pub fn type_text(&self, text: &str) {
        self.type_text_to("main:0", text);
    }

    pub fn type_text_to(&self, target: &str, text: &str) {
        self.run(["send-keys", "-t", target, "-l", text]);
    }

    /// Sends tmux key names (`Enter`, `Escape`, `n`, `C-c`) to the first window.
    pub fn keys(&self, keys: &[&str]) {
        self.keys_to("main:0", keys);
    }

    pub fn keys_to(&self, target: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.run(args);
    }

    /// A tmux format value of the first pane, e.g. `#{alternate_on}`.
    pub fn format(&self, format: &str) -> String {
        let out = self.run(["display-message", "-p", "-t", "main:0", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.run([
            "resize-window",
            "-t",
            "main:0",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Waits until `pred` holds for the first window's screen; panics with the last screen
    /// after [`WAIT`].
    pub fn wait_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_until_in("main:0", what, pred)
    }

    pub fn wait_until_in(&self, target: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen_of(target);
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out after {WAIT:?} waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `text` is on the first window's screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Polls `f` until it gives a value; panics after [`WAIT`] naming `what`. For conditions
/// outside the screen (the clipboard, Redis, a file).
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}
