//! How times are written on screen (`45s`, `in 3d`, `2h ago`) and when each text next
//! changes, so that the UI redraws exactly then. Pure functions of two times: no state,
//! no clock reading (the caller passes `now`).

use crate::record::UnixMs;

use super::row::Row;

/// Seconds per unit of [`short_secs`]: s, m, h, d, y.
const UNITS: [(i64, &str); 5] = [
    (1, "s"),
    (60, "m"),
    (3600, "h"),
    (86_400, "d"),
    (31_536_000, "y"),
];

/// The unit a number of seconds is shown in: the largest that fits once.
fn unit_of(s: i64) -> (i64, &'static str) {
    UNITS
        .iter()
        .rev()
        .find(|(u, _)| s >= *u)
        .copied()
        .unwrap_or(UNITS[0])
}

/// Whole seconds as `45s`, `12m`, `5h`, `3d`, `2y` (rounded down to the unit).
pub fn short_secs(s: i64) -> String {
    let s = s.max(0);
    let (u, name) = unit_of(s);
    format!("{}{name}", s / u)
}

/// A duration in ms as `45s`, `12m`, `5h`, `3d`, `2y` (whole seconds, rounded down).
pub fn short_duration(ms: i64) -> String {
    short_secs(ms.max(0) / 1000)
}

/// Time left until `t` (in the future), rounded **up** to whole seconds: a countdown shows
/// `1s` during the last second and never `0s` before the moment itself.
pub fn time_left(t: UnixMs, now: UnixMs) -> String {
    short_secs(ceil_secs(t - now))
}

fn ceil_secs(ms: i64) -> i64 {
    (ms.max(0) + 999) / 1000
}

/// When the text of [`time_left`]`(t, now)` next changes (`t` itself at the end): the
/// next second under a minute left, else the next change of minutes, hours, ….
pub fn time_left_changes(t: UnixMs, now: UnixMs) -> UnixMs {
    let s = ceil_secs(t - now);
    if s <= 0 {
        return t;
    }
    let (u, _) = unit_of(s);
    // The text stays while the seconds left are at least (s / u) * u.
    t - ((s / u) * u - 1) * 1000
}

/// When the text of [`short_duration`]`(now - t)` (time since `t`) next changes.
pub fn time_since_changes(t: UnixMs, now: UnixMs) -> UnixMs {
    let s = (now - t).max(0) / 1000;
    let (u, _) = unit_of(s);
    t + (s / u + 1) * u * 1000
}

/// `in 3d`, `2h ago`, or `-`.
pub fn relative(t: Option<UnixMs>, now: UnixMs) -> String {
    match t {
        None => "-".into(),
        Some(t) if t > now => format!("in {}", time_left(t, now)),
        Some(t) => format!("{} ago", short_duration(now - t)),
    }
}

/// When the text of [`relative`]`(t, now)` next changes.
pub fn relative_changes(t: Option<UnixMs>, now: UnixMs) -> Option<UnixMs> {
    let t = t?;
    Some(if t > now {
        time_left_changes(t, now)
    } else {
        time_since_changes(t, now)
    })
}

/// When the time columns of a table row next change: its age, its expiry countdown (and
/// the moment it expires: status, colour and the expires column), the last use.
pub fn row_changes(r: &Row, now: UnixMs) -> [Option<UnixMs>; 3] {
    [
        relative_changes(Some(r.created_at), now),
        r.expires_at()
            .filter(|&t| t > now)
            .map(|t| time_left_changes(t, now)),
        r.last_used_at()
            .and_then(|t| relative_changes(Some(t), now)),
    ]
}

/// When the times the detail view shows of a record next change.
pub fn record_changes(r: &Row, now: UnixMs) -> [Option<UnixMs>; 4] {
    [
        relative_changes(Some(r.created_at), now),
        relative_changes(r.expires_at(), now),
        relative_changes(r.last_used_at(), now),
        relative_changes(r.revoked_at(), now),
    ]
}
