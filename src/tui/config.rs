//! The TUI's config file, `$XDG_CONFIG_HOME/keytui/config.toml`, and the default log path.
//! A missing file is the defaults; a broken one is reported in the status line, never fatal.
//! The table's sort order and columns are written back when changed in the TUI (only those
//! two lines, atomically; a file that does not parse is never overwritten).
//!
//! ```toml
//! clipboard_clear_secs = 45
//! message_secs = 5
//! sort = "name asc"
//! columns = ["status", "name", "id", "meta.owner"]
//! [keys]
//! revoke = "x"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;

use super::keymap::{KeySpec, Keymap};
use super::screens::views::{DEFAULT_EXPIRING_DAYS, DEFAULT_UNUSED_DAYS};
use super::table_view::{Column, Sort, TableView};

/// Seconds before a copied secret is cleared from the clipboard, unless configured.
pub const DEFAULT_CLEAR_SECS: u64 = 45;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    clipboard_clear_secs: Option<u64>,
    message_secs: Option<u64>,
    sort: Option<String>,
    columns: Option<Vec<String>>,
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
    /// The table's columns and sort order.
    pub view: TableView,
    /// Seconds a status message stays (errors three times as long).
    pub message_secs: u64,
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
            view: TableView::default(),
            message_secs: 5,
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
                if let Some(s) = f.message_secs {
                    config.message_secs = s.clamp(1, 86_400);
                }
                config.problems = config.keymap.apply_overrides(&f.keys);
                if let Some(s) = f.sort {
                    match Sort::parse(&s) {
                        Ok(s) => config.view.sort = Some(s),
                        Err(e) => config.problems.push(format!("config.toml: sort: {e}")),
                    }
                }
                if let Some(cols) = f.columns {
                    let parsed = cols
                        .iter()
                        .map(|c| Column::parse(c))
                        .collect::<Result<Vec<_>, _>>()
                        .and_then(Column::checked);
                    match parsed {
                        Ok(cols) => config.view.columns = cols,
                        Err(e) => config.problems.push(format!("config.toml: columns: {e}")),
                    }
                }
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

/// Writes the table's sort order (`None`: the line is removed) and columns into the config
/// file at `path`, keeping everything else in it as it is; the new file replaces the old
/// one atomically, keeping its permissions, and a symlinked config file is written through
/// the link (the link stays). The columns are written only when they differ from the
/// defaults or the file named them already, so a later change of the defaults still
/// reaches a user who never chose columns. A file that does not parse is left alone (the
/// error says so).
pub fn save_view(path: &Path, sort: Option<&str>, columns: &[String]) -> Result<(), String> {
    // Through a symlink to the real file, so that the link is not replaced by a copy.
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let parsed = match toml::from_str::<File>(&old) {
        Ok(f) => f,
        Err(e) => {
            return Err(format!(
                "{} does not parse ({}); sort and columns not saved",
                path.display(),
                e.message()
            ));
        }
    };
    let defaults: Vec<String> = TableView::default()
        .columns
        .iter()
        .map(|c| c.config_name())
        .collect();
    let columns = (parsed.columns.is_some() || columns != defaults.as_slice()).then_some(columns);
    let text = with_view(&old, sort, columns);
    // The result must read back as written, or nothing is written.
    match toml::from_str::<File>(&text) {
        Ok(f) if f.sort.as_deref() == sort && f.columns.as_deref() == columns => {}
        _ => return Err(format!("cannot update {}; not saved", path.display())),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The config text with its top-level `sort` and `columns` lines replaced (`None`: no line).
fn with_view(old: &str, sort: Option<&str>, columns: Option<&[String]>) -> String {
    let is_key = |l: &str, k: &str| {
        l.trim_start()
            .strip_prefix(k)
            .is_some_and(|r| r.trim_start().starts_with('='))
    };
    let mut lines: Vec<&str> = Vec::new();
    let mut in_tables = false;
    let mut skipping_array = false;
    let mut insert_at = None;
    for l in old.lines() {
        if skipping_array {
            skipping_array = !l.contains(']');
            continue;
        }
        if !in_tables && l.trim_start().starts_with('[') {
            in_tables = true;
            insert_at = Some(lines.len());
        }
        if !in_tables && (is_key(l, "sort") || is_key(l, "columns")) {
            skipping_array = is_key(l, "columns") && l.contains('[') && !l.contains(']');
            continue;
        }
        lines.push(l);
    }
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut ours = Vec::new();
    if let Some(s) = sort {
        ours.push(format!("sort = {}", quote(s)));
    }
    if let Some(columns) = columns {
        let cols: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        ours.push(format!("columns = [{}]", cols.join(", ")));
    }
    let at = insert_at.unwrap_or(lines.len());
    let mut out: Vec<String> = lines[..at].iter().map(|s| (*s).to_owned()).collect();
    out.extend(ours);
    out.extend(lines[at..].iter().map(|s| (*s).to_owned()));
    let mut text = out.join("\n");
    text.push('\n');
    text
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
        assert_eq!(c.message_secs, 5);
        assert_eq!(Config::parse("message_secs = 60").message_secs, 60);
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(c.keymap.lookup(&x), Some(Action::Revoke));
    }

    #[test]
    fn sort_and_columns_are_read_and_bad_ones_reported() {
        let c = Config::parse("sort = \"expires desc\"\ncolumns = [\"name\", \"meta.owner\"]\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(
            c.view.sort.map(Sort::to_config).as_deref(),
            Some("expires desc")
        );
        assert_eq!(c.view.columns, [Column::Name, Column::Meta("owner".into())]);
        let c = Config::parse("sort = \"colour\"\ncolumns = [\"id\"]\n");
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        assert_eq!(c.view, TableView::default());
        // Unknown fields are still an error.
        assert_eq!(Config::parse("sorting = \"name\"").problems.len(), 1);
    }

    #[test]
    fn saving_the_view_keeps_the_rest_of_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keytui").join("config.toml");
        let cols = vec!["name".to_owned(), "meta.owner".to_owned()];
        // No file yet: one is made.
        save_view(&path, Some("name asc"), &cols).expect("saved");
        let c = Config::parse(&std::fs::read_to_string(&path).expect("read"));
        assert_eq!(
            c.view.sort.map(Sort::to_config).as_deref(),
            Some("name asc")
        );
        // A file with comments, keys and an old multi-line list.
        let old = "# mine\nclipboard_clear_secs = 10\ncolumns = [\n  \"id\",\n  \"name\",\n]\nsort = \"used\"\n\n[keys]\nrevoke = \"x\" # comment\n";
        std::fs::write(&path, old).expect("write");
        save_view(&path, None, &cols).expect("saved");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("# mine\nclipboard_clear_secs = 10\n"),
            "{text}"
        );
        assert!(text.contains("revoke = \"x\" # comment"), "{text}");
        let c = Config::parse(&text);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.view.sort, None);
        assert_eq!(c.view.columns, [Column::Name, Column::Meta("owner".into())]);
        assert_eq!(c.clipboard_clear_secs, 10);
        // A broken file is never overwritten.
        std::fs::write(&path, "clipboard_clear_secs = \"soon\"").expect("write");
        assert!(
            save_view(&path, None, &cols)
                .unwrap_err()
                .contains("does not parse")
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "clipboard_clear_secs = \"soon\""
        );
    }

    #[test]
    #[cfg(unix)]
    fn saving_keeps_a_symlink_and_the_permissions_and_default_columns_unwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("dotfiles").join("config.toml");
        std::fs::create_dir_all(real.parent().unwrap()).expect("mkdir");
        std::fs::write(&real, "clipboard_clear_secs = 10\n").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("keytui").join("config.toml");
        std::fs::create_dir_all(link.parent().unwrap()).expect("mkdir");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        // Only the sort changed: the default columns are not pinned in the file.
        let defaults: Vec<String> = TableView::default()
            .columns
            .iter()
            .map(|c| c.config_name())
            .collect();
        save_view(&link, Some("name asc"), &defaults).expect("saved");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let text = std::fs::read_to_string(&real).expect("read");
        assert!(text.contains("sort = \"name asc\""), "{text}");
        assert!(!text.contains("columns"), "{text}");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Columns of one's own are written; once written, they stay written.
        let mine = vec!["name".to_owned(), "id".to_owned()];
        save_view(&link, None, &mine).expect("saved");
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("columns = [\"name\", \"id\"]")
        );
        save_view(&link, None, &defaults).expect("saved");
        let c = Config::parse(&std::fs::read_to_string(&real).unwrap());
        assert_eq!(c.view, TableView::default());
        assert!(std::fs::read_to_string(&real).unwrap().contains("columns"));
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
