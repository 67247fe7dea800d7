//! [`ListedBatch`]: the replies of a batch of `HMGET ... LISTED_FIELDS` kept as the bytes of
//! their values and read back, record by record, as [`RecordView`]s borrowing them. What
//! `list` prints from: a batch costs a few allocations, not a dozen per record as owned
//! [`crate::record::KeyRecord`]s do. Also [`ListedReplies`], what a batch's replies are read
//! into (a [`Page`] or a [`ListedBatch`]). Pure: no Redis access.

use crate::record::{RecordError, RecordView};
use crate::redis::pipe::Cell;
use crate::store::read::parse::{LISTED_FIELDS, listed_index, push_listed};
use crate::store::read::{Page, WRONG_TYPE};

/// What the replies of a batch of `HMGET ... LISTED_FIELDS` are read into, one record at a
/// time, in the order of the batch.
pub(crate) trait ListedReplies: Send + 'static {
    fn with_capacity(records: usize) -> Self;
    /// One record's reply: its fields in the order of [`LISTED_FIELDS`].
    fn push<'a>(&mut self, id: &str, cells: impl Iterator<Item = Cell<'a>>);
    /// A record that is not a hash (`WRONGTYPE`, or a reply that is not an array).
    fn push_malformed(&mut self, e: RecordError);
    /// The malformed records found so far, for [`crate::store::Store`] to name their type.
    fn malformed_mut(&mut self) -> &mut [RecordError];
    /// Records, malformed records and dangling entries read.
    fn len(&self) -> usize;
    /// Sets the number of index entries of the namespace.
    fn set_total(&mut self, total: usize);
}

impl ListedReplies for Page {
    fn with_capacity(records: usize) -> Self {
        Page {
            records: Vec::with_capacity(records),
            ..Page::default()
        }
    }
    fn push<'a>(&mut self, id: &str, cells: impl Iterator<Item = Cell<'a>>) {
        push_listed(self, id, cells);
    }
    fn push_malformed(&mut self, e: RecordError) {
        self.malformed.push(e);
    }
    fn malformed_mut(&mut self) -> &mut [RecordError] {
        &mut self.malformed
    }
    fn len(&self) -> usize {
        self.records.len() + self.malformed.len() + self.dangling.len()
    }
    fn set_total(&mut self, total: usize) {
        self.total = total;
    }
}

/// A range of `ListedBatch::bytes` from an entry's `base` (32 bits: half the room of a
/// batch's field table); `start == NIL` for a field the record does not have.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
enum Item {
    /// A record's id and its fields (an index into `fields`), from `base`.
    Record {
        base: usize,
        id: Span,
        fields: usize,
    },
    /// An index into `malformed`.
    Malformed(usize),
    /// A dangling index entry's id, from `base`.
    Dangling { base: usize, id: Span },
}

/// A batch of listed records as the bytes of their replies; see the module doc.
#[derive(Default)]
pub struct ListedBatch {
    bytes: Vec<u8>,
    items: Vec<Item>,
    fields: Vec<[Span; LISTED_FIELDS.len()]>,
    malformed: Vec<RecordError>,
    total: usize,
}

/// One entry of a [`ListedBatch`], in index order.
// Records are nearly every entry: boxing them would bring back an allocation per record.
#[allow(clippy::large_enum_variant)]
pub enum Listed<'a> {
    Record(RecordView<'a>),
    /// A record that exists but cannot be read.
    Malformed(RecordError),
    /// An index entry without a record (or with none of the listed fields).
    Dangling(&'a str),
}

impl ListedBatch {
    /// Number of index entries in the namespace.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The entries, in index order; each record is parsed (and checked) here.
    pub fn read(&self) -> impl Iterator<Item = Listed<'_>> {
        self.items.iter().map(|item| match *item {
            Item::Record { base, id, fields } => {
                let id = self.text(base, id);
                let spans = &self.fields[fields];
                match RecordView::parse(id, |name| {
                    let span = spans[listed_index(name)?];
                    (span.start != NIL).then(|| self.slice(base, span))
                }) {
                    Ok(view) => Listed::Record(view),
                    Err(e) => Listed::Malformed(e),
                }
            }
            Item::Malformed(i) => Listed::Malformed(self.malformed[i].clone()),
            Item::Dangling { base, id } => Listed::Dangling(self.text(base, id)),
        })
    }

    /// Entries read: records, malformed records and dangling entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The ids of the dangling entries (no record, or none of the listed fields).
    pub fn dangling(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|item| match *item {
            Item::Dangling { base, id } => Some(self.text(base, id)),
            _ => None,
        })
    }

    fn slice(&self, base: usize, span: Span) -> &[u8] {
        &self.bytes[base + span.start as usize..base + span.end as usize]
    }

    /// An id (copied from a `&str`, so UTF-8).
    fn text(&self, base: usize, span: Span) -> &str {
        std::str::from_utf8(self.slice(base, span)).unwrap_or_default()
    }

    /// Appends `b` to the entry that starts at `base`; `None` past 4 GiB from there.
    fn append(&mut self, base: usize, b: &[u8]) -> Option<Span> {
        let start = u32::try_from(self.bytes.len() - base).ok()?;
        let end = u32::try_from(self.bytes.len() - base + b.len())
            .ok()
            .filter(|&e| e != NIL)?;
        self.bytes.extend_from_slice(b);
        Some(Span { start, end })
    }
}

impl ListedReplies for ListedBatch {
    fn with_capacity(records: usize) -> Self {
        ListedBatch {
            // About what a record of keytui's takes.
            bytes: Vec::with_capacity(records * 256),
            items: Vec::with_capacity(records),
            fields: Vec::with_capacity(records),
            ..ListedBatch::default()
        }
    }

    /// As [`push_listed`]: a field that is not text makes the record malformed, no field at
    /// all a dangling entry.
    fn push<'a>(&mut self, id: &str, cells: impl Iterator<Item = Cell<'a>>) {
        let base = self.bytes.len();
        let mut spans = [Span { start: NIL, end: 0 }; LISTED_FIELDS.len()];
        let (mut wrong, mut any) = (None, false);
        for ((slot, name), cell) in spans.iter_mut().zip(LISTED_FIELDS).zip(cells) {
            match cell {
                Cell::Nil => {}
                Cell::Text(b) => match self.append(base, b) {
                    Some(span) => {
                        *slot = span;
                        any = true;
                    }
                    None => wrong = wrong.or(Some(format!("field {name} is past 4 GiB"))),
                },
                Cell::Other => wrong = wrong.or(Some(format!("field {name} is not text"))),
            }
        }
        let id_span = match wrong {
            Some(_) => None,
            None => self.append(base, id.as_bytes()),
        };
        match id_span {
            None => {
                self.bytes.truncate(base);
                self.push_malformed(RecordError {
                    id: id.to_owned(),
                    reason: wrong.unwrap_or_else(|| "the record is past 4 GiB".into()),
                });
            }
            Some(id) if !any => self.items.push(Item::Dangling { base, id }),
            Some(id) => {
                self.items.push(Item::Record {
                    base,
                    id,
                    fields: self.fields.len(),
                });
                self.fields.push(spans);
            }
        }
    }

    fn push_malformed(&mut self, e: RecordError) {
        self.items.push(Item::Malformed(self.malformed.len()));
        self.malformed.push(e);
    }

    fn malformed_mut(&mut self) -> &mut [RecordError] {
        &mut self.malformed
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn set_total(&mut self, total: usize) {
        self.total = total;
    }
}

/// A record key that is not a hash, as the first reply tells it.
pub(crate) fn wrong_type(id: &str) -> RecordError {
    RecordError {
        id: id.to_owned(),
        reason: WRONG_TYPE.into(),
    }
}

/// A hash's fields and values, for [`ListedBatch::from_hashes`].
#[cfg(test)]
pub(crate) type TestHash = Vec<(&'static str, Vec<u8>)>;

/// A batch as the reader fills it from hashes (`None`: a key of another type), for tests
/// of what reads batches.
#[cfg(test)]
impl ListedBatch {
    pub(crate) fn from_hashes(entries: &[(String, Option<TestHash>)]) -> ListedBatch {
        let mut b = ListedBatch::with_capacity(entries.len());
        for (id, fields) in entries {
            match fields {
                None => b.push_malformed(wrong_type(id)),
                Some(f) => {
                    let cells: Vec<Cell> = LISTED_FIELDS
                        .iter()
                        .map(|name| {
                            f.iter()
                                .find(|(n, _)| n == name)
                                .map_or(Cell::Nil, |(_, v)| Cell::Text(v))
                        })
                        .collect();
                    b.push(id, cells.into_iter());
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch and a page read from the same replies hold the same records, malformed
    /// records and dangling entries, in the same order.
    #[test]
    fn a_batch_reads_as_a_page() {
        let good = |id: &'static str, name: &'static [u8], meta: &'static [u8]| {
            let mut cells = vec![Cell::Nil; LISTED_FIELDS.len()];
            for (i, f) in LISTED_FIELDS.iter().enumerate() {
                cells[i] = match *f {
                    "id" => Cell::Text(id.as_bytes()),
                    "name" => Cell::Text(name),
                    "status" => Cell::Text(b"active"),
                    "secret_alg" => Cell::Text(b"sha256"),
                    "secret" => Cell::Text(b"00"),
                    "created_at" => Cell::Text(b"1000"),
                    "meta" => Cell::Text(meta),
                    _ => Cell::Nil,
                };
            }
            cells
        };
        let mut other = good("K5", b"x", b"{}");
        other[3] = Cell::Other;
        let replies: Vec<(&str, Option<Vec<Cell>>)> = vec![
            ("K1", Some(good("K1", b"one", br#"{"b":"2","a":"1"}"#))),
            ("K2", None),
            ("K3", Some(vec![Cell::Nil; LISTED_FIELDS.len()])),
            ("K4", Some(good("K4", b"\xffbad", b"[1]"))),
            ("K5", Some(other)),
            ("K6", Some(good("K7", b"wrong id", b"{}"))),
            ("K8", Some(good("K8", b"eight", br#"{"a":"\u00e9"}"#))),
        ];
        let mut page = Page::with_capacity(replies.len());
        let mut batch = ListedBatch::with_capacity(replies.len());
        for (id, cells) in &replies {
            match cells {
                Some(c) => {
                    page.push(id, c.iter().copied());
                    batch.push(id, c.iter().copied());
                }
                None => {
                    page.push_malformed(wrong_type(id));
                    batch.push_malformed(wrong_type(id));
                }
            }
        }
        assert_eq!(batch.len(), page.len());
        let (mut records, mut malformed, mut dangling) = (Vec::new(), Vec::new(), Vec::new());
        for item in batch.read() {
            match item {
                Listed::Record(v) => {
                    let r = v.to_record();
                    assert_eq!(
                        serde_json::to_string(&v.to_json(5)).unwrap(),
                        serde_json::to_string(&r.to_json(5)).unwrap()
                    );
                    records.push(r);
                }
                Listed::Malformed(e) => malformed.push(e),
                Listed::Dangling(id) => dangling.push(id.to_owned()),
            }
        }
        assert_eq!(records, page.records);
        assert_eq!(malformed, page.malformed);
        assert_eq!(dangling, page.dangling);
        assert_eq!(records.len(), 3);
        assert_eq!(malformed.len(), 3);
        assert_eq!(dangling, ["K3"]);
        assert!(!records[1].damage.is_empty());
    }
}
