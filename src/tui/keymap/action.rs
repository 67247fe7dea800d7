//! The actions of the key table: what each does on the table and how the config file
//! names it. Data only: no keys, no contexts (keymap/context.rs says where each works),
//! no screen state.

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
    /// Sort by the next field (name, created, expires, last used, status).
    Sort,
    /// Flip the sort direction.
    SortDirection,
    /// Open the `:` command line.
    Command,
    /// Edit the key's name, expiry and metadata.
    Edit,
    /// The table: mark or unmark the row under the cursor (and move down).
    Mark,
    /// The table: mark every row the filter and the view show.
    MarkAll,
    /// The table: choose an attention view (never used, unused, expiring, created by).
    Views,
    /// The table: move the expiry of the marked keys (or the selected one) later.
    Extend,
    /// The namespace picker: switch to another namespace of this Redis (the `:ns`
    /// command runs the same action).
    Namespaces,
}

impl Action {
    /// Every action, in the order the help lists them.
    pub const ALL: [Action; 34] = [
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
        Action::Sort,
        Action::SortDirection,
        Action::Command,
        Action::Edit,
        Action::Mark,
        Action::MarkAll,
        Action::Views,
        Action::Extend,
        Action::Namespaces,
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
            Action::Sort => "sort",
            Action::SortDirection => "sort_direction",
            Action::Command => "command",
            Action::Edit => "edit",
            Action::Mark => "mark",
            Action::MarkAll => "mark_all",
            Action::Views => "views",
            Action::Extend => "extend",
            Action::Namespaces => "namespaces",
        }
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
            Action::CopyToken => "copy the whole token (sealed and plain namespaces)",
            Action::Revoke => "revoke (asks first; {next_field} adds a reason)",
            Action::Restore => "restore a revoked key",
            Action::Delete => "delete (type the name; production: the namespace)",
            Action::Rotate => "rotate (asks first; choose the grace period)",
            Action::Reload => "reload everything",
            Action::Help => "this help",
            Action::Back => "clear marks, filter, view (elsewhere: back, cancel)",
            Action::Quit => "quit (elsewhere: back, like {back})",
            Action::Confirm => "create / confirm",
            Action::NextField => "next field",
            Action::PrevField => "previous field",
            Action::Yes => "revoke (the revoke question)",
            Action::Sort => "sort by: name / created / expires / last used / status",
            Action::SortDirection => "sort ascending / descending",
            Action::Command => "command line: :sort, :columns, :help, :q (Tab completes)",
            Action::Edit => "edit name, expiry, metadata",
            Action::Mark => "mark / unmark; key actions then act on all marked",
            Action::MarkAll => "mark every key shown (the filter and the view)",
            Action::Views => "attention views: unused, never used, expiring, created by",
            Action::Extend => "extend the expiry (the marked keys, else this one)",
            Action::Namespaces => "switch namespace (type to filter, Enter switches)",
        }
    }

    pub(super) fn from_config_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.config_name() == s)
    }
}
