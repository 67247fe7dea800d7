//! What the tokens [`crate::scan`] finds are in this namespace: their keys looked up in one
//! round trip and each secret checked as verification does, without recording use. Never
//! returns or logs a secret.

use redis::Value;

use crate::crypto;
use crate::error::{Error, Result};
use crate::keygen::Token;
use crate::layout::field;
use crate::record::{SecretAlg, UnixMs, now_ms};

use super::*;

/// What a token found by `scan` is in this namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanStatus {
    /// The key exists, the secret is its secret, and it is valid: a live leak.
    Active,
    Expired,
    Revoked,
    /// The key exists but the secret is not its secret (not a leak of this key).
    WrongSecret,
    /// No such key in this namespace.
    Unknown,
    /// The record cannot be read.
    Malformed(String),
}

impl ScanStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanStatus::Active => "active",
            ScanStatus::Expired => "expired",
            ScanStatus::Revoked => "revoked",
            ScanStatus::WrongSecret => "wrong_secret",
            ScanStatus::Unknown => "unknown",
            ScanStatus::Malformed(_) => "malformed",
        }
    }

    /// Whether the token is the real secret of a key that is not revoked (active, or
    /// expired but revivable by an edit): what `scan --revoke` revokes.
    pub fn is_leak(&self) -> bool {
        matches!(self, ScanStatus::Active | ScanStatus::Expired)
    }
}

/// A token's key as `scan` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanHit {
    pub id: String,
    pub name: Option<String>,
    pub status: ScanStatus,
}

impl Store {
    /// Looks up the keys of tokens (found by [`crate::scan`]) in one pipelined round trip
    /// (`HMGET` per key; concurrent on a cluster) and checks each token's secret against
    /// the record as verification does, without recording use. One hit per token, in order.
    pub async fn scan_lookup(&self, tokens: &[&str]) -> Result<Vec<ScanHit>> {
        let parsed: Vec<Option<crate::keygen::ParsedToken>> =
            tokens.iter().map(|t| Token::parse(t).ok()).collect();
        let ids: Vec<String> = parsed
            .iter()
            .map(|p| p.as_ref().map(|p| p.id.clone()).unwrap_or_default())
            .collect();
        let raw = self
            .query_each(&ids, |key| {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(key)
                    .arg(field::STATUS)
                    .arg(field::SECRET_ALG)
                    .arg(field::SECRET)
                    .arg(field::EXPIRES_AT)
                    .arg(field::TOKEN_CHECKSUM)
                    .arg(field::NAME);
                cmd
            })
            .await?;
        let now = now_ms();
        let mut hits = Vec::with_capacity(tokens.len());
        for ((id, p), v) in ids.into_iter().zip(&parsed).zip(&raw) {
            let status = match (p, v) {
                (None, _) => ScanStatus::Unknown,
                (Some(_), Value::ServerError(_)) => {
                    ScanStatus::Malformed("the record key is not a hash".into())
                }
                (Some(p), Value::Array(f)) => {
                    let t = |i: usize| match f.get(i) {
                        Some(Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                        _ => None,
                    };
                    let name = t(5);
                    let status = self.judge(p, &t(0), &t(1), &t(2), &t(3), &t(4), now)?;
                    hits.push(ScanHit { id, name, status });
                    continue;
                }
                _ => ScanStatus::Unknown,
            };
            hits.push(ScanHit {
                id,
                name: None,
                status,
            });
        }
        Ok(hits)
    }

    /// The verdict of one token against its record's fields (verification's order: the
    /// secret first, then status, then expiry).
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        p: &crate::keygen::ParsedToken,
        status: &Option<String>,
        alg: &Option<String>,
        stored: &Option<String>,
        expires: &Option<String>,
        checksum: &Option<String>,
        now: UnixMs,
    ) -> Result<ScanStatus> {
        let (Some(status), Some(alg), Some(stored)) = (status, alg, stored) else {
            return Ok(ScanStatus::Unknown);
        };
        let Some(alg) = SecretAlg::parse(alg) else {
            return Ok(ScanStatus::Malformed("unknown secret_alg".into()));
        };
        let secret = if checksum.as_deref() == Some("1") {
            match p.secret_checked() {
                Ok(s) => s,
                Err(_) => return Ok(ScanStatus::WrongSecret),
            }
        } else {
            p.secret_whole()
        };
        match crypto::matches(alg, stored, secret.expose(), self.pepper.as_ref()) {
            None => {
                return Err(Error::Setup(format!(
                    "namespace {} hashes secrets with a pepper: set KEYTUI_PEPPER",
                    self.ns
                )));
            }
            Some(false) => return Ok(ScanStatus::WrongSecret),
            Some(true) => {}
        }
        if status != "active" {
            return Ok(ScanStatus::Revoked);
        }
        match expires.as_deref().filter(|e| !e.is_empty()) {
            None => Ok(ScanStatus::Active),
            Some(e) => match e.parse::<UnixMs>() {
                Ok(e) if e <= now => Ok(ScanStatus::Expired),
                Ok(_) => Ok(ScanStatus::Active),
                Err(_) => Ok(ScanStatus::Malformed(
                    "field expires_at is not a unix time in ms".into(),
                )),
            },
        }
    }
}
