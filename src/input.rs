//! Parsing what a person types, shared by the CLI's flags and the TUI's form: expiry times,
//! durations, metadata `key=value` pairs and the status filter. Each parser returns a short
//! reason in the user's words; the caller adds where the text came from (a flag, a field).
//! Nothing here touches Redis or the terminal.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::record::{Status, UnixMs};

/// The longest duration accepted anywhere (a grace period, a clipboard delay).
const MAX_DURATION: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

pub use crate::record::MAX_EXPIRY_MS;

/// `90d`, `12h` (from `now`) or an RFC 3339 time, as unix ms; at most [`MAX_EXPIRY_MS`].
pub fn parse_expiry_at(s: &str, now: UnixMs) -> Result<UnixMs, String> {
    let at = match humantime::parse_duration(s) {
        Ok(d) => now.saturating_add(d.as_millis().min(i64::MAX as u128) as i64),
        Err(_) => s
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|_| "give a duration (90d, 12h) or an RFC 3339 time".to_owned())?,
    };
    if at > MAX_EXPIRY_MS {
        return Err("it is after the year 9999".to_owned());
    }
    Ok(at)
}

/// A duration such as `24h`, `30m` or `7d`, at most 100 years.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) => Err(format!("duration {s:?} is longer than 100 years")),
        Err(_) => Err(format!("invalid duration {s:?}: use e.g. 24h, 30m, 7d")),
    }
}

/// Which statuses a listing shows: `keytui list --status` and the TUI's status filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    Revoked,
    Expired,
}

impl StatusFilter {
    /// The next filter in the cycle all, active, revoked, expired.
    pub fn next(self) -> Self {
        match self {
            StatusFilter::All => StatusFilter::Active,
            StatusFilter::Active => StatusFilter::Revoked,
            StatusFilter::Revoked => StatusFilter::Expired,
            StatusFilter::Expired => StatusFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Active => "active",
            StatusFilter::Revoked => "revoked",
            StatusFilter::Expired => "expired",
        }
    }

    pub fn admits(self, s: Status) -> bool {
        self.status().is_none_or(|want| want == s)
    }

    /// The one status this filter keeps; `None` for all.
    pub fn status(self) -> Option<Status> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Active => Some(Status::Active),
            StatusFilter::Revoked => Some(Status::Revoked),
            StatusFilter::Expired => Some(Status::Expired),
        }
    }
}

/// One metadata pair, `key=value`: the first `=` splits, the key must not be empty, the
/// value is taken as it is (commas, `=` and spaces included). The CLI's `--meta` and the
/// TUI's metadata field both read pairs with this.
pub fn parse_meta_pair(s: &str) -> Result<(String, String), String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err("use key=value".into());
    };
    if k.is_empty() {
        return Err("empty key".into());
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// A line of metadata pairs separated by spaces, as the TUI's metadata field takes them:
/// `owner=team-a scopes=read,write note="two words"`. Double or single quotes keep spaces
/// in a pair (anywhere in it), and a backslash takes the next character as it is (outside
/// single quotes). Each pair is read by [`parse_meta_pair`].
pub fn parse_meta_line(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut meta = BTreeMap::new();
    for word in split_words(s)? {
        let (k, v) = parse_meta_pair(&word).map_err(|e| format!("{word:?}: {e}"))?;
        meta.insert(k, v);
    }
    Ok(meta)
}

/// Splits at unquoted whitespace, removing the quotes and backslashes (a small shell-like
/// word splitter: no variables, no globs).
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '"' | '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        None => return Err(format!("missing closing {c}")),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(e) => w.push(e),
                            None => return Err(format!("missing closing {c}")),
                        },
                        Some(q) => w.push(q),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err("a backslash at the end".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lines_keep_commas_and_quoted_spaces() {
        let m =
            parse_meta_line(r#"owner=team-a scopes=read,write note="two words" x='a "b"' y=c\ d"#)
                .unwrap();
        let got: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("note", "two words"),
                ("owner", "team-a"),
                ("scopes", "read,write"),
                ("x", "a \"b\""),
                ("y", "c d"),
            ]
        );
        assert_eq!(parse_meta_line("  ").unwrap().len(), 0);
        assert_eq!(parse_meta_line("k=a=b").unwrap()["k"], "a=b");
        assert_eq!(parse_meta_line("k=").unwrap()["k"], "");
        assert!(
            parse_meta_line("novalue")
                .unwrap_err()
                .contains("key=value")
        );
        assert!(parse_meta_line("=v").unwrap_err().contains("empty key"));
        assert!(
            parse_meta_line(r#"k="open"#)
                .unwrap_err()
                .contains("closing")
        );
    }

    #[test]
    fn expiry_takes_durations_and_times() {
        assert_eq!(parse_expiry_at("1h", 1_000), Ok(3_601_000));
        assert_eq!(
            parse_expiry_at("2027-01-31T00:00:00Z", 0),
            Ok(1_801_353_600_000)
        );
        assert!(parse_expiry_at("soon", 0).unwrap_err().contains("RFC 3339"));
        assert!(parse_duration("200y").unwrap_err().contains("100 years"));
        assert!(parse_duration("x").unwrap_err().contains("24h"));
    }
}
