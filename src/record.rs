//! Key records as stored in Redis (one hash per key) and their status.
//!
//! Parsing is strict about the fields verification depends on and lenient about the rest,
//! because records may have been written by other programs; a record that cannot be read is
//! reported as [`RecordError`], never a panic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

pub mod verify_field;
mod view;

pub use view::{Meta, RecordView};

/// Milliseconds since the Unix epoch, the unit of every timestamp in the layout.
pub type UnixMs = i64;

/// The latest expiry accepted: 9999-12-30T00:00:00Z (what every reader can print).
pub const MAX_EXPIRY_MS: UnixMs = 253_402_128_000_000;

/// Current time in unix milliseconds.
pub fn now_ms() -> UnixMs {
    jiff::Timestamp::now().as_millisecond()
}

/// Formats unix milliseconds as RFC 3339 (UTC, second precision).
pub fn rfc3339(ms: UnixMs) -> String {
    let mut buf = [0u8; 20];
    match rfc3339_fast(ms, &mut buf) {
        Some(text) => text.to_owned(),
        None => rfc3339_slow(ms),
    }
}

fn rfc3339_slow(ms: UnixMs) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.round(jiff::Unit::Second).unwrap_or(ts).to_string(),
        Err(_) => ms.to_string(),
    }
}

/// [`rfc3339`] without allocating, for times from 1970 to late 9999 (rounded to the nearest
/// second, halves up, as jiff does); `None` for others.
fn rfc3339_fast(ms: UnixMs, buf: &mut [u8; 20]) -> Option<&str> {
    // jiff's last timestamp is 9999-12-30T22:00:00Z; stay a second below it.
    const LAST: i64 = 253_402_207_199;
    if ms < 0 {
        return None;
    }
    let secs = ms.checked_add(500)? / 1000;
    if secs > LAST {
        return None;
    }
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (H. Hinnant's algorithm), for days >= 0.
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let digits = |buf: &mut [u8; 20], at: usize, n: i64, width: usize| {
        let mut n = n;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    digits(buf, 0, year, 4);
    buf[4] = b'-';
    digits(buf, 5, month, 2);
    buf[7] = b'-';
    digits(buf, 8, day, 2);
    buf[10] = b'T';
    digits(buf, 11, rem / 3600, 2);
    buf[13] = b':';
    digits(buf, 14, rem / 60 % 60, 2);
    buf[16] = b':';
    digits(buf, 17, rem % 60, 2);
    buf[19] = b'Z';
    std::str::from_utf8(buf).ok()
}

/// A timestamp that serializes as [`rfc3339`] text, without an intermediate `String`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonTime(pub UnixMs);

impl Serialize for JsonTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        match rfc3339_fast(self.0, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&rfc3339_slow(self.0)),
        }
    }
}

/// What a key can be used for right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Revoked,
    /// Not stored: computed from `expires_at`.
    Expired,
}

impl Status {
    /// The status of a key at a given time: revoked wins over expired.
    pub fn at(revoked: bool, expires_at: Option<UnixMs>, now: UnixMs) -> Status {
        if revoked {
            Status::Revoked
        } else if expires_at.is_some_and(|e| e <= now) {
            Status::Expired
        } else {
            Status::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the secret is kept in the record's `secret` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SecretAlg {
    /// Lowercase hex SHA-256 of the secret.
    #[serde(rename = "sha256")]
    Sha256,
    /// Lowercase hex HMAC-SHA256 of the secret under the namespace's pepper.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// The secret itself (legacy `plain` namespaces only).
    #[serde(rename = "plain")]
    Plain,
}

impl SecretAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretAlg::Sha256 => "sha256",
            SecretAlg::HmacSha256 => "hmac-sha256",
            SecretAlg::Plain => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(SecretAlg::Sha256),
            "hmac-sha256" => Some(SecretAlg::HmacSha256),
            "plain" => Some(SecretAlg::Plain),
            _ => None,
        }
    }
}

/// One API key as stored, without anything that could reveal the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    /// The stored status (`active` or `revoked`); see [`KeyRecord::status_at`].
    pub revoked: bool,
    pub secret_alg: SecretAlg,
    /// Whether the record has an encrypted copy of the secret (`sealed` namespaces).
    pub sealed: bool,
    pub token_prefix: Option<String>,
    pub token_checksum: bool,
    pub created_at: UnixMs,
    pub created_by: String,
    pub expires_at: Option<UnixMs>,
    pub revoked_at: Option<UnixMs>,
    pub revoked_reason: Option<String>,
    pub last_used_at: Option<UnixMs>,
    pub meta: BTreeMap<String, String>,
    pub rotated_from: Option<String>,
    pub rotated_to: Option<String>,
    /// What is wrong with the record's display fields (`name`, `created_by`,
    /// `revoked_reason` not UTF-8; `meta` not a JSON object of strings; `created_at`,
    /// `revoked_at`, `last_used_at` not a unix time in ms). Such a record still lists (the
    /// damaged fields lossily decoded or left empty) and still verifies; empty when sound.
    pub damage: Vec<String>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("revoked", &self.revoked)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored record that cannot be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("malformed record {id:?}: {reason}")]
pub struct RecordError {
    pub id: String,
    pub reason: String,
}

impl KeyRecord {
    /// The status at a given time: revoked wins over expired.
    pub fn status_at(&self, now: UnixMs) -> Status {
        Status::at(self.revoked, self.expires_at, now)
    }

    pub fn status(&self) -> Status {
        self.status_at(now_ms())
    }

    /// Reads a record from the fields of its hash. `id` is the id the record was looked up by.
    pub fn from_fields(id: &str, fields: &HashMap<String, String>) -> Result<Self, RecordError> {
        Self::from_raw(id, |name| fields.get(name).map(String::as_bytes))
    }

    /// Reads a record from its hash given as field/value pairs (as `HGETALL` returns them),
    /// without building a map. A field given twice counts once (the first).
    pub fn from_pairs(id: &str, pairs: &[(&str, &str)]) -> Result<Self, RecordError> {
        Self::from_raw(id, |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_bytes())
        })
    }

    /// Reads a record through `lookup`, which gives a field's raw value by name: the one
    /// parser every reader goes through. The fields verification depends on (`id`, `status`,
    /// `secret_alg`, `secret`, `expires_at`, `token_prefix`, `token_checksum`) must be sound,
    /// or the record is a [`RecordError`]; damage in display fields is recorded in
    /// [`KeyRecord::damage`] and the record is still read (see docs/redis-layout.md,
    /// "Malformed and damaged records").
    pub fn from_raw<'a>(
        id: &str,
        lookup: impl Fn(&str) -> Option<&'a [u8]>,
    ) -> Result<Self, RecordError> {
        RecordView::parse(id, |name| -> Option<&[u8]> { lookup(name) }).map(|v| v.to_record())
    }

    /// The JSON shape of a record in `list --json` and `show --json` (never a secret).
    pub fn to_json(&self, now: UnixMs) -> RecordJson<'_> {
        RecordJson {
            id: &self.id,
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
            token_prefix: self.token_prefix.as_deref(),
            rotated_from: self.rotated_from.as_deref(),
            rotated_to: self.rotated_to.as_deref(),
            damaged: &self.damage,
        }
    }
}

/// A record as JSON: timestamps in RFC 3339, status computed. `M` is the metadata map
/// (a [`RecordView`]'s [`Meta`] serializes as the same map).
#[derive(Serialize)]
pub struct RecordJson<'a, M: Serialize = &'a BTreeMap<String, String>> {
    pub id: &'a str,
    pub name: &'a str,
    pub status: Status,
    pub created_at: JsonTime,
    pub created_by: &'a str,
    pub expires_at: Option<JsonTime>,
    pub revoked_at: Option<JsonTime>,
    pub revoked_reason: Option<&'a str>,
    pub last_used_at: Option<JsonTime>,
    pub meta: M,
    pub secret_storage: SecretAlg,
    pub sealed: bool,
    pub token_prefix: Option<&'a str>,
    pub rotated_from: Option<&'a str>,
    pub rotated_to: Option<&'a str>,
    /// What is wrong with the display fields; absent when nothing is.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub damaged: &'a [String],
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_rfc3339_agrees_with_jiff() {
        let mut samples = vec![
            0,
            499,
            500,
            999,
            1_000,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_499,   // 2100-02-28T23:59:59.499
            4_107_542_399_500,   // rounds into 2100-03-01
            253_402_207_198_499, // the last second of the fast range
        ];
        let mut x: i64 = 1_700_000_000_123;
        for _ in 0..20_000 {
            // A spread of times between 1970 and 9999.
            x = (x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1)) & ((1 << 47) - 1);
            samples.push(x % 253_402_207_199_000);
        }
        for ms in samples {
            assert_eq!(rfc3339(ms), rfc3339_slow(ms), "{ms}");
            assert_eq!(
                serde_json::to_string(&JsonTime(ms)).unwrap(),
                format!("\"{}\"", rfc3339_slow(ms))
            );
        }
        // Outside the fast range, the slow path answers.
        for ms in [
            -1,
            -1_500,
            253_402_207_199_500,
            253_402_300_799_499,
            i64::MAX,
        ] {
            assert_eq!(rfc3339(ms), rfc3339_slow(ms), "{ms}");
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("id", "K1"),
            ("name", "ci"),
            ("status", "active"),
            ("secret_alg", "sha256"),
            ("secret", "00"),
            ("created_at", "1000"),
        ]
    }

    #[test]
    fn status_is_computed_from_expiry_and_revocation() {
        let mut f = base();
        f.push(("expires_at", "2000"));
        let rec = KeyRecord::from_fields("K1", &fields(&f)).unwrap();
        assert_eq!(rec.status_at(1999), Status::Active);
        assert_eq!(rec.status_at(2000), Status::Expired);
        f[2] = ("status", "revoked");
        let rec = KeyRecord::from_fields("K1", &fields(&f)).unwrap();
        assert_eq!(rec.status_at(5000), Status::Revoked);
    }

    #[test]
    fn malformed_records_are_errors() {
        for (k, v) in [
            ("status", "weird"),
            ("expires_at", "soon"),
            ("secret_alg", "md5"),
            ("id", "other"),
        ] {
            let mut f = base();
            f.retain(|(name, _)| *name != k);
            f.push((k, v));
            let err = KeyRecord::from_fields("K1", &fields(&f)).unwrap_err();
            assert_eq!(err.id, "K1", "{k}");
        }
        let mut f = base();
        f.retain(|(name, _)| *name != "secret");
        assert!(KeyRecord::from_fields("K1", &fields(&f)).is_err());
    }

    #[test]
    fn damaged_display_fields_are_read_and_noted() {
        for (k, v, word) in [
            ("created_at", &b"yesterday"[..], "created_at"),
            ("meta", b"[1,2]", "meta"),
            ("name", b"\xff\xfebad", "name"),
            ("last_used_at", b"1e9", "last_used_at"),
        ] {
            let mut f: Vec<(&str, &[u8])> =
                base().into_iter().map(|(n, v)| (n, v.as_bytes())).collect();
            f.retain(|(name, _)| *name != k);
            f.push((k, v));
            let rec = KeyRecord::from_raw("K1", |n| f.iter().find(|(k, _)| *k == n).map(|p| p.1))
                .unwrap();
            assert_eq!(rec.damage.len(), 1, "{k}: {:?}", rec.damage);
            assert!(rec.damage[0].contains(word), "{:?}", rec.damage);
        }
        let rec = KeyRecord::from_fields("K1", &fields(&base())).unwrap();
        assert!(rec.damage.is_empty());
    }
}
