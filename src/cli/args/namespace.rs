//! The arguments of the commands on a namespace as a whole: init, migrate, import, events,
//! doctor, scan and namespaces. clap types only; the commands themselves are in
//! `cli/commands/`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

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

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Hash,
    Sealed,
    Plain,
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
pub struct UpgradeArgs {
    /// Skip the confirmation (needed elsewhere than on a terminal).
    #[arg(long)]
    pub yes: bool,
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
