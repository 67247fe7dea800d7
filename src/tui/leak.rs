//! Responding to a leak: what a paste into the table holds, and the one-line verdict on
//! it. A paste is checked offline first, with the scanner's own rules
//! ([`crate::scan::token_in_run`]: the token shape and its checksum); a token found is
//! looked up by the sync task (its record, and the real verifier's verdict on it), and
//! [`verdict`] words the answer.
//!
//! Pure: no I/O, no clock, no state. The pasted text is never kept, logged or shown: only
//! the key id leaves this module in plain text (the token itself travels as a [`Secret`],
//! whose `Debug` is redacted, to the sync task that verifies it).

use crate::keygen::{Secret, Token};
use crate::record::{Status, UnixMs};
use crate::verify::{Rejection, Verdict};

use super::clock::relative;
use super::msg::LeakFound;
use super::row::Row;

/// What a paste holds.
#[derive(Debug)]
pub enum Pasted {
    /// A token whose checksum is valid: look its key up.
    Token { id: String, token: Secret },
    /// Something shaped like a token (prefix, id, secret) whose checksum fails.
    BadChecksum,
    /// Nothing shaped like a token.
    Nothing,
}

/// Finds the first token in a pasted text (any text around it is ignored).
pub fn examine(text: &str) -> Pasted {
    let mut shaped = false;
    for run in text
        .as_bytes()
        .split(|&b| !crate::scan::is_token_byte(b))
        .filter(|run| !run.is_empty())
    {
        if let Some(token) = crate::scan::token_in_run(run)
            && let Ok(parsed) = Token::parse(token)
        {
            return Pasted::Token {
                id: parsed.id,
                token: Secret::new(token.to_owned()),
            };
        }
        shaped |= std::str::from_utf8(run).is_ok_and(|t| Token::parse(t).is_ok());
    }
    if shaped {
        Pasted::BadChecksum
    } else {
        Pasted::Nothing
    }
}

/// What the paste's lookup found, in one line. `revoke` is how to revoke the key from here
/// (e.g. `d`), offered when the key is live; `None` when it cannot be offered (its row is
/// not the selected one). `row` is the key's row once loaded.
pub fn verdict(
    id: &str,
    found: &LeakFound,
    row: Option<&Row>,
    now: UnixMs,
    revoke: Option<&str>,
) -> String {
    let id = crate::sanitize::line(id);
    let (verdict, name) = match (found, row) {
        (LeakFound::Missing, _) => {
            return format!("well-formed but no such key in this namespace (id {id})");
        }
        (LeakFound::Malformed, _) => {
            return format!("key {id} exists but its record is malformed (keytui doctor)");
        }
        (LeakFound::Key(verdict), Some(r)) => (verdict, crate::sanitize::line(r.name())),
        (LeakFound::Key(verdict), None) => (verdict, id.clone()),
    };
    let used = |r: Option<&Row>| match r.and_then(|r| r.last_used_at()) {
        Some(t) => format!("last used {}", relative(Some(t), now)),
        None => "never used".to_owned(),
    };
    let offer = |text: String| match revoke {
        Some(revoke) => format!("{text}: {revoke} revokes it"),
        None => text,
    };
    match verdict {
        Verdict::Valid { .. } => offer(format!("valid key {name}, active, {}", used(row))),
        Verdict::Rejected(Rejection::Revoked) => match row.and_then(Row::revoked_at) {
            Some(t) => format!("key {name} was revoked {}", relative(Some(t), now)),
            None => format!("key {name} is revoked"),
        },
        Verdict::Rejected(Rejection::Expired) => match row.and_then(|r| r.expires_at()) {
            Some(t) => offer(format!(
                "valid secret of key {name}, expired {}",
                relative(Some(t), now)
            )),
            None => offer(format!("valid secret of key {name}, expired")),
        },
        Verdict::Rejected(Rejection::WrongSecret) => {
            format!("secret does not match key {name} (not a leak of this key)")
        }
        Verdict::Rejected(Rejection::BadChecksum) => {
            "checksum fails: not a keytui token".to_owned()
        }
        Verdict::Rejected(Rejection::Unknown) => match row.map(|r| r.status_at(now)) {
            Some(Status::Revoked) => format!("key {name} is revoked"),
            _ => format!("well-formed but no such key in this namespace (id {id})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen::Token;

    fn token(id: &str, secret: &str) -> String {
        let t = Token::new(
            Some("sk_live".into()),
            id.into(),
            Secret::new(secret.into()),
            true,
        )
        .expect("token");
        t.format().expose().to_owned()
    }

    #[test]
    fn a_token_is_found_in_any_text_around_it() {
        let t = token("K01x9fQ2mZ7pL4tR8", "s3cretS3cretS3cret");
        for text in [
            t.clone(),
            format!("2026-01-01 ERROR auth failed Authorization: Bearer {t}\n"),
            format!("\"key\": \"{t}\","),
        ] {
            match examine(&text) {
                Pasted::Token { id, token } => {
                    assert_eq!(id, "K01x9fQ2mZ7pL4tR8");
                    assert_eq!(token.expose(), t);
                }
                other => panic!("{other:?} in {text:?}"),
            }
        }
    }

    #[test]
    fn a_bad_checksum_and_plain_text_are_told_apart() {
        let t = token("K01x9fQ2mZ7pL4tR8", "s3cretS3cretS3cret");
        // one character of the secret changed: the checksum fails
        let typo = t.replacen("s3cret", "s4cret", 1);
        assert!(matches!(examine(&typo), Pasted::BadChecksum));
        // cut short: the checksum fails too
        assert!(matches!(examine(&t[..t.len() - 2]), Pasted::BadChecksum));
        assert!(matches!(examine("hello world"), Pasted::Nothing));
        assert!(matches!(examine(""), Pasted::Nothing));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = token("K01x9fQ2mZ7pL4tR8", "s3cretS3cretS3cret");
        let shown = format!("{:?}", examine(&t));
        assert!(shown.contains("K01x9fQ2mZ7pL4tR8"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
