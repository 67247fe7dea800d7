//! The flags that choose and order keys: the attention filters (`--unused-for`,
//! `--expiring-within`, `--never-used`, `--created-by`) shared by `list` and
//! `revoke/delete --all-matching`, and `list --sort`. They fill a [`KeyFilter`] and a
//! [`SortKey`]; the matching and sorting themselves live in [`crate::store`].

use clap::Args;

use crate::error::{Error, Result};
use crate::store::{KeyFilter, SortKey};

/// Filters for keys that need attention; every one given must hold.
#[derive(Args, Debug, Clone, Default)]
pub struct AttentionArgs {
    /// Only keys not used for at least this long, e.g. 90d (a key never used counts from
    /// its creation).
    #[arg(long, value_name = "DURATION")]
    pub unused_for: Option<String>,
    /// Only keys that are not expired yet but expire within this long, e.g. 7d.
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<String>,
    /// Only keys never used (no recorded use).
    #[arg(long)]
    pub never_used: bool,
    /// Only keys created by NAME (`created_by` equal to NAME, or NAME@host).
    #[arg(long, value_name = "NAME")]
    pub created_by: Option<String>,
}

impl AttentionArgs {
    pub fn is_given(&self) -> bool {
        self.unused_for.is_some()
            || self.expiring_within.is_some()
            || self.never_used
            || self.created_by.is_some()
    }

    /// Adds these conditions to `filter`.
    pub fn apply(&self, filter: &mut KeyFilter) -> Result<()> {
        let ms = |s: &str| -> Result<i64> {
            let d = super::args::parse_duration(s)?;
            Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        };
        filter.unused_for_ms = self.unused_for.as_deref().map(ms).transpose()?;
        filter.expiring_within_ms = self.expiring_within.as_deref().map(ms).transpose()?;
        filter.never_used = self.never_used;
        if let Some(who) = &self.created_by {
            if who.is_empty() {
                return Err(Error::Input("--created-by needs a name".into()));
            }
            filter.created_by = Some(who.clone());
        }
        Ok(())
    }
}

/// `--sort` and its direction.
#[derive(Args, Debug, Clone, Default)]
pub struct SortArgs {
    /// Order of the keys [default: created, newest first]. Ascending by default, except
    /// created and last-used (newest first). Keys without an expiry or a use come last.
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
    /// Descending order.
    #[arg(long, conflicts_with = "asc")]
    pub desc: bool,
    /// Ascending order.
    #[arg(long)]
    pub asc: bool,
}

impl SortArgs {
    pub fn is_given(&self) -> bool {
        self.sort.is_some() || self.desc || self.asc
    }

    /// The key and whether the order is descending.
    pub fn order(&self) -> (SortKey, bool) {
        let key = self.sort.unwrap_or(SortKey::Created);
        let descending = if self.desc {
            true
        } else if self.asc {
            false
        } else {
            key.descending_by_default()
        };
        (key, descending)
    }
}
