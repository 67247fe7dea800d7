//! Editing a key after creation: name, metadata and expiry, merged into the record by one
//! script ([`crate::redis::scripts::EDIT`]) so concurrent edits never lose a field, then one
//! `edit` event naming each change. Follows docs/redis-layout.md ("Write paths").

use std::collections::BTreeMap;

use redis::Value;

use crate::error::{Error, Result};
use crate::record::{KeyRecord, RecordError, UnixMs, now_ms, rfc3339};

use super::*;

/// What `edit` changes; `None`/empty leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyEdit {
    pub name: Option<String>,
    /// Metadata entries to add or replace.
    pub set_meta: BTreeMap<String, String>,
    /// Metadata keys to remove.
    pub unset_meta: Vec<String>,
    /// `Some(Some(t))`: expire at `t`; `Some(None)`: never expire.
    pub expires_at: Option<Option<UnixMs>>,
}

impl KeyEdit {
    /// Checks the edit as `create` checks a new key; one line per problem.
    pub fn validate(&self, now: UnixMs) -> Result<()> {
        let bad = |m: String| Err(Error::Input(m));
        if self.name.is_none()
            && self.set_meta.is_empty()
            && self.unset_meta.is_empty()
            && self.expires_at.is_none()
        {
            return bad(
                "nothing to change: give --name, --meta, --unset-meta, --expires or --no-expiry"
                    .into(),
            );
        }
        if let Some(n) = &self.name {
            if n.trim().is_empty() {
                return bad("a key needs a name (--name)".into());
            }
            if n.chars().count() > 200 {
                return bad("a key name is at most 200 characters".into());
            }
        }
        for k in self.set_meta.keys().chain(&self.unset_meta) {
            if k.is_empty() {
                return bad("a metadata key cannot be empty".into());
            }
        }
        if let Some(k) = self
            .unset_meta
            .iter()
            .find(|k| self.set_meta.contains_key(*k))
        {
            return bad(format!(
                "metadata key {:?} is both set and unset",
                crate::sanitize::line(k)
            ));
        }
        if let Some(Some(e)) = self.expires_at
            && e <= now
        {
            return bad("the expiry is in the past".into());
        }
        Ok(())
    }
}

/// One field an edit changed: `None` for a value that was (or is now) absent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// `name`, `expires_at` or `meta.<key>`.
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl std::fmt::Display for FieldChange {
    /// `name "a" -> "b"`, `expires_at 2027-01-01T00:00:00Z -> never`, `meta.owner "x" -> (none)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| match (v, self.field.as_str()) {
            (None, "expires_at") => "never".to_owned(),
            (None, _) => "(none)".to_owned(),
            (Some(t), "expires_at") => t.parse().map(rfc3339).unwrap_or_else(|_| t.clone()),
            (Some(t), _) => format!("{:?}", crate::sanitize::line(t)),
        };
        write!(
            f,
            "{} {} -> {}",
            crate::sanitize::line(&self.field),
            show(&self.old),
            show(&self.new)
        )
    }
}

/// What an edit did: the changes (empty when the key already had these values) and the
/// record as it is now.
#[derive(Clone, Debug)]
pub struct Edited {
    pub changes: Vec<FieldChange>,
    pub record: KeyRecord,
}

/// The `field, old, new` triples of the edit script's reply.
fn parse_changes(reply: &[Value]) -> Vec<FieldChange> {
    fn text(v: &Value) -> String {
        match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        }
    }
    fn value(v: &Value) -> Option<String> {
        text(v).strip_prefix('=').map(str::to_owned)
    }
    reply
        .chunks_exact(3)
        .map(|c| FieldChange {
            field: text(&c[0]),
            old: value(&c[1]),
            new: value(&c[2]),
        })
        .collect()
}

impl Store {
    /// Edits a key's name, metadata and expiry in one script on its record (merging into
    /// the current values, so concurrent edits never lose a field), then writes one `edit`
    /// event naming each change (old -> new) to the events and the key's history. An edit
    /// that changes nothing writes no event. Setting an expiry also sets `lifetime_ms`
    /// (from now), removing it removes `lifetime_ms`, so a later rotation follows the edit.
    pub async fn edit(&self, id: &str, edit: &KeyEdit) -> Result<Edited> {
        let now = now_ms();
        edit.validate(now)?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(EDIT.as_str()).arg(1).arg(self.ns.record_key(id));
        cmd.arg(if edit.name.is_some() { "1" } else { "0" })
            .arg(edit.name.as_deref().unwrap_or(""));
        match edit.expires_at {
            None => cmd.arg("keep").arg("").arg(""),
            Some(None) => cmd.arg("clear").arg("").arg(""),
            Some(Some(e)) => cmd.arg("set").arg(e).arg(e.saturating_sub(now).max(1)),
        };
        cmd.arg(edit.set_meta.len());
        for (k, v) in &edit.set_meta {
            cmd.arg(k).arg(v);
        }
        for k in &edit.unset_meta {
            cmd.arg(k);
        }
        let reply: Vec<Value> = cmd.query_async(&mut self.conn.clone()).await?;
        let code = match reply.first() {
            Some(Value::Int(n)) => *n,
            _ => return Err(Error::Redis("unexpected reply of the edit script".into())),
        };
        match code {
            1 => {}
            -1 => return Err(Error::NotFound(id.to_owned())),
            -2 => {
                return Err(Error::Malformed(RecordError {
                    id: id.to_owned(),
                    reason: "field meta is not a JSON object of strings; left unchanged".into(),
                }));
            }
            _ => {
                return Err(Error::Malformed(RecordError {
                    id: id.to_owned(),
                    reason: "the record key is not a hash; left unchanged".into(),
                }));
            }
        }
        let changes = parse_changes(&reply[1..]);
        if !changes.is_empty() {
            let detail = changes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            self.event("edit", id, Some(&detail)).await?;
        }
        let record = self.get(id).await?;
        Ok(Edited { changes, record })
    }
}
