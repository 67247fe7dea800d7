//! The terminal UI: connects first, then takes the terminal and runs one event loop.
//!
//! ```text
//! terminal events ─┐
//! sync actions ────┼─> Msg ──> state::update ──> draw::render(&State)
//! timer ticks ─────┘                  └─> Out ──> sync / clipboard / filter worker
//! ```
//!
//! This module owns the terminal and the loop; it holds no Redis connection (see `sync`)
//! and no UI logic (see `state`).

pub mod clipboard;
pub mod clock;
pub mod config;
pub mod demo;
pub mod draw;
pub mod filter;
pub mod keymap;
pub mod layout;
pub mod leak;
pub mod msg;
pub mod row;
pub mod screens;
pub mod state;
pub mod status;
pub mod sync;
pub mod table_view;
pub mod widgets;

#[cfg(test)]
mod fixtures;

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind, MouseEventKind};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::exit::EXIT_ERROR;
use crate::open::OpenOptions;
use crate::record::now_ms;

use self::clipboard::Clipboard;
use self::config::Config;
use self::filter::FilterJob;
use self::msg::{ClipCmd, Msg, Out, SyncCmd};
use self::state::{ServerInfo, State};

/// Runs the TUI against the Redis `options` name; returns the exit code.
pub async fn run(options: OpenOptions) -> ExitCode {
    let started = Instant::now();
    let timing = std::env::var_os("KEYTUI_LOG").is_some();
    let (store, opts) = match options.store().await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "keytui: {e} (is Redis running? pass its URL, or try `keytui demo` for a private demo server)"
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let meta = match store.meta().await {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keytui: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if timing {
        tracing::info!(
            timing = "connected",
            ms = started.elapsed().as_millis() as u64
        );
    }
    let config = Config::load();
    let server = server_info(&store, &opts, meta.as_ref());
    let mut state = State::new(
        server,
        config.keymap.clone(),
        config.clipboard_clear_secs,
        now_ms(),
    );
    state.view = config.view.clone();
    state.message_ms = config.message_secs as i64 * 1000;
    state.unused_days = config.unused_days;
    state.expiring_days = config.expiring_days;
    if !config.problems.is_empty() {
        state = with_message(state, config.problems.join("; "));
    }

    let (tx, mut rx) = unbounded_channel::<Msg>();
    // The sync task has a channel of its own: after a switch to another namespace, what
    // the old task still sends is dropped with its receiver.
    let (sync_tx, sync_rx) = unbounded_channel::<Msg>();
    let sync = sync::spawn(store, opts, sync_tx, timing);
    let mut redis = Redis {
        options,
        sync,
        events: sync_rx,
        switching: None,
    };
    let clipboard = Clipboard::start(tx.clone());

    // `try_init` is `init` without the panic on a missing terminal; both install the
    // panic hook that restores the terminal.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            let _ = writeln!(
                std::io::stderr(),
                "keytui: cannot open the terminal UI ({e}); use a terminal, or the CLI commands (keytui --help)"
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // Bracketed paste: a paste arrives as one event that only text fields take, never as
    // keystrokes that could trigger actions in the table.
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableMouseCapture,
        crossterm::event::EnableBracketedPaste
    );
    if let Ok(size) = terminal.size() {
        state::update(&mut state, Msg::Resize(size.width, size.height));
    }
    let result = event_loop(
        &mut terminal,
        &mut state,
        &mut rx,
        &tx,
        &mut redis,
        &clipboard,
        started,
        timing,
    )
    .await;
    // Clears a secret keytui put on the clipboard if it is still there, whether the loop
    // ended by quitting, a signal or an error (even one whose copy was not yet confirmed).
    // On a panic, dropping `clipboard` does the same.
    clipboard.shutdown().await;
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keytui: terminal error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// What the header says of a store's server and namespace.
fn server_info(
    store: &crate::store::Store,
    opts: &crate::conn::ConnectOptions,
    meta: Option<&crate::store::NamespaceMeta>,
) -> ServerInfo {
    ServerInfo {
        url: opts.display_url(),
        namespace: store.namespace().as_str().to_owned(),
        cluster: store.is_cluster(),
        mode: meta.map(|m| m.mode),
        production: meta.is_some_and(|m| m.production),
    }
}

/// A namespace being opened for a switch: its store, or why not.
type Opening = Pin<Box<dyn Future<Output = Result<Opened, String>>>>;

/// A namespace opened for a switch, its layout checked.
struct Opened {
    store: crate::store::Store,
    opts: crate::conn::ConnectOptions,
    server: ServerInfo,
}

/// The Redis side as the event loop holds it: how to open a namespace, the sync task of
/// the open one and its messages, and a switch under way.
struct Redis {
    options: OpenOptions,
    sync: UnboundedSender<SyncCmd>,
    events: UnboundedReceiver<Msg>,
    switching: Option<(String, Opening)>,
}

impl Redis {
    /// Starts opening namespace `name` (the same settings otherwise); the current one
    /// stays until it is open and its layout passes.
    fn switch(&mut self, name: String) {
        let mut options = self.options.clone();
        options.namespace = name.clone();
        let opening = async move {
            let (store, opts) = options.store().await.map_err(|e| e.to_string())?;
            store.recheck_layout().await.map_err(|e| e.to_string())?;
            let meta = store.meta().await.map_err(|e| e.to_string())?;
            let server = server_info(&store, &opts, meta.as_ref());
            Ok(Opened {
                store,
                opts,
                server,
            })
        };
        self.switching = Some((name, Box::pin(opening)));
    }

    /// The outcome of the switch under way (never, when there is none).
    async fn switched(
        switching: &mut Option<(String, Opening)>,
    ) -> (String, Result<Opened, String>) {
        match switching.as_mut() {
            Some((name, opening)) => {
                let result = opening.await;
                (name.clone(), result)
            }
            None => std::future::pending().await,
        }
    }

    /// The namespace is open: a new sync task follows it, the old one stops (its command
    /// channel closes) and what it still sends is dropped.
    fn restart(&mut self, opened: Opened, timing: bool) -> Msg {
        self.options.namespace = opened.server.namespace.clone();
        let (tx, rx) = unbounded_channel::<Msg>();
        self.sync = sync::spawn(opened.store, opened.opts, tx, timing);
        self.events = rx;
        Msg::Switched(opened.server)
    }
}

fn with_message(mut state: State, text: String) -> State {
    state.show(state::Message { text, error: true });
    state
}

#[allow(clippy::too_many_arguments)]
async fn event_loop(
    terminal: &mut DefaultTerminal,
    state: &mut State,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
    tx: &UnboundedSender<Msg>,
    redis: &mut Redis,
    clipboard: &Clipboard,
    started: Instant,
    timing: bool,
) -> std::io::Result<()> {
    let mut events = EventStream::new();
    // SIGTERM, SIGHUP (terminal closed) and SIGINT (`kill -INT`; Ctrl-C itself arrives as
    // a key in raw mode) quit through `Msg::Quit`, so the clipboard is cleared.
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut sighup = signal(SignalKind::hangup()).ok();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut dirty = true;
    let mut first_rows_logged = false;
    // When the keystroke that changed the filter query was received (timing log only).
    let mut filter_key_at: Option<Instant> = None;
    loop {
        if dirty {
            terminal.draw(|f| draw::render(state, f))?;
            dirty = false;
            if timing && !first_rows_logged && state.loading != state::Loading::FirstPage {
                first_rows_logged = true;
                tracing::info!(
                    timing = "first_rows_drawn",
                    ms = started.elapsed().as_millis() as u64,
                    rows = state.visible.len()
                );
            }
        }
        let tick = state.next_tick();
        let sleep = tokio::time::sleep(tick.unwrap_or(Duration::from_secs(3600)));
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(e)) => match terminal_action(e) {
                    Some(a) => a,
                    None => continue,
                },
                Some(Err(e)) => return Err(e),
                None => Msg::Quit,
            },
            Some(a) = rx.recv() => a,
            Some(a) = redis.events.recv() => a,
            (namespace, opened) = Redis::switched(&mut redis.switching) => {
                redis.switching = None;
                match opened {
                    Ok(opened) => redis.restart(opened, false),
                    Err(error) => Msg::SwitchFailed { namespace, error },
                }
            }
            _ = sleep, if tick.is_some() => Msg::Tick,
            Some(()) = next_signal(&mut sigterm) => Msg::Quit,
            Some(()) = next_signal(&mut sighup) => Msg::Quit,
            Some(()) = next_signal(&mut sigint) => Msg::Quit,
        };
        state.now = now_ms();
        let timed = timing.then(|| {
            let key = matches!(action, Msg::Key(_)).then(Instant::now);
            (key, state.filter.query().to_owned(), state.filter.applied)
        });
        let commands = state::update(state, action);
        if let Some((key, query, applied)) = timed {
            if key.is_some() && state.filter.query() != query {
                filter_key_at = key;
            }
            if state.filter.applied != applied
                && let Some(at) = filter_key_at.take()
            {
                tracing::info!(
                    timing = "filter_applied",
                    ms = at.elapsed().as_secs_f64() * 1000.0,
                    query_len = state.filter.query().chars().count(),
                    rows = state.visible.len()
                );
            }
        }
        dirty = true;
        for cmd in commands {
            match cmd {
                Out::Switch(name) => redis.switch(name),
                cmd => execute(cmd, state, tx, &redis.sync, clipboard, terminal),
            }
        }
        if state.quit {
            return Ok(());
        }
    }
}

/// The next delivery of a signal; never, when its handler could not be installed.
async fn next_signal(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s.as_mut() {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Maps a terminal event to an action; `None` for what nothing reacts to (mouse moves).
fn terminal_action(e: TermEvent) -> Option<Msg> {
    match e {
        TermEvent::Key(k) if k.kind == KeyEventKind::Press => Some(Msg::Key(k)),
        TermEvent::Mouse(m)
            if matches!(
                m.kind,
                MouseEventKind::Down(_) | MouseEventKind::ScrollDown | MouseEventKind::ScrollUp
            ) =>
        {
            Some(Msg::Mouse(m))
        }
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        TermEvent::Paste(text) => Some(Msg::Paste(crate::keygen::Secret::new(text))),
        _ => None,
    }
}

fn execute(
    cmd: Out,
    state: &mut State,
    tx: &UnboundedSender<Msg>,
    sync: &UnboundedSender<SyncCmd>,
    clipboard: &Clipboard,
    terminal: &mut DefaultTerminal,
) {
    match cmd {
        Out::Filter(job) => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let found = filter::run(&job);
                let len = job.records.len();
                // Let go of the records before answering, so that the UI can change them
                // in place (else it would copy them all).
                let FilterJob {
                    generation,
                    structure,
                    revision,
                    query,
                    records,
                    latest,
                    within,
                    ..
                } = job;
                drop((records, latest, within));
                let _ = tx.send(match found {
                    Some(found) => Msg::FilterDone {
                        generation,
                        structure,
                        revision,
                        len,
                        query,
                        visible: found.indices,
                        ranked: found.ranked,
                    },
                    None => Msg::FilterStopped,
                });
            });
        }
        Out::Clip(ClipCmd::Copy { text, what, secret }) => clipboard.copy(text, what, secret),
        Out::Clip(ClipCmd::ViaTerminal { text, what, secret }) => {
            let copy =
                crossterm::clipboard::CopyToClipboard::to_clipboard_from(text.expose().as_bytes());
            let written = crossterm::execute!(terminal.backend_mut(), copy);
            let next = match written {
                Ok(()) => Msg::Copied {
                    what,
                    via: state::ClipboardVia::Terminal,
                    secret,
                },
                Err(e) => Msg::CopyFailed(format!("no clipboard and the terminal refused: {e}")),
            };
            let _ = tx.send(next);
        }
        Out::Clip(ClipCmd::Clear) => clipboard.clear(),
        Out::SaveView { sort, columns } => {
            let saved = match config::config_path() {
                Some(p) => config::save_view(&p, sort.as_deref(), &columns),
                None => Err("no config directory; sort and columns not saved".into()),
            };
            if let Err(e) = saved {
                state.show(state::Message {
                    text: e,
                    error: true,
                });
            }
        }
        // Done by the event loop itself (see `Redis::switch`).
        Out::Switch(_) => {}
        Out::Sync(cmd) => {
            if sync.send(cmd).is_err() {
                state.show(state::Message {
                    text: "the Redis task stopped; restart keytui".into(),
                    error: true,
                });
            }
        }
    }
}
