//! [`RecordView`]: a key record read in place from the raw values of its hash, borrowing
//! every text that needs no repair. It is the one record parser: [`KeyRecord::from_raw`]
//! is a view made owned, and `list` prints views straight from the bytes of the replies,
//! so listing a million records builds no `String` or map per record.
//!
//! Pure: no Redis access, no output. Holds no secret (the stored digest is only checked to
//! be there), and has no `Debug` that could print metadata by accident.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::{JsonTime, KeyRecord, RecordError, RecordJson, SecretAlg, Status, UnixMs, short};
use crate::layout::field;

/// A record borrowed from the raw values of its hash; see [`KeyRecord`] for the fields.
pub struct RecordView<'a> {
    pub id: &'a str,
    pub name: Cow<'a, str>,
    pub revoked: bool,
    pub secret_alg: SecretAlg,
    pub sealed: bool,
    pub token_prefix: Option<&'a str>,
    pub token_checksum: bool,
    pub created_at: UnixMs,
    pub created_by: Cow<'a, str>,
    pub expires_at: Option<UnixMs>,
    pub revoked_at: Option<UnixMs>,
    pub revoked_reason: Option<Cow<'a, str>>,
    pub last_used_at: Option<UnixMs>,
    pub meta: Meta<'a>,
    pub rotated_from: Option<Cow<'a, str>>,
    pub rotated_to: Option<Cow<'a, str>>,
    /// As [`KeyRecord::damage`].
    pub damage: Vec<String>,
}

/// A record's metadata as a map in key order (a later duplicate key wins, as in a
/// `BTreeMap` read from the same JSON), its texts borrowed when they had no escapes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Meta<'a>(pub Vec<MetaPair<'a>>);

/// A metadata key and its value.
pub type MetaPair<'a> = (Cow<'a, str>, Cow<'a, str>);

impl<'a> Meta<'a> {
    /// Reads a JSON object of strings, as `serde_json::from_str::<BTreeMap<String, String>>`
    /// does (and fails where it fails).
    pub fn from_json(text: &'a str) -> Result<Self, serde_json::Error> {
        let mut pairs = serde_json::from_str::<Meta<'a>>(text)?.0;
        // Stable: of equal keys the last one read stays last, and dedup keeps the first of
        // a run, so reverse each run first by sorting on (key, reverse position).
        let mut indexed: Vec<(usize, MetaPair<'a>)> = pairs.drain(..).enumerate().collect();
        indexed.sort_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(&a.0)));
        indexed.dedup_by(|later, earlier| later.1.0 == earlier.1.0);
        Ok(Meta(indexed.into_iter().map(|(_, kv)| kv).collect()))
    }

    fn into_owned(self) -> Meta<'static> {
        Meta(
            self.0
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        )
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Meta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Meta<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Meta<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(m.size_hint().unwrap_or(0).min(16));
                while let Some((k, v)) = m.next_entry::<Text<'de>, Text<'de>>()? {
                    pairs.push((k.0, v.0));
                }
                Ok(Meta(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> RecordView<'a> {
    /// Reads a record through `lookup`, which gives a field's raw value by name; see
    /// [`KeyRecord::from_raw`] for what makes a record malformed or damaged.
    pub fn parse(
        id: &'a str,
        lookup: impl Fn(&str) -> Option<&'a [u8]>,
    ) -> Result<Self, RecordError> {
        let bad = |reason: String| RecordError {
            id: id.to_owned(),
            reason,
        };
        let raw = |name: &str| lookup(name).filter(|v| !v.is_empty());
        // A field verification depends on: UTF-8 text or malformed.
        let get = |name: &str| -> Result<Option<&'a str>, RecordError> {
            raw(name)
                .map(|v| {
                    std::str::from_utf8(v)
                        .map_err(|_| bad(format!("field {name} is not UTF-8 text")))
                })
                .transpose()
        };
        let required = |name: &str| get(name)?.ok_or_else(|| bad(format!("missing field {name}")));
        let damage = RefCell::new(Vec::new());
        let note = |what: String| damage.borrow_mut().push(what);
        // A display field: lossily decoded, the damage noted.
        let display = |name: &str| -> Option<Cow<'a, str>> {
            let v = raw(name)?;
            Some(match std::str::from_utf8(v) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => {
                    note(format!("field {name} is not UTF-8 text"));
                    Cow::Owned(String::from_utf8_lossy(v).into_owned())
                }
            })
        };

        let stored_id = required(field::ID)?;
        if stored_id != id {
            return Err(bad(format!(
                "field id holds another id ({:?})",
                short(stored_id)
            )));
        }
        let revoked = match required(field::STATUS)? {
            "active" => false,
            "revoked" => true,
            other => return Err(bad(format!("unknown status {:?}", short(other)))),
        };
        let alg = required(field::SECRET_ALG)?;
        let secret_alg = SecretAlg::parse(alg)
            .ok_or_else(|| bad(format!("unknown secret_alg {:?}", short(alg))))?;
        required(field::SECRET)?;
        let expires_at = get(field::EXPIRES_AT)?
            .map(|v| {
                v.parse::<UnixMs>()
                    .map_err(|_| bad("field expires_at is not a unix time in ms".into()))
            })
            .transpose()?;
        let token_prefix = get(field::TOKEN_PREFIX)?;
        let token_checksum = get(field::TOKEN_CHECKSUM)? == Some("1");
        let sealed = raw(field::SECRET_SEALED).is_some();

        let name = display(field::NAME).unwrap_or_default();
        let created_by = display(field::CREATED_BY).unwrap_or_default();
        let revoked_reason = display(field::REVOKED_REASON);
        let rotated_from = display(field::ROTATED_FROM);
        let rotated_to = display(field::ROTATED_TO);
        let meta_text = display(field::META);
        let time = |name: &str| -> Option<UnixMs> {
            let v = display(name)?;
            match v.parse::<UnixMs>() {
                Ok(t) => Some(t),
                Err(_) => {
                    note(format!("field {name} is not a unix time in ms"));
                    None
                }
            }
        };
        let created_at = time(field::CREATED_AT);
        let revoked_at = time(field::REVOKED_AT);
        let last_used_at = time(field::LAST_USED_AT);
        let created_at = created_at.unwrap_or_else(|| {
            if raw(field::CREATED_AT).is_none() {
                note("missing field created_at".into());
            }
            0
        });
        let parsed = match &meta_text {
            None => Ok(Meta::default()),
            Some(Cow::Borrowed(json)) => Meta::from_json(json),
            // Lossily decoded: nothing of it can be borrowed.
            Some(Cow::Owned(json)) => Meta::from_json(json).map(Meta::into_owned),
        };
        let meta = parsed.unwrap_or_else(|_| {
            note("field meta is not a JSON object of strings".into());
            Meta::default()
        });
        let mut damage = damage.into_inner();
        damage.dedup();
        Ok(RecordView {
            id,
            name,
            revoked,
            secret_alg,
            sealed,
            token_prefix,
            token_checksum,
            created_at,
            created_by,
            expires_at,
            revoked_at,
            revoked_reason,
            last_used_at,
            meta,
            rotated_from,
            rotated_to,
            damage,
        })
    }

    /// The status at a given time: revoked wins over expired.
    pub fn status_at(&self, now: UnixMs) -> Status {
        Status::at(self.revoked, self.expires_at, now)
    }

    /// The record, owned.
    pub fn to_record(&self) -> KeyRecord {
        KeyRecord {
            id: self.id.to_owned(),
            name: self.name.as_ref().to_owned(),
            revoked: self.revoked,
            secret_alg: self.secret_alg,
            sealed: self.sealed,
            token_prefix: self.token_prefix.map(str::to_owned),
            token_checksum: self.token_checksum,
            created_at: self.created_at,
            created_by: self.created_by.as_ref().to_owned(),
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            revoked_reason: self.revoked_reason.as_deref().map(str::to_owned),
            last_used_at: self.last_used_at,
            meta: self.meta.to_map(),
            rotated_from: self.rotated_from.as_deref().map(str::to_owned),
            rotated_to: self.rotated_to.as_deref().map(str::to_owned),
            damage: self.damage.clone(),
        }
    }

    /// The JSON shape of `list --json` and `show --json`, the same as
    /// [`KeyRecord::to_json`] of the owned record.
    pub fn to_json(&self, now: UnixMs) -> RecordJson<'_, &Meta<'a>> {
        RecordJson {
            id: self.id,
            name: &self.name,
            status: self.status_at(now),
            created_at: JsonTime(self.created_at),
            created_by: &self.created_by,
            expires_at: self.expires_at.map(JsonTime),
            revoked_at: self.revoked_at.map(JsonTime),
            revoked_reason: self.revoked_reason.as_deref(),
            last_used_at: self.last_used_at.map(JsonTime),
            meta: &self.meta,
            secret_storage: self.secret_alg,
            sealed: self.sealed,
            token_prefix: self.token_prefix,
            rotated_from: self.rotated_from.as_deref(),
            rotated_to: self.rotated_to.as_deref(),
            damaged: &self.damage,
        }
    }
}

impl KeyRecord {
    /// The record as a view borrowing its texts (for code that prints both).
    pub fn view(&self) -> RecordView<'_> {
        RecordView {
            id: &self.id,
            name: Cow::Borrowed(&self.name),
            revoked: self.revoked,
            secret_alg: self.secret_alg,
            sealed: self.sealed,
            token_prefix: self.token_prefix.as_deref(),
            token_checksum: self.token_checksum,
            created_at: self.created_at,
            created_by: Cow::Borrowed(&self.created_by),
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            revoked_reason: self.revoked_reason.as_deref().map(Cow::Borrowed),
            last_used_at: self.last_used_at,
            meta: Meta(
                self.meta
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                    .collect(),
            ),
            rotated_from: self.rotated_from.as_deref().map(Cow::Borrowed),
            rotated_to: self.rotated_to.as_deref().map(Cow::Borrowed),
            damage: self.damage.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_reads_as_a_btreemap_does() {
        for json in [
            r#"{}"#,
            r#"{"b":"2","a":"1"}"#,
            r#"{"a":"1","a":"2","b":"x","a":"3"}"#,
            r#" {"k\"ey":"v\\al\u00e9","\u0000":"\n"} "#,
            r#"{"é":"1","e":"2","z":"","":"empty"}"#,
            r#"[1,2]"#,
            r#"{"a":1}"#,
            r#"{"a":"1"} x"#,
            r#""#,
            r#"null"#,
        ] {
            let map = serde_json::from_str::<BTreeMap<String, String>>(json);
            let meta = Meta::from_json(json);
            match (map, meta) {
                (Ok(map), Ok(meta)) => {
                    assert_eq!(meta.to_map(), map, "{json}");
                    assert_eq!(
                        serde_json::to_string(&meta).unwrap(),
                        serde_json::to_string(&map).unwrap(),
                        "{json}"
                    );
                }
                (Err(_), Err(_)) => {}
                (map, meta) => panic!("{json}: {map:?} vs {:?}", meta.map(|m| m.to_map())),
            }
        }
    }
}
