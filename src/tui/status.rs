//! What the app knows of its server and says on the status line: plain data that the
//! state, the screens and the widgets share. Depends on nothing of the UI.

use crate::store::Mode;

/// What the header says about the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The URL with its password redacted.
    pub url: String,
    pub namespace: String,
    pub cluster: bool,
    /// `None` while the namespace has no meta hash yet.
    pub mode: Option<Mode>,
    /// Marked production (`keytui init --production`): a red banner, and revoke and delete
    /// ask for the namespace name.
    pub production: bool,
}

/// A line in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}
