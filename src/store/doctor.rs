//! `doctor`: finding what a crash or another program left inconsistent (dangling index
//! entries, unindexed records, malformed records, plaintext left over) and repairing it.

use std::collections::{HashMap, HashSet};

use redis::AsyncCommands;

use crate::error::{Error, Result};
use crate::layout::Namespace;
use crate::record::{KeyRecord, RecordError, SecretAlg, now_ms, verify_field};

use super::*;

/// What `doctor` found (and repaired, when asked).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DoctorReport {
    pub indexed: usize,
    pub records_scanned: usize,
    pub meta_problem: Option<String>,
    /// Index entries whose record is gone.
    pub dangling: Vec<String>,
    /// Records that no index entry points to (invisible to `list`).
    pub orphans: Vec<String>,
    /// Records that cannot be read, as one line each (`malformed record "X": ...`), in the
    /// index or not; their data is never changed by repair.
    pub malformed: Vec<String>,
    /// The same records, with what is wrong with each and where they are.
    pub malformed_records: Vec<MalformedRecord>,
    /// Index entries young enough to be a create still in flight; left alone.
    pub in_flight: Vec<String>,
    /// Records holding a plaintext secret in a namespace that is not `plain` (a writer
    /// raced a migration): run `keytui migrate` again.
    pub plaintext: Vec<String>,
    /// Everything repair changed: index entries removed or added, records deleted.
    pub repaired: usize,
    /// Malformed records repair moved out of the index (their data kept).
    pub unindexed: usize,
    /// Malformed records repair deleted ([`Repair::DeleteMalformed`] only).
    pub deleted: usize,
    /// Readable records whose display fields are damaged (`damaged record "X": ...`): they
    /// list and verify; repair leaves them alone (nobody knows the intended values).
    pub damaged: Vec<String>,
    /// Malformed records repair left in the index because they could still verify (status
    /// `active`, a known `secret_alg`, a `secret`, a readable or no `expires_at`): moving
    /// them out would hide a usable key from list and bulk revoke. Revoke them by id.
    pub kept_verifiable: Vec<String>,
    /// The namespace's layout version (`None`: no meta).
    pub layout: Option<u32>,
    /// Layout 2: records whose `verify` field is missing or differs from what their fields
    /// give (a writer changed a field without rewriting it): apps reading `verify` see an
    /// old state of the key. Repair rewrites it from the fields.
    pub stale_verify: Vec<String>,
    /// Layout 2: active records (their `status` is `active`) that hold `secret_alg` and
    /// `secret` but a tab in one of the parts of `verify`, which is therefore `malformed`:
    /// apps reading it never accept the key (a reader of the fields might). Fix them by
    /// hand, or delete them.
    pub unverifiable: Vec<String>,
}

/// A record doctor cannot read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MalformedRecord {
    pub id: String,
    /// What is wrong with it, in words: "the record key is a list, not a hash".
    pub problem: String,
    /// Whether the index lists it (after repair: still lists it).
    pub indexed: bool,
    /// Whether repair deleted it.
    pub deleted: bool,
    /// Whether it could still verify (so repair kept it in the index).
    pub verifiable: bool,
}

/// What `doctor` may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Only report.
    No,
    /// Remove dangling index entries, index orphans, move malformed records out of the
    /// index (keeping their data).
    Index,
    /// As [`Repair::Index`], and delete the record keys of these malformed records (data
    /// keytui may not have written: only on the user's explicit request).
    DeleteMalformed(HashSet<String>),
}

impl DoctorReport {
    pub fn is_healthy(&self) -> bool {
        self.meta_problem.is_none()
            && self.dangling.is_empty()
            && self.orphans.is_empty()
            && self.malformed.is_empty()
            && self.plaintext.is_empty()
            && self.damaged.is_empty()
            && self.stale_verify.is_empty()
            && self.unverifiable.is_empty()
    }

    /// Malformed records repair left in place (moved out of the index or not).
    pub fn malformed_left(&self) -> usize {
        self.malformed_records.iter().filter(|m| !m.deleted).count()
    }

    pub(super) fn note_damaged(&mut self, records: &[KeyRecord]) {
        for r in records.iter().filter(|r| !r.damage.is_empty()) {
            self.damaged.push(format!(
                "damaged record {:?}: {}",
                r.id,
                r.damage.join("; ")
            ));
        }
    }

    pub(super) fn add_malformed(&mut self, e: RecordError, indexed: bool) {
        self.malformed.push(e.to_string());
        self.malformed_records.push(MalformedRecord {
            id: e.id,
            problem: e.reason,
            indexed,
            deleted: false,
            verifiable: false,
        });
    }
}

/// The fields a verifier reads to accept a key.
const VERIFY_FIELDS: [&str; 4] = [
    crate::layout::field::STATUS,
    crate::layout::field::SECRET_ALG,
    crate::layout::field::SECRET,
    crate::layout::field::EXPIRES_AT,
];

/// Whether an `HMGET ... VERIFY_FIELDS` reply is a record a verifier could still accept:
/// status `active`, a known `secret_alg`, a `secret`, and no or a readable `expires_at`.
fn could_verify(v: &redis::Value) -> bool {
    use redis::Value;
    let Value::Array(f) = v else { return false };
    let text = |i: usize| match f.get(i) {
        Some(Value::BulkString(b)) if !b.is_empty() => std::str::from_utf8(b).ok(),
        _ => None,
    };
    let expiry_ok = match f.get(3) {
        Some(Value::Nil) | None => true,
        Some(Value::BulkString(b)) if b.is_empty() => true,
        _ => text(3).is_some_and(|e| e.parse::<i64>().is_ok()),
    };
    text(0) == Some("active")
        && text(1).and_then(SecretAlg::parse).is_some()
        && text(2).is_some()
        && expiry_ok
}

/// The fields a `verify` value is made of, and `verify` itself, in the order
/// [`verify_field::Sources`] takes them.
const VERIFY_SOURCES: [&str; 7] = [
    crate::layout::field::STATUS,
    crate::layout::field::SECRET_ALG,
    crate::layout::field::SECRET,
    crate::layout::field::EXPIRES_AT,
    crate::layout::field::TOKEN_CHECKSUM,
    crate::layout::field::NAME,
    crate::layout::field::VERIFY,
];

impl Store {
    /// The ids among `ids` whose `verify` field is not what their fields give (missing
    /// where it should be, present where it should not, or different), and the active ones
    /// whose fields give `malformed` although `secret_alg` and `secret` are there (a tab in
    /// a part). Record keys of another type or gone meanwhile are not counted
    /// (doctor names those otherwise).
    pub(super) async fn check_verify_fields(
        &self,
        ids: &[String],
    ) -> Result<(Vec<String>, Vec<String>)> {
        let replies = self
            .query_each(ids, |key| {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(key).arg(&VERIFY_SOURCES[..]);
                cmd
            })
            .await?;
        let (mut stale, mut unverifiable) = (Vec::new(), Vec::new());
        for (id, reply) in ids.iter().zip(&replies) {
            let redis::Value::Array(f) = reply else {
                continue;
            };
            let get = |i: usize| match f.get(i) {
                Some(redis::Value::BulkString(b)) => Some(b.as_slice()),
                _ => None,
            };
            let sources = verify_field::Sources {
                status: get(0),
                secret_alg: get(1),
                secret: get(2),
                expires_at: get(3),
                token_checksum: get(4),
                name: get(5),
            };
            if f.iter().all(|v| matches!(v, redis::Value::Nil)) {
                continue; // deleted since it was listed
            }
            let expected = verify_field::expected(sources);
            if expected.as_deref() != get(6) {
                stale.push(id.clone());
            }
            let active_and_whole = sources.status == Some(&b"active"[..])
                && sources.secret_alg.is_some()
                && sources.secret.is_some();
            if active_and_whole && expected.as_deref() == Some(verify_field::MALFORMED) {
                unverifiable.push(id.clone());
            }
        }
        Ok((stale, unverifiable))
    }
}

/// The record keys on one master, a `SCAN` page at a time (`doctor` collects the ids,
/// `upgrade` works page by page).
pub(super) struct RecordScan {
    node: crate::conn::Conn,
    pattern: String,
    /// `None` once the scan came back to cursor 0.
    cursor: Option<u64>,
}

/// One page of a [`RecordScan`].
pub(super) struct RecordPage {
    pub ids: Vec<String>,
    /// Keys whose name is not UTF-8: no id anyone can present or list names them, so they
    /// are skipped.
    pub unnamed: usize,
}

impl RecordScan {
    /// Starts a scan of the namespace's record keys on the master `url`, connected with
    /// `store`'s settings.
    pub(super) async fn open(store: &Store, url: &str) -> Result<Self> {
        Ok(Self {
            node: store.connect_node(url).await?,
            pattern: store.ns.record_pattern(),
            cursor: Some(0),
        })
    }

    /// The next page; `None` when the scan is over.
    pub(super) async fn next_page(&mut self, ns: &Namespace) -> Result<Option<RecordPage>> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&self.pattern)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut self.node)
            .await?;
        self.cursor = (next != 0).then_some(next);
        let names: Vec<&str> = keys
            .iter()
            .filter_map(|k| std::str::from_utf8(k).ok())
            .collect();
        Ok(Some(RecordPage {
            unnamed: keys.len() - names.len(),
            ids: names
                .into_iter()
                .filter_map(|k| ns.id_from_record_key(k))
                .map(str::to_owned)
                .collect(),
        }))
    }
}

/// The ids of the record keys on one master (`url`), through `store`'s settings.
pub(super) async fn scan_record_ids(store: &Store, url: &str) -> Result<Vec<String>> {
    let mut scan = RecordScan::open(store, url).await?;
    let mut ids = Vec::new();
    while let Some(page) = scan.next_page(&store.ns).await? {
        ids.extend(page.ids);
    }
    Ok(ids)
}

impl Store {
    /// Checks the namespace: meta, dangling index entries, orphan and malformed records.
    /// With `repair`, removes dangling entries, indexes orphans and moves malformed records
    /// out of the index (their data is kept); see [`Store::doctor_with`].
    pub async fn doctor(&self, repair: bool, scan_urls: &[String]) -> Result<DoctorReport> {
        let how = if repair { Repair::Index } else { Repair::No };
        self.doctor_with(&how, scan_urls).await
    }

    /// Checks the namespace and repairs what `how` allows. Every malformed record (a hash
    /// that cannot be read, or a record key of another type) is named with what is wrong
    /// with it. [`Repair::Index`] moves the indexed ones out of the index, so that listings
    /// stop tripping over them, and never changes or deletes their data;
    /// [`Repair::DeleteMalformed`] also deletes the record keys of the ids it is given (that
    /// are still malformed when looked at again).
    pub async fn doctor_with(&self, how: &Repair, scan_urls: &[String]) -> Result<DoctorReport> {
        let repair = !matches!(how, Repair::No);
        let mut report = DoctorReport::default();
        let walk_started = std::time::Instant::now();
        let meta = self.meta().await;
        let plain_namespace = matches!(&meta, Ok(Some(m)) if m.mode == Mode::Plain);
        if let Ok(Some(m)) = &meta {
            report.layout = Some(m.layout);
        }
        match meta {
            Ok(Some(_)) => {}
            Ok(None) => {
                if self.count().await? > 0 {
                    report.meta_problem =
                        Some("keys exist but the namespace meta is missing".into());
                }
            }
            Err(e) => report.meta_problem = Some(e.to_string()),
        }
        // Index -> records.
        let now = now_ms();
        let mut c = self.conn.clone();
        let mut offset = 0;
        let mut indexed: HashSet<String> = HashSet::new();
        loop {
            let scored: Vec<(String, f64)> = c
                .zrevrange_withscores(self.ns.index_key(), offset, offset + BATCH as isize - 1)
                .await?;
            if scored.is_empty() {
                break;
            }
            offset += scored.len() as isize;
            let ids: Vec<String> = scored.iter().map(|(id, _)| id.clone()).collect();
            let page = self.fetch(&ids).await?;
            if !plain_namespace {
                report.plaintext.extend(
                    page.records
                        .iter()
                        .filter(|r| r.secret_alg == SecretAlg::Plain)
                        .map(|r| r.id.clone()),
                );
            }
            let scores: HashMap<&str, f64> = scored.iter().map(|(i, s)| (i.as_str(), *s)).collect();
            for id in page.dangling {
                let young = scores
                    .get(id.as_str())
                    .is_some_and(|s| (*s as i64) > now - IN_FLIGHT_GRACE_MS);
                if young {
                    report.in_flight.push(id);
                } else {
                    report.dangling.push(id);
                }
            }
            for e in page.malformed {
                report.add_malformed(e, true);
            }
            report.note_damaged(&page.records);
            indexed.extend(ids);
        }
        report.indexed = indexed.len();
        // Records -> index, by scanning every master.
        let mut unindexed = Vec::new();
        for url in scan_urls {
            let ids = scan_record_ids(self, url).await?;
            report.records_scanned += ids.len();
            unindexed.extend(ids.into_iter().filter(|id| !indexed.contains(id)));
        }
        if report.layout.is_some_and(|l| l >= 2) {
            let all: Vec<String> = indexed.iter().chain(&unindexed).cloned().collect();
            (report.stale_verify, report.unverifiable) = self.check_verify_fields(&all).await?;
        }
        // Records found by the scan may have been created (index first) after we read the
        // index: look again before calling them orphans. Those that cannot be read are
        // malformed, never indexed.
        let mut orphans: Vec<KeyRecord> = Vec::new();
        for chunk in unindexed.chunks(BATCH) {
            let mut still = Vec::new();
            for id in chunk {
                let score: Option<f64> = c.zscore(self.ns.index_key(), id).await?;
                if score.is_none() {
                    still.push(id.clone());
                }
            }
            let page = self.fetch(&still).await?;
            for e in page.malformed {
                report.add_malformed(e, false);
            }
            report.note_damaged(&page.records);
            orphans.extend(page.records);
        }
        report.orphans = orphans.iter().map(|r| r.id.clone()).collect();
        if repair {
            // An index entry whose record is missing may belong to a write in flight (an
            // import keeps old creation times as scores): look again a moment later.
            let settle = std::time::Duration::from_secs(2);
            if !report.dangling.is_empty() && walk_started.elapsed() < settle {
                tokio::time::sleep(settle - walk_started.elapsed()).await;
            }
            for id in &report.dangling {
                // Only if the record is still missing now.
                let exists: bool = c.exists(self.ns.record_key(id)).await?;
                if !exists {
                    let n: i64 = c.zrem(self.ns.index_key(), id).await?;
                    report.repaired += n as usize;
                }
            }
            for chunk in report.stale_verify.chunks(BATCH) {
                let done: Vec<i64> = self.eval_each(&REWRITE_VERIFY_LUA, chunk, &[]).await?;
                report.repaired += done.iter().filter(|&&d| d != 0).count();
            }
            for r in &orphans {
                let n: i64 = redis::cmd("ZADD")
                    .arg(self.ns.index_key())
                    .arg("NX")
                    .arg(r.created_at)
                    .arg(&r.id)
                    .query_async(&mut c)
                    .await?;
                report.repaired += n as usize;
            }
            self.repair_malformed(how, &mut report).await?;
            if report.repaired > 0 {
                self.event("repair", "", Some(&report.repaired.to_string()))
                    .await?;
            }
        }
        Ok(report)
    }

    /// Moves the malformed records of `report` out of the index and, with
    /// [`Repair::DeleteMalformed`], deletes the chosen ones; each only if it is still
    /// malformed when read again now.
    pub(super) async fn repair_malformed(
        &self,
        how: &Repair,
        report: &mut DoctorReport,
    ) -> Result<()> {
        let ids: Vec<String> = report
            .malformed_records
            .iter()
            .map(|m| m.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let still: HashSet<String> = self
            .fetch(&ids)
            .await?
            .malformed
            .into_iter()
            .map(|e| e.id)
            .collect();
        // Which of them could still verify: never moved out of the index.
        let verifiable: HashSet<String> = {
            let still_ids: Vec<String> =
                ids.iter().filter(|i| still.contains(*i)).cloned().collect();
            let replies = self
                .query_each(&still_ids, |key| {
                    let mut cmd = redis::cmd("HMGET");
                    cmd.arg(key).arg(&VERIFY_FIELDS[..]);
                    cmd
                })
                .await?;
            still_ids
                .into_iter()
                .zip(replies)
                .filter(|(_, v)| could_verify(v))
                .map(|(id, _)| id)
                .collect()
        };
        let mut c = self.conn.clone();
        for m in &mut report.malformed_records {
            if !still.contains(&m.id) {
                continue;
            }
            if verifiable.contains(&m.id) {
                m.verifiable = true;
                if m.indexed {
                    report.kept_verifiable.push(m.id.clone());
                }
            }
            if m.indexed && !m.verifiable {
                let n: i64 = c.zrem(self.ns.index_key(), &m.id).await?;
                if n == 1 {
                    m.indexed = false;
                    report.unindexed += 1;
                    report.repaired += 1;
                }
            }
            if let Repair::DeleteMalformed(chosen) = how
                && chosen.contains(&m.id)
            {
                let n: i64 = c.del(self.ns.record_key(&m.id)).await?;
                if n == 1 {
                    m.deleted = true;
                    report.deleted += 1;
                    report.repaired += 1;
                }
            }
        }
        Ok(())
    }

    /// The URLs of every master to scan: the server itself, or each cluster master.
    pub async fn master_urls(&self, base_url: &str) -> Result<Vec<String>> {
        if !self.conn.is_cluster() {
            return Ok(vec![base_url.to_owned()]);
        }
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut self.conn.clone())
            .await?;
        let base = url::Url::parse(base_url).map_err(|_| Error::Url {
            url: None,
            reason: None,
        })?;
        master_urls_of(&nodes, &base)
    }
}

/// The URLs of the masters of a `CLUSTER NODES` answer, each `base` with the master's
/// host and port; an error when a master is marked failing or has an address that makes
/// no URL (scanning the others would miss its keys).
fn master_urls_of(nodes: &str, base: &url::Url) -> Result<Vec<String>> {
    let mut urls = Vec::new();
    for line in nodes.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(flags) = parts.get(2) else {
            continue;
        };
        // Whole flags: `nofailover` is not `fail`.
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master") {
            continue;
        }
        // A master that cannot be reached would leave its keys unread: a scan of the
        // others would report a wrong picture (doctor) or miss records (upgrade).
        if let Some(bad) = flags
            .iter()
            .find(|f| matches!(**f, "fail" | "fail?" | "noaddr"))
        {
            return Err(Error::Redis(format!(
                "cluster master {} is marked {bad}: every master must be up to scan the namespace",
                parts[1]
            )));
        }
        let addr = parts[1].split('@').next().unwrap_or_default();
        let host_port = addr.rsplit_once(':');
        let url = host_port.and_then(|(host, port)| {
            let mut u = base.clone();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let set = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => u.set_ip_host(ip).is_ok(),
                Err(_) => u.set_host(Some(host)).is_ok(),
            };
            (set && u.set_port(port.parse().ok()).is_ok()).then(|| u.to_string())
        });
        match url {
            Some(u) => urls.push(u),
            None => {
                return Err(Error::Redis(format!(
                    "cannot make a URL of cluster master address {addr:?}"
                )));
            }
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(nodes: &str) -> Result<Vec<String>> {
        master_urls_of(nodes, &url::Url::parse("redis://u:p@seed:7000").unwrap())
    }

    #[test]
    fn every_master_and_only_masters() {
        let nodes = "\
a 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b 10.0.0.2:7001@17001 master,nofailover - 0 0 2 connected 5461-10922
c [::1]:7002@17002 master - 0 0 3 connected 10923-16383
d host.example:7003@17003 slave a 0 0 1 connected
";
        assert_eq!(
            urls(nodes).unwrap(),
            [
                "redis://u:p@10.0.0.1:7000",
                "redis://u:p@10.0.0.2:7001",
                "redis://u:p@[::1]:7002"
            ]
        );
    }

    #[test]
    fn a_failing_master_is_an_error_not_a_gap() {
        for flag in ["fail", "fail?", "noaddr"] {
            let nodes = format!("a 10.0.0.1:7000@17000 master,{flag} - 0 0 1 connected 0-16383\n");
            assert!(urls(&nodes).is_err(), "{flag}");
        }
        assert!(urls("a :7000@17000 master - 0 0 1 connected\n").is_err());
    }
}
