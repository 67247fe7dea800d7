//! The command line's shape: every command, flag and environment variable (clap derive
//! types), and how the global options become [`OpenOptions`]. No command runs here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::conn::ConnectOptions;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::DEFAULT_NAMESPACE;
use crate::open::OpenOptions;
use crate::record::now_ms;
use crate::store::{KeyFilter, Store};

use super::filter_args::{AttentionArgs, SortArgs};
use std::collections::BTreeMap;

/// Manage API key/secret pairs stored in Redis.
///
/// Without a command, opens the terminal UI.
#[derive(Parser, Debug)]
#[command(name = "keytui", version, about, long_about = None, args_conflicts_with_subcommands = false)]
pub struct Cli {
    /// Redis URL: redis://[user:password@]host[:port][/db] or rediss:// for TLS.
    /// Several cluster seed nodes may be given separated by commas.
    #[arg(value_name = "URL")]
    pub url_arg: Option<String>,

    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Redis URL (overrides REDIS_URL; the positional URL wins over both).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: Option<String>,

    /// Namespace of the keys (several namespaces can share one Redis).
    #[arg(short = 'n', long, global = true, env = "KEYTUI_NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// Treat the server as a Redis Cluster (detected automatically otherwise).
    #[arg(long, global = true)]
    pub cluster: bool,

    /// PEM file of the CA that signed the server's TLS certificate (rediss://).
    #[arg(long, global = true, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,

    /// Name recorded as created_by and in the audit log [default: $USER@host].
    #[arg(long, global = true, env = "KEYTUI_ACTOR")]
    pub actor: Option<String>,

    /// Master key file (mode 0600) of a sealed namespace [env: KEYTUI_MASTER_KEY_FILE;
    /// or the key itself in KEYTUI_MASTER_KEY].
    #[arg(long, global = true, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,

    /// Write a log to this file (level from KEYTUI_LOG, default info). Secrets are never logged.
    #[arg(long, global = true, env = "KEYTUI_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the namespace explicitly (the first `create` does it otherwise).
    Init(InitArgs),
    /// Create keys; prints each id and secret once.
    Create(CreateArgs),
    /// List keys, newest first (never secrets).
    List(ListArgs),
    /// Show one key's record.
    Show(IdArgs),
    /// Revoke a key (idempotent).
    Revoke(RevokeArgs),
    /// Restore a revoked key (idempotent).
    Restore(IdArgs),
    /// Delete a key permanently.
    Delete(DeleteArgs),
    /// Replace a key by a new one with the same name and metadata.
    Rotate(RotateArgs),
    /// Verify a secret read from standard input: exit 0 valid, 1 rejected, 2 error.
    Verify(VerifyArgs),
    /// Print the audit log.
    Events(EventsArgs),
    /// Print a key's secret where the storage mode keeps it (sealed or plain).
    Reveal(IdArgs),
    /// Convert the namespace to another storage mode, in place (resumable).
    Migrate(MigrateArgs),
    /// Import keys made elsewhere (JSON lines, or a django-tastypie ApiKey export).
    Import(ImportArgs),
    /// Check a token read from standard input offline: its shape and checksum.
    Check(CheckArgs),
    /// Check the namespace for inconsistencies left by crashes, and repair them.
    Doctor(DoctorArgs),
    /// Find tokens of this namespace in files or logs (standard input when no file is
    /// given): prints file:line, the key id, name and status, never the secret. Exit 0
    /// nothing live, 1 a live key found, 2 an error.
    Scan(ScanArgs),
    /// List the namespaces in this Redis (name, mode, production, key count).
    Namespaces(NamespacesArgs),
    /// Change a key's name, metadata or expiry (one audit event naming each change).
    Edit(EditArgs),
    /// Start a private redis-server with sample keys and open the terminal UI on it.
    #[cfg(feature = "tui")]
    Demo,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// How secrets are stored.
    #[arg(long, value_enum, default_value_t = ModeArg::Hash)]
    pub mode: ModeArg,
    /// Mark the namespace as production.
    #[arg(long)]
    pub production: bool,
    /// Create a new master key in this file (mode 0600) and use it (sealed mode).
    #[arg(long, value_name = "FILE")]
    pub generate_master_key: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The mode to convert to.
    #[arg(long, value_enum)]
    pub to: MigrateTo,
    /// Skip the confirmation (`--to hash` deletes the sealed copies of secrets).
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MigrateTo {
    Hash,
    Sealed,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// File to read (`-` or nothing: standard input).
    pub file: Option<PathBuf>,
    /// `jsonl`: objects with id, secret, name, created_at, expires_at, meta, status.
    /// `tastypie`: `manage.py dumpdata tastypie.ApiKey --natural-foreign` output, or
    /// username and key as JSON lines, a JSON array or `username,key` CSV.
    #[arg(long, value_enum, default_value_t = ImportFormat::Jsonl)]
    pub format: ImportFormat,
    /// Accept secrets under 128 bits of entropy (legacy keys); they are listed in the
    /// summary.
    #[arg(long)]
    pub allow_weak: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    Jsonl,
    Tastypie,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Hash,
    Sealed,
    Plain,
}

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

pub use crate::input::StatusFilter;

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
pub struct EventsArgs {
    /// Keep printing new events as they come.
    #[arg(long, short)]
    pub follow: bool,
    /// Number of past events to print.
    #[arg(long, default_value_t = 50)]
    pub count: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Fix what can be fixed safely: remove dangling index entries, index unindexed
    /// records, move malformed records out of the index (their data is kept).
    #[arg(long)]
    pub repair: bool,
    /// With --repair: also delete the malformed record keys (data keytui may not have
    /// written). Shows the count and asks first on a terminal; elsewhere needs --yes.
    #[arg(long, requires = "repair")]
    pub delete_malformed: bool,
    /// Skip the confirmation of --delete-malformed.
    #[arg(long, requires = "delete_malformed")]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files to scan (`-` or none: standard input).
    pub paths: Vec<PathBuf>,
    /// Revoke the keys whose real secret was found (after a confirmation; elsewhere than a
    /// terminal it needs --yes), with the file and line as the reason.
    #[arg(long)]
    pub revoke: bool,
    /// Skip the confirmation of --revoke.
    #[arg(long, requires = "revoke")]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct NamespacesArgs {
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

impl Global {
    /// The settings to open the store with; `positional` (the URL argument) wins over
    /// `--url` and `REDIS_URL`.
    pub fn open_options(&self, positional: Option<&str>) -> OpenOptions {
        OpenOptions {
            url: positional.or(self.url.as_deref()).map(str::to_owned),
            namespace: self.namespace.clone(),
            cluster: self.cluster,
            tls_ca: self.tls_ca.clone(),
            actor: self.actor.clone(),
            master_key_file: self.master_key_file.clone(),
        }
    }

    /// Opens the store of the chosen namespace.
    pub async fn store(&self, positional: Option<&str>) -> Result<(Store, ConnectOptions)> {
        self.open_options(positional).store().await
    }
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
