//! Generation of key ids and secrets, and the token format that carries both.
//!
//! This module owns:
//! - the encodings ([`Encoding`], [`Alphabet`]) and sizes ([`Length`], [`Spec`]) of ids
//!   and secrets, with their entropy;
//! - uniform sampling of alphabet symbols from the operating system's generator
//!   ([`sample_indices`]: rejection sampling of bytes, never `byte % k`);
//! - [`generate_secret`] (refuses fewer than [`MIN_SECRET_BITS`] bits unless asked) and
//!   [`generate_id`] (ids that the token parser can always split back out);
//! - the [`Secret`] wrapper, which zeroizes its memory and never prints its value;
//! - the token format `[prefix "_"] id "_" secret [checksum]` ([`Token`], [`ParsedToken`],
//!   [`checksum`]).
//!
//! Secrets come only from [`rand::rngs::SysRng`] (the OS generator), never from a
//! userspace PRNG. Error messages never contain a secret or a token.

use std::fmt;
use std::str::FromStr;

use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

/// Secrets with fewer bits than this are refused unless the caller allows weak secrets.
pub const MIN_SECRET_BITS: f64 = 128.0;

/// Longest secret [`generate_secret`] produces, in characters.
pub const MAX_SECRET_CHARS: usize = 4096;

/// Longest id, in characters (ids are ASCII, so also in bytes).
pub const MAX_ID_CHARS: usize = 128;

/// Longest token prefix, in characters.
pub const MAX_PREFIX_CHARS: usize = 32;

/// Length of a token checksum: a CRC32 in base62 (62^6 > 2^32).
pub const CHECKSUM_CHARS: usize = 6;

/// Characters an id may never contain: `_` separates token parts, `{` `}` are Redis
/// cluster hash-tag delimiters and `:` separates Redis key parts.
const ID_FORBIDDEN: &[char] = &['_', '{', '}', ':'];

/// How many times [`generate_id`] draws again when an id comes out all lowercase letters.
const ID_MAX_DRAWS: usize = 128;

const HEX: &str = "0123456789abcdef";
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALPHANUMERIC: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// Everything that can go wrong here. Messages are one line and never contain a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeygenError {
    #[error(
        "unknown encoding {0:?}: expected hex, base64url, base62, alphanumeric, uuid or custom:<chars>"
    )]
    UnknownEncoding(String),
    #[error("alphabet has {0} characters; it needs 2 to 256")]
    AlphabetSize(usize),
    #[error("alphabet contains {0:?} more than once")]
    AlphabetDuplicate(char),
    #[error("alphabet contains the control character {0:?}")]
    AlphabetControl(char),
    #[error("uuid encoding is for ids only, not for secrets")]
    UuidSecret,
    #[error("secret would have {bits:.1} bits of entropy, below the minimum of {min} bits")]
    WeakSecret { bits: f64, min: f64 },
    #[error("length must be at least one character")]
    EmptyLength,
    #[error("length of {0} characters is above the maximum of {1}")]
    TooLong(usize, usize),
    #[error("encoding cannot be used for ids: {0}")]
    IdEncoding(&'static str),
    #[error("invalid id: {0}")]
    InvalidId(&'static str),
    #[error("invalid prefix: {0}")]
    InvalidPrefix(&'static str),
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    #[error("token checksum does not match (mistyped or truncated token?)")]
    ChecksumMismatch,
    #[error("could not draw an id that is not all lowercase letters")]
    IdRedrawExhausted,
    #[error("operating system random generator failed: {0}")]
    Rng(String),
}

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
    fn all(&self, f: impl Fn(char) -> bool) -> bool {
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

/// The shape of a secret made elsewhere (an imported one): the smallest built-in alphabet
/// holding all its characters, and its length; `None` when no built-in alphabet does.
pub fn guess_spec(secret: &str) -> Option<Spec> {
    let chars = secret.chars().count();
    [
        Encoding::Hex,
        Encoding::Alphanumeric,
        Encoding::Base62,
        Encoding::Base64Url,
    ]
    .into_iter()
    .find(|e| {
        e.alphabet()
            .is_some_and(|a| secret.chars().all(|c| a.chars().contains(&c)))
    })
    .map(|encoding| Spec {
        encoding,
        length: Length::Chars(chars),
    })
}

/// Fewest distinct characters a secret made elsewhere needs before its alphabet counts:
/// below this, each character counts log2(distinct) bits.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// An upper bound of the entropy of a secret made elsewhere, in bits: its length times
/// log2 of the smallest built-in alphabet holding its characters (printable ASCII: 95
/// symbols; anything else: 8 bits a character). A secret that repeats a shorter period
/// (`"password"` five times, `"a"` forty times) counts as its period only, and one with
/// fewer than [`MIN_DISTINCT_CHARS`] distinct characters counts log2(distinct) bits a
/// character. Used to apply the weak-secret rule of `create` to imported secrets.
pub fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let period = smallest_period(&chars);
    if period * 2 <= chars.len() {
        return estimated_bits(&chars[..period].iter().collect::<String>());
    }
    let distinct = chars.iter().collect::<std::collections::HashSet<_>>().len();
    if distinct < MIN_DISTINCT_CHARS {
        return chars.len() as f64 * (distinct.max(1) as f64).log2();
    }
    if let Some(spec) = guess_spec(secret) {
        return spec.entropy_bits();
    }
    let per_char = if secret.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        95f64.log2()
    } else {
        8.0
    };
    secret.chars().count() as f64 * per_char
}

/// The smallest `p` such that every character equals the one `p` places later (the
/// length itself for a string that repeats nothing): the KMP failure function.
fn smallest_period(s: &[char]) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut fail = vec![0usize; s.len()];
    let mut k = 0;
    for i in 1..s.len() {
        while k > 0 && s[i] != s[k] {
            k = fail[k - 1];
        }
        if s[i] == s[k] {
            k += 1;
        }
        fail[i] = k;
    }
    s.len() - fail[s.len() - 1]
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

/// A secret string: zeroized on drop, `Debug` prints `Secret(***)`, no `Display`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wrap a secret (e.g. one read back from storage or typed by a user).
    pub fn new(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    /// The secret value. Keep the borrow short and do not copy it into plain `String`s.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

impl From<Zeroizing<String>> for Secret {
    fn from(s: Zeroizing<String>) -> Secret {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Draw `count` symbol indices, each exactly uniform over `0..alphabet_len`.
///
/// Rejection sampling of bytes: a byte `b` is accepted iff `b < 256 - (256 % k)` and then
/// gives symbol `b % k`, so every symbol has exactly `(256 - 256 % k) / k` accepting
/// bytes. `alphabet_len` must be 2..=256. The result (and the byte buffer) is zeroized on
/// drop, since it determines the secret.
pub fn sample_indices<R: TryRng + ?Sized>(
    rng: &mut R,
    alphabet_len: usize,
    count: usize,
) -> Result<Zeroizing<Vec<u8>>, KeygenError> {
    if !(2..=256).contains(&alphabet_len) {
        return Err(KeygenError::AlphabetSize(alphabet_len));
    }
    let limit = 256 - (256 % alphabet_len);
    let mut out = Zeroizing::new(Vec::with_capacity(count));
    // Ask for a little more than `count` bytes at a time (rejections), but cap the buffer.
    let mut buf = Zeroizing::new(vec![0u8; (count + count / 4 + 16).min(4096)]);
    while out.len() < count {
        rng.try_fill_bytes(&mut buf)
            .map_err(|e| KeygenError::Rng(e.to_string()))?;
        for &b in buf.iter() {
            if usize::from(b) < limit {
                // b % k < k <= 256, so it fits in a u8.
                out.push((usize::from(b) % alphabet_len) as u8);
                if out.len() == count {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Generate a secret from the OS generator.
///
/// Refuses [`Encoding::Uuid`], an empty length, more than [`MAX_SECRET_CHARS`]
/// characters, and fewer than [`MIN_SECRET_BITS`] bits of entropy unless `allow_weak`.
pub fn generate_secret(spec: &Spec, allow_weak: bool) -> Result<Secret, KeygenError> {
    generate_secret_with(&mut SysRng, spec, allow_weak)
}

fn generate_secret_with<R: TryRng + ?Sized>(
    rng: &mut R,
    spec: &Spec,
    allow_weak: bool,
) -> Result<Secret, KeygenError> {
    let alphabet = spec.encoding.alphabet().ok_or(KeygenError::UuidSecret)?;
    let len = spec.char_len();
    if len == 0 {
        return Err(KeygenError::EmptyLength);
    }
    if len > MAX_SECRET_CHARS {
        return Err(KeygenError::TooLong(len, MAX_SECRET_CHARS));
    }
    let bits = spec.entropy_bits();
    if bits < MIN_SECRET_BITS && !allow_weak {
        return Err(KeygenError::WeakSecret {
            bits,
            min: MIN_SECRET_BITS,
        });
    }
    Ok(Secret(encode(rng, &alphabet, len)?))
}

/// `len` uniformly drawn symbols of `alphabet`, in a zeroizing string allocated once.
fn encode<R: TryRng + ?Sized>(
    rng: &mut R,
    alphabet: &Alphabet,
    len: usize,
) -> Result<Zeroizing<String>, KeygenError> {
    let indices = sample_indices(rng, alphabet.size(), len)?;
    let max_utf8 = alphabet.chars().iter().map(|c| c.len_utf8()).max();
    let mut s = Zeroizing::new(String::with_capacity(len * max_utf8.unwrap_or(1)));
    for &i in indices.iter() {
        s.push(alphabet.chars()[usize::from(i)]);
    }
    Ok(s)
}

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
fn is_lower_word(s: &str) -> bool {
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
        Secret(s)
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
    #[test]
    fn repeated_or_few_symbol_secrets_are_weak() {
        let min = MIN_SECRET_BITS;
        for weak in [
            "a".repeat(40),
            "password".repeat(5),
            "ab".repeat(32),
            "0123".repeat(16),
            "aaaabbbbccccddddeeeeaaaabbbbccccddddeeee".to_owned(),
        ] {
            assert!(
                estimated_bits(&weak) < min,
                "{weak}: {}",
                estimated_bits(&weak)
            );
        }
        // Real random secrets keep their estimate: 40 hex (tastypie), 43 base64url.
        for strong in [
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "Xq3vT9_bLk2Rz0-PmW8sYhA4nJcE6uGdKfO1iVtQx7s",
        ] {
            assert!(estimated_bits(strong) >= min, "{strong}");
        }
    }

    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::collections::HashSet;
    use std::convert::Infallible;

    // ---- chi-squared goodness of fit -------------------------------------------------

    /// Upper critical values of the chi-squared distribution at p = 1e-6 (a false alarm
    /// once in a million runs), computed with mpmath: the x solving
    /// `gammainc(df/2, x/2, inf, regularized=True) = 1e-6`.
    /// df = k - 1 for a k-symbol alphabet.
    const CHI2_CRIT_DF2: f64 = 27.631_021_115_928_55; // k = 3; equals 2 ln(1e6)
    const CHI2_CRIT_DF61: f64 = 128.524_216_871_582_7; // k = 62

    fn critical(k: usize) -> f64 {
        match k {
            3 => CHI2_CRIT_DF2,
            62 => CHI2_CRIT_DF61,
            _ => panic!("no critical value for k = {k}"),
        }
    }

    fn chi_squared(symbols: &[u8], k: usize) -> f64 {
        let mut counts = vec![0u64; k];
        for &s in symbols {
            counts[usize::from(s)] += 1;
        }
        let expected = symbols.len() as f64 / k as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    /// The sampler under test must not be rejected.
    fn assert_uniform(symbols: &[u8], k: usize) {
        let chi2 = chi_squared(symbols, k);
        eprintln!("uniform k={k} n={}: chi2 {chi2:.2}", symbols.len());
        assert!(
            chi2 < critical(k),
            "k={k}: chi2 {chi2:.2} >= critical {:.2} (n={})",
            critical(k),
            symbols.len()
        );
    }

    /// The biased sampler must be rejected.
    fn assert_rejected(symbols: &[u8], k: usize) {
        let chi2 = chi_squared(symbols, k);
        eprintln!("naive k={k} n={}: chi2 {chi2:.2}", symbols.len());
        assert!(
            chi2 >= critical(k),
            "k={k}: naive sampler NOT detected: chi2 {chi2:.2} < critical {:.2}",
            critical(k)
        );
    }

    #[test]
    fn chi2_df2_critical_value_matches_closed_form() {
        // For df = 2 the survival function is exp(-x/2), so x = 2 ln(1e6).
        assert!((CHI2_CRIT_DF2 - 2.0 * 1e6f64.ln()).abs() < 1e-9);
    }

    const N: usize = 1_000_000;

    #[test]
    fn uniform_with_os_generator_k62() {
        assert_uniform(&sample_indices(&mut SysRng, 62, N).unwrap(), 62);
    }

    #[test]
    fn uniform_with_os_generator_k3() {
        assert_uniform(&sample_indices(&mut SysRng, 3, N).unwrap(), 3);
    }

    #[test]
    fn uniform_with_seeded_chacha() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x6b65_7974_7569);
        assert_uniform(&sample_indices(&mut rng, 62, N).unwrap(), 62);
        assert_uniform(&sample_indices(&mut rng, 3, N).unwrap(), 3);
    }

    /// Negative control: `byte % k` over the same kind of bytes is biased, and the test
    /// above detects it. k=62: bytes 248..=255 favour symbols 0..=7 (5/256 vs 4/256).
    /// k=3: symbol 0 has 86/256 vs 85/256; with 8M samples the expected statistic is about
    /// 246 (non-centrality 8e6 * 3.05e-5) against a critical value of 27.6.
    #[test]
    fn naive_modulo_sampler_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        for (k, n) in [(62usize, N), (3, 8_000_000)] {
            let mut bytes = vec![0u8; n];
            rng.try_fill_bytes(&mut bytes).unwrap();
            let naive: Vec<u8> = bytes.iter().map(|&b| b % k as u8).collect();
            assert_rejected(&naive, k);
            // A seeded stream through rejection sampling passes at the same sample size.
            let mut replay = ChaCha20Rng::seed_from_u64(7 + k as u64);
            assert_uniform(&sample_indices(&mut replay, k, n).unwrap(), k);
        }
    }

    /// Yields bytes 0, 1, ..., 255, 0, 1, ... so one cycle of 256 bytes is every byte once.
    struct Counter(u8);

    impl TryRng for Counter {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            let mut b = [0; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut b = [0; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            for d in dst {
                *d = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }

    #[test]
    fn rejection_rule_is_exact() {
        // Over every byte value once, each symbol gets exactly (256 - 256 % k) / k bytes.
        for k in [2usize, 3, 10, 16, 36, 62, 64, 129, 255, 256] {
            let accepted = 256 - 256 % k;
            let idx = sample_indices(&mut Counter(0), k, accepted).unwrap();
            let expected: Vec<u8> = (0..accepted).map(|b| (b % k) as u8).collect();
            assert_eq!(*idx, expected, "k={k}");
        }
        assert!(sample_indices(&mut Counter(0), 1, 1).is_err());
        assert!(sample_indices(&mut Counter(0), 257, 1).is_err());
        assert!(sample_indices(&mut Counter(0), 62, 0).unwrap().is_empty());
    }

    // ---- encodings, lengths, entropy ---------------------------------------------------

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
    fn generated_strings_use_only_their_alphabet() {
        let encodings = [
            Encoding::Hex,
            Encoding::Base64Url,
            Encoding::Base62,
            Encoding::Alphanumeric,
            Encoding::Custom(Alphabet::new("αβγδ€0").unwrap()),
        ];
        for enc in encodings {
            let alphabet = enc.alphabet().unwrap();
            let s = generate_secret(&spec(enc.clone(), Length::Chars(1000)), false).unwrap();
            assert!(s.expose().chars().all(|c| alphabet.chars().contains(&c)));
            // 1000 symbols: every symbol shows up (miss chance < 64 * (63/64)^1000 ~ 1e-5).
            let seen: HashSet<char> = s.expose().chars().collect();
            assert_eq!(seen.len(), alphabet.size(), "{enc}");
        }
        let hex = generate_secret(&Spec::secret_default(), false).unwrap();
        assert!(hex.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
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
    fn secrets_and_ids_are_unique() {
        let secrets: HashSet<String> = (0..5000)
            .map(|_| {
                generate_secret(&Spec::secret_default(), false)
                    .unwrap()
                    .expose()
                    .to_owned()
            })
            .collect();
        assert_eq!(secrets.len(), 5000);
        let ids: HashSet<String> = (0..5000)
            .map(|_| generate_id(&Spec::id_default()).unwrap())
            .collect();
        assert_eq!(ids.len(), 5000);
    }

    #[test]
    fn weak_secrets_refused_unless_allowed() {
        let weak = spec(Encoding::Base62, Length::Chars(21)); // 125 bits
        assert!(matches!(
            generate_secret(&weak, false),
            Err(KeygenError::WeakSecret { .. })
        ));
        assert_eq!(generate_secret(&weak, true).unwrap().expose().len(), 21);
        let ok = spec(Encoding::Base62, Length::Chars(22)); // 131 bits
        assert!(generate_secret(&ok, false).is_ok());
        let exactly = spec(Encoding::Hex, Length::Bytes(16)); // 128 bits
        assert!(generate_secret(&exactly, false).is_ok());
        assert_eq!(
            generate_secret(&spec(Encoding::Uuid, Length::Bytes(32)), true).unwrap_err(),
            KeygenError::UuidSecret
        );
        assert_eq!(
            generate_secret(&spec(Encoding::Hex, Length::Chars(0)), true).unwrap_err(),
            KeygenError::EmptyLength
        );
        assert!(matches!(
            generate_secret(&spec(Encoding::Hex, Length::Chars(5000)), true),
            Err(KeygenError::TooLong(5000, _))
        ));
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

    // ---- ids ---------------------------------------------------------------------------

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

    // ---- tokens --------------------------------------------------------------------------

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
