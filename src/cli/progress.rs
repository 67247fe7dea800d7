//! The progress bar long commands draw on stderr (only on a terminal).

use std::io::IsTerminal;

/// A progress bar on stderr when it is a terminal, nothing otherwise.
pub(crate) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(crate) fn new(len: u64, what: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, {eta})")
        {
            bar.set_style(style);
        }
        bar.set_message(what.to_owned());
        Progress(Some(bar))
    }

    /// `done` so far; a non-zero `total` also updates the length.
    pub(crate) fn set(&self, done: usize, total: usize) {
        if let Some(b) = &self.0 {
            if total > 0 {
                b.set_length(total as u64);
            }
            b.set_position(done as u64);
        }
    }

    pub(crate) fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}
