//! Digests of secrets as stored at rest, and constant-time comparison.
//!
//! Only what the layout needs: SHA-256, HMAC-SHA256 under a pepper, and the pepper check
//! value that lets a wrong pepper be detected before anything is written.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::record::SecretAlg;

/// A server-side pepper for `hmac-sha256` namespaces.
#[derive(Clone)]
pub struct Pepper(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(***)")
    }
}

impl Pepper {
    pub fn new(bytes: Vec<u8>) -> Self {
        Pepper(Zeroizing::new(bytes))
    }

    /// The first 8 bytes (hex) of HMAC-SHA256(pepper, "keytui pepper check"), stored in
    /// the namespace meta so a wrong pepper is refused before it is used.
    pub fn check_value(&self) -> String {
        let full = hmac_hex(&self.0, b"keytui pepper check");
        full[..16].to_owned()
    }
}

fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

#[cold]
fn unreachable_hmac() -> ! {
    // KeyInit for HMAC takes any key length; reaching this is a bug in the hmac crate.
    std::process::abort()
}

/// Lowercase hex SHA-256 of a secret.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The value stored in a record's `secret` field for a given algorithm.
/// `None` when the algorithm needs a pepper and none was given.
pub fn stored_form(alg: SecretAlg, secret: &str, pepper: Option<&Pepper>) -> Option<String> {
    match alg {
        SecretAlg::Sha256 => Some(sha256_hex(secret)),
        SecretAlg::HmacSha256 => pepper.map(|p| hmac_hex(&p.0, secret.as_bytes())),
        SecretAlg::Plain => Some(secret.to_owned()),
    }
}

/// Whether a presented secret matches a stored form, comparing in constant time.
/// `None` when the algorithm needs a pepper and none was given.
pub fn matches(
    alg: SecretAlg,
    stored: impl AsRef<[u8]>,
    presented: &str,
    pepper: Option<&Pepper>,
) -> Option<bool> {
    let stored = stored.as_ref();
    // The digests are hex-encoded on the stack (no allocation on the verification path).
    let digest = match alg {
        SecretAlg::Sha256 => Sha256::digest(presented.as_bytes()),
        SecretAlg::HmacSha256 => {
            let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&pepper?.0) {
                Ok(m) => m,
                Err(_) => unreachable_hmac(),
            };
            mac.update(presented.as_bytes());
            mac.finalize().into_bytes()
        }
        SecretAlg::Plain => return Some(bool::from(presented.as_bytes().ct_eq(stored))),
    };
    let mut hexed = Zeroizing::new([0u8; 64]);
    if hex::encode_to_slice(digest, &mut hexed[..]).is_err() {
        return Some(false); // 32 bytes always fit 64 hex digits
    }
    Some(bool::from(hexed[..].ct_eq(stored)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_reference_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn matching_needs_the_right_secret_and_pepper() {
        let p = Pepper::new(b"pepper".to_vec());
        let stored = stored_form(SecretAlg::HmacSha256, "s3cret", Some(&p)).unwrap();
        assert_eq!(
            matches(SecretAlg::HmacSha256, &stored, "s3cret", Some(&p)),
            Some(true)
        );
        assert_eq!(
            matches(SecretAlg::HmacSha256, &stored, "s3creT", Some(&p)),
            Some(false)
        );
        let other = Pepper::new(b"salt".to_vec());
        assert_eq!(
            matches(SecretAlg::HmacSha256, &stored, "s3cret", Some(&other)),
            Some(false)
        );
        assert_eq!(
            matches(SecretAlg::HmacSha256, &stored, "s3cret", None),
            None
        );
        assert_ne!(p.check_value(), other.check_value());
    }

    #[test]
    fn matching_compares_with_the_stored_form_exactly() {
        let stored = stored_form(SecretAlg::Sha256, "abc", None).unwrap();
        assert_eq!(matches(SecretAlg::Sha256, &stored, "abc", None), Some(true));
        assert_eq!(
            matches(SecretAlg::Sha256, &stored, "abd", None),
            Some(false)
        );
        // The layout's digests are lowercase hex: another spelling is another value.
        let upper = stored.to_uppercase();
        assert_eq!(matches(SecretAlg::Sha256, &upper, "abc", None), Some(false));
        assert_eq!(
            matches(SecretAlg::Sha256, &stored[..63], "abc", None),
            Some(false)
        );
        assert_eq!(matches(SecretAlg::Plain, "abc", "abc", None), Some(true));
        assert_eq!(matches(SecretAlg::Plain, "abc", "ab", None), Some(false));
    }
}
