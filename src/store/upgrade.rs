//! `keytui upgrade`: brings a namespace of layout 1 to layout 2 (docs/redis-layout.md,
//! "Upgrading from layout 1"): every record gets its `verify` field, then the meta hash
//! says layout 2, then every `verify` field is written once more, for records changed
//! meanwhile by writers that do not know layout 2. On a namespace of layout 2 already,
//! only that last pass runs: it finishes an upgrade interrupted after the layout changed.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout::LAYOUT_VERSION;

use super::*;

/// What an upgrade did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The layout version before.
    pub from: u32,
    /// The layout version after.
    pub to: u32,
    /// Record keys whose `verify` field the last pass wrote.
    pub records: usize,
    /// Of those, records that hold `status`, `secret_alg` and `secret` but a tab in one of
    /// the parts, so their `verify` field is `malformed`: apps reading it never accept
    /// them (doctor names them).
    pub unverifiable: usize,
    /// Keys under the record pattern that are not hashes, or were deleted while the pass
    /// ran: left alone.
    pub skipped: usize,
}

impl Store {
    /// Upgrades the namespace to [`LAYOUT_VERSION`]; `scan_urls` are the masters to scan
    /// for record keys ([`Store::master_urls`]); `progress` gets the record keys done so
    /// far and an estimate of the total. Asking first is the caller's part.
    pub async fn upgrade(
        &self,
        scan_urls: &[String],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<UpgradeReport> {
        let Some(meta) = self.meta().await? else {
            return Err(Error::Setup(format!(
                "namespace {} does not exist: nothing to upgrade (a new namespace is of layout {LAYOUT_VERSION})",
                self.ns
            )));
        };
        let passes = if meta.layout < LAYOUT_VERSION { 2 } else { 1 };
        let total = self.count().await?.saturating_mul(passes);
        let mut done = 0;
        if meta.layout < LAYOUT_VERSION {
            let mut first = UpgradeReport::default();
            self.rewrite_verify_fields(scan_urls, &mut first, |n| progress(done + n, total))
                .await?;
            done = first.records + first.skipped;
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
                        "the layout of namespace {} changed during the upgrade (it is {} now): nothing else was changed; run it again",
                        self.ns,
                        now.map_or("gone".into(), |l| l.to_string())
                    )));
                }
            }
        }
        // Records written meanwhile by a writer of layout 1 (it changed fields only), and
        // the pass a rerun after an interruption still owes.
        let mut report = UpgradeReport {
            from: meta.layout,
            to: LAYOUT_VERSION,
            ..UpgradeReport::default()
        };
        self.rewrite_verify_fields(scan_urls, &mut report, |n| progress(done + n, total))
            .await?;
        Ok(report)
    }

    /// Rewrites the `verify` field of every record key on `scan_urls`, a `SCAN` page at a
    /// time (nothing is held but the page); `progress` gets the keys done so far. A key
    /// the scan returns twice (it may, while Redis resizes its table) is rewritten and
    /// counted twice.
    async fn rewrite_verify_fields(
        &self,
        scan_urls: &[String],
        report: &mut UpgradeReport,
        mut progress: impl FnMut(usize),
    ) -> Result<()> {
        for url in scan_urls {
            let opts = crate::conn::ConnectOptions {
                cluster: Some(false),
                ..crate::conn::ConnectOptions::new(url)
            };
            let mut node = crate::conn::connect(&opts).await?;
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(self.ns.record_pattern())
                    .arg("COUNT")
                    .arg(BATCH)
                    .query_async(&mut node)
                    .await?;
                let ids: Vec<String> = keys
                    .iter()
                    .filter_map(|k| self.ns.id_from_record_key(k))
                    .map(str::to_owned)
                    .collect();
                let done: Vec<i64> = self.eval_each(&REWRITE_VERIFY_LUA, &ids, &[]).await?;
                for d in done {
                    match d {
                        0 => report.skipped += 1,
                        2 => {
                            report.records += 1;
                            report.unverifiable += 1;
                        }
                        _ => report.records += 1,
                    }
                }
                progress(report.records + report.skipped);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(())
    }
}
