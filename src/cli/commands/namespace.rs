//! `init`, `doctor` and `migrate`: the namespace as a whole.

use std::io::Write;

use crate::cli::args::*;
use crate::cli::output::*;
use crate::cli::progress::Progress;
use crate::cli::prompt::*;
use crate::conn::ConnectOptions;
use crate::error::{Error, Result};
use crate::exit::EXIT_DECLINED;

use crate::store::{Mode, Repair, Store};

pub(crate) async fn init(mut store: Store, a: InitArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let mode = match a.mode {
        ModeArg::Hash => Mode::Hash,
        ModeArg::Sealed => Mode::Sealed,
        ModeArg::Plain => Mode::Plain,
    };
    if let Some(path) = &a.generate_master_key {
        // A new key only fits a new namespace: refuse before the key file is written, so a
        // refused init never leaves a key file that nothing uses.
        if store.meta().await?.is_some() {
            return Err(Error::Conflict(format!(
                "namespace {} exists already: --generate-master-key makes the key of a new \
                 namespace only ({} was not written)",
                store.namespace(),
                path.display()
            )));
        }
        let key = crate::seal::MasterKey::generate()?;
        key.write_new_file(path)?;
        eprintln!(
            "keytui: new master key written to {} (mode 0600)",
            path.display()
        );
        store = store.with_master_key(Some(key));
    }
    let meta = store.init(mode, a.production).await?;
    if a.json {
        let v = serde_json::json!({
            "namespace": store.namespace().as_str(),
            "mode": meta.mode.as_str(),
            "secret_alg": meta.secret_alg.as_str(),
            "production": meta.production,
            "layout": meta.layout,
        });
        writeln!(out, "{v}").map_err(io)?;
    } else {
        writeln!(
            out,
            "namespace {} ready: {} mode ({}), layout {}{}",
            store.namespace(),
            meta.mode,
            meta.secret_alg.as_str(),
            meta.layout,
            if meta.production { ", production" } else { "" }
        )
        .map_err(io)?;
    }
    Ok(0)
}

pub(crate) async fn doctor(store: Store, opts: &ConnectOptions, a: DoctorArgs) -> Result<u8> {
    let mut out = std::io::stdout();
    let base = opts.urls.first().cloned().unwrap_or_default();
    let masters = store.master_urls(&base).await?;
    let how = if a.delete_malformed {
        match confirm_delete_malformed(&store, &masters, a.yes).await? {
            Some(ids) => Repair::DeleteMalformed(ids),
            None => return Ok(EXIT_DECLINED),
        }
    } else if a.repair {
        Repair::Index
    } else {
        Repair::No
    };
    let report = store.doctor_with(&how, &masters).await?;
    if a.json {
        let s = serde_json::to_string(&report).map_err(json_err)?;
        writeln!(out, "{s}").map_err(io)?;
    } else {
        writeln!(
            out,
            "{} keys indexed, {} records scanned on {} node(s)",
            report.indexed,
            report.records_scanned,
            masters.len()
        )
        .map_err(io)?;
        if let Some(p) = &report.meta_problem {
            writeln!(out, "meta: {p}").map_err(io)?;
        }
        if let Some(l) = report.layout.filter(|&l| l < crate::layout::LAYOUT_VERSION) {
            writeln!(
                out,
                "layout {l}: `keytui upgrade` brings it to layout {} (apps then verify a key by reading one field)",
                crate::layout::LAYOUT_VERSION
            )
            .map_err(io)?;
        }
        let clean = crate::sanitize::line;
        for id in &report.stale_verify {
            writeln!(
                out,
                "verify field out of step with the record's fields: {} ({})",
                clean(id),
                if a.repair {
                    "rewritten from the fields"
                } else {
                    "apps verifying through it see an older state; --repair rewrites it"
                }
            )
            .map_err(io)?;
        }
        for id in &report.unverifiable {
            writeln!(
                out,
                "a tab in secret_alg, secret, expires_at or token_checksum of active key {}: its verify field is `malformed`, so apps never accept it; fix the record by hand or delete the key",
                clean(id)
            )
            .map_err(io)?;
        }
        for id in &report.dangling {
            writeln!(out, "dangling index entry (no record): {}", clean(id)).map_err(io)?;
        }
        for id in &report.orphans {
            writeln!(out, "record missing from the index: {}", clean(id)).map_err(io)?;
        }
        for id in &report.plaintext {
            writeln!(
                out,
                "plaintext secret outside a plain namespace: {} (run keytui migrate again)",
                clean(id)
            )
            .map_err(io)?;
        }
        for m in &report.malformed_records {
            let place = if m.deleted {
                "deleted"
            } else if m.indexed {
                "in the index"
            } else {
                "not in the index"
            };
            writeln!(
                out,
                "malformed record {}: {} ({place})",
                clean(&format!("{:?}", m.id)),
                clean(&m.problem)
            )
            .map_err(io)?;
        }
        for d in &report.damaged {
            writeln!(out, "{} (lists and verifies; left alone)", clean(d)).map_err(io)?;
        }
        for id in &report.in_flight {
            writeln!(
                out,
                "index entry of a create in progress (left alone): {}",
                clean(id)
            )
            .map_err(io)?;
        }
        if a.repair {
            writeln!(out, "repaired {} problem(s)", report.repaired).map_err(io)?;
            if report.unindexed > 0 {
                writeln!(
                    out,
                    "moved {} malformed record(s) out of the index; their data is kept",
                    report.unindexed
                )
                .map_err(io)?;
            }
            if !report.kept_verifiable.is_empty() {
                writeln!(
                    out,
                    "kept {} malformed record(s) in the index because they could still verify: {} (revoke them by id, or fix them by hand)",
                    report.kept_verifiable.len(),
                    report
                        .kept_verifiable
                        .iter()
                        .map(|i| clean(i))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .map_err(io)?;
            }
            if report.deleted > 0 {
                writeln!(out, "deleted {} malformed record(s)", report.deleted).map_err(io)?;
            }
            if report.malformed_left() > 0 {
                writeln!(
                        out,
                        "{} malformed record(s) left in place: fix them by hand, or delete them with `keytui doctor --repair --delete-malformed`",
                        report.malformed_left()
                    )
                    .map_err(io)?;
            }
        } else if report.is_healthy() {
            writeln!(out, "healthy").map_err(io)?;
        } else {
            writeln!(out, "run `keytui doctor --repair` to repair what can be").map_err(io)?;
        }
    }
    let healthy_now = report.is_healthy()
        || (a.repair
            && report.malformed_left() == 0
            && report.damaged.is_empty()
            && report.plaintext.is_empty()
            && report.unverifiable.is_empty()
            && report.meta_problem.is_none());
    Ok(if healthy_now { 0 } else { 1 })
}

/// Before `migrate --to hash` drops sealed copies or plaintext secrets: the counts, and a confirmation (a
/// terminal: `y`, or the namespace name in a production namespace; elsewhere `--yes`).
/// `Ok(false)`: declined, nothing changed.
pub(crate) async fn confirm_drop_sealed(store: &Store, yes: bool) -> Result<bool> {
    let page = store.list_all(|_, _| {}).await?;
    let sealed = page.records.iter().filter(|r| r.sealed).count();
    let plain = page
        .records
        .iter()
        .filter(|r| r.secret_alg == crate::record::SecretAlg::Plain)
        .count();
    if sealed + plain == 0 || yes {
        return Ok(true);
    }
    let ns = store.namespace().as_str();
    let production = store.meta().await?.is_some_and(|m| m.production);
    let keys = |n: usize| format!("{n} key{}", if n == 1 { "" } else { "s" });
    let copies = match (sealed, plain) {
        (0, p) => format!("the plaintext secrets of {}", keys(p)),
        (s, 0) => format!("the sealed copies of {}", keys(s)),
        (s, p) => format!(
            "the sealed copies of {} and the plaintext secrets of {}",
            keys(s),
            keys(p)
        ),
    };
    let what = format!(
        "migrating namespace {ns} to hash deletes {copies}: their secrets can never be \
         revealed again (this cannot be undone)"
    );
    confirm_or_refuse(&what, ns, production).await
}

pub async fn migrate(store: &Store, to: MigrateTo, yes: bool, json: bool) -> Result<u8> {
    let to = match to {
        MigrateTo::Hash => Mode::Hash,
        MigrateTo::Sealed => Mode::Sealed,
    };
    if to == Mode::Hash && !confirm_drop_sealed(store, yes).await? {
        return Ok(crate::exit::EXIT_DECLINED);
    }
    let bar = Progress::new(0, "migrating");
    let report = store
        .migrate(to, None, |n, total| bar.set(n, total))
        .await?;
    bar.finish();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report).map_err(json_err)?).map_err(io)?;
    } else {
        writeln!(
            out,
            "namespace {} is now in {} mode: {} keys examined, {} converted",
            store.namespace(),
            report.to,
            report.examined,
            report.converted
        )
        .map_err(io)?;
        if report.digest_only > 0 {
            writeln!(
                out,
                "{} keys were stored as digests only: their secrets are unknown, so they stay unsealed (reveal will refuse them)",
                report.digest_only
            )
            .map_err(io)?;
        }
        if report.malformed > 0 {
            writeln!(
                out,
                "{} malformed records were left unchanged (see keytui doctor)",
                report.malformed
            )
            .map_err(io)?;
        }
    }
    Ok(0)
}

/// `keytui upgrade`: asks first (on a terminal; elsewhere `--yes`), then upgrades the
/// namespace's layout and says what it did. On a namespace of the newest layout already it
/// asks nothing and only rewrites the `verify` fields (finishing an interrupted upgrade).
pub(crate) async fn upgrade(store: &Store, opts: &ConnectOptions, a: UpgradeArgs) -> Result<u8> {
    let ns = store.namespace().as_str();
    let Some(meta) = store.meta().await? else {
        return Err(Error::Setup(format!(
            "namespace {ns} does not exist: nothing to upgrade"
        )));
    };
    let latest = crate::layout::LAYOUT_VERSION;
    if meta.layout < latest && !a.yes {
        let what = format!(
            "upgrading namespace {ns} from layout {} to {latest}: programs that know only \
             layout {} (older keytui, verifiers in apps older than keytui 0.2) refuse it when \
             they start, and there is no way back; close older keytui TUIs and scripts first \
             (a key they revoke later would stay valid for apps)",
            meta.layout, meta.layout
        );
        if !confirm_or_refuse(&what, ns, meta.production).await? {
            return Ok(EXIT_DECLINED);
        }
    }
    let base = opts.urls.first().cloned().unwrap_or_default();
    let masters = store.master_urls(&base).await?;
    let bar = Progress::new(0, "upgrading");
    let report = store
        .upgrade(&masters, |n, total| bar.set(n, total.max(n)))
        .await?;
    bar.finish();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&report).map_err(json_err)?).map_err(io)?;
        return Ok(0);
    }
    let records = |n: usize| format!("{n} record{}", if n == 1 { "" } else { "s" });
    if report.from == report.to {
        writeln!(
            out,
            "namespace {ns} is of layout {} already; rewrote the verify field of {}",
            report.to,
            records(report.records)
        )
        .map_err(io)?;
    } else {
        writeln!(
            out,
            "namespace {ns} is now of layout {}: {} have their verify field",
            report.to,
            records(report.records)
        )
        .map_err(io)?;
        writeln!(
            out,
            "run `keytui doctor` after older keytui processes are closed: it names records they changed since"
        )
        .map_err(io)?;
    }
    if report.unverifiable > 0 {
        writeln!(
            out,
            "{} hold a tab in secret_alg, secret, expires_at or token_checksum: apps reading the verify field never accept them (see keytui doctor)",
            records(report.unverifiable)
        )
        .map_err(io)?;
    }
    if report.skipped > 0 {
        writeln!(
            out,
            "{} record key(s) that are not hashes (or were deleted meanwhile) were left alone",
            report.skipped
        )
        .map_err(io)?;
    }
    Ok(0)
}

/// `keytui namespaces`: every namespace of this Redis (every master of a cluster).
pub(crate) async fn namespaces(store: &Store, opts: &ConnectOptions, json: bool) -> Result<u8> {
    let base = opts.urls.first().cloned().unwrap_or_default();
    let masters = store.master_urls(&base).await?;
    let list = store.namespaces(&masters).await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&list).map_err(json_err)?).map_err(io)?;
        return Ok(0);
    }
    writeln!(
        out,
        "{:<24} {:<8} {:<6} {:<10} KEYS",
        "NAME", "MODE", "LAYOUT", "PRODUCTION"
    )
    .map_err(io)?;
    for n in &list {
        writeln!(
            out,
            "{:<24} {:<8} {:<6} {:<10} {}",
            n.name,
            crate::sanitize::line(n.mode.as_deref().unwrap_or("?")),
            crate::sanitize::line(n.layout.as_deref().unwrap_or("?")),
            if n.production { "yes" } else { "no" },
            n.keys
        )
        .map_err(io)?;
    }
    Ok(0)
}
