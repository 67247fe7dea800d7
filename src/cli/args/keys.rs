//! The arguments of the commands on one key or a selection of keys: create, list, show,
//! revoke, restore, delete, rotate, verify, check, edit, and the token format. clap types
//! only; the commands themselves are in `cli/commands/`.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;

use crate::error::{Error, Result};
use crate::record::now_ms;
use crate::store::KeyFilter;

use crate::cli::filter_args::{AttentionArgs, SortArgs};

pub use crate::input::StatusFilter;

#[derive(Args, Debug, Clone)]
pub struct FormatArgs {
    /// Secret encoding: hex, base64url, base62, alphanumeric, custom:<chars>.
    #[arg(long, value_name = "ENCODING", default_value = "base62")]
    pub format: String,
    /// Key id encoding: hex, base62, alphanumeric, uuid, custom:<chars>.
    #[arg(long, value_name = "ENCODING", default_value = "base62")]
    pub id_format: String,
    /// Length of the secret in bytes of entropy [default: 32 = 256 bits].
    #[arg(long, value_name = "N", conflicts_with = "length")]
    pub bytes: Option<usize>,
    /// Length of the secret in characters.
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
    /// Length of the key id in characters [default: 16].
    #[arg(long, value_name = "N")]
    pub id_length: Option<usize>,
    /// Token prefix of lowercase letters and underscores, e.g. sk_live.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Leave the CRC32 checksum off the token.
    #[arg(long)]
    pub no_checksum: bool,
    /// 40-character lowercase hex secrets, as django-tastypie generates them.
    #[arg(long, conflicts_with_all = ["format", "bytes", "length"])]
    pub tastypie: bool,
    /// Accept a secret under 128 bits of entropy.
    #[arg(long)]
    pub allow_weak: bool,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// A name for people: who or what uses the key.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Expiry: a duration from now (90d, 12h) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Metadata, repeatable: --meta owner=team-a --meta scopes=read,write.
    #[arg(long, value_name = "K=V")]
    pub meta: Vec<String>,
    /// Number of keys to create (pipelined).
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// One JSON object per key, one per line.
    #[arg(long)]
    pub json: bool,
    /// Put the secret on the clipboard instead of printing it (cleared after --clear-after).
    #[arg(long)]
    pub copy: bool,
    /// How long a copied secret stays on the clipboard.
    #[arg(long, default_value = "45s", value_name = "DURATION")]
    pub clear_after: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = StatusFilter::All)]
    pub status: StatusFilter,
    /// At most this many keys (newest first).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub attention: AttentionArgs,
    #[command(flatten)]
    pub order: SortArgs,
}

#[derive(Args, Debug)]
pub struct IdArgs {
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

/// The keys a bulk revoke or delete applies to, instead of one ID.
#[derive(Args, Debug, Clone)]
pub struct BulkArgs {
    /// Every key whose name contains TEXT (case-insensitive; "" for every key), instead of
    /// one ID. Shows the count and asks for confirmation on a terminal.
    #[arg(long, value_name = "TEXT", conflicts_with = "id")]
    pub all_matching: Option<String>,
    /// With --all-matching: only keys with this status now.
    #[arg(long, value_enum, requires = "all_matching")]
    pub status: Option<StatusFilter>,
    /// With --all-matching: only keys with this metadata (repeatable, all must match).
    #[arg(long, value_name = "K=V", requires = "all_matching")]
    pub meta: Vec<String>,
    /// With --all-matching: only keys needing attention (see `keytui list --help`).
    #[command(flatten)]
    pub attention: AttentionArgs,
}

impl BulkArgs {
    /// The filter of `--all-matching`, or `None` for a single-key command.
    pub fn filter(&self) -> Result<Option<KeyFilter>> {
        let Some(text) = &self.all_matching else {
            if self.attention.is_given() {
                return Err(Error::Input(
                    "--unused-for, --expiring-within, --never-used and --created-by go with --all-matching".into(),
                ));
            }
            return Ok(None);
        };
        let mut filter = KeyFilter {
            name_contains: Some(text.clone()),
            status: self.status.and_then(StatusFilter::status),
            meta: parse_meta(&self.meta)?,
            ..KeyFilter::default()
        };
        self.attention.apply(&mut filter)?;
        Ok(Some(filter))
    }
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The key id (or --all-matching).
    #[arg(required_unless_present = "all_matching")]
    pub id: Option<String>,
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: Option<String>,
    /// Skip the confirmation: of --all-matching, and in a production namespace.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The key id (or --all-matching).
    #[arg(required_unless_present = "all_matching")]
    pub id: Option<String>,
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Confirm the permanent deletion (with --all-matching: skip the prompt).
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    pub id: String,
    /// How long the old key keeps working.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub grace: String,
    /// Rotate a key that was already rotated: another successor is made; the first one
    /// stays valid and stays the old key's `rotated_to`.
    #[arg(long)]
    pub force: bool,
    /// Skip the confirmation of a production namespace.
    #[arg(long)]
    pub yes: bool,
    /// Secret encoding of the new key [default: the old key's].
    #[arg(long, value_name = "ENCODING")]
    pub format: Option<String>,
    /// Key id encoding of the new key [default: the old key's].
    #[arg(long, value_name = "ENCODING")]
    pub id_format: Option<String>,
    /// Secret length in bytes of entropy [default: the old key's length].
    #[arg(long, value_name = "N", conflicts_with = "length")]
    pub bytes: Option<usize>,
    /// Secret length in characters [default: the old key's].
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
    /// Key id length in characters [default: the old key's].
    #[arg(long, value_name = "N")]
    pub id_length: Option<usize>,
    /// Token prefix of the new key ("" for none) [default: the old key's].
    #[arg(long)]
    pub prefix: Option<String>,
    /// Leave the checksum off the new key's token [default: as the old key].
    #[arg(long)]
    pub no_checksum: bool,
    /// Expiry of the new key: a duration, an RFC 3339 time or `never` [default: the old
    /// key's lifetime, from now].
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Accept a secret under 128 bits given with --format/--bytes/--length.
    #[arg(long)]
    pub allow_weak: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The key id (the secret is read from standard input, never from arguments).
    #[arg(required_unless_present = "token")]
    pub id: Option<String>,
    /// Read a whole token from standard input instead.
    #[arg(long, conflicts_with = "id")]
    pub token: bool,
    /// Record last_used_at when valid.
    #[arg(long)]
    pub touch: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    pub id: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// Add or replace metadata, repeatable: --meta owner=team-b.
    #[arg(long, value_name = "K=V")]
    pub meta: Vec<String>,
    /// Remove a metadata key, repeatable.
    #[arg(long, value_name = "K")]
    pub unset_meta: Vec<String>,
    /// New expiry: a duration from now (30d, 12h) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Remove the expiry: the key never expires.
    #[arg(long)]
    pub no_expiry: bool,
    /// Skip the confirmation of shortening an expiry in a production namespace.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

/// `90d`, `12h` (from now) or an RFC 3339 time, as unix ms.
pub fn parse_expiry(s: &str) -> Result<i64> {
    crate::input::parse_expiry_at(s, now_ms()).map_err(|why| {
        Error::Input(format!(
            "invalid expiry {s:?}: {why} (2027-01-31T00:00:00Z)"
        ))
    })
}

pub fn parse_duration(s: &str) -> Result<Duration> {
    crate::input::parse_duration(s).map_err(Error::Input)
}

pub(crate) fn parse_meta(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut meta = BTreeMap::new();
    for p in pairs {
        let (k, v) = crate::input::parse_meta_pair(p)
            .map_err(|e| Error::Input(format!("invalid --meta {p:?}: {e}")))?;
        meta.insert(k, v);
    }
    Ok(meta)
}
