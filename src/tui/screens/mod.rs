//! The screens and popups: one file each (the table, the details, the help, the new-key
//! form, the reveal view, the revoke, rotate and delete dialogs). Each owns its state, its
//! `handle_key` (every key looked up in the key table, [`crate::tui::keymap`]) and its
//! `render`. The app (`State::screen`) holds the one open screen; a popup's key handler and
//! its drawing get a read-only [`Cx`]; the handler answers with a [`Reply`] (what to open
//! or close, what to say, what work to ask for), which `update` applies. The table and the
//! details draw the loaded rows, so they read `State` (and the table's handlers change its
//! rows): they sit above `state`; this file and the popups sit below it.
//!
//! Screens never call each other, never talk to Redis, never read the clock (the time is
//! `State::now`), and rendering never mutates. Every string that comes from Redis goes
//! through [`crate::sanitize::line`] before it is drawn.

pub mod bulk;
pub mod delete;
pub mod detail;
pub mod detail_keys;
pub mod detail_text;
pub mod edit_key;
pub mod help;
pub mod namespaces;
pub mod new_key;
pub mod reveal;
pub mod revoke;
pub mod rotate;
pub mod table;
pub mod views;

use ratatui::layout::Rect;

use crate::record::UnixMs;

use super::keymap::{Action, Keymap};
use super::msg::{ConnState, Out};
use super::status::{Message, ServerInfo};

pub use self::bulk::{BulkDialog, BulkFocus, BulkKind};
pub use self::delete::DeleteDialog;
pub use self::edit_key::EditForm;
pub use self::help::HelpView;
pub use self::namespaces::{NamespaceList, NamespacePicker};
pub use self::new_key::{FORM_FIELDS, FieldErrors, NewKeyForm, field};
pub use self::reveal::Reveal;
pub use self::revoke::{RevokeDialog, RevokeFocus};
pub use self::rotate::{GRACE_PRESETS, ROTATE_AGAIN_WORD, RotateDialog, RotateFocus};
pub use self::views::{AttentionView, View, ViewPicker};

/// What fills the screen (the table is under every popup).
#[derive(Clone, Debug)]
pub enum Screen {
    Table,
    Detail {
        id: String,
    },
    Help(HelpView),
    NewKey(NewKeyForm),
    Reveal(Reveal),
    ConfirmRevoke(RevokeDialog),
    /// Choose the grace period and press Enter to rotate.
    ConfirmRotate(RotateDialog),
    /// Type the key's name to delete it; in production namespaces the namespace name
    /// instead.
    ConfirmDelete(DeleteDialog),
    /// Edit a key's name, expiry and metadata.
    EditKey(EditForm),
    /// Preview and confirm one change to the marked keys.
    ConfirmBulk(BulkDialog),
    /// Choose an attention view.
    Views(ViewPicker),
    /// Choose another namespace of this Redis to switch to.
    Namespaces(NamespacePicker),
}

/// What a popup's key handler and drawing may read of the app.
pub struct Cx<'a> {
    pub keymap: &'a Keymap,
    pub server: &'a ServerInfo,
    pub conn: ConnState,
    pub now: UnixMs,
    pub area: Rect,
}

impl Cx<'_> {
    /// The status-line complaint when Redis is not live (`what` is refused), else `None`.
    pub fn refusal(&self, what: &str) -> Option<Message> {
        let state = match self.conn {
            ConnState::Live => return None,
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
            ConnState::Refused => {
                return Some(Message {
                    text: format!(
                        "{what} refused: the namespace uses a layout this keytui does not know"
                    ),
                    error: true,
                });
            }
        };
        Some(Message {
            text: format!("{what} refused: Redis is {state}; try again when the header says live"),
            error: true,
        })
    }
}

/// What happens to the open screen after a key.
#[derive(Debug, Default)]
pub enum Next {
    /// It stays open.
    #[default]
    Stay,
    /// It closes: back to the table.
    Close,
    /// Another screen takes its place.
    Open(Box<Screen>),
}

/// A key handler's answer, applied by `update`.
#[derive(Debug, Default)]
pub struct Reply {
    pub next: Next,
    /// Work for the sync task, the clipboard or the filter worker.
    pub outs: Vec<Out>,
    /// A new status line.
    pub message: Option<Message>,
    /// A table action to run for the key shown (the detail view passes these on).
    pub table: Option<Action>,
    /// The attention view to show from now on (`Some(None)`: none, every key).
    pub view: Option<Option<AttentionView>>,
}

impl Reply {
    pub fn stay() -> Self {
        Reply::default()
    }

    pub fn close() -> Self {
        Reply {
            next: Next::Close,
            ..Reply::default()
        }
    }

    pub fn open(screen: Screen) -> Self {
        Reply {
            next: Next::Open(Box::new(screen)),
            ..Reply::default()
        }
    }

    pub fn say(mut self, text: impl Into<String>) -> Self {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
        self
    }

    pub fn complain(mut self, text: impl Into<String>) -> Self {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
        self
    }

    pub fn out(mut self, out: Out) -> Self {
        self.outs.push(out);
        self
    }

    /// Shows this attention view (`None`: every key) from now on.
    pub fn view(mut self, view: Option<AttentionView>) -> Self {
        self.view = Some(view);
        self
    }

    /// A refusal message (see [`Cx::refusal`]), leaving the screen as it is.
    pub fn refused(message: Message) -> Self {
        Reply {
            message: Some(message),
            ..Reply::default()
        }
    }
}

impl Screen {
    /// Whether typing goes into a text field here (the table: see `State::filter`).
    pub fn text_field_focused(&self) -> bool {
        match self {
            Screen::NewKey(_)
            | Screen::ConfirmDelete(_)
            | Screen::ConfirmRotate(_)
            | Screen::EditKey(_)
            | Screen::Views(_)
            | Screen::Namespaces(_) => true,
            Screen::ConfirmBulk(d) => d.focus != BulkFocus::Keys,
            Screen::ConfirmRevoke(d) => d.focus != RevokeFocus::Keys,
            Screen::Table | Screen::Detail { .. } | Screen::Help(_) | Screen::Reveal(_) => false,
        }
    }

    /// The id of the key a dialog is about, if it is one.
    pub fn dialog_key(&self) -> Option<&str> {
        match self {
            Screen::ConfirmRevoke(d) => Some(&d.id),
            Screen::ConfirmRotate(d) => Some(&d.id),
            Screen::ConfirmDelete(d) => Some(&d.id),
            Screen::EditKey(f) => Some(&f.id),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "rebind_tests.rs"]
mod rebind_tests;
