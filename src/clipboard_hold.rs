//! `keytui create --copy`: the secret goes on the clipboard from a short-lived child
//! process, because on X11 and Wayland the process that set the clipboard must stay alive to
//! serve it. The child clears the clipboard after the timeout, but only if it still holds
//! what keytui put there. The secret travels to the child over a pipe, never in argv.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The hidden subcommand the child runs.
pub const HOLD_COMMAND: &str = "__hold-clipboard";

/// Starts the child that holds `secret` on the clipboard for `clear_after`, and waits until
/// it has taken the clipboard.
pub fn copy_in_background(secret: &str, clear_after: Duration) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io_doing("cannot find the keytui executable", e))?;
    let mut child = {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(exe);
        // Only what a clipboard needs: the child must not carry REDIS_URL passwords,
        // peppers or master keys for the whole clear-after period.
        cmd.env_clear();
        for var in [
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "XDG_RUNTIME_DIR",
            "XAUTHORITY",
            "HOME",
            "PATH",
        ] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        cmd.arg(HOLD_COMMAND)
            .arg(clear_after.as_secs().max(1).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io_doing("cannot start the clipboard helper", e))?
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(secret.as_bytes())
            .map_err(|e| Error::io_doing("cannot pass the secret to the clipboard helper", e))?;
    }
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    match line.trim() {
        "ok" => Ok(()),
        "" => Err(Error::Clipboard(
            "the clipboard helper stopped without a word".into(),
        )),
        other => Err(Error::Clipboard(format!("clipboard unavailable: {other}"))),
    }
}

/// The child: reads the secret from stdin, sets it (excluded from clipboard history),
/// reports `ok`, waits, then clears it if it is still ours.
pub fn hold(seconds: &str) -> std::process::ExitCode {
    let secs: u64 = seconds.parse().unwrap_or(45);
    let mut secret = Zeroizing::new(String::new());
    if std::io::stdin().read_to_string(&mut secret).is_err() || secret.is_empty() {
        println!("no secret received");
        return std::process::ExitCode::from(2);
    }
    let mut clipboard = match arboard::Clipboard::new() {
        Ok(c) => c,
        Err(e) => {
            println!("{}", crate::error::one_line(&e.to_string()));
            return std::process::ExitCode::from(2);
        }
    };
    #[cfg(target_os = "linux")]
    let set = {
        use arboard::SetExtLinux;
        clipboard.set().exclude_from_history().text(secret.as_str())
    };
    #[cfg(not(target_os = "linux"))]
    let set = clipboard.set_text(secret.as_str());
    if let Err(e) = set {
        println!("{}", crate::error::one_line(&e.to_string()));
        return std::process::ExitCode::from(2);
    }
    println!("ok");
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(secs));
    if clipboard
        .get_text()
        .is_ok_and(|now| now.as_str() == secret.as_str())
    {
        let _ = clipboard.clear();
    }
    std::process::ExitCode::SUCCESS
}
