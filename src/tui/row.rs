//! The compact form of a key record the TUI keeps for every loaded key.
//!
//! A namespace of a million keys is a million of these, so a row is one string (the filter
//! haystack, which holds the name, the id and the metadata), a few numbers, and shared
//! strings for what many keys have in common (`created_by`, the token prefix). Fields
//! most keys leave empty (revocation, rotation) live in one optional box. About 100 bytes
//! of struct plus the haystack, against about a kilobyte for a [`KeyRecord`] with its
//! `BTreeMap` of metadata.

use std::collections::HashMap;
use std::sync::Arc;

use crate::record::{KeyRecord, SecretAlg, Status, UnixMs};

/// One loaded key, as the table, the detail view and the filter need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `name id k=v k=v…`: what the fuzzy filter matches, and where the strings live.
    hay: Box<str>,
    /// For each metadata pair, the ends (byte offsets in `hay`) of its key and its value.
    meta: Box<[u32]>,
    name_len: u32,
    id_len: u32,
    pub created_at: UnixMs,
    pub expires_at: Option<UnixMs>,
    pub last_used_at: Option<UnixMs>,
    pub created_by: Arc<str>,
    pub token_prefix: Option<Arc<str>>,
    pub revoked: bool,
    pub sealed: bool,
    pub token_checksum: bool,
    pub secret_alg: SecretAlg,
    rare: Option<Box<Rare>>,
}

/// The fields of revoked and rotated keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rare {
    revoked_at: Option<UnixMs>,
    revoked_reason: Option<Box<str>>,
    rotated_from: Option<Box<str>>,
    rotated_to: Option<Box<str>>,
    /// What is damaged in the record's display fields ([`KeyRecord::damage`]).
    damage: Box<[Box<str>]>,
}

/// Shares equal strings (`created_by`, token prefixes) between rows.
#[derive(Debug, Default)]
pub struct Interner(HashMap<Box<str>, Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        // Bounded: a namespace with very many distinct values just stops sharing them.
        if self.0.len() < 4096 {
            self.0.insert(Box::from(s), Arc::clone(&a));
        }
        a
    }
}

impl Row {
    /// The compact form of `r`, sharing strings through `interner`.
    pub fn new(r: KeyRecord, interner: &mut Interner) -> Row {
        let mut hay = String::with_capacity(
            r.name.len()
                + 1
                + r.id.len()
                + r.meta
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 2)
                    .sum::<usize>(),
        );
        hay.push_str(&r.name);
        hay.push(' ');
        hay.push_str(&r.id);
        let mut meta = Vec::with_capacity(r.meta.len() * 2);
        for (k, v) in &r.meta {
            hay.push(' ');
            hay.push_str(k);
            meta.push(hay.len() as u32);
            hay.push('=');
            hay.push_str(v);
            meta.push(hay.len() as u32);
        }
        let rare = (r.revoked_at.is_some()
            || r.revoked_reason.is_some()
            || r.rotated_from.is_some()
            || r.rotated_to.is_some()
            || !r.damage.is_empty())
        .then(|| {
            Box::new(Rare {
                revoked_at: r.revoked_at,
                revoked_reason: r.revoked_reason.map(Into::into),
                rotated_from: r.rotated_from.map(Into::into),
                rotated_to: r.rotated_to.map(Into::into),
                damage: r.damage.into_iter().map(Into::into).collect(),
            })
        });
        Row {
            hay: hay.into_boxed_str(),
            meta: meta.into_boxed_slice(),
            name_len: r.name.len() as u32,
            id_len: r.id.len() as u32,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            created_by: interner.get(&r.created_by),
            token_prefix: r.token_prefix.as_deref().map(|p| interner.get(p)),
            revoked: r.revoked,
            sealed: r.sealed,
            token_checksum: r.token_checksum,
            secret_alg: r.secret_alg,
            rare,
        }
    }

    pub fn name(&self) -> &str {
        &self.hay[..self.name_len as usize]
    }

    pub fn id(&self) -> &str {
        let start = self.name_len as usize + 1;
        &self.hay[start..start + self.id_len as usize]
    }

    /// What the fuzzy filter matches: `name id k=v k=v…`.
    pub fn haystack(&self) -> &str {
        &self.hay
    }

    /// The metadata pairs, sorted by key.
    pub fn meta(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = self.name_len as usize + 1 + self.id_len as usize;
        self.meta.chunks_exact(2).map(move |ends| {
            let (k_end, v_end) = (ends[0] as usize, ends[1] as usize);
            let pair = (&self.hay[start + 1..k_end], &self.hay[k_end + 1..v_end]);
            start = v_end;
            pair
        })
    }

    pub fn revoked_at(&self) -> Option<UnixMs> {
        self.rare.as_ref().and_then(|r| r.revoked_at)
    }

    pub fn revoked_reason(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.revoked_reason.as_deref())
    }

    pub fn rotated_from(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.rotated_from.as_deref())
    }

    pub fn rotated_to(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.rotated_to.as_deref())
    }

    /// What is damaged in the record's display fields (see docs/redis-layout.md,
    /// "Malformed and damaged records"); empty when sound.
    pub fn damage(&self) -> &[Box<str>] {
        self.rare.as_ref().map_or(&[], |r| &r.damage)
    }

    /// The status at a given time ([`Status::at`]).
    pub fn status_at(&self, now: UnixMs) -> Status {
        Status::at(self.revoked, self.expires_at, now)
    }
}

impl From<KeyRecord> for Row {
    fn from(r: KeyRecord) -> Row {
        Row::new(r, &mut Interner::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::records;

    #[test]
    fn a_row_keeps_every_field_of_its_record() {
        let mut all = records();
        all[0].meta.insert("a=b".into(), "c d=e".into());
        all[0].meta.insert("".into(), "".into());
        all[1].rotated_to = Some("K77".into());
        all[2].rotated_from = Some("K66".into());
        all[3].damage = vec!["field meta is not a JSON object of strings".into()];
        let mut interner = Interner::default();
        for r in all {
            let row = Row::new(r.clone(), &mut interner);
            assert_eq!(row.name(), r.name);
            assert_eq!(row.id(), r.id);
            let meta: Vec<(&str, &str)> = row.meta().collect();
            let want: Vec<(&str, &str)> = r
                .meta
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(meta, want);
            assert_eq!(row.revoked_at(), r.revoked_at);
            assert_eq!(row.revoked_reason(), r.revoked_reason.as_deref());
            assert_eq!(row.rotated_from(), r.rotated_from.as_deref());
            assert_eq!(row.rotated_to(), r.rotated_to.as_deref());
            let damage: Vec<&str> = row.damage().iter().map(|d| &**d).collect();
            assert_eq!(damage, r.damage);
            assert_eq!(&*row.created_by, r.created_by);
            assert_eq!(row.token_prefix.as_deref(), r.token_prefix.as_deref());
            assert_eq!(row.status_at(0), r.status_at(0));
            for now in [0, i64::MAX] {
                assert_eq!(row.status_at(now), r.status_at(now));
            }
        }
    }

    #[test]
    fn the_haystack_is_name_id_and_metadata() {
        let mut r = records().remove(4);
        r.name = "n".into();
        r.id = "I".into();
        assert_eq!(Row::from(r).haystack(), "n I owner=team-data scopes=read");
    }

    #[test]
    fn a_row_is_small() {
        assert!(
            std::mem::size_of::<Row>() <= 128,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
