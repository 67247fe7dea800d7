//! Key ids: [`generate_id`] and [`validate_id`]. An id is public (no entropy minimum) but
//! must survive the token format and Redis key names: no `_`, `{`, `}`, `:` or
//! whitespace, and never only lowercase letters (which token parsing reads as a prefix).

use rand::TryRng;
use rand::rngs::SysRng;

use super::sample::encode;
use super::{KeygenError, MAX_ID_CHARS, Spec};

/// Characters an id may never contain: `_` separates token parts, `{` `}` are Redis
/// cluster hash-tag delimiters and `:` separates Redis key parts.
const ID_FORBIDDEN: &[char] = &['_', '{', '}', ':'];

/// How many times [`generate_id`] draws again when an id comes out all lowercase letters.
const ID_MAX_DRAWS: usize = 128;

/// Generate a key id from the OS generator.
///
/// Ids are public, so there is no entropy minimum, but they follow [`validate_id`]: the
/// alphabet must consist of id-safe characters (so [`Encoding::Base64Url`], which has `_`,
/// is refused) and must not be only lowercase letters; the length must be 1..=128.
/// An id that comes out all lowercase letters (e.g. hex `deadbeef`) is drawn again.
pub fn generate_id(spec: &Spec) -> Result<String, KeygenError> {
    generate_id_with(&mut SysRng, spec)
}

fn generate_id_with<R: TryRng + ?Sized>(rng: &mut R, spec: &Spec) -> Result<String, KeygenError> {
    let Some(alphabet) = spec.encoding.alphabet() else {
        let mut bytes = [0u8; 16];
        rng.try_fill_bytes(&mut bytes)
            .map_err(|e| KeygenError::Rng(e.to_string()))?;
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        return Ok(uuid.hyphenated().to_string());
    };
    if alphabet.chars().contains(&'_') {
        return Err(KeygenError::IdEncoding(
            "its alphabet contains `_`, the token separator",
        ));
    }
    if !alphabet.all(is_id_char) {
        return Err(KeygenError::IdEncoding(
            "its alphabet has characters not allowed in ids (whitespace, non-ASCII, `{`, `}`, `:`)",
        ));
    }
    if alphabet.all(|c| c.is_ascii_lowercase()) {
        return Err(KeygenError::IdEncoding(
            "its alphabet is only lowercase letters, which token parsing reads as a prefix",
        ));
    }
    let len = spec.char_len();
    if len == 0 {
        return Err(KeygenError::EmptyLength);
    }
    if len > MAX_ID_CHARS {
        return Err(KeygenError::TooLong(len, MAX_ID_CHARS));
    }
    for _ in 0..ID_MAX_DRAWS {
        let id = encode(rng, &alphabet, len)?;
        if !is_lower_word(&id) {
            return Ok(id.to_string());
        }
    }
    Err(KeygenError::IdRedrawExhausted)
}

/// A character allowed in ids: printable ASCII, not whitespace, not `_` `{` `}` `:`.
fn is_id_char(c: char) -> bool {
    c.is_ascii_graphic() && !ID_FORBIDDEN.contains(&c)
}

/// Non-empty and only `a-z`: a prefix segment.
pub(super) fn is_lower_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Check an id (generated, typed or imported): 1..=128 characters of printable ASCII
/// without whitespace, `_`, `{`, `}` or `:`, and not only lowercase letters.
pub fn validate_id(id: &str) -> Result<(), KeygenError> {
    if id.is_empty() {
        return Err(KeygenError::InvalidId("empty"));
    }
    if id.len() > MAX_ID_CHARS {
        return Err(KeygenError::InvalidId("longer than 128 characters"));
    }
    if id.contains('_') {
        return Err(KeygenError::InvalidId("contains `_`"));
    }
    if !id.chars().all(is_id_char) {
        return Err(KeygenError::InvalidId(
            "only printable ASCII without whitespace, `{`, `}` or `:` is allowed",
        ));
    }
    if is_lower_word(id) {
        return Err(KeygenError::InvalidId(
            "only lowercase letters (would be read as a token prefix)",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keygen::{Alphabet, Encoding, Length};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn spec(encoding: Encoding, length: Length) -> Spec {
        Spec { encoding, length }
    }

    #[test]
    fn id_rules() {
        for id in [
            "a1",
            "Abc",
            "X",
            "0",
            "deadbeef0",
            "k-3.x",
            &"A".repeat(128),
        ] {
            assert!(validate_id(id).is_ok(), "{id}");
        }
        for id in [
            "",
            "abc",
            "deadbeef",
            "a_1",
            "a b",
            "a{1}",
            "a:1",
            "é1",
            "a\t1",
            &"A".repeat(129),
        ] {
            assert!(validate_id(id).is_err(), "{id:?}");
        }
        assert!(matches!(
            generate_id(&spec(Encoding::Base64Url, Length::Chars(16))),
            Err(KeygenError::IdEncoding(_))
        ));
        let lower = Encoding::Custom(Alphabet::new("abc").unwrap());
        assert!(generate_id(&spec(lower, Length::Chars(8))).is_err());
        let colon = Encoding::Custom(Alphabet::new("ab:1").unwrap());
        assert!(generate_id(&spec(colon, Length::Chars(8))).is_err());
        assert!(generate_id(&spec(Encoding::Hex, Length::Chars(0))).is_err());
        assert!(generate_id(&spec(Encoding::Hex, Length::Chars(129))).is_err());
        assert_eq!(
            generate_id(&spec(Encoding::Hex, Length::Chars(128)))
                .unwrap()
                .len(),
            128
        );
    }

    #[test]
    fn generated_ids_are_valid_and_redrawn_when_all_lowercase() {
        // One hex char is a letter 6 times in 16: without redraws, 2000 draws would
        // surely produce some.
        let one = spec(Encoding::Hex, Length::Chars(1));
        for _ in 0..2000 {
            let id = generate_id(&one).unwrap();
            assert!(id.as_bytes()[0].is_ascii_digit(), "{id}");
        }
        let two = spec(
            Encoding::Custom(Alphabet::new("a1").unwrap()),
            Length::Chars(1),
        );
        for _ in 0..200 {
            assert_eq!(generate_id(&two).unwrap(), "1");
        }
        for enc in [
            Encoding::Hex,
            Encoding::Base62,
            Encoding::Alphanumeric,
            Encoding::Uuid,
        ] {
            for _ in 0..500 {
                let id = generate_id(&spec(enc.clone(), Length::Chars(4))).unwrap();
                validate_id(&id).unwrap();
            }
        }
        let uuid = generate_id(&spec(Encoding::Uuid, Length::Chars(1))).unwrap();
        let parsed = uuid::Uuid::parse_str(&uuid).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(uuid, uuid.to_lowercase());
        // Deterministic generator path.
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert_eq!(
            generate_id_with(&mut rng, &Spec::id_default())
                .unwrap()
                .len(),
            16
        );
    }
}
