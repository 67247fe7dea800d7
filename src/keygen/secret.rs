//! The [`Secret`] type (zeroized on drop, never printed) and [`generate_secret`], which
//! draws one from the OS generator and refuses weak ones. Must not log, print or format a
//! secret's value anywhere: `Debug` shows `Secret(***)` and there is no `Display`.

use std::fmt;

use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

use super::sample::encode;
use super::{KeygenError, MAX_SECRET_CHARS, MIN_SECRET_BITS, Spec};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keygen::{Alphabet, Encoding, Length, generate_id};
    use std::collections::HashSet;

    fn spec(encoding: Encoding, length: Length) -> Spec {
        Spec { encoding, length }
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
}
