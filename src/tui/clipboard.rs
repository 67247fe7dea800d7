//! The system clipboard: ONE `arboard::Clipboard` for the whole session, owned by a thread
//! of its own (creating it can take seconds when no display answers). Secrets are set with
//! `exclude_from_history`; clearing happens only when the clipboard still holds what keytui
//! put there. When no display is reachable the event loop copies with OSC 52 instead.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::keygen::Secret;

use super::state::{Action, ClipboardVia};

enum Request {
    Copy {
        text: Secret,
        what: String,
        secret: bool,
    },
    Clear,
    Shutdown(std_mpsc::Sender<()>),
}

/// The handle the event loop keeps; the thread ends when it is dropped or shut down.
pub struct Clipboard {
    tx: std_mpsc::Sender<Request>,
}

impl Clipboard {
    /// Starts the clipboard thread; answers arrive as `Action`s on `actions`.
    pub fn start(actions: UnboundedSender<Action>) -> Self {
        let (tx, rx) = std_mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("clipboard".into())
            .spawn(move || serve(rx, actions));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the clipboard thread");
        }
        Clipboard { tx }
    }

    pub fn copy(&self, text: Secret, what: String, secret: bool) {
        let _ = self.tx.send(Request::Copy { text, what, secret });
    }

    /// Clears the clipboard if it still holds the last secret keytui put there.
    pub fn clear(&self) {
        let _ = self.tx.send(Request::Clear);
    }

    /// Clears a secret we put there and waits (briefly) for the thread to finish.
    pub fn shutdown(&self, clear: bool) {
        if clear {
            self.clear();
        }
        let (done_tx, done_rx) = std_mpsc::channel();
        if self.tx.send(Request::Shutdown(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(2));
        }
    }
}

fn serve(rx: std_mpsc::Receiver<Request>, actions: UnboundedSender<Action>) {
    // None: not tried yet; Some(None): no clipboard reachable.
    let mut board: Option<Option<arboard::Clipboard>> = None;
    let mut last_secret: Option<Secret> = None;
    while let Ok(req) = rx.recv() {
        match req {
            Request::Copy { text, what, secret } => {
                let slot = board.get_or_insert_with(|| match arboard::Clipboard::new() {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::info!(error = %e, "no system clipboard; using OSC 52");
                        None
                    }
                });
                let Some(cb) = slot.as_mut() else {
                    let _ = actions.send(Action::ClipboardUnavailable { text, what, secret });
                    continue;
                };
                let result = if secret {
                    set_secret(cb, text.expose())
                } else {
                    cb.set_text(text.expose())
                };
                match result {
                    Ok(()) => {
                        last_secret = secret.then_some(text);
                        let _ = actions.send(Action::Copied {
                            what,
                            via: ClipboardVia::System,
                            secret,
                        });
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "clipboard refused; using OSC 52");
                        let _ = actions.send(Action::ClipboardUnavailable { text, what, secret });
                    }
                }
            }
            Request::Clear => {
                let Some(secret) = last_secret.take() else {
                    continue;
                };
                let Some(Some(cb)) = board.as_mut() else {
                    continue;
                };
                let still_ours = cb.get_text().is_ok_and(|t| t == secret.expose());
                if still_ours {
                    let _ = cb.clear();
                }
                let _ = actions.send(Action::ClipboardCleared {
                    cleared: still_ours,
                });
            }
            Request::Shutdown(done) => {
                drop(board.take());
                let _ = done.send(());
                return;
            }
        }
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd"
))]
fn set_secret(cb: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    use arboard::SetExtLinux;
    cb.set().exclude_from_history().text(text)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn set_secret(cb: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    cb.set().text(text)
}
