//! The command line's shape: the top level ([`Cli`], the global options, the list of
//! commands) and how the global options become [`OpenOptions`]; each command's own
//! arguments are in `args/keys.rs` (one key or a selection of keys) and
//! `args/namespace.rs` (the namespace as a whole). No command runs here.

mod keys;
mod namespace;

pub use keys::*;
pub use namespace::*;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::conn::ConnectOptions;

use crate::error::Result;
use crate::layout::DEFAULT_NAMESPACE;
use crate::open::OpenOptions;
use crate::store::Store;

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
    /// Bring a namespace of layout 1 to layout 2 (apps then verify a key by reading one
    /// field); tools that know only layout 1 refuse it afterwards.
    Upgrade(UpgradeArgs),
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
