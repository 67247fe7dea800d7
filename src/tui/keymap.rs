//! Key bindings of the key table as ONE table (key -> action, with a description), with
//! defaults in code and overrides from the config file. The footer hints and the `?` help
//! are generated from this table, so they can never disagree with what the keys do.
//!
//! Popups (form, confirmations, reveal view) have a few fixed keys of their own, listed in
//! [`POPUP_KEYS`]; Ctrl-C always quits.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does on the key table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAction {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    CycleStatus,
    New,
    Details,
    CopyId,
    CopySecret,
    Revoke,
    Restore,
    Delete,
    Rotate,
    Reload,
    Help,
    Quit,
}

impl KeyAction {
    /// Every action, in the order the help lists them.
    pub const ALL: [KeyAction; 19] = [
        KeyAction::Up,
        KeyAction::Down,
        KeyAction::PageUp,
        KeyAction::PageDown,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::Filter,
        KeyAction::CycleStatus,
        KeyAction::New,
        KeyAction::Details,
        KeyAction::CopyId,
        KeyAction::CopySecret,
        KeyAction::Revoke,
        KeyAction::Restore,
        KeyAction::Delete,
        KeyAction::Rotate,
        KeyAction::Reload,
        KeyAction::Help,
        KeyAction::Quit,
    ];

    /// The actions the footer hints at, most important first (the footer drops what
    /// does not fit from the end).
    pub const FOOTER: [KeyAction; 11] = [
        KeyAction::Help,
        KeyAction::Quit,
        KeyAction::Filter,
        KeyAction::New,
        KeyAction::Details,
        KeyAction::Revoke,
        KeyAction::Delete,
        KeyAction::Rotate,
        KeyAction::CycleStatus,
        KeyAction::CopyId,
        KeyAction::Restore,
    ];

    /// The name used in the `[keys]` section of the config file.
    pub fn config_name(self) -> &'static str {
        match self {
            KeyAction::Up => "up",
            KeyAction::Down => "down",
            KeyAction::PageUp => "page_up",
            KeyAction::PageDown => "page_down",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::Filter => "filter",
            KeyAction::CycleStatus => "status_filter",
            KeyAction::New => "new",
            KeyAction::Details => "details",
            KeyAction::CopyId => "copy_id",
            KeyAction::CopySecret => "copy_secret",
            KeyAction::Revoke => "revoke",
            KeyAction::Restore => "restore",
            KeyAction::Delete => "delete",
            KeyAction::Rotate => "rotate",
            KeyAction::Reload => "reload",
            KeyAction::Help => "help",
            KeyAction::Quit => "quit",
        }
    }

    /// One line for the help screen.
    pub fn description(self) -> &'static str {
        match self {
            KeyAction::Up => "move up",
            KeyAction::Down => "move down",
            KeyAction::PageUp => "page up",
            KeyAction::PageDown => "page down",
            KeyAction::Top => "first key",
            KeyAction::Bottom => "last key",
            KeyAction::Filter => "filter as you type (fuzzy: name, id, metadata)",
            KeyAction::CycleStatus => "status filter: all / active / revoked / expired",
            KeyAction::New => "new key",
            KeyAction::Details => "details and audit events",
            KeyAction::CopyId => "copy the id",
            KeyAction::CopySecret => "copy the secret (sealed and plain namespaces)",
            KeyAction::Revoke => "revoke (asks first; Tab adds a reason)",
            KeyAction::Restore => "restore a revoked key",
            KeyAction::Delete => "delete (type the name; production: the namespace)",
            KeyAction::Rotate => "rotate (asks first; choose the grace period)",
            KeyAction::Reload => "reload everything",
            KeyAction::Help => "this help",
            KeyAction::Quit => "quit",
        }
    }

    /// A short word for the footer, or `None` when the footer leaves it out.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            KeyAction::Filter => Some("filter"),
            KeyAction::CycleStatus => Some("status"),
            KeyAction::New => Some("new"),
            KeyAction::Details => Some("details"),
            KeyAction::CopyId => Some("copy id"),
            KeyAction::Revoke => Some("revoke"),
            KeyAction::Restore => Some("restore"),
            KeyAction::Delete => Some("delete"),
            KeyAction::Rotate => Some("rotate"),
            KeyAction::Help => Some("help"),
            KeyAction::Quit => Some("quit"),
            _ => None,
        }
    }

    fn from_config_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.config_name() == s)
    }
}

/// Fixed keys of the popups, for the help screen.
pub const POPUP_KEYS: &[(&str, &str)] = &[
    ("Ctrl-C", "quit from anywhere"),
    ("Esc", "close a popup, cancel a form, clear the filter"),
    (
        "Tab/S-Tab",
        "next / previous field in the new-key form and dialogs",
    ),
    ("c / y / t", "reveal view: copy secret / id / whole token"),
];

/// A key with its modifiers (only Ctrl and Alt count; Shift is in the character).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub fn from_event(e: &KeyEvent) -> Self {
        // Shift is not compared: letters arrive upper-cased, Shift-Tab as BackTab.
        Key {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses `x`, `D`, `ctrl-r`, `alt-x`, `enter`, `esc`, `up`, `pgdn`, `home`, `f5`, `space`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "delete" | "del" => KeyCode::Delete,
                "backspace" => KeyCode::Backspace,
                f if f.starts_with('f') => KeyCode::F(f[1..].parse().ok()?),
                _ => return None,
            },
        };
        Some(Key { code, ctrl, alt })
    }

    /// How the key is written in hints and help.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("Ctrl-{base}"),
            (_, true) => format!("Alt-{base}"),
            _ => base,
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: KeyAction,
}

/// The key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyAction as A;
        use KeyCode as K;
        let c = |ch| Key::plain(K::Char(ch));
        let rows = [
            (c('k'), A::Up),
            (Key::plain(K::Up), A::Up),
            (c('j'), A::Down),
            (Key::plain(K::Down), A::Down),
            (Key::plain(K::PageUp), A::PageUp),
            (Key::plain(K::PageDown), A::PageDown),
            (c('g'), A::Top),
            (Key::plain(K::Home), A::Top),
            (c('G'), A::Bottom),
            (Key::plain(K::End), A::Bottom),
            (c('/'), A::Filter),
            (c('s'), A::CycleStatus),
            (c('n'), A::New),
            (Key::plain(K::Enter), A::Details),
            (c('y'), A::CopyId),
            (c('c'), A::CopySecret),
            (c('d'), A::Revoke),
            (c('u'), A::Restore),
            (c('D'), A::Delete),
            (c('r'), A::Rotate),
            (c('R'), A::Reload),
            (c('?'), A::Help),
            (c('q'), A::Quit),
        ];
        Keymap {
            bindings: rows
                .into_iter()
                .map(|(key, action)| Binding { key, action })
                .collect(),
        }
    }
}

impl Keymap {
    /// The action bound to a key, if any.
    pub fn lookup(&self, key: &KeyEvent) -> Option<KeyAction> {
        let k = Key::from_event(key);
        self.bindings.iter().find(|b| b.key == k).map(|b| b.action)
    }

    /// Labels of the keys bound to an action, joined with `/`.
    pub fn keys_for(&self, action: KeyAction) -> String {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .map(|b| b.key.label())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key bound to an action, for footer hints.
    pub fn first_key(&self, action: KeyAction) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key.label())
    }

    /// Applies `[keys]` overrides: `revoke = "x"` or `revoke = ["x", "ctrl-x"]` replaces
    /// every key of that action and takes the key away from any other action. Returns the
    /// problems found (unknown action, unparsable key); the rest is applied.
    pub fn apply_overrides(&mut self, keys: &BTreeMap<String, KeySpec>) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, spec) in keys {
            let Some(action) = KeyAction::from_config_name(name) else {
                problems.push(format!("unknown action {name:?} in [keys]"));
                continue;
            };
            let mut parsed = Vec::new();
            for s in spec.list() {
                match Key::parse(s) {
                    Some(k) => parsed.push(k),
                    None => problems.push(format!("cannot read key {s:?} for {name}")),
                }
            }
            if parsed.is_empty() {
                continue;
            }
            self.bindings
                .retain(|b| b.action != action && !parsed.contains(&b.key));
            self.bindings
                .extend(parsed.into_iter().map(|key| Binding { key, action }));
        }
        problems
    }
}

/// One key or a list of keys in the config file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    fn list(&self) -> Vec<&str> {
        match self {
            KeySpec::One(s) => vec![s.as_str()],
            KeySpec::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn defaults_bind_the_documented_keys() {
        let m = Keymap::default();
        assert_eq!(m.lookup(&press('d')), Some(KeyAction::Revoke));
        assert_eq!(m.lookup(&press('D')), Some(KeyAction::Delete));
        assert_eq!(m.keys_for(KeyAction::Up), "k/↑");
        assert_eq!(m.lookup(&press('z')), None);
    }

    #[test]
    fn overrides_replace_and_steal_keys() {
        let mut m = Keymap::default();
        let mut keys = BTreeMap::new();
        keys.insert("revoke".to_owned(), KeySpec::One("x".into()));
        keys.insert(
            "reload".to_owned(),
            KeySpec::Many(vec!["ctrl-r".into(), "d".into()]),
        );
        keys.insert("bogus".to_owned(), KeySpec::One("b".into()));
        let problems = m.apply_overrides(&keys);
        assert_eq!(problems.len(), 1);
        assert_eq!(m.lookup(&press('x')), Some(KeyAction::Revoke));
        assert_eq!(m.lookup(&press('d')), Some(KeyAction::Reload));
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(m.lookup(&ctrl_r), Some(KeyAction::Reload));
        assert_eq!(m.lookup(&press('R')), None);
    }

    #[test]
    fn key_parsing() {
        assert_eq!(Key::parse("pgdn"), Some(Key::plain(KeyCode::PageDown)));
        assert_eq!(Key::parse("F5"), Some(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("ctrl-x").map(|k| k.ctrl), Some(true));
        assert_eq!(Key::parse("nonsense"), None);
    }
}
