//! `keytui upgrade`: brings a namespace of layout 1 to layout 2 (docs/redis-layout.md,
//! "Upgrading from layout 1"): every record gets its `verify` field, then the meta hash
//! says layout 2, then every `verify` field is written once more for records changed
//! meanwhile by writers that do not know layout 2.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout::LAYOUT_VERSION;

use super::doctor::scan_record_ids;
use super::*;

/// What an upgrade did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The layout version before.
    pub from: u32,
    /// The layout version after.
    pub to: u32,
    /// Record keys whose `verify` field was written (each counted once).
    pub records: usize,
    /// Keys under the record pattern that are not hashes (see doctor), or were deleted
    /// while the upgrade ran: left alone.
    pub skipped: usize,
}

impl Store {
    /// Upgrades the namespace to [`LAYOUT_VERSION`]; `scan_urls` are the masters to scan
    /// for record keys ([`Store::master_urls`]). A namespace of that layout already is
    /// left alone (`from == to`). Asking first is the caller's part.
    pub async fn upgrade(&self, scan_urls: &[String]) -> Result<UpgradeReport> {
        let Some(meta) = self.meta().await? else {
            return Err(Error::Setup(format!(
                "namespace {} does not exist: nothing to upgrade (a new namespace is of layout {LAYOUT_VERSION})",
                self.ns
            )));
        };
        let mut report = UpgradeReport {
            from: meta.layout,
            to: meta.layout,
            ..UpgradeReport::default()
        };
        if meta.layout >= LAYOUT_VERSION {
            return Ok(report);
        }
        self.rewrite_verify_fields(scan_urls, &mut report).await?;
        let moved: i64 = redis::Script::new(SET_LAYOUT)
            .key(self.ns.meta_key())
            .arg(meta.layout)
            .arg(LAYOUT_VERSION)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if moved == 1 {
            self.event(
                "upgrade",
                "",
                Some(&format!("layout {} -> {LAYOUT_VERSION}", meta.layout)),
            )
            .await?;
        } else {
            let now = self.meta().await?.map(|m| m.layout);
            if now != Some(LAYOUT_VERSION) {
                return Err(Error::Setup(format!(
                    "the layout of namespace {} changed during the upgrade ({} -> {}): run it again",
                    self.ns,
                    meta.layout,
                    now.map_or("none".into(), |l| l.to_string())
                )));
            }
        }
        report.to = LAYOUT_VERSION;
        // Records written meanwhile by a writer of layout 1 (it changed fields only).
        let mut second = UpgradeReport::default();
        self.rewrite_verify_fields(scan_urls, &mut second).await?;
        report.records = report.records.max(second.records);
        report.skipped = report.skipped.max(second.skipped);
        Ok(report)
    }

    /// Rewrites the `verify` field of every record key on `scan_urls`, a batch at a time.
    pub(super) async fn rewrite_verify_fields(
        &self,
        scan_urls: &[String],
        report: &mut UpgradeReport,
    ) -> Result<()> {
        for url in scan_urls {
            let ids = scan_record_ids(url, &self.ns).await?;
            for chunk in ids.chunks(BATCH) {
                let done: Vec<i64> = self.eval_each(&REWRITE_VERIFY_LUA, chunk, &[]).await?;
                report.records += done.iter().filter(|&&d| d == 1).count();
                report.skipped += done.iter().filter(|&&d| d != 1).count();
            }
        }
        Ok(())
    }
}
