//! Key bindings of the key table as ONE table (key -> action, with a description), with
//! defaults in code and overrides from the config file. The footer hints and the `?` help
//! are generated from this table, so they can never disagree with what the keys do.
//!
//! The table, the detail view, the reveal view and the help each take the actions of their
//! [`Context`] from the table (the help and the footer list exactly those). The rule for
//! leaving: `Esc` (back) closes a view or popup and goes back, clears the filter on the
//! table; `q` does the same in views and popups and quits from the table. Where text is
//! typed (the filter line, the new-key form, the dialogs: [`Context::typing`]) printable
//! keys are text and only the other keys of the table act (Esc leaves). Every key of every
//! screen and popup is looked up here ([`Keymap::lookup_in`]); hints in the screens name
//! the key bound ([`Keymap::hint`]). Ctrl-C always quits (not rebindable).
//!
//! Owns the bindings and their descriptions; must not know any screen's state.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does on the key table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
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
    /// The reveal view only: the whole token of the key just created.
    CopyToken,
    Revoke,
    Restore,
    Delete,
    Rotate,
    Reload,
    Help,
    /// Close a view or popup; on the table, clear the filter.
    Back,
    /// Quit from the table; back in views and popups.
    Quit,
    /// Forms and dialogs: create / confirm; the filter line: keep the filter.
    Confirm,
    /// Forms and dialogs: the next field.
    NextField,
    /// Forms and dialogs: the previous field.
    PrevField,
    /// The revoke question: yes, revoke (without a reason).
    Yes,
}

impl Action {
    /// Every action, in the order the help lists them.
    pub const ALL: [Action; 25] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Filter,
        Action::CycleStatus,
        Action::New,
        Action::Details,
        Action::CopyId,
        Action::CopySecret,
        Action::CopyToken,
        Action::Revoke,
        Action::Restore,
        Action::Delete,
        Action::Rotate,
        Action::Reload,
        Action::Help,
        Action::Back,
        Action::Quit,
        Action::Confirm,
        Action::NextField,
        Action::PrevField,
        Action::Yes,
    ];

    /// The name used in the `[keys]` section of the config file.
    pub fn config_name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Filter => "filter",
            Action::CycleStatus => "status_filter",
            Action::New => "new",
            Action::Details => "details",
            Action::CopyId => "copy_id",
            Action::CopySecret => "copy_secret",
            Action::CopyToken => "copy_token",
            Action::Revoke => "revoke",
            Action::Restore => "restore",
            Action::Delete => "delete",
            Action::Rotate => "rotate",
            Action::Reload => "reload",
            Action::Help => "help",
            Action::Back => "back",
            Action::Quit => "quit",
            Action::Confirm => "confirm",
            Action::NextField => "next_field",
            Action::PrevField => "prev_field",
            Action::Yes => "yes",
        }
    }

    /// One line for the help screen, in a context (`None`: it does nothing there).
    pub fn description_in(self, ctx: Context) -> Option<&'static str> {
        use Action as A;
        if !ctx.actions().contains(&self) {
            return None;
        }
        Some(match (ctx, self) {
            (Context::Table, a) => a.description(),
            (Context::Detail, A::Back | A::Quit | A::Details) => "back to the table",
            (Context::Detail, A::Help) => "this help",
            (Context::Detail, _) => "as in the table, for the key shown",
            (Context::Reveal, A::CopySecret) => "copy the secret",
            (Context::Reveal, A::CopyId) => "copy the id",
            (Context::Reveal, A::CopyToken) => "copy the whole token (prefix, id, secret)",
            (Context::Reveal, _) => "done: the secret is dropped, never shown again",
            (Context::Help, A::Back | A::Quit | A::Help) => "close the help",
            (Context::Help, _) => "scroll",
            (_, a) => a.description(),
        })
    }

    /// One line for the help screen, on the table.
    pub fn description(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first key",
            Action::Bottom => "last key",
            Action::Filter => "filter as you type (fuzzy: name, id, metadata)",
            Action::CycleStatus => "status filter: all / active / revoked / expired",
            Action::New => "new key",
            Action::Details => "details and audit events",
            Action::CopyId => "copy the id",
            Action::CopySecret => "copy the secret (sealed and plain namespaces)",
            Action::CopyToken => "copy the token (reveal view only)",
            Action::Revoke => "revoke (asks first; Tab adds a reason)",
            Action::Restore => "restore a revoked key",
            Action::Delete => "delete (type the name; production: the namespace)",
            Action::Rotate => "rotate (asks first; choose the grace period)",
            Action::Reload => "reload everything",
            Action::Help => "this help",
            Action::Back => "clear the filter (elsewhere: back, close, cancel)",
            Action::Quit => "quit (elsewhere: back, like Esc)",
            Action::Confirm => "create / confirm",
            Action::NextField => "next field",
            Action::PrevField => "previous field",
            Action::Yes => "revoke (the revoke question)",
        }
    }

    fn from_config_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.config_name() == s)
    }
}

/// Where the actions of the key table work, each with its own list (the handlers, the
/// help and the footer all read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Table,
    Detail,
    Reveal,
    Help,
    /// The filter line (`/`): typing filters.
    Filter,
    /// The new-key form.
    Form,
    /// The revoke question (no text field focused): keys are commands.
    RevokeAsk,
    /// The revoke dialog with a text field focused (reason, namespace).
    Revoke,
    /// The rotate dialog.
    Rotate,
    /// The delete dialog.
    Delete,
}

impl Context {
    /// The contexts the help lists one by one, in its order (the typing contexts share
    /// one part of the help, see [`Keymap::help_rows`]).
    pub const ALL: [Context; 4] = [
        Context::Table,
        Context::Detail,
        Context::Reveal,
        Context::Help,
    ];

    /// Every context.
    pub const EVERY: [Context; 10] = [
        Context::Table,
        Context::Detail,
        Context::Reveal,
        Context::Help,
        Context::Filter,
        Context::Form,
        Context::RevokeAsk,
        Context::Revoke,
        Context::Rotate,
        Context::Delete,
    ];

    /// Whether text is typed here: printable keys without Ctrl or Alt are text, never
    /// actions.
    pub fn typing(self) -> bool {
        matches!(
            self,
            Context::Filter | Context::Form | Context::Revoke | Context::Rotate | Context::Delete
        )
    }

    /// The actions that do something here.
    pub fn actions(self) -> &'static [Action] {
        use Action as A;
        match self {
            Context::Table => &[
                A::Up,
                A::Down,
                A::PageUp,
                A::PageDown,
                A::Top,
                A::Bottom,
                A::Filter,
                A::CycleStatus,
                A::New,
                A::Details,
                A::CopyId,
                A::CopySecret,
                A::Revoke,
                A::Restore,
                A::Delete,
                A::Rotate,
                A::Reload,
                A::Help,
                A::Back,
                A::Quit,
            ],
            Context::Detail => &[
                A::Back,
                A::Quit,
                A::Details,
                A::CopyId,
                A::CopySecret,
                A::Revoke,
                A::Restore,
                A::Delete,
                A::Rotate,
                A::Help,
            ],
            Context::Reveal => &[
                A::CopySecret,
                A::CopyId,
                A::CopyToken,
                A::Back,
                A::Quit,
                A::Details,
            ],
            Context::Help => &[
                A::Up,
                A::Down,
                A::PageUp,
                A::PageDown,
                A::Top,
                A::Bottom,
                A::Back,
                A::Quit,
                A::Help,
            ],
            Context::Filter => &[A::Confirm, A::Back, A::Up, A::Down],
            Context::Form => &[
                A::Confirm,
                A::NextField,
                A::PrevField,
                A::Down,
                A::Up,
                A::Back,
            ],
            // Any other key cancels (Esc too).
            Context::RevokeAsk => &[A::Yes, A::NextField],
            Context::Revoke => &[A::Confirm, A::NextField, A::PrevField, A::Back],
            Context::Rotate => &[
                A::Confirm,
                A::Up,
                A::Down,
                A::NextField,
                A::PrevField,
                A::Back,
            ],
            Context::Delete => &[A::Confirm, A::Back],
        }
    }

    /// The heading of this context's part of the help.
    pub fn title(self) -> &'static str {
        match self {
            Context::Table => "the key table",
            Context::Detail => "details (Enter)",
            Context::Reveal => "a new key's secret, shown once",
            Context::Help => "this help",
            Context::Filter => "the filter line",
            Context::Form => "the new-key form",
            Context::RevokeAsk | Context::Revoke => "the revoke dialog",
            Context::Rotate => "the rotate dialog",
            Context::Delete => "the delete dialog",
        }
    }

    /// The footer hints here, most important first (the footer drops what does not fit
    /// from the end).
    pub fn footer(self) -> &'static [(&'static [Action], &'static str)] {
        use Action as A;
        match self {
            Context::Table => &[
                (&[A::Help], "help"),
                (&[A::Quit], "quit"),
                (&[A::Filter], "filter"),
                (&[A::New], "new"),
                (&[A::Details], "details"),
                (&[A::Revoke], "revoke"),
                (&[A::Delete], "delete"),
                (&[A::Rotate], "rotate"),
                (&[A::CycleStatus], "status"),
                (&[A::CopyId], "copy id"),
                (&[A::Restore], "restore"),
            ],
            Context::Detail => &[
                (&[A::Back], "back"),
                (&[A::CopyId], "copy id"),
                (&[A::CopySecret], "copy secret"),
                (&[A::Revoke], "revoke"),
                (&[A::Restore], "restore"),
                (&[A::Rotate], "rotate"),
                (&[A::Help], "help"),
                (&[A::Delete], "delete"),
            ],
            Context::Reveal => &[
                (&[A::CopySecret], "copy secret"),
                (&[A::CopyId], "copy id"),
                (&[A::CopyToken], "copy token"),
                (&[A::Back], "done"),
            ],
            Context::Help => &[
                (&[A::Down], "down"),
                (&[A::Up], "up"),
                (&[A::PageDown], "page"),
                (&[A::Back], "close"),
            ],
            Context::Filter => &[
                (&[A::Confirm], "keep filter"),
                (&[A::Back], "clear"),
                (&[A::Up, A::Down], "move"),
            ],
            Context::Form => &[
                (&[A::NextField], "next field"),
                (&[A::Confirm], "create"),
                (&[A::Back], "cancel"),
            ],
            Context::RevokeAsk => &[(&[A::Yes], "revoke"), (&[A::NextField], "give a reason")],
            Context::Revoke => &[
                (&[A::Confirm], "revoke"),
                (&[A::NextField], "next field"),
                (&[A::Back], "cancel"),
            ],
            Context::Rotate => &[
                (&[A::Confirm], "rotate"),
                (&[A::Up, A::Down], "grace period"),
                (&[A::NextField], "next field"),
                (&[A::Back], "cancel"),
            ],
            Context::Delete => &[(&[A::Confirm], "delete"), (&[A::Back], "cancel")],
        }
    }
}

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

    /// A printable key without Ctrl or Alt: text where text is typed.
    pub fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl && !self.alt
    }

    /// A key event of this key.
    pub fn event(&self) -> KeyEvent {
        let mut m = KeyModifiers::NONE;
        if self.ctrl {
            m |= KeyModifiers::CONTROL;
        }
        if self.alt {
            m |= KeyModifiers::ALT;
        }
        KeyEvent::new(self.code, m)
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
    pub action: Action,
}

/// The key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Action as A;
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
            (c('t'), A::CopyToken),
            (Key::plain(K::Enter), A::Confirm),
            (Key::plain(K::Tab), A::NextField),
            (Key::plain(K::BackTab), A::PrevField),
            (c('y'), A::Yes),
            (c('?'), A::Help),
            (Key::plain(K::Esc), A::Back),
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
    pub fn lookup(&self, key: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(key);
        self.bindings.iter().find(|b| b.key == k).map(|b| b.action)
    }

    /// The action bound to a key in a context, if it does something there.
    /// Where text is typed, printable keys are text: `None`.
    pub fn lookup_in(&self, ctx: Context, key: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(key);
        if ctx.typing() && k.is_text() {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| b.key == k && ctx.actions().contains(&b.action))
            .map(|b| b.action)
    }

    /// The first key that does `action` in a context (a printable key is text where text
    /// is typed), as written in hints; `None` when no key does.
    pub fn key_in(&self, ctx: Context, action: Action) -> Option<String> {
        if !ctx.actions().contains(&action) {
            return None;
        }
        self.bindings
            .iter()
            .find(|b| {
                b.action == action
                    && !(ctx.typing() && b.key.is_text())
                    && self.lookup_in(ctx, &b.key.event()) == Some(action)
            })
            .map(|b| b.key.label())
    }

    /// Like [`Keymap::key_in`], for a hint in running text: "(unbound)" when no key does.
    pub fn hint(&self, ctx: Context, action: Action) -> String {
        self.key_in(ctx, action)
            .unwrap_or_else(|| "(unbound)".to_owned())
    }

    /// The footer hints of a context: the first key of each of its actions (keys of one
    /// hint run together, e.g. `↑↓`); hints whose actions have no key are left out.
    pub fn footer(&self, ctx: Context) -> Vec<(String, String)> {
        ctx.footer()
            .iter()
            .filter_map(|&(actions, what)| {
                let keys: Vec<String> = actions
                    .iter()
                    .filter_map(|&a| self.key_in(ctx, a))
                    .collect();
                (!keys.is_empty()).then(|| (keys.concat(), what.to_owned()))
            })
            .collect()
    }

    /// Labels of the keys bound to an action, joined with `/`.
    pub fn keys_for(&self, action: Action) -> String {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .map(|b| b.key.label())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key bound to an action, for footer hints.
    pub fn first_key(&self, action: Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key.label())
    }

    /// The lines of the `?` help, unstyled: for each context the actions that work there
    /// (actions that mean the same there share a line), then the fixed keys of forms and
    /// dialogs.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows = Vec::new();
        for ctx in Context::ALL {
            if !rows.is_empty() {
                rows.push(HelpRow::Blank);
            }
            rows.push(HelpRow::Heading(ctx.title()));
            let mut groups: Vec<(&str, Vec<Action>)> = Vec::new();
            for &a in ctx.actions() {
                let Some(what) = a.description_in(ctx) else {
                    continue;
                };
                match groups.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, v)) => v.push(a),
                    None => groups.push((what, vec![a])),
                }
            }
            for (what, actions) in groups {
                let keys: Vec<String> = actions
                    .iter()
                    .map(|&a| self.keys_for(a))
                    .filter(|k| !k.is_empty())
                    .collect();
                if !keys.is_empty() {
                    rows.push(HelpRow::Keys(keys.join("/"), what));
                }
            }
        }
        rows.push(HelpRow::Blank);
        rows.push(HelpRow::Heading(
            "typing: new-key form, revoke and delete dialogs",
        ));
        // The keys of the forms and dialogs, from the same table.
        let typing = Context::Revoke;
        let fields = [Action::NextField, Action::PrevField]
            .map(|a| self.key_in(typing, a))
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        let popup_rows = [
            (
                self.key_in(Context::Delete, Action::Back),
                "cancel the form or dialog (q is typed as a letter there)",
            ),
            (
                (!fields.is_empty()).then_some(fields),
                "next / previous field in the new-key form and dialogs",
            ),
            (
                self.key_in(Context::Delete, Action::Confirm),
                "create / confirm",
            ),
            (Some("Ctrl-C".to_owned()), "quit from anywhere"),
        ];
        for (k, what) in popup_rows {
            if let Some(k) = k {
                rows.push(HelpRow::Keys(k, what));
            }
        }
        rows
    }

    /// Applies `[keys]` overrides: `revoke = "x"` or `revoke = ["x", "ctrl-x"]` replaces
    /// every key of that action and takes the key away from any other action. Returns the
    /// problems found (unknown action, unparsable key); the rest is applied.
    pub fn apply_overrides(&mut self, keys: &BTreeMap<String, KeySpec>) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, spec) in keys {
            let Some(action) = Action::from_config_name(name) else {
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
            // A key does one thing per context: it leaves the actions that share one
            // with this action (Enter details on the table and confirms in dialogs).
            self.bindings.retain(|b| {
                b.action != action && !(parsed.contains(&b.key) && share_context(b.action, action))
            });
            self.bindings
                .extend(parsed.into_iter().map(|key| Binding { key, action }));
        }
        problems
    }
}

/// Whether two actions work in one context (then one key cannot do both).
fn share_context(a: Action, b: Action) -> bool {
    Context::EVERY
        .iter()
        .any(|c| c.actions().contains(&a) && c.actions().contains(&b))
}

/// One line of the `?` help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelpRow {
    Blank,
    Heading(&'static str),
    /// The keys (joined with `/`) and what they do.
    Keys(String, &'static str),
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
        assert_eq!(m.lookup(&press('d')), Some(Action::Revoke));
        assert_eq!(m.lookup(&press('D')), Some(Action::Delete));
        assert_eq!(m.keys_for(Action::Up), "k/↑");
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
        assert_eq!(m.lookup(&press('x')), Some(Action::Revoke));
        assert_eq!(m.lookup(&press('d')), Some(Action::Reload));
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(m.lookup(&ctrl_r), Some(Action::Reload));
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
