//! `edit`: changing a key's name, metadata or expiry after creation.

use std::io::Write;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::prompt::confirm_production;
use crate::error::{Error, Result};
use crate::record::now_ms;
use crate::store::{KeyEdit, Store};

/// `keytui edit`. Shortening the expiry of a key in a production namespace asks first
/// (or needs `--yes`); other edits do not.
pub(crate) async fn edit(store: &Store, a: &EditArgs) -> Result<u8> {
    let expires_at = match (&a.expires, a.no_expiry) {
        (Some(_), true) => {
            return Err(Error::Input(
                "give either --expires or --no-expiry, not both".into(),
            ));
        }
        (Some(w), false) => Some(Some(parse_expiry(w)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let change = KeyEdit {
        name: a.name.clone(),
        set_meta: parse_meta(&a.meta)?,
        unset_meta: a.unset_meta.clone(),
        expires_at,
    };
    change.validate(now_ms())?;
    if let Some(new) = change.expires_at {
        let old = store.get(&a.id).await?.expires_at;
        let shortens = match (old, new) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(o), Some(n)) => n < o,
        };
        if shortens {
            confirm_production(store, "shorten the expiry of", &a.id, a.yes).await?;
        }
    }
    let edited = store.edit(&a.id, &change).await?;
    let mut out = std::io::stdout().lock();
    let id = crate::sanitize::line(&a.id);
    if a.json {
        let v = serde_json::json!({
            "id": a.id,
            "changed": !edited.changes.is_empty(),
            "changes": edited.changes,
            "record": edited.record.to_json(now_ms()),
        });
        writeln!(out, "{v}").map_err(io)?;
    } else if edited.changes.is_empty() {
        writeln!(out, "{id} already has these values").map_err(io)?;
    } else {
        writeln!(out, "edited {id}").map_err(io)?;
        for c in &edited.changes {
            writeln!(out, "  {c}").map_err(io)?;
        }
    }
    Ok(0)
}
