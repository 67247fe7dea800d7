//! The alphabets ids and secrets are drawn from ([`Alphabet`], [`Encoding`]) and how
//! long they are ([`Length`], [`Spec`]), with the entropy that gives. Pure values: no
//! randomness and no token rules here (those are in `sample`, `secret`, `id`, `token`).

use std::fmt;
use std::str::FromStr;

use super::KeygenError;

const HEX: &str = "0123456789abcdef";
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// `0-9A-Za-z`, also the digits of a token checksum.
pub(super) const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALPHANUMERIC: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// A validated alphabet: 2 to 256 distinct characters (`char`s, not bytes), no control
/// characters. Symbol `i` of a generated string is `chars()[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alphabet {
    chars: Vec<char>,
}

impl Alphabet {
    /// Validate `s` as an alphabet, in the order given.
    pub fn new(s: &str) -> Result<Alphabet, KeygenError> {
        let chars: Vec<char> = s.chars().collect();
        if !(2..=256).contains(&chars.len()) {
            return Err(KeygenError::AlphabetSize(chars.len()));
        }
        for (i, &c) in chars.iter().enumerate() {
            if c.is_control() {
                return Err(KeygenError::AlphabetControl(c));
            }
            if chars[..i].contains(&c) {
                return Err(KeygenError::AlphabetDuplicate(c));
            }
        }
        Ok(Alphabet { chars })
    }

    /// A built-in alphabet, known valid.
    fn builtin(s: &'static str) -> Alphabet {
        Alphabet {
            chars: s.chars().collect(),
        }
    }

    /// The symbols, in order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Number of symbols `k` (2..=256).
    pub fn size(&self) -> usize {
        self.chars.len()
    }

    /// Bits of entropy per uniformly drawn symbol: log2(k).
    pub fn bits_per_char(&self) -> f64 {
        (self.size() as f64).log2()
    }

    /// Whether `f` holds for every symbol.
    pub(super) fn all(&self, f: impl Fn(char) -> bool) -> bool {
        self.chars.iter().all(|&c| f(c))
    }
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chars.iter().try_for_each(|c| write!(f, "{c}"))
    }
}

/// Encodings for ids and secrets. Parsed from and displayed as `hex`, `base64url`,
/// `base62`, `alphanumeric`, `uuid` or `custom:<chars>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `0-9a-f`, lowercase.
    Hex,
    /// RFC 4648 URL-safe alphabet `A-Za-z0-9-_`, no padding. Contains `_`, so secrets only.
    Base64Url,
    /// `0-9A-Za-z`.
    Base62,
    /// `a-z0-9`: 36 symbols, safe where case is lost.
    Alphanumeric,
    /// Any validated alphabet.
    Custom(Alphabet),
    /// A random (version 4) UUID, 122 bits, 36 characters with hyphens. Ids only.
    Uuid,
}

impl Encoding {
    /// The alphabet symbols are drawn from; `None` for [`Encoding::Uuid`].
    pub fn alphabet(&self) -> Option<Alphabet> {
        match self {
            Encoding::Hex => Some(Alphabet::builtin(HEX)),
            Encoding::Base64Url => Some(Alphabet::builtin(BASE64URL)),
            Encoding::Base62 => Some(Alphabet::builtin(BASE62)),
            Encoding::Alphanumeric => Some(Alphabet::builtin(ALPHANUMERIC)),
            Encoding::Custom(a) => Some(a.clone()),
            Encoding::Uuid => None,
        }
    }
}

impl FromStr for Encoding {
    type Err = KeygenError;

    /// Names are case-insensitive; the characters after `custom:` are taken as they are.
    fn from_str(s: &str) -> Result<Encoding, KeygenError> {
        if let Some(head) = s.get(..7)
            && head.eq_ignore_ascii_case("custom:")
        {
            return Ok(Encoding::Custom(Alphabet::new(&s[7..])?));
        }
        match s.to_ascii_lowercase().as_str() {
            "hex" => Ok(Encoding::Hex),
            "base64url" => Ok(Encoding::Base64Url),
            "base62" => Ok(Encoding::Base62),
            "alphanumeric" => Ok(Encoding::Alphanumeric),
            "uuid" => Ok(Encoding::Uuid),
            _ => Err(KeygenError::UnknownEncoding(s.to_owned())),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encoding::Hex => f.write_str("hex"),
            Encoding::Base64Url => f.write_str("base64url"),
            Encoding::Base62 => f.write_str("base62"),
            Encoding::Alphanumeric => f.write_str("alphanumeric"),
            Encoding::Custom(a) => write!(f, "custom:{a}"),
            Encoding::Uuid => f.write_str("uuid"),
        }
    }
}

/// Size of an id or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// At least this many bytes (8 bits each) of entropy; rounded up to whole symbols.
    Bytes(usize),
    /// Exactly this many characters.
    Chars(usize),
}

/// What to generate: an encoding and a length.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub encoding: Encoding,
    pub length: Length,
}

impl Spec {
    /// Number of characters generated. `Bytes(n)` gives the fewest symbols carrying at
    /// least `8n` bits: `ceil(8n / log2 k)` (hex: exactly `2n`). Uuid is always 36.
    pub fn char_len(&self) -> usize {
        let Some(alphabet) = self.encoding.alphabet() else {
            return 36;
        };
        match self.length {
            Length::Chars(c) => c,
            Length::Bytes(n) => chars_for_bits(n.saturating_mul(8), alphabet.size()),
        }
    }

    /// Entropy of one generated value: `char_len * log2 k`; 122 for a v4 UUID.
    pub fn entropy_bits(&self) -> f64 {
        match self.encoding.alphabet() {
            None => 122.0,
            Some(a) => self.char_len() as f64 * a.bits_per_char(),
        }
    }

    /// Default for secrets: base62, 256 bits (43 characters).
    pub fn secret_default() -> Spec {
        Spec {
            encoding: Encoding::Base62,
            length: Length::Bytes(32),
        }
    }

    /// Default for ids: base62, 16 characters (about 95 bits, so collisions are negligible).
    pub fn id_default() -> Spec {
        Spec {
            encoding: Encoding::Base62,
            length: Length::Chars(16),
        }
    }

    /// 40 lowercase hex characters, the shape of django-tastypie's `ApiKey.generate_key`
    /// (an HMAC-SHA1 hexdigest keyed by a uuid4). Here all 160 bits are random.
    pub fn tastypie() -> Spec {
        Spec {
            encoding: Encoding::Hex,
            length: Length::Bytes(20),
        }
    }
}

/// Fewest symbols of a `k`-symbol alphabet carrying at least `bits` bits.
fn chars_for_bits(bits: usize, k: usize) -> usize {
    if k.is_power_of_two() {
        // Exact in integers: hex, base64url and power-of-two custom alphabets.
        return bits.div_ceil(k.trailing_zeros() as usize);
    }
    let per = (k as f64).log2();
    let mut c = (bits as f64 / per).ceil() as usize;
    // Guard against floating-point rounding at either edge.
    while (c as f64) * per < bits as f64 {
        c += 1;
    }
    while c > 0 && ((c - 1) as f64) * per >= bits as f64 {
        c -= 1;
    }
    c
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keygen::{KeygenError, generate_secret};

    fn spec(encoding: Encoding, length: Length) -> Spec {
        Spec { encoding, length }
    }

    #[test]
    fn lengths_and_entropy() {
        let cases = [
            (Encoding::Hex, 64, 256.0),
            (Encoding::Base64Url, 43, 258.0),
            (Encoding::Base62, 43, 43.0 * 62f64.log2()),
            (Encoding::Alphanumeric, 50, 50.0 * 36f64.log2()),
        ];
        for (enc, chars, bits) in cases {
            let s = spec(enc.clone(), Length::Bytes(32));
            assert_eq!(s.char_len(), chars, "{enc}");
            assert!((s.entropy_bits() - bits).abs() < 1e-9, "{enc}");
            assert!(s.entropy_bits() >= 256.0);
            let secret = generate_secret(&s, false).unwrap();
            assert_eq!(secret.expose().chars().count(), chars);
        }
        let b2 = spec(
            Encoding::Custom(Alphabet::new("01").unwrap()),
            Length::Bytes(2),
        );
        assert_eq!((b2.char_len(), b2.entropy_bits()), (16, 16.0));
        let uuid = spec(Encoding::Uuid, Length::Bytes(32));
        assert_eq!((uuid.char_len(), uuid.entropy_bits()), (36, 122.0));
        let chars = spec(Encoding::Base62, Length::Chars(22));
        assert_eq!(chars.char_len(), 22);
        assert!((chars.entropy_bits() - 22.0 * 62f64.log2()).abs() < 1e-9);
        assert_eq!(Spec::secret_default().char_len(), 43);
        assert_eq!(Spec::id_default().char_len(), 16);
        // Rounding up: base62 Bytes(n) is the fewest chars with >= 8n bits.
        for n in 1..200 {
            let s = spec(Encoding::Base62, Length::Bytes(n));
            let c = s.char_len();
            assert!(c as f64 * 62f64.log2() >= 8.0 * n as f64);
            assert!(((c - 1) as f64) * 62f64.log2() < 8.0 * n as f64);
        }
    }

    #[test]
    fn builtin_alphabets() {
        assert_eq!(
            Encoding::Hex.alphabet().unwrap().to_string(),
            "0123456789abcdef"
        );
        assert_eq!(Encoding::Base62.alphabet().unwrap().size(), 62);
        assert_eq!(Encoding::Base64Url.alphabet().unwrap().size(), 64);
        assert_eq!(Encoding::Alphanumeric.alphabet().unwrap().size(), 36);
        for enc in [
            Encoding::Hex,
            Encoding::Base64Url,
            Encoding::Base62,
            Encoding::Alphanumeric,
        ] {
            let a = enc.alphabet().unwrap();
            assert_eq!(Alphabet::new(&a.to_string()).unwrap(), a, "{enc} is valid");
        }
    }

    #[test]
    fn custom_alphabet_validation() {
        assert_eq!(Alphabet::new("").unwrap_err(), KeygenError::AlphabetSize(0));
        assert_eq!(
            Alphabet::new("a").unwrap_err(),
            KeygenError::AlphabetSize(1)
        );
        assert_eq!(
            Alphabet::new("abca").unwrap_err(),
            KeygenError::AlphabetDuplicate('a')
        );
        assert_eq!(
            Alphabet::new("ab\n").unwrap_err(),
            KeygenError::AlphabetControl('\n')
        );
        // Counted in chars, not bytes: 2 chars, 6 bytes.
        assert_eq!(Alphabet::new("€α").unwrap().size(), 2);
        let many: String = (0x100u32..0x100 + 256).filter_map(char::from_u32).collect();
        assert_eq!(Alphabet::new(&many).unwrap().size(), 256);
        let too_many: String = (0x100u32..0x100 + 257).filter_map(char::from_u32).collect();
        assert_eq!(
            Alphabet::new(&too_many).unwrap_err(),
            KeygenError::AlphabetSize(257)
        );
        // 256 symbols: every byte accepted.
        let s = spec(
            Encoding::Custom(Alphabet::new(&many).unwrap()),
            Length::Bytes(16),
        );
        assert_eq!(s.char_len(), 16);
        assert!(generate_secret(&s, false).is_ok());
    }

    #[test]
    fn encoding_from_str_and_display_round_trip() {
        let all = [
            Encoding::Hex,
            Encoding::Base64Url,
            Encoding::Base62,
            Encoding::Alphanumeric,
            Encoding::Uuid,
            Encoding::Custom(Alphabet::new("ab:c_01").unwrap()),
        ];
        for enc in all {
            let text = enc.to_string();
            assert_eq!(text.parse::<Encoding>().unwrap(), enc, "{text}");
        }
        assert_eq!("HEX".parse::<Encoding>().unwrap(), Encoding::Hex);
        assert_eq!(
            "Custom:xyz".parse::<Encoding>().unwrap().to_string(),
            "custom:xyz"
        );
        let err = "base64".parse::<Encoding>().unwrap_err();
        assert!(err.to_string().contains("expected hex, base64url"), "{err}");
        assert!("custom:x".parse::<Encoding>().is_err());
        assert!("custom:".parse::<Encoding>().is_err());
    }

    #[test]
    fn tastypie_shape() {
        let s = generate_secret(&Spec::tastypie(), false).unwrap();
        assert_eq!(s.expose().len(), 40);
        assert!(
            s.expose()
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_eq!(Spec::tastypie().entropy_bits(), 160.0);
    }
}
