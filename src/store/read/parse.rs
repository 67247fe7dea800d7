//! Parsing record replies: `HGETALL` pages by field name, `HMGET` of [`LISTED_FIELDS`] by
//! position, and why an unreadable reply is unreadable. Pure: no Redis access.

use redis::Value;

use crate::layout::field;
use crate::record::{KeyRecord, RecordError};
use crate::redis::pipe::Cell;
use crate::store::read::batch::ListedReplies;

/// The record fields [`Store::list_each`] reads: every field of the layout a listed
/// [`KeyRecord`] holds (the stored digest only to check that it is there).
pub(in crate::store) const LISTED_FIELDS: [&str; 17] = [
    field::ID,
    field::NAME,
    field::STATUS,
    field::SECRET_ALG,
    field::SECRET,
    field::SECRET_SEALED,
    field::TOKEN_PREFIX,
    field::TOKEN_CHECKSUM,
    field::CREATED_AT,
    field::CREATED_BY,
    field::EXPIRES_AT,
    field::REVOKED_AT,
    field::REVOKED_REASON,
    field::LAST_USED_AT,
    field::META,
    field::ROTATED_FROM,
    field::ROTATED_TO,
];

/// A page of the index, newest first.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub records: Vec<KeyRecord>,
    /// Records that exist but cannot be read.
    pub malformed: Vec<RecordError>,
    /// Index entries without a record (a create in flight, or a crash `doctor` repairs).
    pub dangling: Vec<String>,
    /// Number of index entries in the namespace.
    pub total: usize,
}

/// Reads the `HGETALL` replies of `ids` into a page: an empty reply is a dangling index
/// entry, a reply that is not a hash of text a malformed record.
pub(in crate::store) fn parse_page(ids: &[String], raw: &[Value]) -> Page {
    let mut page = Page {
        records: Vec::with_capacity(ids.len()),
        ..Page::default()
    };
    for (id, v) in ids.iter().zip(raw) {
        let Some(pairs) = hash_byte_pairs(v) else {
            page.malformed.push(RecordError {
                id: id.clone(),
                reason: unreadable_reason(v),
            });
            continue;
        };
        if pairs.is_empty() {
            page.dangling.push(id.clone());
            continue;
        }
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name.as_bytes())
                .map(|(_, v)| *v)
        };
        match KeyRecord::from_raw(id, lookup) {
            Ok(r) => page.records.push(r),
            Err(e) => page.malformed.push(e),
        }
    }
    page
}

/// The field/value pairs of an `HGETALL` reply (RESP2 array or RESP3 map) as bytes,
/// borrowed from it; `None` when it is not a hash.
fn hash_byte_pairs(v: &Value) -> Option<Vec<(&[u8], &[u8])>> {
    fn bytes(v: &Value) -> Option<&[u8]> {
        match v {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
    match v {
        Value::Nil => Some(Vec::new()),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|kv| Some((bytes(&kv[0])?, bytes(&kv[1])?)))
            .collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
            .collect(),
        _ => None,
    }
}

/// Reads `HMGET ... LISTED_FIELDS` replies into a page (or a [`super::ListedBatch`]): all
/// fields nil is a dangling index entry (or a record without any known field), a reply that
/// is not text a malformed record. Values are borrowed from the replies by position; nothing
/// is copied but what the records keep.
pub(in crate::store) fn parse_listed<P: ListedReplies>(ids: &[String], raw: &[Value]) -> P {
    let mut page = P::with_capacity(ids.len());
    for (id, v) in ids.iter().zip(raw) {
        match v {
            Value::Array(values) => page.push(id, values.iter().map(value_cell)),
            other => page.push_malformed(RecordError {
                id: id.clone(),
                reason: unreadable_reason(other),
            }),
        }
    }
    page
}

/// A field of a redis-rs reply as [`push_listed`] reads it.
fn value_cell(v: &Value) -> Cell<'_> {
    match v {
        Value::Nil => Cell::Nil,
        Value::BulkString(b) => Cell::Text(b),
        _ => Cell::Other,
    }
}

/// Adds the record of one `HMGET ... LISTED_FIELDS` reply (its fields in order) to the
/// page: a record, a malformed record (a field that is not text, or a value the record
/// cannot hold), or a dangling index entry (no field at all). The one reading of such a
/// reply, whether it came through redis-rs or a [`crate::redis::pipe`].
pub(in crate::store) fn push_listed<'a>(
    page: &mut Page,
    id: &str,
    cells: impl Iterator<Item = Cell<'a>>,
) {
    let mut found: [Option<&[u8]>; LISTED_FIELDS.len()] = [None; LISTED_FIELDS.len()];
    let mut not_text = None;
    for ((slot, name), cell) in found.iter_mut().zip(LISTED_FIELDS).zip(cells) {
        match cell {
            Cell::Nil => {}
            Cell::Text(b) => *slot = Some(b),
            Cell::Other => not_text = not_text.or(Some(name)),
        }
    }
    if let Some(name) = not_text {
        page.malformed.push(RecordError {
            id: id.to_owned(),
            reason: format!("field {name} is not text"),
        });
    } else if found.iter().all(Option::is_none) {
        page.dangling.push(id.to_owned());
    } else {
        match KeyRecord::from_raw(id, |name| listed_index(name).and_then(|i| found[i])) {
            Ok(r) => page.records.push(r),
            Err(e) => page.malformed.push(e),
        }
    }
}

/// The position of a field in [`LISTED_FIELDS`] (lengths compared first: a record's view
/// looks up every field by name).
pub(in crate::store) fn listed_index(name: &str) -> Option<usize> {
    LISTED_FIELDS
        .iter()
        .position(|f| f.len() == name.len() && *f == name)
}

/// The reason a record's first reply was given before its type is known.
pub(in crate::store) const WRONG_TYPE: &str = "the record key is not a hash";

pub(in crate::store) fn is_wrong_type(e: &redis::RedisError) -> bool {
    e.code() == Some("WRONGTYPE")
}

/// Why a record's reply cannot be read as a hash of text: another Redis type, or the first
/// field name or value that is not UTF-8 (named, when the name itself is readable).
pub(in crate::store) fn unreadable_reason(v: &Value) -> String {
    let items: Vec<&Value> = match v {
        Value::ServerError(_) => return WRONG_TYPE.into(),
        Value::Array(items) => items.iter().collect(),
        Value::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return WRONG_TYPE.into(),
    };
    for kv in items.chunks(2) {
        let [k, v] = kv else { break };
        let text = |v: &Value| match v {
            Value::BulkString(b) => std::str::from_utf8(b).ok().map(str::to_owned),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        match (text(k), text(v)) {
            (None, _) => return "a field name is not UTF-8 text".into(),
            (Some(name), None) => {
                let name: String = crate::sanitize::line(&name).chars().take(40).collect();
                return format!("field {name} is not UTF-8 text");
            }
            _ => {}
        }
    }
    "the record is not a hash of UTF-8 text".into()
}

/// The field/value pairs of an `HGETALL` reply (RESP2 array or RESP3 map), borrowed from
/// it; `None` when it is not a hash or holds text that is not UTF-8.
pub(crate) fn hash_pairs(v: &Value) -> Option<Vec<(&str, &str)>> {
    pub(in crate::store) fn text(v: &Value) -> Option<&str> {
        match v {
            Value::BulkString(b) => std::str::from_utf8(b).ok(),
            Value::SimpleString(s) => Some(s),
            _ => None,
        }
    }
    match v {
        Value::Nil => Some(Vec::new()),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|kv| Some((text(&kv[0])?, text(&kv[1])?)))
            .collect(),
        Value::Map(m) => m.iter().map(|(k, v)| Some((text(k)?, text(v)?))).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_index_is_the_position_in_listed_fields() {
        for (i, name) in LISTED_FIELDS.iter().enumerate() {
            assert_eq!(listed_index(name), Some(i), "{name}");
        }
        assert_eq!(listed_index("no_such_field"), None);
    }
}
