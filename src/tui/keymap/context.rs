//! The contexts of the key table (the table, the details, each popup, form and dialog):
//! which actions each takes, what each action means there (its help line), its help
//! heading and which actions its footer shows. Data only: no keys, no screen state.

use super::action::Action;

impl Action {
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
            (Context::Detail, A::Up | A::Down | A::PageUp | A::PageDown | A::Top | A::Bottom) => {
                "scroll (when the details do not fit)"
            }
            (Context::Detail, _) => "as in the table, for the key shown",
            (Context::Reveal, A::CopySecret) => "copy the secret",
            (Context::Reveal, A::CopyId) => "copy the id",
            (Context::Reveal, A::CopyToken) => "copy the whole token (prefix, id, secret)",
            (Context::Reveal, _) => "done: the secret is dropped, never shown again",
            (Context::Help, A::Back | A::Quit | A::Help) => "close the help",
            (Context::Help, _) => "scroll",
            (Context::Namespaces, A::Confirm) => "switch to the namespace under the cursor",
            (Context::Namespaces, A::Back) => "close the picker",
            (Context::Namespaces, _) => "move (typing filters by name)",
            (Context::Filter, A::Confirm) => "keep the filter (selects the best match)",
            (Context::Filter, A::Back) => "clear the filter",
            (Context::Filter, _) => "move in the table (typing filters)",
            (Context::Form, A::Confirm) => "create the key",
            (Context::Edit, A::Confirm) => "save what changed",
            (Context::Form | Context::Edit, A::NextField | A::Down) => "next field",
            (Context::Form | Context::Edit, A::PrevField | A::Up) => "previous field",
            (Context::RevokeAsk, A::Yes) => "revoke now, without a reason",
            (Context::RevokeAsk | Context::BulkAsk, A::NextField) => {
                "give a reason first (any other key cancels)"
            }
            (Context::Revoke, A::Confirm) => "revoke",
            (Context::Revoke | Context::Bulk, A::NextField | A::PrevField) => {
                "between the namespace and the reason (production)"
            }
            (Context::Rotate, A::Confirm) => "rotate",
            (Context::Rotate, A::Up | A::Down) => "choose the grace period",
            (Context::Rotate, A::NextField) => "next field",
            (Context::Rotate, A::PrevField) => "previous field",
            (Context::Delete, A::Confirm) => "delete (once the name typed matches)",
            (Context::Command, A::Confirm) => "run the command",
            (Context::Command, A::NextField) => "complete the command or its argument",
            (Context::BulkAsk, A::Yes) => "go ahead: revoke / restore the keys listed",
            (Context::Bulk, A::Confirm) => "go ahead (once what is typed is right)",
            (Context::Views, A::Confirm) => "show the view",
            (Context::Views, A::Back) => "cancel",
            (Context::Views, _) => "choose a view (typing sets its days or name)",
            (_, A::Back) => "cancel",
            (_, a) => a.description(),
        })
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
    /// The `:` command line: typing a command.
    Command,
    /// The edit form.
    Edit,
    /// The bulk dialog's question (no text field focused): keys are commands.
    BulkAsk,
    /// The bulk dialog with a text field focused (reason, duration, confirmation).
    Bulk,
    /// The attention view picker (typing goes into the highlighted view's number or name).
    Views,
    /// The namespace picker (typing filters).
    Namespaces,
}

impl Context {
    /// Every context, in the order the help lists them (contexts with one title, such as
    /// the revoke question and the revoke dialog, share a section).
    pub const EVERY: [Context; 16] = [
        Context::Table,
        Context::Detail,
        Context::Reveal,
        Context::Help,
        Context::Filter,
        Context::Command,
        Context::Form,
        Context::Edit,
        Context::RevokeAsk,
        Context::Revoke,
        Context::Rotate,
        Context::Delete,
        Context::BulkAsk,
        Context::Bulk,
        Context::Views,
        Context::Namespaces,
    ];

    /// Whether text is typed here: printable keys without Ctrl or Alt are text, never
    /// actions.
    pub fn typing(self) -> bool {
        matches!(
            self,
            Context::Filter
                | Context::Form
                | Context::Revoke
                | Context::Rotate
                | Context::Delete
                | Context::Command
                | Context::Edit
                | Context::Bulk
                | Context::Views
                | Context::Namespaces
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
                A::Sort,
                A::SortDirection,
                A::Command,
                A::Edit,
                A::CopyToken,
                A::Mark,
                A::MarkAll,
                A::Views,
                A::Extend,
                A::Namespaces,
            ],
            Context::Detail => &[
                A::Up,
                A::Down,
                A::PageUp,
                A::PageDown,
                A::Top,
                A::Bottom,
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
                A::Edit,
                A::CopyToken,
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
            Context::Command => &[A::Confirm, A::NextField, A::Back],
            Context::Edit => &[
                A::Confirm,
                A::NextField,
                A::PrevField,
                A::Down,
                A::Up,
                A::Back,
            ],
            // Any other key cancels (Esc too).
            Context::BulkAsk => &[A::Yes, A::NextField],
            Context::Bulk => &[A::Confirm, A::NextField, A::PrevField, A::Back],
            Context::Views => &[A::Up, A::Down, A::Confirm, A::Back],
            Context::Namespaces => &[A::Confirm, A::Up, A::Down, A::Back],
        }
    }

    /// The heading of this context's part of the help.
    pub fn title(self) -> &'static str {
        match self {
            Context::Table => "the key table",
            Context::Detail => "details ({details})",
            Context::Reveal => "a new key's secret, shown once",
            Context::Help => "this help",
            Context::Filter => "the filter line",
            Context::Form => "the new-key form",
            Context::RevokeAsk | Context::Revoke => "the revoke dialog",
            Context::Rotate => "the rotate dialog",
            Context::Delete => "the delete dialog",
            Context::Command => "the command line",
            Context::Edit => "the edit form",
            Context::BulkAsk | Context::Bulk => "the bulk dialog (marked keys)",
            Context::Views => "the attention views",
            Context::Namespaces => "the namespace picker",
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
                (&[A::CopyToken], "token"),
                (&[A::Delete], "delete"),
                (&[A::Reload], "reload"),
                (&[A::Edit], "edit"),
                (&[A::Revoke], "revoke"),
                (&[A::Details], "details"),
                (&[A::CopySecret], "secret"),
                (&[A::CopyId], "copy id"),
                (&[A::Sort], "sort"),
                (&[A::Command], "command"),
                (&[A::Rotate], "rotate"),
                (&[A::CycleStatus], "status"),
                (&[A::Restore], "restore"),
                (&[A::Mark], "mark"),
                (&[A::Views], "views"),
            ],
            Context::Detail => &[
                (&[A::Back], "back"),
                (&[A::CopyToken], "token"),
                (&[A::CopyId], "copy id"),
                (&[A::CopySecret], "secret"),
                (&[A::Edit], "edit"),
                (&[A::Revoke], "revoke"),
                (&[A::Delete], "delete"),
                (&[A::Help], "help"),
                (&[A::Rotate], "rotate"),
                (&[A::Restore], "restore"),
                (&[A::Down, A::Up], "scroll"),
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
            Context::Command => &[
                (&[A::Confirm], "run"),
                (&[A::NextField], "complete"),
                (&[A::Back], "cancel"),
            ],
            Context::Edit => &[
                (&[A::NextField], "next field"),
                (&[A::Confirm], "save"),
                (&[A::Back], "cancel"),
            ],
            Context::BulkAsk => &[(&[A::Yes], "go ahead"), (&[A::NextField], "next field")],
            Context::Bulk => &[
                (&[A::Confirm], "go ahead"),
                (&[A::NextField], "next field"),
                (&[A::Back], "cancel"),
            ],
            Context::Views => &[
                (&[A::Confirm], "show"),
                (&[A::Up, A::Down], "choose"),
                (&[A::Back], "cancel"),
            ],
            Context::Namespaces => &[
                (&[A::Confirm], "switch"),
                (&[A::Up, A::Down], "move"),
                (&[A::Back], "close"),
            ],
        }
    }
}
