//! The compact form of a key record the TUI keeps for every loaded key.
//!
//! A namespace of a million keys is a million of these, so a row is 72 bytes and its share
//! of one text: the filter haystacks (`name id k=v k=v…`) of the rows loaded together (a
//! page) sit one after another in one allocation the rows share, with no allocator
//! overhead per row. Times are plain numbers, what many keys have in common (`created_by`,
//! the token prefix) is shared behind one pointer, the ends of up to two metadata pairs
//! are inline, and what most keys leave empty (revocation, rotation, more metadata) is in
//! one optional box. A [`KeyRecord`] with its `BTreeMap` of metadata takes about a
//! kilobyte.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::record::{KeyRecord, RecordView, SecretAlg, Status, UnixMs};

/// The haystacks of rows built together, one after another (a thin pointer: one word in
/// every row).
type Text = Arc<Box<str>>;

/// One loaded key, as the table, the detail view and the filter need it.
#[derive(Clone)]
pub struct Row {
    /// Holds this row's haystack at `start..start + self.hay_len()`.
    text: Text,
    start: u32,
    pub created_at: UnixMs,
    /// Meaningful only with the [`EXPIRES`] flag.
    expires_at: UnixMs,
    /// Meaningful only with the [`LAST_USED`] flag.
    last_used_at: UnixMs,
    shared: Arc<Shared>,
    rare: Option<Box<Rare>>,
    name_len: u32,
    id_len: u32,
    /// The ends (byte offsets in the haystack) of the key and the value of the first two
    /// metadata pairs; more pairs, or a haystack past 64 KiB, keep all their ends in `rare`.
    /// The last end is where the haystack ends.
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
pub struct Interner {
    map: HashMap<SharedKey, Arc<Shared>>,
    /// The last one asked for: rows loaded together mostly share it (no lookup).
    last: Option<Arc<Shared>>,
}

/// `created_by` and the token prefix.
type SharedKey = (Box<str>, Option<Box<str>>);

impl Interner {
    fn get(&mut self, created_by: &str, token_prefix: Option<&str>) -> Arc<Shared> {
        if let Some(last) = &self.last {
            if *last.created_by == *created_by && last.token_prefix.as_deref() == token_prefix {
                return Arc::clone(last);
            }
        }
        let key = (Box::from(created_by), token_prefix.map(Box::from));
        let a = match self.map.get(&key) {
            Some(a) => Arc::clone(a),
            None => {
                let a = Arc::new(Shared {
                    created_by: key.0.clone(),
                    token_prefix: key.1.clone(),
                });
                // Bounded: a namespace with very many distinct values just stops sharing.
                if self.map.len() < 4096 {
                    self.map.insert(key, Arc::clone(&a));
                }
                a
            }
        };
        self.last = Some(Arc::clone(&a));
        a
    }
}

impl Row {
    /// The compact form of `r`, sharing strings through `interner`.
    pub fn new(r: KeyRecord, interner: &mut Interner) -> Row {
        let v = r.view();
        let len = hay_len(&v);
        let mut text = String::with_capacity(len);
        let mut row = Row::build(&v, len, &mut text, &Text::default(), interner);
        row.text = Arc::new(text.into_boxed_str());
        row
    }

    /// Appends the rows of `views` to `rows`, their haystacks in one text (a new one past
    /// 4 GiB, the reach of a row's `start`).
    pub fn extend<'a>(
        rows: &mut Vec<Row>,
        views: impl IntoIterator<Item = RecordView<'a>>,
        interner: &mut Interner,
    ) {
        Row::extend_within(rows, views, interner, u32::MAX as usize);
    }

    /// [`Row::extend`] with texts of at most `max` bytes (or one haystack, if longer).
    fn extend_within<'a>(
        rows: &mut Vec<Row>,
        views: impl IntoIterator<Item = RecordView<'a>>,
        interner: &mut Interner,
        max: usize,
    ) {
        // The rows of a text point at an empty one until it is complete.
        let pending = Text::default();
        let mut text = String::new();
        let mut first = rows.len();
        for v in views {
            let len = hay_len(&v);
            if !text.is_empty() && text.len() + len > max {
                seal(&mut rows[first..], std::mem::take(&mut text));
                first = rows.len();
            }
            rows.push(Row::build(&v, len, &mut text, &pending, interner));
        }
        seal(&mut rows[first..], text);
    }

    /// A row for `v`, its haystack (`len` bytes) appended to `text`.
    fn build(
        v: &RecordView<'_>,
        len: usize,
        text: &mut String,
        pending: &Text,
        interner: &mut Interner,
    ) -> Row {
        let start = text.len();
        text.reserve(len);
        text.push_str(&v.name);
        text.push(' ');
        text.push_str(v.id);
        let pairs = &v.meta.0;
        let inline = pairs.len() * 2 <= 4 && len <= usize::from(u16::MAX);
        let mut meta_inline = [0u16; 4];
        let mut spilled = Vec::new();
        for (i, (k, val)) in pairs.iter().enumerate() {
            text.push(' ');
            text.push_str(k);
            let k_end = text.len() - start;
            text.push('=');
            text.push_str(val);
            let v_end = text.len() - start;
            if inline {
                meta_inline[2 * i] = k_end as u16;
                meta_inline[2 * i + 1] = v_end as u16;
            } else {
                spilled.extend([k_end as u32, v_end as u32]);
            }
        }
        let rare = (v.revoked_at.is_some()
            || v.revoked_reason.is_some()
            || v.rotated_from.is_some()
            || v.rotated_to.is_some()
            || !v.damage.is_empty()
            || !inline)
            .then(|| {
                Box::new(Rare {
                    revoked_at: v.revoked_at,
                    revoked_reason: v.revoked_reason.as_deref().map(Into::into),
                    rotated_from: v.rotated_from.as_deref().map(Into::into),
                    rotated_to: v.rotated_to.as_deref().map(Into::into),
                    damage: v.damage.iter().map(|d| d.as_str().into()).collect(),
                    meta: spilled.into(),
                })
            });
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = flag(v.revoked, REVOKED)
            | flag(v.sealed, SEALED)
            | flag(v.token_checksum, TOKEN_CHECKSUM)
            | flag(v.expires_at.is_some(), EXPIRES)
            | flag(v.last_used_at.is_some(), LAST_USED);
        Row {
            text: Arc::clone(pending),
            start: start as u32,
            created_at: v.created_at,
            expires_at: v.expires_at.unwrap_or_default(),
            last_used_at: v.last_used_at.unwrap_or_default(),
            shared: interner.get(&v.created_by, v.token_prefix),
            rare,
            name_len: v.name.len() as u32,
            id_len: v.id.len() as u32,
            meta_inline,
            meta_count: if inline {
                pairs.len() as u8
            } else {
                META_IN_RARE
            },
            flags,
            secret_alg: v.secret_alg,
        }
    }

    /// Where the haystack ends: after the last metadata value, or after the id.
    fn hay_len(&self) -> usize {
        let after_id = self.name_len as usize + 1 + self.id_len as usize;
        match (self.meta_count, &self.rare) {
            (0, _) => after_id,
            (META_IN_RARE, Some(r)) => r.meta.last().map_or(after_id, |&e| e as usize),
            (META_IN_RARE, None) => after_id,
            (n, _) => usize::from(self.meta_inline[2 * usize::from(n) - 1]),
        }
    }

    pub fn name(&self) -> &str {
        &self.haystack()[..self.name_len as usize]
    }

    pub fn id(&self) -> &str {
        let start = self.name_len as usize + 1;
        &self.haystack()[start..start + self.id_len as usize]
    }

    /// What the fuzzy filter matches: `name id k=v k=v…`.
    pub fn haystack(&self) -> &str {
        let start = self.start as usize;
        &self.text[start..start + self.hay_len()]
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
        let hay = self.haystack();
        let mut start = self.name_len as usize + 1 + self.id_len as usize;
        (0..pairs).map(move |p| {
            let (k_end, v_end) = (end(2 * p), end(2 * p + 1));
            let pair = (&hay[start + 1..k_end], &hay[k_end + 1..v_end]);
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

/// The haystack's length for `v`: `name id`, then ` k=v` for each metadata pair.
fn hay_len(v: &RecordView<'_>) -> usize {
    v.name.len()
        + 1
        + v.id.len()
        + v.meta
            .0
            .iter()
            .map(|(k, val)| k.len() + val.len() + 2)
            .sum::<usize>()
}

/// Points `rows` at their completed `text`.
fn seal(rows: &mut [Row], text: String) {
    let text: Text = Arc::new(text.into_boxed_str());
    for r in rows {
        r.text = Arc::clone(&text);
    }
}

/// Rows are equal when their records are (wherever their haystacks are kept).
impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.haystack() == other.haystack()
            && self.created_at == other.created_at
            && self.expires_at() == other.expires_at()
            && self.last_used_at() == other.last_used_at()
            && self.shared == other.shared
            && self.rare == other.rare
            && (self.name_len, self.id_len) == (other.name_len, other.id_len)
            && self.meta().eq(other.meta())
            && self.flags == other.flags
            && self.secret_alg == other.secret_alg
    }
}

impl Eq for Row {}

/// The row's own fields (not the whole text it shares).
impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row")
            .field("hay", &self.haystack())
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at())
            .field("last_used_at", &self.last_used_at())
            .field("shared", &self.shared)
            .field("rare", &self.rare)
            .field("flags", &self.flags)
            .field("secret_alg", &self.secret_alg)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::records;

    /// The row's name, id, metadata and haystack are the record's.
    fn reads_back(r: &KeyRecord, row: &Row) {
        assert_eq!(row.name(), r.name);
        assert_eq!(row.id(), r.id);
        let meta: Vec<(&str, &str)> = row.meta().collect();
        let want: Vec<(&str, &str)> = r
            .meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(meta, want);
        let mut hay = format!("{} {}", r.name, r.id);
        for (k, v) in &r.meta {
            hay.push_str(&format!(" {k}={v}"));
        }
        assert_eq!(row.haystack(), hay);
    }

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
            reads_back(&r, &row);
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
            reads_back(&r, &row);
            assert_eq!(row.revoked_at(), r.revoked_at);
        }
    }

    /// Rows built together share one text (a new one when the next haystack would not
    /// fit), and each reads back its own record.
    #[test]
    fn rows_built_together_share_a_text() {
        let mut all = records();
        all[1].meta.insert("k".repeat(40), "v".repeat(40));
        all[2].rotated_to = Some("K77".into());
        for max in [usize::MAX, 120, 1] {
            let mut rows = vec![Row::from(all[0].clone())];
            Row::extend_within(
                &mut rows,
                all.iter().map(KeyRecord::view),
                &mut Interner::default(),
                max,
            );
            assert_eq!(rows.len(), all.len() + 1);
            for (row, r) in rows[1..].iter().zip(&all) {
                assert_eq!(*row, Row::from(r.clone()));
                assert_eq!(row.id(), r.id);
                assert!(row.text.len() <= max.max(row.haystack().len()));
            }
            let texts = rows[1..]
                .windows(2)
                .filter(|w| !Arc::ptr_eq(&w[0].text, &w[1].text))
                .count()
                + 1;
            match max {
                usize::MAX => assert_eq!(texts, 1),
                1 => assert_eq!(texts, all.len()),
                _ => assert!(texts > 1 && texts < all.len(), "{texts} texts"),
            }
            assert!(!Arc::ptr_eq(&rows[0].text, &rows[1].text));
        }
    }

    /// Haystacks past 64 KiB with and without metadata, multibyte text at the ends, empty
    /// keys and values, the 64 KiB edge: everything reads back, alone or built together.
    #[test]
    fn odd_shapes_read_back() {
        let base = records().remove(0);
        let mut cases = Vec::new();
        let mut r = base.clone();
        r.name = "é".repeat(40_000);
        cases.push(r.clone());
        r.meta.insert("ü".into(), "ß".repeat(10));
        cases.push(r.clone());
        let mut r = base.clone();
        r.id = "Kx".into();
        for k in 0..3 {
            r.meta.insert(format!("k{k}é"), "v".repeat(30_000));
        }
        cases.push(r.clone());
        let mut r = base.clone();
        r.name = String::new();
        r.meta.insert(String::new(), String::new());
        r.meta.insert("a".into(), String::new());
        cases.push(r.clone());
        // Exactly 65,535 bytes with two pairs (inline), then one more (spilled).
        let mut r = base.clone();
        r.meta = [("a".into(), "b".into()), ("c".into(), String::new())]
            .into_iter()
            .collect();
        let len = r.name.len() + 1 + r.id.len() + 4 + 3;
        r.name.push_str(&"x".repeat(65_535 - len));
        cases.push(r.clone());
        r.name.push('y');
        cases.push(r.clone());
        for c in &cases {
            reads_back(c, &Row::from(c.clone()));
        }
        for max in [usize::MAX, 70_000, 1] {
            let mut rows = vec![Row::from(base.clone())];
            Row::extend_within(
                &mut rows,
                cases.iter().map(KeyRecord::view),
                &mut Interner::default(),
                max,
            );
            for (row, c) in rows[1..].iter().zip(&cases) {
                reads_back(c, row);
                assert_eq!(*row, Row::from(c.clone()));
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
            std::mem::size_of::<Row>() <= 72,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
