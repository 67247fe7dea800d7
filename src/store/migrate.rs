//! Storage-mode operations on a namespace: revealing a stored secret, migrating between
//! modes (resumable), and importing keys made elsewhere (JSON lines, django-tastypie).
//!
//! Every record change here is a compare-and-set script on one record, so a run that is
//! interrupted can simply be run again.

use std::collections::{BTreeMap, HashMap, HashSet};

use redis::AsyncCommands;

use crate::crypto;
use crate::error::{Error, Result};
use crate::keygen::{self, Secret};
use crate::layout::{field, is_lookup_safe_id, meta_field};
use crate::record::{KeyRecord, SecretAlg, UnixMs, now_ms};
use crate::redis::scripts::{CONVERT_PLAIN, DROP_SEALED};
use crate::store::{
    Mode, NamespaceMeta, PendingKey, Store, hash_pairs, record_fields, shape_fields,
};

/// What a migration did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MigrateReport {
    pub to: String,
    pub examined: usize,
    pub converted: usize,
    /// Keys whose secret is unknown (stored only as a digest): they cannot be sealed.
    pub digest_only: usize,
    pub malformed: usize,
    /// False when the run stopped early (it can be run again to finish).
    pub complete: bool,
}

/// One key to import.
#[derive(Clone, Debug)]
pub struct ImportItem {
    pub id: String,
    pub secret: Secret,
    pub name: String,
    pub created_at: Option<UnixMs>,
    pub expires_at: Option<UnixMs>,
    pub meta: BTreeMap<String, String>,
    pub revoked: bool,
}

/// What an import did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub imported: usize,
    /// Ids that already existed; never overwritten.
    pub skipped_existing: Vec<String>,
    /// Ids of secrets under 128 bits accepted because weak secrets were allowed.
    pub weak: Vec<String>,
}

impl Store {
    /// The secret of a key, where the namespace's storage mode keeps it.
    pub async fn reveal(&self, id: &str) -> Result<Secret> {
        let meta = self
            .meta()
            .await?
            .ok_or_else(|| Error::NotFound(id.to_owned()))?;
        // The record is read as `show` reads it, so that a missing key, a record of
        // another type and a damaged record are told apart the same way everywhere.
        self.get(id).await?;
        let mut c = self.conn();
        let (alg, stored, sealed): (Option<String>, Option<String>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.ns.record_key(id))
                .arg(field::SECRET_ALG)
                .arg(field::SECRET)
                .arg(field::SECRET_SEALED)
                .query_async(&mut c)
                .await?;
        let (Some(alg), Some(stored)) = (alg, stored) else {
            return Err(Error::NotFound(id.to_owned()));
        };
        let secret = if alg == SecretAlg::Plain.as_str() {
            Secret::new(stored)
        } else if let Some(sealed) = sealed {
            self.check_master_key(&meta)?;
            let key = self.master_key.as_ref().ok_or_else(|| {
                Error::Setup("set KEYTUI_MASTER_KEY to reveal sealed secrets".into())
            })?;
            let plain = key.open(self.ns.as_str(), id, &sealed)?;
            Secret::new(plain.to_string())
        } else {
            return Err(Error::Conflict(format!(
                "key {id} is stored as a digest only ({} mode): its secret was shown once, at creation, and cannot be revealed",
                meta.mode
            )));
        };
        self.event("reveal", id, None).await?;
        Ok(secret)
    }

    /// Converts the namespace to `to` (`hash` or `sealed`) in place. Resumable: records
    /// already converted are skipped, so an interrupted run is finished by running it again.
    /// `stop_after` stops after that many conversions (for tests of resumption).
    pub async fn migrate(
        &self,
        to: Mode,
        stop_after: Option<usize>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<MigrateReport> {
        if to == Mode::Plain {
            return Err(Error::Input(
                "migrating to plain would store secrets in the clear; only --to hash or --to sealed".into(),
            ));
        }
        let meta = self
            .meta()
            .await?
            .ok_or_else(|| Error::Setup(format!("namespace {} does not exist", self.ns)))?;
        self.check_pepper(&meta)?;
        let mut c = self.conn();
        let meta_key = self.ns.meta_key();
        if to == Mode::Sealed {
            let key = self.master_key.as_ref().ok_or_else(|| {
                Error::Setup(
                    "migrating to sealed needs KEYTUI_MASTER_KEY or KEYTUI_MASTER_KEY_FILE".into(),
                )
            })?;
            let _: bool = c
                .hset_nx(&meta_key, meta_field::MASTER_KEY_CHECK, key.check_value())
                .await?;
            let fresh = self.meta().await?.unwrap_or(meta.clone());
            self.check_master_key(&NamespaceMeta {
                migrating_to: Some(Mode::Sealed),
                ..fresh
            })?;
        }
        let digest_alg = match meta.secret_alg {
            SecretAlg::Plain if self.pepper.is_some() => SecretAlg::HmacSha256,
            SecretAlg::Plain => SecretAlg::Sha256,
            alg => alg,
        };
        if digest_alg == SecretAlg::HmacSha256 {
            // A namespace that starts hashing with a pepper records the pepper's check value
            // first, so a wrong pepper can never be used on it afterwards.
            let pepper = self.pepper.as_ref().ok_or_else(|| {
                Error::Setup("this namespace hashes with a pepper: set KEYTUI_PEPPER".into())
            })?;
            let _: bool = c
                .hset_nx(&meta_key, meta_field::PEPPER_CHECK, pepper.check_value())
                .await?;
            let fresh = self.meta().await?.unwrap_or(meta.clone());
            self.check_pepper(&NamespaceMeta {
                secret_alg: SecretAlg::HmacSha256,
                ..fresh
            })?;
        }
        let _: () = c
            .hset(&meta_key, meta_field::MIGRATING_TO, to.as_str())
            .await?;
        let mut report = MigrateReport {
            to: to.as_str().into(),
            ..MigrateReport::default()
        };
        // Work on snapshots of the index, not on moving offsets: keys deleted meanwhile
        // cannot make the walk skip others. A second snapshot catches keys created by
        // writers that read the meta before `migrating_to` was set.
        let mut seen: HashSet<String> = HashSet::new();
        for round in 0..2 {
            let ids: Vec<String> = c.zrevrange(self.ns.index_key(), 0, -1).await?;
            let fresh: Vec<String> = ids.into_iter().filter(|id| !seen.contains(id)).collect();
            let total = fresh.len();
            for (n, chunk) in fresh.chunks(1000).enumerate() {
                let raw = self.fetch_raw(chunk).await?;
                for (id, value) in chunk.iter().zip(raw) {
                    seen.insert(id.clone());
                    let Some(pairs) = hash_pairs(&value) else {
                        report.examined += 1;
                        report.malformed += 1;
                        continue;
                    };
                    if pairs.is_empty() {
                        continue;
                    }
                    let fields: HashMap<String, String> = pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    report.examined += 1;
                    match self.convert(id, &fields, to, digest_alg).await? {
                        Conversion::Done => report.converted += 1,
                        Conversion::NotNeeded => {}
                        Conversion::DigestOnly => report.digest_only += 1,
                        Conversion::Malformed => report.malformed += 1,
                    }
                    if stop_after.is_some_and(|limit| report.converted >= limit) {
                        return Ok(report);
                    }
                }
                if round == 0 {
                    progress((n * 1000 + chunk.len()).min(total), total);
                }
                let _: () = c
                    .hset_multiple(
                        self.ns.migration_key(),
                        &[
                            ("to", to.as_str().to_owned()),
                            ("examined", report.examined.to_string()),
                            ("updated_at", now_ms().to_string()),
                        ],
                    )
                    .await?;
            }
        }
        let _: () = c
            .hset_multiple(
                &meta_key,
                &[
                    (meta_field::MODE, to.as_str()),
                    ("secret_alg", digest_alg.as_str()),
                ],
            )
            .await?;
        let _: () = c.hdel(&meta_key, meta_field::MIGRATING_TO).await?;
        let _: () = c.del(self.ns.migration_key()).await?;
        self.event("migrate", "", Some(to.as_str())).await?;
        report.complete = true;
        Ok(report)
    }

    async fn convert(
        &self,
        id: &str,
        fields: &HashMap<String, String>,
        to: Mode,
        digest_alg: SecretAlg,
    ) -> Result<Conversion> {
        let (Some(alg), Some(secret)) = (fields.get(field::SECRET_ALG), fields.get(field::SECRET))
        else {
            return Ok(Conversion::Malformed);
        };
        let key = self.ns.record_key(id);
        let mut c = self.conn();
        if alg == SecretAlg::Plain.as_str() {
            let digest = crypto::stored_form(digest_alg, secret, self.pepper.as_ref())
                .ok_or_else(|| Error::Setup("this namespace needs KEYTUI_PEPPER".into()))?;
            let sealed = match (to, &self.master_key) {
                (Mode::Sealed, Some(k)) => k.seal(self.ns.as_str(), id, secret)?,
                _ => String::new(),
            };
            let n: i64 = redis::Script::new(&CONVERT_PLAIN)
                .key(&key)
                .arg(secret)
                .arg(digest_alg.as_str())
                .arg(digest)
                .arg(sealed)
                .invoke_async(&mut c)
                .await?;
            return Ok(if n == 1 {
                Conversion::Done
            } else {
                Conversion::NotNeeded
            });
        }
        let has_sealed = fields.contains_key(field::SECRET_SEALED);
        match to {
            Mode::Hash if has_sealed => {
                let n: i64 = redis::Script::new(DROP_SEALED)
                    .key(&key)
                    .invoke_async(&mut c)
                    .await?;
                Ok(if n == 1 {
                    Conversion::Done
                } else {
                    Conversion::NotNeeded
                })
            }
            Mode::Sealed if !has_sealed => Ok(Conversion::DigestOnly),
            _ => Ok(Conversion::NotNeeded),
        }
    }

    /// Imports keys made elsewhere, stored in the namespace's mode. Existing ids are
    /// skipped, never overwritten. Every item is checked first (an id given twice, the id
    /// rule, an empty secret, and, unless `allow_weak`, the weak-secret rule of `create`):
    /// one bad item fails the import before anything is written. When writing fails midway, the error
    /// says how many keys were written; running the same import again skips them.
    pub async fn import(
        &self,
        items: Vec<ImportItem>,
        allow_weak: bool,
        mut progress: impl FnMut(usize),
    ) -> Result<ImportReport> {
        check_unique_ids(&items)?;
        let meta = self.ensure_meta().await?;
        self.check_master_key(&meta)?;
        let mut report = ImportReport::default();
        let mut pending = Vec::with_capacity(items.len());
        for item in &items {
            if check_import_item(item, allow_weak)? {
                report.weak.push(item.id.clone());
            }
            pending.push(self.pending_import(item, &meta)?);
        }
        let total = pending.len();
        let mut done = 0;
        for chunk in pending.chunks(1000) {
            let written = self.write_batch(chunk).await.map_err(|e| {
                Error::Partial(format!(
                    "import stopped after writing {} of {total} keys ({} skipped as existing): {e}; \
                     run the same import again: the keys already written are skipped",
                    report.imported,
                    report.skipped_existing.len()
                ))
            })?;
            for (p, ok) in chunk.iter().zip(written) {
                if ok {
                    report.imported += 1;
                } else {
                    report.skipped_existing.push(p.created.record.id.clone());
                }
            }
            done += chunk.len();
            progress(done);
        }
        Ok(report)
    }

    fn pending_import(&self, item: &ImportItem, meta: &NamespaceMeta) -> Result<PendingKey> {
        let mode = meta.write_mode();
        let alg = meta.write_alg(self.pepper.is_some());
        let stored = crypto::stored_form(alg, item.secret.expose(), self.pepper.as_ref())
            .ok_or_else(|| Error::Setup("this namespace needs KEYTUI_PEPPER".into()))?;
        let now = now_ms();
        let record = KeyRecord {
            id: item.id.clone(),
            name: if item.name.is_empty() {
                item.id.clone()
            } else {
                item.name.clone()
            },
            revoked: item.revoked,
            secret_alg: alg,
            sealed: mode == Mode::Sealed,
            token_prefix: None,
            token_checksum: false,
            created_at: item.created_at.unwrap_or(now),
            created_by: self.actor().to_owned(),
            expires_at: item.expires_at,
            revoked_at: item.revoked.then_some(now),
            revoked_reason: item.revoked.then(|| "imported as revoked".to_owned()),
            last_used_at: None,
            meta: item.meta.clone(),
            rotated_from: None,
            rotated_to: None,
            damage: Vec::new(),
        };
        let mut fields = record_fields(&record);
        fields.push((field::SECRET, stored));
        if let Some(at) = record.revoked_at {
            fields.push((field::REVOKED_AT, at.to_string()));
            fields.push((field::REVOKED_REASON, "imported as revoked".into()));
        }
        // The secret's shape, for rotation (ids made elsewhere have no shape to copy).
        if let Some(spec) = keygen::guess_spec(item.secret.expose())
            .filter(|s| s.entropy_bits() >= keygen::MIN_SECRET_BITS)
        {
            fields.extend(shape_fields(&spec, &keygen::Spec::id_default()));
        }
        if mode == Mode::Sealed {
            fields.push(self.sealed_field(&item.id, item.secret.expose())?);
        }
        Ok(PendingKey {
            fields,
            created: crate::store::Created {
                token: item.secret.clone(),
                secret: item.secret.clone(),
                record,
            },
        })
    }
}

/// Refuses input that names an id twice (which of the two secrets would win is not for the
/// import to decide); items are numbered from 1.
pub fn check_unique_ids(items: &[ImportItem]) -> Result<()> {
    let mut first: std::collections::HashMap<&str, usize> = Default::default();
    for (n, item) in items.iter().enumerate() {
        if let Some(f) = first.insert(&item.id, n + 1) {
            return Err(Error::Input(format!(
                "cannot import: id {:?} is given twice (items {f} and {}); nothing was written",
                crate::sanitize::line(&item.id.chars().take(60).collect::<String>()),
                n + 1
            )));
        }
    }
    Ok(())
}

/// Checks one item against the rules every imported key must meet; returns whether its
/// secret is weak (allowed only with `allow_weak`). Errors never contain the secret.
pub fn check_import_item(item: &ImportItem, allow_weak: bool) -> Result<bool> {
    if !is_lookup_safe_id(&item.id) {
        return Err(Error::Input(format!(
            "cannot import id {:?}: ids are 1-128 printable ASCII characters without spaces or braces",
            crate::sanitize::line(&item.id.chars().take(60).collect::<String>())
        )));
    }
    if item.secret.expose().is_empty() {
        return Err(Error::Input(format!(
            "cannot import {}: empty secret",
            item.id
        )));
    }
    // A token cannot carry one, and a tab would not fit a plain namespace's verify field
    // (docs/redis-layout.md, "The verify field").
    if item.secret.expose().chars().any(char::is_control) {
        return Err(Error::Input(format!(
            "cannot import {}: its secret contains a control character (a tab, a line break...)",
            item.id
        )));
    }
    let bits = keygen::estimated_bits(item.secret.expose());
    let weak = bits < keygen::MIN_SECRET_BITS;
    if weak && !allow_weak {
        return Err(Error::Input(format!(
            "cannot import {}: its secret has at most {bits:.0} bits of entropy, under the minimum of {} (add --allow-weak to import legacy keys)",
            item.id,
            keygen::MIN_SECRET_BITS
        )));
    }
    Ok(weak)
}

enum Conversion {
    Done,
    NotNeeded,
    DigestOnly,
    Malformed,
}
