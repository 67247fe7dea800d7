//! A record's `verify` field (layout 2): everything the one-round-trip verification needs,
//! in one value, so that a verifier reads one field (`HGET`) instead of six.
//!
//! The value is six parts joined by tabs: the status (`active` or `revoked`), `secret_alg`,
//! `expires_at` (empty: never), `token_checksum` (`0` when absent), `secret` and `name`
//! (the rest, tabs and all). It is derived from those fields: every keytui script that
//! writes one of them rewrites it ([`crate::redis::scripts::VERIFY_FIELD`], the Lua twin of
//! [`expected`]). `malformed` stands for a record that could never verify: some of
//! `status`, `secret_alg` and `secret` present but not all, or a tab inside one of the
//! first five parts. docs/redis-layout.md, "The verify field", is the contract.

/// The separator of the parts.
const TAB: u8 = b'\t';

/// The value standing for a record that can never verify.
pub const MALFORMED: &[u8] = b"malformed";

/// The parts of a `verify` value, borrowed from its bytes. No `Debug`: it holds the stored
/// secret (a digest, or the secret itself in `plain` namespaces).
pub struct VerifyParts<'a> {
    pub active: bool,
    pub secret_alg: &'a [u8],
    /// Empty when the key never expires; not checked to be a number here.
    pub expires_at: &'a [u8],
    pub token_checksum: bool,
    pub secret: &'a [u8],
    pub name: &'a [u8],
}

/// Splits a `verify` value; `None` when it is `malformed` or not six parts with a known
/// status.
pub fn parse(raw: &[u8]) -> Option<VerifyParts<'_>> {
    let mut parts = raw.splitn(6, |&b| b == TAB);
    let active = match parts.next()? {
        b"active" => true,
        b"revoked" => false,
        _ => return None,
    };
    let secret_alg = parts.next()?;
    let expires_at = parts.next()?;
    let token_checksum = parts.next()? == b"1";
    let secret = parts.next()?;
    let name = parts.next()?;
    Some(VerifyParts {
        active,
        secret_alg,
        expires_at,
        token_checksum,
        secret,
        name,
    })
}

/// The fields a `verify` value is made of, as the record holds them (`None`: absent).
#[derive(Clone, Copy, Default)]
pub struct Sources<'a> {
    pub status: Option<&'a [u8]>,
    pub secret_alg: Option<&'a [u8]>,
    pub secret: Option<&'a [u8]>,
    pub expires_at: Option<&'a [u8]>,
    pub token_checksum: Option<&'a [u8]>,
    pub name: Option<&'a [u8]>,
}

/// The `verify` value a record with these fields must hold; `None`: no `verify` field
/// (none of `status`, `secret_alg` and `secret` is present). What the Lua function writes,
/// byte for byte.
pub fn expected(f: Sources<'_>) -> Option<Vec<u8>> {
    let (status, alg, secret) = match (f.status, f.secret_alg, f.secret) {
        (None, None, None) => return None,
        (Some(status), Some(alg), Some(secret)) => (status, alg, secret),
        _ => return Some(MALFORMED.to_vec()),
    };
    let status: &[u8] = if status == b"active" {
        b"active"
    } else {
        b"revoked"
    };
    let fixed = [
        status,
        alg,
        f.expires_at.unwrap_or_default(),
        f.token_checksum.unwrap_or(b"0"),
        secret,
    ];
    if fixed[1..].iter().any(|p| p.contains(&TAB)) {
        return Some(MALFORMED.to_vec());
    }
    let name = f.name.unwrap_or_default();
    let mut out = Vec::with_capacity(fixed.iter().map(|p| p.len() + 1).sum::<usize>() + name.len());
    for p in fixed {
        out.extend_from_slice(p);
        out.push(TAB);
    }
    out.extend_from_slice(name);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources<'a>(
        status: &'a str,
        alg: &'a str,
        secret: &'a str,
        expires: Option<&'a str>,
        name: Option<&'a str>,
    ) -> Sources<'a> {
        Sources {
            status: Some(status.as_bytes()),
            secret_alg: Some(alg.as_bytes()),
            secret: Some(secret.as_bytes()),
            expires_at: expires.map(str::as_bytes),
            token_checksum: Some(b"1"),
            name: name.map(str::as_bytes),
        }
    }

    #[test]
    fn a_value_reads_back_as_its_fields() {
        let v = expected(sources(
            "active",
            "sha256",
            "ab12",
            Some("17"),
            Some("a\tb c"),
        ))
        .unwrap();
        assert_eq!(v, b"active\tsha256\t17\t1\tab12\ta\tb c");
        let p = parse(&v).unwrap();
        assert!(p.active && p.token_checksum);
        assert_eq!(
            (p.secret_alg, p.expires_at, p.secret, p.name),
            (&b"sha256"[..], &b"17"[..], &b"ab12"[..], &b"a\tb c"[..])
        );
    }

    #[test]
    fn any_status_but_active_is_revoked_and_absent_parts_have_defaults() {
        let mut f = sources("disabled", "plain", "s", None, None);
        f.token_checksum = None;
        let v = expected(f).unwrap();
        assert_eq!(v, b"revoked\tplain\t\t0\ts\t");
        let p = parse(&v).unwrap();
        assert!(!p.active && !p.token_checksum);
        assert!(p.expires_at.is_empty() && p.name.is_empty());
    }

    #[test]
    fn records_that_can_never_verify_are_malformed() {
        // Some of the three required fields only.
        let mut f = sources("active", "sha256", "ab", None, None);
        f.secret = None;
        assert_eq!(expected(f).unwrap(), MALFORMED);
        // None of them: no field at all (the id is unknown).
        assert!(expected(Sources::default()).is_none());
        // A tab where it would shift the parts.
        let v = expected(sources("active", "plain", "a\tb", None, None)).unwrap();
        assert_eq!(v, MALFORMED);
        assert!(parse(&v).is_none());
        assert!(parse(b"active\tsha256\t\t0\tab").is_none(), "five parts");
        assert!(
            parse(b"expired\tsha256\t\t0\tab\tn").is_none(),
            "unknown status"
        );
    }
}
