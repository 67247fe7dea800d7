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

use crossterm::event::{KeyCode, KeyEvent};

mod action;
mod context;
mod key;

pub use self::action::Action;
pub use self::context::Context;
pub use self::key::Key;

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
            (c('o'), A::Sort),
            (c('O'), A::SortDirection),
            (c(':'), A::Command),
            (c('e'), A::Edit),
            (c(' '), A::Mark),
            (c('*'), A::MarkAll),
            (c('v'), A::Views),
            (c('+'), A::Extend),
            (c('N'), A::Namespaces),
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
        self.footer_where(ctx, |_| true)
    }

    /// Like [`Keymap::footer`], without the actions that do nothing in the screen's state
    /// now (`acts` says which do: Tab in a dialog with one field does not).
    pub fn footer_where(
        &self,
        ctx: Context,
        acts: impl Fn(Action) -> bool,
    ) -> Vec<(String, String)> {
        ctx.footer()
            .iter()
            .filter_map(|&(actions, what)| {
                let keys: Vec<String> = actions
                    .iter()
                    .filter(|&&a| acts(a))
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

    /// Labels of the keys that do `action` in a context (not the printable ones where
    /// text is typed), joined with `/`.
    pub fn keys_in(&self, ctx: Context, action: Action) -> String {
        self.bindings
            .iter()
            .filter(|b| {
                b.action == action
                    && !(ctx.typing() && b.key.is_text())
                    && self.lookup_in(ctx, &b.key.event()) == Some(action)
            })
            .map(|b| b.key.label())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The lines of the `?` help, unstyled: a section for every context (contexts with
    /// one title share it), listing the actions that work there with the keys that do
    /// them there (actions that mean the same there share a line), then Ctrl-C.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut sections: Vec<(&str, Vec<Context>)> = Vec::new();
        for ctx in Context::EVERY {
            match sections.iter_mut().find(|(t, _)| *t == ctx.title()) {
                Some((_, v)) => v.push(ctx),
                None => sections.push((ctx.title(), vec![ctx])),
            }
        }
        let mut rows = Vec::new();
        for (title, contexts) in sections {
            if !rows.is_empty() {
                rows.push(HelpRow::Blank);
            }
            rows.push(HelpRow::Heading(self.fill(title)));
            let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
            for ctx in contexts {
                for &a in ctx.actions() {
                    let Some(what) = a.description_in(ctx) else {
                        continue;
                    };
                    let keys = self.keys_in(ctx, a);
                    if keys.is_empty() {
                        continue;
                    }
                    match groups.iter_mut().find(|(w, _)| *w == what) {
                        Some((_, v)) if !v.contains(&keys) => v.push(keys),
                        Some(_) => {}
                        None => groups.push((what, vec![keys])),
                    }
                }
            }
            for (what, keys) in groups {
                rows.push(HelpRow::Keys(keys.join("/"), self.fill(what)));
            }
        }
        rows.push(HelpRow::Blank);
        rows.push(HelpRow::Heading("everywhere".to_owned()));
        rows.push(HelpRow::Keys(
            "Ctrl-C".to_owned(),
            "quit from anywhere".to_owned(),
        ));
        rows
    }

    /// A description with `{details}`, `{back}` and `{next_field}` replaced by the keys
    /// bound (on the table, and in the dialogs).
    fn fill(&self, text: &str) -> String {
        text.replace("{details}", &self.hint(Context::Table, Action::Details))
            .replace("{back}", &self.hint(Context::Delete, Action::Back))
            .replace(
                "{next_field}",
                &self.hint(Context::Revoke, Action::NextField),
            )
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
    Heading(String),
    /// The keys (joined with `/`) and what they do.
    Keys(String, String),
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
    use crossterm::event::KeyModifiers;

    #[test]
    fn one_key_does_one_thing_per_context() {
        let m = Keymap::default();
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(m.lookup_in(Context::Table, &enter), Some(Action::Details));
        assert_eq!(m.lookup_in(Context::Form, &enter), Some(Action::Confirm));
        assert_eq!(
            m.lookup_in(Context::RevokeAsk, &press('y')),
            Some(Action::Yes)
        );
        assert_eq!(
            m.lookup_in(Context::Table, &press('y')),
            Some(Action::CopyId)
        );
        // Where text is typed, printable keys are text.
        assert_eq!(m.lookup_in(Context::Form, &press('q')), None);
        assert_eq!(m.lookup_in(Context::Filter, &press('j')), None);
        assert_eq!(
            m.key_in(Context::Filter, Action::Down).as_deref(),
            Some("↓")
        );
        assert_eq!(m.key_in(Context::Table, Action::Down).as_deref(), Some("j"));
    }

    #[test]
    fn an_override_takes_a_key_only_where_the_actions_meet() {
        let mut m = Keymap::default();
        let mut keys = BTreeMap::new();
        // Confirm (dialogs) and CopyId (table) never meet: y keeps copying on the table.
        keys.insert("confirm".to_owned(), KeySpec::One("ctrl-y".into()));
        keys.insert("yes".to_owned(), KeySpec::One("c".into()));
        assert!(m.apply_overrides(&keys).is_empty());
        assert_eq!(
            m.lookup_in(Context::Table, &press('c')),
            Some(Action::CopySecret)
        );
        assert_eq!(
            m.lookup_in(Context::RevokeAsk, &press('c')),
            Some(Action::Yes)
        );
        assert_eq!(m.lookup_in(Context::RevokeAsk, &press('y')), None);
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(m.lookup_in(Context::Delete, &enter), None);
        assert_eq!(m.lookup_in(Context::Table, &enter), Some(Action::Details));
    }

    #[test]
    fn every_context_has_a_help_section_with_its_keys() {
        let m = Keymap::default();
        let rows = m.help_rows();
        for ctx in Context::EVERY {
            let heading = HelpRow::Heading(m.fill(ctx.title()));
            let at = rows
                .iter()
                .position(|r| *r == heading)
                .unwrap_or_else(|| panic!("no help section for {ctx:?}"));
            assert!(
                matches!(rows.get(at + 1), Some(HelpRow::Keys(..))),
                "the help section of {ctx:?} lists no keys"
            );
            // Every action of the context is on a line of its section, by a key that
            // does it there.
            let end = rows[at + 1..]
                .iter()
                .position(|r| *r == HelpRow::Blank)
                .map_or(rows.len(), |n| at + 1 + n);
            for &a in ctx.actions() {
                let keys = m.keys_in(ctx, a);
                let what = a.description_in(ctx).map(|w| m.fill(w));
                assert!(
                    rows[at + 1..end].iter().any(|r| matches!(r,
                        HelpRow::Keys(k, w) if Some(w) == what.as_ref()
                            && k.split('/').any(|k| keys.split('/').any(|o| o == k)))),
                    "{a:?} is missing from the help section of {ctx:?}"
                );
            }
        }
    }

    #[test]
    fn where_text_is_typed_the_help_names_no_letter() {
        let m = Keymap::default();
        // The attention views: Up/Down move, j/k are typed.
        assert_eq!(m.keys_in(Context::Views, Action::Down), "↓");
        assert_eq!(m.keys_in(Context::Table, Action::Down), "j/↓");
    }

    #[test]
    fn the_footer_leaves_out_what_does_nothing_now() {
        let m = Keymap::default();
        let all = m.footer(Context::Bulk);
        assert!(all.iter().any(|(k, _)| k == "Tab"), "{all:?}");
        let live = m.footer_where(Context::Bulk, |a| a != Action::NextField);
        assert!(!live.iter().any(|(k, _)| k == "Tab"), "{live:?}");
        assert_eq!(live.len(), all.len() - 1);
    }

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
