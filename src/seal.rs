//! Sealed secrets: XChaCha20-Poly1305 under a master key, for `sealed` namespaces.
//!
//! Owns the master key (from `KEYTUI_MASTER_KEY` or a 0600 key file), its check value, and
//! the `secret_sealed` field format. Never prints a key or a secret.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::TryRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Prefix of the `secret_sealed` field, naming the algorithm.
pub const SEALED_PREFIX: &str = "xchacha20poly1305:";
const NONCE_LEN: usize = 24;

/// The 32-byte master key of a sealed namespace.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    /// A new random key from the OS generator.
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng
            .try_fill_bytes(k.as_mut())
            .map_err(|e| Error::Crypto(format!("the OS random generator failed: {e}")))?;
        Ok(MasterKey(k))
    }

    /// Parses 64 hex characters or base64/base64url of 32 bytes (surrounding whitespace
    /// ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let bytes = Zeroizing::new(
            if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(t).map_err(|_| bad_key())?
            } else {
                let t = t.trim_end_matches('=');
                URL_SAFE_NO_PAD
                    .decode(t.replace('+', "-").replace('/', "_"))
                    .map_err(|_| bad_key())?
            },
        );
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| bad_key())?;
        Ok(MasterKey(Zeroizing::new(arr)))
    }

    /// Reads a key file, refusing one that group or others can read.
    pub fn from_file(path: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io("cannot read master key file", path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::Config(format!(
                "master key file {} has mode {mode:o}: it must be 0600 (chmod 600 {})",
                path.display(),
                path.display()
            )));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read master key file", path, e))?,
        );
        Self::parse(&text)
    }

    /// Writes the key (hex) to a new file with mode 0600; never overwrites.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io("cannot create", path, e))?;
        let text = Zeroizing::new(hex::encode(self.0.as_ref()));
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .map_err(|e| Error::io("cannot write", path, e))
    }

    /// `KEYTUI_MASTER_KEY`, else the file named by `KEYTUI_MASTER_KEY_FILE`, else `None`.
    pub fn from_env() -> Result<Option<Self>> {
        if let Ok(v) = std::env::var("KEYTUI_MASTER_KEY") {
            let v = Zeroizing::new(v);
            return Self::parse(&v).map(Some).map_err(|_| {
                Error::Config("KEYTUI_MASTER_KEY is not 32 bytes in hex or base64".into())
            });
        }
        match std::env::var_os("KEYTUI_MASTER_KEY_FILE") {
            Some(p) => Self::from_file(Path::new(&p)).map(Some),
            None => Ok(None),
        }
    }

    /// The first 16 hex characters of HMAC-SHA256(key, "keytui master key check"), stored
    /// in the namespace meta so a wrong key is refused before anything is written.
    pub fn check_value(&self) -> String {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"keytui master key check");
        hex::encode(mac.finalize().into_bytes())[..16].to_owned()
    }

    fn cipher(&self) -> Result<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(self.0.as_ref()).map_err(|_| bad_key())
    }

    /// Encrypts a secret bound to its namespace and key id (the associated data), as the
    /// `secret_sealed` field value.
    pub fn seal(&self, namespace: &str, id: &str, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| Error::Crypto(format!("the OS random generator failed: {e}")))?;
        let aad = associated_data(namespace, id);
        let ct = self
            .cipher()?
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::Crypto("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Decrypts a `secret_sealed` value; fails on a wrong key or a tampered value.
    pub fn open(&self, namespace: &str, id: &str, sealed: &str) -> Result<Zeroizing<String>> {
        let fail = || {
            Error::Setup(format!(
                "cannot open the sealed secret of {id}: wrong master key or damaged record"
            ))
        };
        let b64 = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(fail)?;
        let blob = URL_SAFE_NO_PAD.decode(b64).map_err(|_| fail())?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(fail());
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let aad = associated_data(namespace, id);
        let plain = Zeroizing::new(
            self.cipher()?
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| fail())?,
        );
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| fail())
    }
}

fn associated_data(namespace: &str, id: &str) -> String {
    format!("keytui:v1:{namespace}:{id}")
}

fn bad_key() -> Error {
    Error::Config("the master key must be 32 bytes, as 64 hex characters or base64".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_namespace_and_id() {
        let k = MasterKey::generate().unwrap();
        let s = k.seal("prod", "Id1", "s3cret").unwrap();
        assert!(s.starts_with(SEALED_PREFIX));
        assert!(!s.contains("s3cret"));
        assert_eq!(k.open("prod", "Id1", &s).unwrap().as_str(), "s3cret");
        assert!(k.open("prod", "Id2", &s).is_err(), "moved to another id");
        assert!(
            k.open("staging", "Id1", &s).is_err(),
            "moved to another namespace"
        );
        let other = MasterKey::generate().unwrap();
        assert!(other.open("prod", "Id1", &s).is_err());
        assert_ne!(k.check_value(), other.check_value());
        // two seals of one secret differ (random nonce)
        assert_ne!(s, k.seal("prod", "Id1", "s3cret").unwrap());
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_files_must_be_private() {
        let hex_key = "00".repeat(32);
        let a = MasterKey::parse(&hex_key).unwrap();
        let b =
            MasterKey::parse(&base64::engine::general_purpose::STANDARD.encode([0u8; 32])).unwrap();
        assert_eq!(a.check_value(), b.check_value());
        assert!(MasterKey::parse("short").is_err());
        assert_eq!(format!("{a:?}"), "MasterKey(***)");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        a.write_new_file(&path).unwrap();
        assert!(a.write_new_file(&path).is_err(), "never overwrites");
        assert_eq!(
            MasterKey::from_file(&path).unwrap().check_value(),
            a.check_value()
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("0600"), "{err}");
    }
}
