//! The Redis layout: key names, record field names and the layout version.
//!
//! This module is the code side of `docs/redis-layout.md`, a contract that other programs
//! (apps that verify keys, in any language) rely on. It computes names and validates
//! namespaces; it never talks to Redis.

use std::fmt;

/// Version of the layout written by this build, stored in the namespace's meta hash.
pub const LAYOUT_VERSION: u32 = 2;

/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "keytui";

/// Maximum number of entries kept in the event stream (trimmed approximately).
pub const EVENTS_MAXLEN: usize = 100_000;

/// Maximum number of entries kept in one key's history stream (trimmed approximately).
pub const HISTORY_MAXLEN: usize = 1_000;

/// Record field names (the record is a Redis hash).
pub mod field {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const STATUS: &str = "status";
    pub const SECRET_ALG: &str = "secret_alg";
    pub const SECRET: &str = "secret";
    pub const SECRET_SEALED: &str = "secret_sealed";
    pub const TOKEN_PREFIX: &str = "token_prefix";
    pub const TOKEN_CHECKSUM: &str = "token_checksum";
    pub const CREATED_AT: &str = "created_at";
    pub const CREATED_BY: &str = "created_by";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const REVOKED_AT: &str = "revoked_at";
    pub const REVOKED_REASON: &str = "revoked_reason";
    pub const LAST_USED_AT: &str = "last_used_at";
    pub const META: &str = "meta";
    pub const ROTATED_FROM: &str = "rotated_from";
    pub const ROTATED_TO: &str = "rotated_to";
    /// The shape a rotation reproduces (optional; see the layout document).
    pub const SECRET_FORMAT: &str = "secret_format";
    pub const SECRET_LENGTH: &str = "secret_length";
    pub const ID_FORMAT: &str = "id_format";
    pub const ID_LENGTH: &str = "id_length";
    pub const LIFETIME_MS: &str = "lifetime_ms";
    /// Layout 2: what verification needs, in one value (see [`crate::record::verify_field`]).
    pub const VERIFY: &str = "verify";
}

/// Meta hash field names (one per namespace).
pub mod meta_field {
    pub const LAYOUT: &str = "layout";
    pub const MODE: &str = "mode";
    pub const CREATED_AT: &str = "created_at";
    pub const PRODUCTION: &str = "production";
    pub const PEPPER_CHECK: &str = "pepper_check";
    pub const MASTER_KEY_CHECK: &str = "master_key_check";
    pub const MIGRATING_TO: &str = "migrating_to";
}

/// A validated namespace name: 1 to 64 characters of `A-Z a-z 0-9 . - _`.
///
/// Braces and colons are excluded so that the namespace's own hash tag `{ns}` is exact and
/// record keys (whose hash tag is the key id) never carry it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Namespace(String);

/// A namespace name that breaks the rules, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("invalid namespace {name:?}: {reason}")]
pub struct InvalidNamespace {
    name: String,
    reason: &'static str,
}

impl Namespace {
    /// Validates a namespace name.
    pub fn new(name: &str) -> Result<Self, InvalidNamespace> {
        let fail = |reason| {
            Err(InvalidNamespace {
                name: name.chars().take(80).collect(),
                reason,
            })
        };
        if name.is_empty() {
            return fail("it is empty");
        }
        if name.len() > 64 {
            return fail("it is longer than 64 characters");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return fail("only letters, digits, '.', '-' and '_' are allowed");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{ns}:meta`, a hash: layout version, storage mode, flags.
    pub fn meta_key(&self) -> String {
        format!("{{{}}}:meta", self.0)
    }

    /// `{ns}:index`, a sorted set of key ids scored by creation time (unix ms).
    pub fn index_key(&self) -> String {
        format!("{{{}}}:index", self.0)
    }

    /// `{ns}:events`, a capped stream of every mutation.
    pub fn events_key(&self) -> String {
        format!("{{{}}}:events", self.0)
    }

    /// `{ns}:history:ID`, a capped stream of the events of one key (a copy of its entries of
    /// `{ns}:events`, kept however old they are). In the `{ns}` slot, so it is written in
    /// the same transaction as the event.
    pub fn history_key(&self, id: &str) -> String {
        format!("{{{}}}:history:{}", self.0, id)
    }

    /// `{ns}:migration`, a hash holding the progress of `keytui migrate`.
    pub fn migration_key(&self) -> String {
        format!("{{{}}}:migration", self.0)
    }

    /// `ns:key:{id}`, the record of one key: a hash whose hash tag is the key id, so records
    /// spread over every slot of a cluster.
    pub fn record_key(&self, id: &str) -> String {
        format!("{}:key:{{{}}}", self.0, id)
    }

    /// The `SCAN MATCH` pattern of every record key of this namespace (used by `doctor`).
    pub fn record_pattern(&self) -> String {
        format!("{}:key:{{*}}", self.0)
    }

    /// Recovers the key id from a record key of this namespace.
    pub fn id_from_record_key<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.0.as_str())?
            .strip_prefix(":key:{")?
            .strip_suffix('}')
    }
}

/// Whether a key id can be looked up safely: 1 to 128 printable ASCII characters without
/// spaces or braces (braces would change the record key's cluster hash tag). Imported keys
/// (e.g. tastypie usernames) may use ids that generated keys never have.
pub fn is_lookup_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Namespace {
    type Err = InvalidNamespace;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_the_contract() {
        let ns = Namespace::new("prod").unwrap();
        assert_eq!(ns.meta_key(), "{prod}:meta");
        assert_eq!(ns.index_key(), "{prod}:index");
        assert_eq!(ns.events_key(), "{prod}:events");
        assert_eq!(ns.history_key("Ab12"), "{prod}:history:Ab12");
        assert_eq!(ns.record_key("Ab12"), "prod:key:{Ab12}");
        assert_eq!(ns.id_from_record_key("prod:key:{Ab12}"), Some("Ab12"));
        assert_eq!(ns.id_from_record_key("staging:key:{Ab12}"), None);
    }

    #[test]
    fn bad_namespaces_are_refused() {
        for bad in ["", "a{b}", "a:b", "a b", &"x".repeat(65), "é"] {
            assert!(Namespace::new(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["keytui", "prod-eu.1", "a_b"] {
            assert!(Namespace::new(good).is_ok());
        }
    }
}
