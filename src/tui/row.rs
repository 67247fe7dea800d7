//! The compact form of a key record the TUI keeps for every loaded key.
//!
//! A namespace of a million keys is a million of these, so a row is 80 bytes plus one
//! string (the filter haystack, which holds the name, the id and the metadata): times as
//! plain numbers, what many keys have in common (`created_by`, the token prefix) shared
//! behind one pointer, the ends of up to two metadata pairs inline, and what most keys
//! leave empty (revocation, rotation, more metadata) in one optional box. A [`KeyRecord`]
//! with its `BTreeMap` of metadata takes about a kilobyte.

use std::collections::HashMap;
use std::sync::Arc;

use crate::record::{KeyRecord, SecretAlg, Status, UnixMs};

/// One loaded key, as the table, the detail view and the filter need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `name id k=v k=v…`: what the fuzzy filter matches, and where the strings live.
    hay: Box<str>,
    pub created_at: UnixMs,
    /// Meaningful only with the [`EXPIRES`] flag.
    expires_at: UnixMs,
    /// Meaningful only with the [`LAST_USED`] flag.
    last_used_at: UnixMs,
    shared: Arc<Shared>,
    rare: Option<Box<Rare>>,
    name_len: u32,
    id_len: u32,
    /// The ends (byte offsets in `hay`) of the key and the value of the first two metadata
    /// pairs; more pairs, or a haystack past 64 KiB, keep all their ends in `rare`.
    meta_inline: [u16; 4],
    /// Metadata pairs whose ends are in `meta_inline` (0-2), or [`META_IN_RARE`].
    meta_count: u8,
    flags: u8,
    pub secret_alg: SecretAlg,
}

/// The metadata ends are in `Rare::meta`.
const META_IN_RARE: u8 = u8::MAX;
const REVOKED: u8 = 1;
const SEALED: u8 = 2;
const TOKEN_CHECKSUM: u8 = 4;
/// `expires_at` is set (every value is a time, `i64::MIN` too: no sentinel).
const EXPIRES: u8 = 8;
/// `last_used_at` is set.
const LAST_USED: u8 = 16;

/// What many keys have in common, shared between their rows.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Shared {
    created_by: Box<str>,
    token_prefix: Option<Box<str>>,
}

/// The fields of revoked and rotated keys, and metadata too long to keep inline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rare {
    revoked_at: Option<UnixMs>,
    revoked_reason: Option<Box<str>>,
    rotated_from: Option<Box<str>>,
    rotated_to: Option<Box<str>>,
    /// What is damaged in the record's display fields ([`KeyRecord::damage`]).
    damage: Box<[Box<str>]>,
    /// The metadata ends, when not inline.
    meta: Box<[u32]>,
}

/// Shares equal `created_by` and token prefixes between rows.
#[derive(Debug, Default)]
pub struct Interner(HashMap<SharedKey, Arc<Shared>>);

/// `created_by` and the token prefix.
type SharedKey = (Box<str>, Option<Box<str>>);

impl Interner {
    fn get(&mut self, created_by: &str, token_prefix: Option<&str>) -> Arc<Shared> {
        let key = (Box::from(created_by), token_prefix.map(Box::from));
        if let Some(a) = self.0.get(&key) {
            return Arc::clone(a);
        }
        let a = Arc::new(Shared {
            created_by: key.0.clone(),
            token_prefix: key.1.clone(),
        });
        // Bounded: a namespace with very many distinct values just stops sharing them.
        if self.0.len() < 4096 {
            self.0.insert(key, Arc::clone(&a));
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
        let mut ends = Vec::with_capacity(r.meta.len() * 2);
        for (k, v) in &r.meta {
            hay.push(' ');
            hay.push_str(k);
            ends.push(hay.len() as u32);
            hay.push('=');
            hay.push_str(v);
            ends.push(hay.len() as u32);
        }
        let mut meta_inline = [0u16; 4];
        let inline = ends.len() <= meta_inline.len() && hay.len() <= usize::from(u16::MAX);
        let meta_count = if inline {
            for (slot, end) in meta_inline.iter_mut().zip(&ends) {
                *slot = *end as u16;
            }
            (ends.len() / 2) as u8
        } else {
            META_IN_RARE
        };
        let rare = (r.revoked_at.is_some()
            || r.revoked_reason.is_some()
            || r.rotated_from.is_some()
            || r.rotated_to.is_some()
            || !r.damage.is_empty()
            || !inline)
            .then(|| {
                Box::new(Rare {
                    revoked_at: r.revoked_at,
                    revoked_reason: r.revoked_reason.map(Into::into),
                    rotated_from: r.rotated_from.map(Into::into),
                    rotated_to: r.rotated_to.map(Into::into),
                    damage: r.damage.into_iter().map(Into::into).collect(),
                    meta: if inline { Box::default() } else { ends.into() },
                })
            });
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = flag(r.revoked, REVOKED)
            | flag(r.sealed, SEALED)
            | flag(r.token_checksum, TOKEN_CHECKSUM)
            | flag(r.expires_at.is_some(), EXPIRES)
            | flag(r.last_used_at.is_some(), LAST_USED);
        Row {
            hay: hay.into_boxed_str(),
            created_at: r.created_at,
            expires_at: r.expires_at.unwrap_or_default(),
            last_used_at: r.last_used_at.unwrap_or_default(),
            shared: interner.get(&r.created_by, r.token_prefix.as_deref()),
            rare,
            name_len: r.name.len() as u32,
            id_len: r.id.len() as u32,
            meta_inline,
            meta_count,
            flags,
            secret_alg: r.secret_alg,
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

    pub fn expires_at(&self) -> Option<UnixMs> {
        (self.flags & EXPIRES != 0).then_some(self.expires_at)
    }

    pub fn last_used_at(&self) -> Option<UnixMs> {
        (self.flags & LAST_USED != 0).then_some(self.last_used_at)
    }

    pub fn created_by(&self) -> &str {
        &self.shared.created_by
    }

    pub fn token_prefix(&self) -> Option<&str> {
        self.shared.token_prefix.as_deref()
    }

    pub fn revoked(&self) -> bool {
        self.flags & REVOKED != 0
    }

    pub fn sealed(&self) -> bool {
        self.flags & SEALED != 0
    }

    pub fn token_checksum(&self) -> bool {
        self.flags & TOKEN_CHECKSUM != 0
    }

    /// The metadata pairs, sorted by key.
    pub fn meta(&self) -> impl Iterator<Item = (&str, &str)> {
        let spilled: &[u32] = match (&self.rare, self.meta_count) {
            (Some(r), META_IN_RARE) => &r.meta,
            _ => &[],
        };
        let pairs = if self.meta_count == META_IN_RARE {
            spilled.len() / 2
        } else {
            usize::from(self.meta_count)
        };
        let end = move |i: usize| match spilled.get(i) {
            Some(&e) => e as usize,
            None => usize::from(self.meta_inline[i]),
        };
        let mut start = self.name_len as usize + 1 + self.id_len as usize;
        (0..pairs).map(move |p| {
            let (k_end, v_end) = (end(2 * p), end(2 * p + 1));
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
        Status::at(self.revoked(), self.expires_at(), now)
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
            assert_eq!(row.created_by(), r.created_by);
            assert_eq!(row.token_prefix(), r.token_prefix.as_deref());
            assert_eq!(row.expires_at(), r.expires_at);
            assert_eq!(row.last_used_at(), r.last_used_at);
            assert_eq!(
                (
                    row.revoked(),
                    row.sealed(),
                    row.token_checksum(),
                    row.secret_alg
                ),
                (r.revoked, r.sealed, r.token_checksum, r.secret_alg)
            );
            assert_eq!(row.status_at(0), r.status_at(0));
            for now in [0, i64::MAX] {
                assert_eq!(row.status_at(now), r.status_at(now));
            }
        }
    }

    #[test]
    fn every_time_reads_back_the_extremes_too() {
        for t in [None, Some(i64::MIN), Some(-1), Some(0), Some(i64::MAX)] {
            let mut r = records().remove(0);
            r.expires_at = t;
            r.last_used_at = t;
            let row = Row::from(r.clone());
            assert_eq!(row.expires_at(), t);
            assert_eq!(row.last_used_at(), t);
            for now in [i64::MIN, 0, i64::MAX] {
                assert_eq!(row.status_at(now), r.status_at(now), "{t:?} at {now}");
            }
        }
    }

    #[test]
    fn metadata_reads_back_inline_and_spilled() {
        let pairs = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|i| (format!("k{i} =x"), format!("v={i} y")))
                .collect()
        };
        // 0-2 pairs inline; 3 pairs, or a haystack past 64 KiB, in the rare box.
        for (n, name_len) in [
            (0, 5),
            (1, 5),
            (2, 5),
            (3, 5),
            (7, 5),
            (1, 70_000),
            (2, 70_000),
        ] {
            let mut r = records().remove(0);
            r.name = "n".repeat(name_len);
            r.meta = pairs(n).into_iter().collect();
            let row = Row::from(r.clone());
            let got: Vec<(&str, &str)> = row.meta().collect();
            let want: Vec<(&str, &str)> = r
                .meta
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(got, want, "{n} pairs, name of {name_len}");
            assert_eq!(row.name(), r.name);
            assert_eq!(row.id(), r.id);
            assert_eq!(row.revoked_at(), r.revoked_at);
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
            std::mem::size_of::<Row>() <= 80,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
