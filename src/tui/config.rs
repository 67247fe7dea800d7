//! The TUI's config file, `$XDG_CONFIG_HOME/keytui/config.toml`, and the default log path.
//! A missing file is the defaults; a broken one is reported in the status line, never fatal.
//!
//! ```toml
//! clipboard_clear_secs = 45
//! [keys]
//! revoke = "x"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use etcetera::BaseStrategy;

use super::keymap::{KeySpec, Keymap};
use super::screens::views::{DEFAULT_EXPIRING_DAYS, DEFAULT_UNUSED_DAYS};

/// Seconds before a copied secret is cleared from the clipboard, unless configured.
pub const DEFAULT_CLEAR_SECS: u64 = 45;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    clipboard_clear_secs: Option<u64>,
    /// The attention views' starting numbers of days.
    unused_days: Option<u64>,
    expiring_days: Option<u64>,
    #[serde(default)]
    keys: BTreeMap<String, KeySpec>,
}

/// The settings the TUI runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub keymap: Keymap,
    pub clipboard_clear_secs: u64,
    /// The days the attention picker starts with for "unused for" and "expiring within".
    pub unused_days: u64,
    pub expiring_days: u64,
    /// Problems found in the file, shown once in the status line.
    pub problems: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keymap: Keymap::default(),
            clipboard_clear_secs: DEFAULT_CLEAR_SECS,
            unused_days: DEFAULT_UNUSED_DAYS,
            expiring_days: DEFAULT_EXPIRING_DAYS,
            problems: Vec::new(),
        }
    }
}

impl Config {
    /// Reads the config file, if there is one.
    pub fn load() -> Self {
        match config_path() {
            Some(p) => match std::fs::read_to_string(&p) {
                Ok(text) => Self::parse(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
                Err(e) => Config {
                    problems: vec![format!("cannot read {}: {e}", p.display())],
                    ..Self::default()
                },
            },
            None => Self::default(),
        }
    }

    /// Parses the text of a config file.
    pub fn parse(text: &str) -> Self {
        let mut config = Self::default();
        match toml::from_str::<File>(text) {
            Ok(f) => {
                if let Some(s) = f.clipboard_clear_secs {
                    config.clipboard_clear_secs = s;
                }
                config.problems = config.keymap.apply_overrides(&f.keys);
                for (name, given, slot) in [
                    ("unused_days", f.unused_days, &mut config.unused_days),
                    ("expiring_days", f.expiring_days, &mut config.expiring_days),
                ] {
                    match given {
                        Some(d) if (1..=36_500).contains(&d) => *slot = d,
                        Some(d) => config
                            .problems
                            .push(format!("config.toml: {name} = {d}: use 1 to 36500 days")),
                        None => {}
                    }
                }
            }
            Err(e) => {
                let msg = e.message().to_owned();
                config.problems.push(format!("config.toml: {msg}"));
            }
        }
        config
    }
}

/// `$XDG_CONFIG_HOME/keytui/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = etcetera::choose_base_strategy().ok()?;
    Some(base.config_dir().join("keytui").join("config.toml"))
}

/// `$XDG_STATE_HOME/keytui/keytui.log`, else a file in the temp directory. Creates the
/// directory.
pub fn default_log_path() -> PathBuf {
    let dir = etcetera::choose_base_strategy()
        .ok()
        .and_then(|b| b.state_dir())
        .map(|d| d.join("keytui"))
        .filter(|d| std::fs::create_dir_all(d).is_ok())
        .unwrap_or_else(std::env::temp_dir);
    dir.join("keytui.log")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Action;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn parses_keys_and_clear_time() {
        let c = Config::parse("clipboard_clear_secs = 10\n[keys]\nrevoke = \"x\"\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.clipboard_clear_secs, 10);
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(c.keymap.lookup(&x), Some(Action::Revoke));
    }

    #[test]
    fn view_days_are_configurable_and_checked() {
        let c = Config::parse("unused_days = 30\nexpiring_days = 14\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!((c.unused_days, c.expiring_days), (30, 14));
        let c = Config::parse("unused_days = 0\n");
        assert_eq!(c.unused_days, DEFAULT_UNUSED_DAYS);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].contains("unused_days"), "{:?}", c.problems);
    }

    #[test]
    fn broken_file_is_reported_not_fatal() {
        let c = Config::parse("clipboard_clear_secs = \"soon\"");
        assert_eq!(c.clipboard_clear_secs, DEFAULT_CLEAR_SECS);
        assert_eq!(c.problems.len(), 1);
    }
}
