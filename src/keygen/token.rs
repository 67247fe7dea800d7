//! The token format `[prefix "_"] id "_" secret [checksum]`: building ([`Token`]),
//! splitting ([`Token::parse`], [`ParsedToken`]), the prefix rules and the CRC32
//! [`checksum`]. Must not echo a token or secret in an error or in `Debug` output.

use zeroize::Zeroizing;

use super::alphabet::BASE62;
use super::id::is_lower_word;
use super::{CHECKSUM_CHARS, KeygenError, MAX_PREFIX_CHARS, Secret, validate_id};

/// Check a token prefix: segments of lowercase `a-z` joined by `_` (`sk_live`, `ghp`),
/// at most 32 characters.
pub fn validate_prefix(prefix: &str) -> Result<(), KeygenError> {
    if prefix.is_empty() {
        return Err(KeygenError::InvalidPrefix("empty"));
    }
    if prefix.len() > MAX_PREFIX_CHARS {
        return Err(KeygenError::InvalidPrefix("longer than 32 characters"));
    }
    if !prefix.split('_').all(is_lower_word) {
        return Err(KeygenError::InvalidPrefix(
            "must be lowercase letters a-z, in segments joined by single `_`",
        ));
    }
    Ok(())
}

/// CRC32 of `text`, as exactly 6 base62 characters (`0-9A-Za-z`), most significant first,
/// zero-padded.
pub fn checksum(text: &str) -> String {
    let mut n = u64::from(crc32fast::hash(text.as_bytes()));
    let digits = BASE62.as_bytes();
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// A token: `[prefix "_"] id "_" secret [checksum]`. `Debug` redacts the secret.
#[derive(Debug, Clone)]
pub struct Token {
    pub prefix: Option<String>,
    pub id: String,
    pub secret: Secret,
    /// Append a 6-character CRC32 checksum of everything before it.
    pub checksum: bool,
}

impl Token {
    /// A token whose parts are checked so that [`Token::format`] parses back: the prefix
    /// passes [`validate_prefix`], the id [`validate_id`], and the secret is not empty.
    pub fn new(
        prefix: Option<String>,
        id: String,
        secret: Secret,
        checksum: bool,
    ) -> Result<Token, KeygenError> {
        let token = Token {
            prefix,
            id,
            secret,
            checksum,
        };
        token.validate()?;
        Ok(token)
    }

    /// Check the parts as [`Token::new`] does (the fields are public, so they may have
    /// been changed since).
    pub fn validate(&self) -> Result<(), KeygenError> {
        if let Some(p) = &self.prefix {
            validate_prefix(p)?;
        }
        validate_id(&self.id)?;
        if self.secret.expose().is_empty() {
            return Err(KeygenError::InvalidToken("empty secret"));
        }
        Ok(())
    }

    /// The whole token as a [`Secret`]. Does not validate: a token built with
    /// [`Token::new`] always parses back; use [`Token::try_format`] otherwise.
    pub fn format(&self) -> Secret {
        let prefix_len = self.prefix.as_ref().map_or(0, |p| p.len() + 1);
        let capacity = prefix_len + self.id.len() + 1 + self.secret.expose().len() + CHECKSUM_CHARS;
        let mut s = Zeroizing::new(String::with_capacity(capacity));
        if let Some(p) = &self.prefix {
            s.push_str(p);
            s.push('_');
        }
        s.push_str(&self.id);
        s.push('_');
        s.push_str(self.secret.expose());
        if self.checksum {
            let sum = checksum(&s);
            s.push_str(&sum);
        }
        Secret::from(s)
    }

    /// [`Token::validate`], then [`Token::format`].
    pub fn try_format(&self) -> Result<Secret, KeygenError> {
        self.validate()?;
        Ok(self.format())
    }

    /// Split a token into prefix, id and the rest (secret, maybe followed by a checksum).
    ///
    /// Leading `_`-separated segments of only lowercase letters form the prefix, the next
    /// segment is the id, and everything after the `_` that follows the id is the rest
    /// (which may contain `_`). Whether the rest ends in a checksum is for the caller to
    /// decide with [`ParsedToken::checksum_valid`].
    pub fn parse(s: &str) -> Result<ParsedToken, KeygenError> {
        let mut pos = 0;
        let mut prefix_end = None;
        loop {
            let tail = &s[pos..];
            let Some(sep) = tail.find('_') else {
                return Err(KeygenError::InvalidToken(
                    "no id followed by `_` and a secret",
                ));
            };
            let segment = &tail[..sep];
            if is_lower_word(segment) {
                prefix_end = Some(pos + sep);
                pos += sep + 1;
                continue;
            }
            if validate_id(segment).is_err() {
                return Err(KeygenError::InvalidToken("the id part is not a valid id"));
            }
            let rest = &tail[sep + 1..];
            if rest.is_empty() {
                return Err(KeygenError::InvalidToken("empty secret"));
            }
            let prefix = prefix_end.map(|end| s[..end].to_owned());
            if let Some(p) = &prefix
                && p.len() > MAX_PREFIX_CHARS
            {
                return Err(KeygenError::InvalidToken(
                    "prefix longer than 32 characters",
                ));
            }
            return Ok(ParsedToken {
                prefix,
                id: segment.to_owned(),
                rest: Secret::new(rest.to_owned()),
            });
        }
    }
}

/// A token split by [`Token::parse`]. `Debug` redacts the secret.
#[derive(Debug, Clone)]
pub struct ParsedToken {
    pub prefix: Option<String>,
    pub id: String,
    /// Everything after the id's `_`: the secret, maybe followed by a checksum.
    rest: Secret,
}

impl ParsedToken {
    /// Whether the last 6 characters are base62 and the CRC32 checksum of all the token
    /// text before them (with a non-empty secret left over).
    pub fn checksum_valid(&self) -> bool {
        let Some((secret, sum)) = self.split_checksum() else {
            return false;
        };
        let prefix_len = self.prefix.as_ref().map_or(0, |p| p.len() + 1);
        let mut body = Zeroizing::new(String::with_capacity(
            prefix_len + self.id.len() + 1 + secret.len(),
        ));
        if let Some(p) = &self.prefix {
            body.push_str(p);
            body.push('_');
        }
        body.push_str(&self.id);
        body.push('_');
        body.push_str(secret);
        checksum(&body) == sum
    }

    /// The secret without its last 6 characters, which must be base62 (not necessarily a
    /// valid checksum: see [`ParsedToken::secret_checked`]) with at least one character
    /// left before them.
    pub fn secret_with_checksum_stripped(&self) -> Result<Secret, KeygenError> {
        let (secret, _) = self.split_checksum().ok_or(KeygenError::InvalidToken(
            "does not end in a 6-character checksum after a non-empty secret",
        ))?;
        Ok(Secret::new(secret.to_owned()))
    }

    /// The secret with its checksum removed, or an error if the checksum does not match.
    pub fn secret_checked(&self) -> Result<Secret, KeygenError> {
        if self.checksum_valid() {
            self.secret_with_checksum_stripped()
        } else {
            Err(KeygenError::ChecksumMismatch)
        }
    }

    /// Everything after the id, for tokens made without a checksum.
    pub fn secret_whole(&self) -> Secret {
        self.rest.clone()
    }

    /// [`Self::secret_whole`], borrowed.
    pub fn rest(&self) -> &str {
        self.rest.expose()
    }

    /// Split the rest into (secret, checksum) if it ends in 6 base62 characters after a
    /// non-empty secret.
    fn split_checksum(&self) -> Option<(&str, &str)> {
        let rest = self.rest.expose();
        let cut = rest.len().checked_sub(CHECKSUM_CHARS)?;
        if cut == 0 || !rest.is_char_boundary(cut) {
            return None;
        }
        let (secret, sum) = rest.split_at(cut);
        sum.bytes()
            .all(|b| b.is_ascii_alphanumeric())
            .then_some((secret, sum))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keygen::{Encoding, Length, Spec, generate_id, generate_secret};

    fn spec(encoding: Encoding, length: Length) -> Spec {
        Spec { encoding, length }
    }

    #[test]
    fn prefix_rules() {
        for p in ["sk", "sk_live", "pk_test", "ghp", &"a".repeat(32)] {
            assert!(validate_prefix(p).is_ok(), "{p}");
        }
        for p in [
            "",
            "Sk",
            "sk_",
            "_sk",
            "sk__live",
            "sk1",
            "sk-live",
            &"a".repeat(33),
        ] {
            assert!(validate_prefix(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn checksum_format() {
        let c = checksum("sk_live_Ab3_secret");
        assert_eq!(c.len(), 6);
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric()));
        // crc32("") = 0 -> zero-padded; crc32("123456789") = 0xCBF43926 (the check value).
        assert_eq!(checksum(""), "000000");
        let mut n = 0xCBF4_3926u64;
        let mut expected = Vec::new();
        for _ in 0..6 {
            expected.push(BASE62.as_bytes()[(n % 62) as usize]);
            n /= 62;
        }
        expected.reverse();
        assert_eq!(checksum("123456789").as_bytes(), expected.as_slice());
        // Cross-checked with Python's zlib.crc32.
        assert_eq!(checksum("123456789"), "3jZRME");
    }

    fn round_trip(prefix: Option<&str>, secret_spec: &Spec, with_checksum: bool) {
        let id = generate_id(&Spec::id_default()).unwrap();
        let secret = generate_secret(secret_spec, false).unwrap();
        let token = Token::new(
            prefix.map(str::to_owned),
            id.clone(),
            secret.clone(),
            with_checksum,
        )
        .unwrap();
        let text = token.format();
        let parsed = Token::parse(text.expose()).unwrap();
        assert_eq!(parsed.prefix.as_deref(), prefix);
        assert_eq!(parsed.id, id);
        if with_checksum {
            assert!(parsed.checksum_valid());
            assert_eq!(parsed.secret_checked().unwrap().expose(), secret.expose());
            assert_eq!(
                parsed.secret_with_checksum_stripped().unwrap().expose(),
                secret.expose()
            );
        } else {
            assert_eq!(parsed.secret_whole().expose(), secret.expose());
        }
    }

    #[test]
    fn token_round_trips() {
        let b64 = spec(Encoding::Base64Url, Length::Bytes(32));
        for _ in 0..200 {
            for prefix in [None, Some("ghp"), Some("sk_live")] {
                for with_checksum in [false, true] {
                    round_trip(prefix, &Spec::secret_default(), with_checksum);
                    round_trip(prefix, &b64, with_checksum);
                    round_trip(prefix, &Spec::tastypie(), with_checksum);
                }
            }
        }
    }

    #[test]
    fn token_with_underscores_in_secret() {
        let secret = Secret::new("ab_c_D-e_".to_owned());
        let token = Token::new(Some("sk_test".into()), "K9x".into(), secret, true).unwrap();
        let text = token.format();
        assert!(text.expose().starts_with("sk_test_K9x_ab_c_D-e_"));
        assert_eq!(text.expose().len(), "sk_test_K9x_ab_c_D-e_".len() + 6);
        let parsed = Token::parse(text.expose()).unwrap();
        assert_eq!(parsed.prefix.as_deref(), Some("sk_test"));
        assert_eq!(parsed.id, "K9x");
        assert_eq!(parsed.secret_checked().unwrap().expose(), "ab_c_D-e_");
        // A secret that starts with a lowercase word still belongs to the secret.
        let p = Token::parse("ghp_1d_live_x").unwrap();
        assert_eq!((p.prefix.as_deref(), p.id.as_str()), (Some("ghp"), "1d"));
        assert_eq!(p.secret_whole().expose(), "live_x");
    }

    #[test]
    fn checksum_detects_single_character_typo() {
        let token = Token::new(
            Some("pk_test".into()),
            generate_id(&Spec::id_default()).unwrap(),
            generate_secret(&Spec::secret_default(), false).unwrap(),
            true,
        )
        .unwrap();
        let text = token.format();
        let original = text.expose();
        let body_start = "pk_test_".len() + token.id.len() + 1;
        let mut detected = 0;
        let mut tried = 0;
        for pos in body_start..original.len() {
            for replacement in ['0', 'Z', 'q'] {
                if original.as_bytes()[pos] == replacement as u8 {
                    continue;
                }
                let mut typo = original.to_owned();
                typo.replace_range(pos..pos + 1, &replacement.to_string());
                tried += 1;
                let parsed = Token::parse(&typo).unwrap();
                if !parsed.checksum_valid() {
                    detected += 1;
                }
                assert!(parsed.secret_checked().is_err());
            }
        }
        assert_eq!(detected, tried);
        // A typo in the id or prefix is caught too.
        let typo = original.replacen("pk_test", "pk_tast", 1);
        assert!(!Token::parse(&typo).unwrap().checksum_valid());
    }

    #[test]
    fn token_errors() {
        for bad in [
            "", "abc", "sk_live", "sk_live_", "sk_AB", "sk_AB_", "_AB_x", "sk_A:B_x",
        ] {
            assert!(Token::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}_A1_secret", "a".repeat(33));
        assert!(Token::parse(&long).is_err());
        let no_sum = Token::parse("A1_short").unwrap();
        assert!(!no_sum.checksum_valid());
        assert!(no_sum.secret_with_checksum_stripped().is_err());
        assert_eq!(
            no_sum.secret_checked().unwrap_err(),
            KeygenError::ChecksumMismatch
        );
        let six = Token::parse("A1_abcdef").unwrap();
        assert!(
            six.secret_with_checksum_stripped().is_err(),
            "secret would be empty"
        );
        let s = Secret::new("x".into());
        assert!(Token::new(Some("Sk".into()), "A1".into(), s.clone(), false).is_err());
        assert!(Token::new(None, "abc".into(), s.clone(), false).is_err());
        assert!(Token::new(None, "A1".into(), Secret::new(String::new()), false).is_err());
        let bad = Token {
            prefix: None,
            id: "a_b".into(),
            secret: s,
            checksum: false,
        };
        assert!(bad.try_format().is_err());
    }

    #[test]
    fn debug_and_errors_never_show_the_secret() {
        let secret = generate_secret(&Spec::secret_default(), false).unwrap();
        let value = secret.expose().to_owned();
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let token = Token::new(Some("sk".into()), "Id1".into(), secret, true).unwrap();
        let text = token.format();
        let parsed = Token::parse(text.expose()).unwrap();
        for shown in [
            format!("{token:?}"),
            format!("{token:#?}"),
            format!("{text:?}"),
            format!("{parsed:?}"),
            format!("{parsed:#?}"),
        ] {
            assert!(!shown.contains(&value), "{shown}");
            assert!(!shown.contains(&value[..8]), "{shown}");
        }
        assert!(format!("{token:?}").contains("Id1"));
        // Parse errors do not echo the input.
        let bad = format!("sk_{value}");
        let err = Token::parse(&bad).unwrap_err().to_string();
        assert!(!err.contains(&value[..8]), "{err}");
        let mut typo = text.expose().to_owned();
        typo.pop();
        typo.push('!');
        let err = Token::parse(&typo).unwrap().secret_checked().unwrap_err();
        assert!(!err.to_string().contains(&value[..8]));
    }
}
