//! Logging to a file, never to the screen. Nothing logs secrets: the types that hold them
//! (`Secret`, `Pepper`) print as `***` in Debug output.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// See [`init`].
const LINES_QUEUED: usize = 4096;

/// Starts logging to `path` (level from `KEYTUI_LOG`, default `info`). Keep the guard
/// alive until exit so the last lines are written.
pub fn init(path: Option<&Path>) -> Option<WorkerGuard> {
    let path = path?;
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .ok()?
    };
    // Lines queued for the writer thread, at most (the default of 128,000 preallocates
    // 4 MB; keytui logs a few lines a second).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LINES_QUEUED)
        .finish(file);
    let filter = EnvFilter::try_from_env("KEYTUI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
