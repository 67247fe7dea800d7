//! `keytui upgrade`: brings a namespace of layout 1 to layout 2 (docs/redis-layout.md,
//! "Upgrading from layout 1"): every record gets its `verify` field, then the meta hash
//! says layout 2, then every `verify` field is written once more, for records changed
//! meanwhile by writers that do not know layout 2. On a namespace of layout 2 already,
//! only that last pass runs: it finishes an upgrade interrupted after the layout changed.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout::LAYOUT_VERSION;

use super::doctor::RecordScan;
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
    /// Of those, active records that hold `secret_alg` and `secret` but a tab in one of the
    /// parts, so their `verify` field is `malformed`: apps reading it never accept them
    /// (doctor names them; an upgrade from layout 1 refuses to switch while there are any).
    pub unverifiable: usize,
    /// Keys under the record pattern that are not hashes, were deleted while the pass ran,
    /// or have a name that is not UTF-8: left alone.
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
            self.check_before_the_switch(meta.layout).await?;
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

    /// Before the layout changes: every indexed record's `verify` field must be what its
    /// fields give, and no active record may hold a tab that keeps it out of the field.
    /// Whatever the scan missed (a master not scanned, a writer of layout 1 still at work)
    /// or apps would stop accepting is an error here, with the layout left as it was.
    async fn check_before_the_switch(&self, layout: u32) -> Result<()> {
        let mut c = self.conn.clone();
        let (mut stale, mut unverifiable) = (Vec::new(), Vec::new());
        let mut start = 0;
        loop {
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(self.ns.index_key())
                .arg(start)
                .arg(start + BATCH - 1)
                .query_async(&mut c)
                .await?;
            if ids.is_empty() {
                break;
            }
            start += ids.len();
            let (s, u) = self.check_verify_fields(&ids).await?;
            stale.extend(s);
            unverifiable.extend(u);
        }
        let some = |ids: &[String]| {
            let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
            format!(
                "{}{}",
                shown.join(", "),
                if ids.len() > 5 { ", ..." } else { "" }
            )
        };
        let still = format!("namespace {} stays of layout {layout}", self.ns);
        if !stale.is_empty() {
            return Err(Error::Conflict(format!(
                "{} indexed record(s) have no verify field in step with their fields after the scan ({}): a master was not scanned, or an older keytui is writing; {still}, run the upgrade again",
                stale.len(),
                some(&stale)
            )));
        }
        if !unverifiable.is_empty() {
            return Err(Error::Conflict(format!(
                "{} active key(s) hold a tab in secret_alg, secret, expires_at or token_checksum ({}): apps reading layout 2 would stop accepting them; fix or delete them first (keytui doctor names them); {still}",
                unverifiable.len(),
                some(&unverifiable)
            )));
        }
        Ok(())
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
            let mut scan = RecordScan::open(self, url).await?;
            while let Some(page) = scan.next_page(&self.ns).await? {
                report.skipped += page.unnamed;
                let done: Vec<i64> = self.eval_each(&REWRITE_VERIFY_LUA, &page.ids, &[]).await?;
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
            }
        }
        Ok(())
    }
}
