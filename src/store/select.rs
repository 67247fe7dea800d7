//! Choosing and ordering keys for a listing: the attention conditions of [`KeyFilter`]
//! (`--unused-for`, `--expiring-within`, `--never-used`, `--created-by`, shared by `list`
//! and `revoke/delete --all-matching`) and the orders of `list --sort`. Pure: the caller
//! reads the records, this decides which and in what order.

use std::cmp::Ordering;

use crate::record::{KeyRecord, Status, UnixMs};

use super::KeyFilter;

/// What the attention conditions of a [`KeyFilter`] look at, borrowed from a
/// [`KeyRecord`] or from any other form of a key (the TUI's compact rows), so that every
/// client applies the one rule.
#[derive(Clone, Copy, Debug)]
pub struct UsageFacts<'a> {
    pub created_at: UnixMs,
    pub last_used_at: Option<UnixMs>,
    pub expires_at: Option<UnixMs>,
    pub created_by: &'a str,
}

impl<'a> From<&'a KeyRecord> for UsageFacts<'a> {
    fn from(r: &'a KeyRecord) -> Self {
        UsageFacts {
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            created_by: &r.created_by,
        }
    }
}

impl KeyFilter {
    /// The attention part of [`KeyFilter::matches`].
    pub(super) fn attention_matches(&self, r: &KeyRecord, now: UnixMs) -> bool {
        self.attention_admits(&UsageFacts::from(r), now)
    }

    /// Whether a key passes the attention conditions (never used, unused for, expiring
    /// within, created by) at time `now`; the other conditions are not looked at.
    pub fn attention_admits(&self, r: &UsageFacts<'_>, now: UnixMs) -> bool {
        if self.never_used && r.last_used_at.is_some() {
            return false;
        }
        if let Some(d) = self.unused_for_ms
            && r.last_used_at.unwrap_or(r.created_at) > now.saturating_sub(d)
        {
            return false;
        }
        if let Some(d) = self.expiring_within_ms {
            match r.expires_at {
                Some(e) if e > now && e <= now.saturating_add(d) => {}
                _ => return false,
            }
        }
        if let Some(who) = &self.created_by {
            let by = r.created_by;
            let same = by == who
                || by
                    .strip_prefix(who.as_str())
                    .is_some_and(|rest| rest.starts_with('@'));
            if !same {
                return false;
            }
        }
        true
    }

    /// Whether the attention part of the filter has no condition.
    pub(super) fn attention_is_empty(&self) -> bool {
        self.unused_for_ms.is_none()
            && self.expiring_within_ms.is_none()
            && !self.never_used
            && self.created_by.is_none()
    }

    /// Words for the attention part of the filter, for its `Display`.
    pub(super) fn describe_attention(&self, parts: &mut Vec<String>) {
        let human = |ms: i64| {
            let d = std::time::Duration::from_secs(u64::try_from(ms.max(0) / 1000).unwrap_or(0));
            human_duration(d)
        };
        if let Some(d) = self.unused_for_ms {
            parts.push(format!("unused for {}", human(d)));
        }
        if let Some(d) = self.expiring_within_ms {
            parts.push(format!("expiring within {}", human(d)));
        }
        if self.never_used {
            parts.push("never used".into());
        }
        if let Some(who) = &self.created_by {
            parts.push(format!("created by {}", crate::sanitize::line(who)));
        }
    }
}

/// `90d`, `12h 30m`, `45s`: whole days, hours, minutes and seconds.
fn human_duration(d: std::time::Duration) -> String {
    let mut s = d.as_secs();
    let mut out = Vec::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push(format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if out.is_empty() {
        "0s".into()
    } else {
        out.join(" ")
    }
}

/// What `list --sort` orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum SortKey {
    Name,
    Created,
    Expires,
    LastUsed,
    Status,
}

impl SortKey {
    /// Whether this key sorts descending when no direction is given: newest first for
    /// creation and last use, ascending otherwise.
    pub fn descending_by_default(self) -> bool {
        matches!(self, SortKey::Created | SortKey::LastUsed)
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Active => 0,
        Status::Expired => 1,
        Status::Revoked => 2,
    }
}

/// Sorts records by `key`; values that are absent (no expiry, never used) come last in
/// either direction; ties keep the newest first.
pub fn sort_records(records: &mut [KeyRecord], key: SortKey, descending: bool, now: UnixMs) {
    fn opt<T: Ord>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) if desc => b.cmp(&a),
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let dir = |o: Ordering| if descending { o.reverse() } else { o };
    records.sort_by(|a, b| {
        let primary = match key {
            SortKey::Name => dir(a.name.to_lowercase().cmp(&b.name.to_lowercase())),
            SortKey::Created => dir(a.created_at.cmp(&b.created_at)),
            SortKey::Expires => opt(a.expires_at, b.expires_at, descending),
            SortKey::LastUsed => opt(a.last_used_at, b.last_used_at, descending),
            SortKey::Status => {
                dir(status_rank(a.status_at(now)).cmp(&status_rank(b.status_at(now))))
            }
        };
        primary.then(b.created_at.cmp(&a.created_at))
    });
}
