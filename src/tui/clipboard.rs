//! The system clipboard: ONE `arboard::Clipboard` for the whole session, owned by a thread
//! of its own (creating it can take seconds when no display answers). Secrets are set with
//! `exclude_from_history`; clearing happens only when the clipboard still holds what keytui
//! put there. When no display is reachable the event loop copies with OSC 52 instead.
//!
//! A secret still on the clipboard is cleared when the session ends, however it ends:
//! [`Clipboard::shutdown`] on quit, signals and errors, `Drop` on a panic, and the thread
//! itself when its channel closes.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::keygen::Secret;

use super::state::{ClipboardVia, Msg};

enum Request {
    Copy {
        text: Secret,
        what: String,
        secret: bool,
    },
    Clear,
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// What the clipboard thread needs from a clipboard; arboard's in the TUI, a fake in tests.
trait Board {
    fn set_secret(&mut self, text: &str) -> Result<(), String>;
    fn set_text(&mut self, text: &str) -> Result<(), String>;
    fn get_text(&mut self) -> Option<String>;
    fn clear(&mut self);
}

impl Board for arboard::Clipboard {
    fn set_secret(&mut self, text: &str) -> Result<(), String> {
        set_secret(self, text).map_err(|e| e.to_string())
    }

    fn set_text(&mut self, text: &str) -> Result<(), String> {
        arboard::Clipboard::set_text(self, text).map_err(|e| e.to_string())
    }

    fn get_text(&mut self) -> Option<String> {
        arboard::Clipboard::get_text(self).ok()
    }

    fn clear(&mut self) {
        let _ = arboard::Clipboard::clear(self);
    }
}

/// The handle the event loop keeps; the thread ends when it is dropped or shut down.
pub struct Clipboard {
    tx: std_mpsc::Sender<Request>,
    /// [`Clipboard::shutdown`] ran: dropping has nothing left to do.
    shut: std::sync::atomic::AtomicBool,
}

/// How long ending the session waits for the clipboard thread to clear a secret.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

impl Drop for Clipboard {
    /// A panic unwinding through the event loop still clears a secret we left there: the
    /// only place that waits for the thread without an await (the loop is gone by then).
    fn drop(&mut self) {
        if self.shut.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if let Some(done) = self.ask_shutdown() {
            let deadline = std::time::Instant::now() + SHUTDOWN_WAIT;
            let mut done = done;
            while std::time::Instant::now() < deadline {
                match done.try_recv() {
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => break,
                }
            }
        }
    }
}

impl Clipboard {
    /// Starts the clipboard thread; answers arrive as `Msg`s on `actions`.
    pub fn start(actions: UnboundedSender<Msg>) -> Self {
        Self::start_with(actions, || {
            arboard::Clipboard::new().map_err(|e| e.to_string())
        })
    }

    fn start_with<B: Board + 'static>(
        actions: UnboundedSender<Msg>,
        open: impl FnOnce() -> Result<B, String> + Send + 'static,
    ) -> Self {
        let (tx, rx) = std_mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("clipboard".into())
            .spawn(move || serve(rx, actions, open));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the clipboard thread");
        }
        Clipboard {
            tx,
            shut: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn copy(&self, text: Secret, what: String, secret: bool) {
        let _ = self.tx.send(Request::Copy { text, what, secret });
    }

    /// Clears the clipboard if it still holds the last secret keytui put there.
    pub fn clear(&self) {
        let _ = self.tx.send(Request::Clear);
    }

    /// Clears a secret we put there if it is still there (also one whose copy the UI has
    /// not heard of yet) and waits (briefly, without blocking the async runtime) for the
    /// thread to finish. Safe to call twice.
    pub async fn shutdown(&self) {
        if let Some(done) = self.ask_shutdown() {
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, done).await;
        }
        self.shut.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Asks the thread to clear and stop; the receiver hears when it has.
    fn ask_shutdown(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        self.clear();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Request::Shutdown(done_tx))
            .ok()
            .map(|()| done_rx)
    }
}

/// Clears the clipboard if it still holds `secret`; says whether it did.
fn clear_if_ours<B: Board>(board: &mut Option<Option<B>>, secret: &Secret) -> Option<bool> {
    let Some(Some(cb)) = board.as_mut() else {
        return None;
    };
    let still_ours = cb.get_text().is_some_and(|t| t == secret.expose());
    if still_ours {
        cb.clear();
    }
    Some(still_ours)
}

fn serve<B: Board>(
    rx: std_mpsc::Receiver<Request>,
    actions: UnboundedSender<Msg>,
    open: impl FnOnce() -> Result<B, String>,
) {
    // None: not tried yet; Some(None): no clipboard reachable.
    let mut board: Option<Option<B>> = None;
    let mut open = Some(open);
    let mut last_secret: Option<Secret> = None;
    while let Ok(req) = rx.recv() {
        match req {
            Request::Copy { text, what, secret } => {
                let slot = board.get_or_insert_with(|| match open.take().map(|f| f()) {
                    Some(Ok(c)) => Some(c),
                    Some(Err(e)) => {
                        tracing::info!(error = %e, "no system clipboard; using OSC 52");
                        None
                    }
                    None => None,
                });
                let Some(cb) = slot.as_mut() else {
                    let _ = actions.send(Msg::ClipboardUnavailable { text, what, secret });
                    continue;
                };
                let result = if secret {
                    cb.set_secret(text.expose())
                } else {
                    cb.set_text(text.expose())
                };
                match result {
                    Ok(()) => {
                        last_secret = secret.then_some(text);
                        let _ = actions.send(Msg::Copied {
                            what,
                            via: ClipboardVia::System,
                            secret,
                        });
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "clipboard refused; using OSC 52");
                        let _ = actions.send(Msg::ClipboardUnavailable { text, what, secret });
                    }
                }
            }
            Request::Clear => {
                let Some(secret) = last_secret.take() else {
                    continue;
                };
                if let Some(cleared) = clear_if_ours(&mut board, &secret) {
                    let _ = actions.send(Msg::ClipboardCleared { cleared });
                }
            }
            Request::Shutdown(done) => {
                if let Some(secret) = last_secret.take() {
                    clear_if_ours(&mut board, &secret);
                }
                drop(board.take());
                let _ = done.send(());
                return;
            }
        }
    }
    // Every handle is gone without a shutdown.
    if let Some(secret) = last_secret.take() {
        clear_if_ours(&mut board, &secret);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::mpsc::unbounded_channel;

    use super::*;

    /// A clipboard in memory, shared with the test.
    #[derive(Clone, Default)]
    struct Fake(Arc<Mutex<Option<String>>>);

    impl Fake {
        fn content(&self) -> Option<String> {
            self.0.lock().expect("fake clipboard").clone()
        }

        fn put(&self, text: &str) {
            *self.0.lock().expect("fake clipboard") = Some(text.to_owned());
        }
    }

    impl Board for Fake {
        fn set_secret(&mut self, text: &str) -> Result<(), String> {
            self.put(text);
            Ok(())
        }

        fn set_text(&mut self, text: &str) -> Result<(), String> {
            self.put(text);
            Ok(())
        }

        fn get_text(&mut self) -> Option<String> {
            self.content()
        }

        fn clear(&mut self) {
            *self.0.lock().expect("fake clipboard") = None;
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    fn start(fake: &Fake) -> (Clipboard, tokio::sync::mpsc::UnboundedReceiver<Msg>) {
        let (tx, rx) = unbounded_channel();
        let board = fake.clone();
        (Clipboard::start_with(tx, move || Ok(board)), rx)
    }

    fn copy_secret(c: &Clipboard, rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>) {
        c.copy(Secret::new("s3cret".into()), "the secret".into(), true);
        assert!(matches!(rx.blocking_recv(), Some(Msg::Copied { .. })));
    }

    #[test]
    fn shutdown_clears_a_secret_still_there() {
        let fake = Fake::default();
        let (c, mut rx) = start(&fake);
        copy_secret(&c, &mut rx);
        assert_eq!(fake.content().as_deref(), Some("s3cret"));
        block_on(c.shutdown());
        assert_eq!(fake.content(), None);
    }

    #[test]
    fn shutdown_clears_a_copy_the_ui_has_not_heard_of_yet() {
        let fake = Fake::default();
        let (c, _rx) = start(&fake);
        c.copy(Secret::new("s3cret".into()), "the secret".into(), true);
        block_on(c.shutdown());
        assert_eq!(fake.content(), None);
    }

    #[test]
    fn shutdown_leaves_what_someone_else_copied_since() {
        let fake = Fake::default();
        let (c, mut rx) = start(&fake);
        copy_secret(&c, &mut rx);
        fake.put("mine");
        block_on(c.shutdown());
        assert_eq!(fake.content().as_deref(), Some("mine"));
    }

    #[test]
    fn shutdown_leaves_a_copied_id() {
        let fake = Fake::default();
        let (c, mut rx) = start(&fake);
        c.copy(Secret::new("K01".into()), "the id".into(), false);
        assert!(matches!(rx.blocking_recv(), Some(Msg::Copied { .. })));
        block_on(c.shutdown());
        assert_eq!(fake.content().as_deref(), Some("K01"));
    }

    #[test]
    fn dropping_the_handle_clears_a_secret_still_there() {
        // What a panic unwinding through the event loop does.
        let fake = Fake::default();
        let (c, mut rx) = start(&fake);
        copy_secret(&c, &mut rx);
        drop(c);
        assert_eq!(fake.content(), None);
    }

    /// A clipboard whose reads wait until the test lets them go.
    #[derive(Clone)]
    struct Slow {
        fake: Fake,
        gate: Arc<Mutex<std_mpsc::Receiver<()>>>,
    }

    impl Board for Slow {
        fn set_secret(&mut self, text: &str) -> Result<(), String> {
            self.fake.set_secret(text)
        }

        fn set_text(&mut self, text: &str) -> Result<(), String> {
            self.fake.set_text(text)
        }

        fn get_text(&mut self) -> Option<String> {
            let _ = self.gate.lock().expect("gate").recv();
            self.fake.get_text()
        }

        fn clear(&mut self) {
            self.fake.clear()
        }
    }

    /// Shutting down waits for the clipboard thread without blocking the runtime: a task
    /// on the same (single) thread still runs meanwhile, here the one the thread waits for.
    #[tokio::test(flavor = "current_thread")]
    async fn shutdown_does_not_block_the_runtime() {
        let fake = Fake::default();
        let (open_tx, gate) = std_mpsc::channel();
        let board = Slow {
            fake: fake.clone(),
            gate: Arc::new(Mutex::new(gate)),
        };
        let (tx, mut rx) = unbounded_channel();
        let c = Clipboard::start_with(tx, move || Ok(board));
        c.copy(Secret::new("s3cret".into()), "the secret".into(), true);
        assert!(matches!(rx.recv().await, Some(Msg::Copied { .. })));
        // Lets the clipboard's read go, from a task of this runtime.
        tokio::spawn(async move {
            let _ = open_tx.send(());
            let _ = open_tx.send(());
        });
        c.shutdown().await;
        assert_eq!(fake.content(), None);
    }
}
