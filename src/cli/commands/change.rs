//! `revoke`, `restore` and `delete`: changing one key, or many with `--all-matching`
//! after a confirmation.

use std::io::Write;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::progress::Progress;
use crate::cli::prompt::*;

use crate::error::{Error, Result};
use crate::exit::EXIT_DECLINED;

use crate::store::Store;

pub(crate) async fn revoke(store: Store, a: RevokeArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    if let Some(filter) = a.bulk.filter()? {
        let Some(sel) = select_confirmed(&store, &filter, "revoke", a.yes).await? else {
            return Ok(EXIT_DECLINED);
        };
        let ids = &sel.ids;
        let bar = Progress::new(ids.len() as u64, "revoking");
        let outcome = store
            .revoke_many(ids, a.reason.as_deref(), |n| bar.set(n, 0))
            .await?;
        bar.finish();
        return report_bulk(&mut out, "revoked", &sel, &outcome, a.json);
    }
    let id = a.id.unwrap_or_default();
    crate::cli::prompt::confirm_production(&store, "revoke", &id, a.yes).await?;
    let change = store.revoke(&id, a.reason.as_deref()).await?;
    report_change(&mut out, "revoked", &id, change, a.json)
}

pub(crate) async fn restore(store: Store, a: IdArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let change = store.restore(&a.id).await?;
    report_change(&mut out, "restored", &a.id, change, a.json)
}

pub(crate) async fn delete(store: Store, a: DeleteArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    if let Some(filter) = a.bulk.filter()? {
        let Some(sel) = select_confirmed(&store, &filter, "delete", a.yes).await? else {
            return Ok(EXIT_DECLINED);
        };
        let bar = Progress::new(sel.ids.len() as u64, "deleting");
        let outcome = store.delete_many(&sel.ids, |n| bar.set(n, 0)).await?;
        bar.finish();
        return report_bulk(&mut out, "deleted", &sel, &outcome, a.json);
    }
    let id = a.id.unwrap_or_default();
    if !a.yes {
        return Err(Error::Unconfirmed(format!(
            "deleting {id} is permanent: add --yes to confirm"
        )));
    }
    crate::cli::prompt::confirm_production(&store, "delete", &id, a.yes).await?;
    store.delete(&id).await?;
    if a.json {
        writeln!(out, "{}", serde_json::json!({"id": id, "deleted": true})).map_err(io)?;
    } else {
        writeln!(out, "deleted {id}").map_err(io)?;
    }
    Ok(0)
}
