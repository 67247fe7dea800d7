//! Verification through the store (the CLI's `verify`): the logic is [`crate::verify`];
//! this adds the store's pepper and records the key's use.

use crate::error::Result;
use crate::keygen::Token;
use crate::verify::Presented;

use super::*;

impl Store {
    /// Verifies a presented secret in one round trip (`HGET` of the record's `verify` field;
    /// `HMGET` of its fields in a namespace of layout 1).
    pub async fn verify(&self, id: &str, secret: &str) -> Result<Verdict> {
        self.verify_inner(id, Presented::Secret(secret)).await
    }

    /// Verifies a whole token: splits it, checks its checksum, then the secret.
    pub async fn verify_token(&self, token: &str) -> Result<Verdict> {
        let parsed = match Token::parse(token) {
            Ok(p) => p,
            Err(_) => return Ok(Verdict::Rejected(Rejection::Unknown)),
        };
        self.verify_inner(&parsed.id, Presented::Token(&parsed))
            .await
    }

    pub(super) async fn verify_inner(&self, id: &str, presented: Presented<'_>) -> Result<Verdict> {
        // The gate's check, then its connection alone (the gate has nothing more to do).
        self.conn.check().await?;
        let checked = crate::verify::check(
            &mut self.conn.inner(),
            &self.ns,
            id,
            presented,
            self.pepper.as_ref(),
            false,
            self.conn.layout(),
        )
        .await?;
        Ok(checked.verdict)
    }

    /// Records that a key was just used (`last_used_at`), without creating unknown keys.
    pub async fn touch(&self, id: &str) -> Result<()> {
        crate::verify::touch(&mut self.conn.clone(), &self.ns, id).await
    }

    // ---- events ---------------------------------------------------------------------
}
