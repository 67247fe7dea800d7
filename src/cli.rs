//! The command line: argument definitions (clap) and the entry point that turns a command
//! into calls on the store. Errors are printed as one line on stderr, exit code 2.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::conn::{self, ConnectOptions};
use crate::error::{Error, Result};
use crate::keygen::{Encoding, Length, Spec};
use crate::layout::DEFAULT_NAMESPACE;
use crate::open::OpenOptions;
use crate::record::{KeyRecord, now_ms, rfc3339};
use crate::store::{
    BulkOutcome, Change, CreateRequest, Created, KeyFilter, Mode, Page, Repair, Store, Verdict,
};

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
}

impl BulkArgs {
    /// The filter of `--all-matching`, or `None` for a single-key command.
    pub fn filter(&self) -> Result<Option<KeyFilter>> {
        let Some(text) = &self.all_matching else {
            return Ok(None);
        };
        Ok(Some(KeyFilter {
            name_contains: Some(text.clone()),
            status: self.status.and_then(StatusFilter::status),
            meta: parse_meta(&self.meta)?,
        }))
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

pub use crate::exit::{EXIT_DECLINED, EXIT_ERROR, EXIT_REJECTED};
pub use crate::open::pepper_from_env;

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

/// Runs a CLI command to completion and returns the exit code.
pub async fn run_command(cli: Cli, command: Command) -> ExitCode {
    #[cfg(feature = "tui")]
    if let Command::Demo = command {
        return crate::tui::demo::run(cli.global.open_options(None)).await;
    }
    match dispatch(&cli, command).await {
        Ok(code) => ExitCode::from(code),
        Err(Error::OutputClosed) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "command failed");
            let _ = writeln!(std::io::stderr(), "keytui: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn dispatch(cli: &Cli, command: Command) -> Result<u8> {
    if let Command::Completions { shell } = command {
        let mut cmd = Cli::command();
        clap_complete::generate(shell, &mut cmd, "keytui", &mut std::io::stdout());
        return Ok(0);
    }
    if let Command::Check(a) = &command {
        return crate::cli_extra::check(a.json);
    }
    let (mut store, opts) = cli.global.store(cli.url_arg.as_deref()).await?;
    // Every command refuses a namespace of a newer layout on its own (the store's
    // connection checks it before its first round trip); checking now refuses it before
    // anything else happens (a prompt, a master key file written).
    store.check_layout().await?;
    let mut out = std::io::stdout().lock();
    match command {
        Command::Completions { .. } => Ok(0),
        #[cfg(feature = "tui")]
        Command::Demo => Ok(0),
        Command::Init(a) => {
            let mode = match a.mode {
                ModeArg::Hash => Mode::Hash,
                ModeArg::Sealed => Mode::Sealed,
                ModeArg::Plain => Mode::Plain,
            };
            if let Some(path) = &a.generate_master_key {
                let key = crate::seal::MasterKey::generate()?;
                key.write_new_file(path)?;
                eprintln!(
                    "keytui: new master key written to {} (mode 0600)",
                    path.display()
                );
                store = store.with_master_key(Some(key));
            }
            let meta = store.init(mode, a.production).await?;
            if a.json {
                let v = serde_json::json!({
                    "namespace": store.namespace().as_str(),
                    "mode": meta.mode.as_str(),
                    "secret_alg": meta.secret_alg.as_str(),
                    "production": meta.production,
                    "layout": meta.layout,
                });
                writeln!(out, "{v}").map_err(io)?;
            } else {
                writeln!(
                    out,
                    "namespace {} ready: {} mode ({}), layout {}{}",
                    store.namespace(),
                    meta.mode,
                    meta.secret_alg.as_str(),
                    meta.layout,
                    if meta.production { ", production" } else { "" }
                )
                .map_err(io)?;
            }
            Ok(0)
        }
        Command::Create(a) => {
            if a.count == 0 {
                return Err(Error::Config("--count must be at least 1".into()));
            }
            if a.copy && a.count != 1 {
                return Err(Error::Config("--copy works with one key at a time".into()));
            }
            let clear_after = parse_duration(&a.clear_after)?;
            let mut req = CreateRequest::new(a.name.clone());
            apply_format(&mut req, &a.format)?;
            req.expires_at = a.expires.as_deref().map(parse_expiry).transpose()?;
            req.meta = parse_meta(&a.meta)?;
            let bits = req.secret_spec.entropy_bits();
            if a.copy {
                let c = store.create(&req).await?;
                match crate::clipboard_hold::copy_in_background(c.secret.expose(), clear_after) {
                    Ok(()) if !a.json => print_copied(&mut out, &c, bits, clear_after)?,
                    Ok(()) => {
                        eprintln!(
                            "keytui: secret copied to the clipboard; it is cleared in {}",
                            humantime::format_duration(clear_after)
                        );
                        print_created_json(&mut out, &c, bits, false)?;
                    }
                    Err(e) => {
                        eprintln!(
                            "keytui: warning: not copied ({e}); the secret is printed instead"
                        );
                        print_created(&mut out, &c, a.json, bits)?;
                    }
                }
                return Ok(0);
            }
            let bar = Progress::new(a.count as u64, "creating");
            // Each batch is printed as soon as it is written: memory stays flat and the
            // secrets of keys already created reach the output even if a later batch fails.
            let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut out);
            store
                .create_each(
                    &req,
                    a.count,
                    |c| print_created(&mut w, &c, a.json, bits),
                    |n| bar.set(n, 0),
                )
                .await?;
            w.flush().map_err(io)?;
            drop(w);
            bar.finish();
            Ok(0)
        }
        Command::List(a) => {
            let now = now_ms();
            let wanted = |r: &KeyRecord| a.status.admits(r.status_at(now));
            // Pages are written as they arrive, while the next ones are read.
            let mut list = ListWriter::new(&mut out, a.json)?;
            let mut left = a.limit.unwrap_or(usize::MAX);
            let mut emit = |page: Page| -> Result<()> {
                for m in &page.malformed {
                    eprintln!("keytui: warning: {}", crate::sanitize::line(&m.to_string()));
                }
                for r in page.records.iter().filter(|r| wanted(r)) {
                    if left == 0 {
                        break;
                    }
                    list.item(r, now)?;
                    left -= 1;
                }
                Ok(())
            };
            match a.limit {
                Some(limit) if a.status == StatusFilter::All => emit(store.page(0, limit).await?)?,
                _ => {
                    let bar = Progress::new(0, "reading");
                    store
                        .list_each(&mut emit, |n, total| bar.set(n, total))
                        .await?;
                    bar.finish();
                }
            }
            list.finish()?;
            Ok(0)
        }
        Command::Show(a) => {
            let r = store.get(&a.id).await?;
            let now = now_ms();
            if a.json {
                let s = serde_json::to_string_pretty(&r.to_json(now)).map_err(json_err)?;
                writeln!(out, "{s}").map_err(io)?;
            } else {
                print_record(&mut out, &r, now)?;
            }
            Ok(0)
        }
        Command::Revoke(a) => {
            if let Some(filter) = a.bulk.filter()? {
                let Some(ids) = select_confirmed(&store, &filter, "revoke", a.yes).await? else {
                    return Ok(EXIT_DECLINED);
                };
                let bar = Progress::new(ids.len() as u64, "revoking");
                let outcome = store
                    .revoke_many(&ids, a.reason.as_deref(), |n| bar.set(n, 0))
                    .await?;
                bar.finish();
                return report_bulk(&mut out, "revoked", ids.len(), &outcome, a.json);
            }
            let id = a.id.unwrap_or_default();
            crate::cli_extra::confirm_production(&store, "revoke", &id, a.yes).await?;
            let change = store.revoke(&id, a.reason.as_deref()).await?;
            report_change(&mut out, "revoked", &id, change, a.json)
        }
        Command::Restore(a) => {
            let change = store.restore(&a.id).await?;
            report_change(&mut out, "restored", &a.id, change, a.json)
        }
        Command::Delete(a) => {
            if let Some(filter) = a.bulk.filter()? {
                let Some(ids) = select_confirmed(&store, &filter, "delete", a.yes).await? else {
                    return Ok(EXIT_DECLINED);
                };
                let bar = Progress::new(ids.len() as u64, "deleting");
                let outcome = store.delete_many(&ids, |n| bar.set(n, 0)).await?;
                bar.finish();
                return report_bulk(&mut out, "deleted", ids.len(), &outcome, a.json);
            }
            let id = a.id.unwrap_or_default();
            if !a.yes {
                return Err(Error::Config(format!(
                    "deleting {id} is permanent: add --yes to confirm"
                )));
            }
            crate::cli_extra::confirm_production(&store, "delete", &id, a.yes).await?;
            store.delete(&id).await?;
            if a.json {
                writeln!(out, "{}", serde_json::json!({"id": id, "deleted": true})).map_err(io)?;
            } else {
                writeln!(out, "deleted {id}").map_err(io)?;
            }
            Ok(0)
        }
        Command::Rotate(a) => {
            let req = rotate_request(&a)?;
            crate::cli_extra::confirm_production(&store, "rotate", &a.id, a.yes).await?;
            let rotated = store.rotate(&a.id, &req).await?;
            let created = &rotated.created;
            let bits = rotated.entropy_bits;
            print_created(&mut out, created, a.json, bits)?;
            if !a.json {
                match rotated.old_expires_at {
                    Some(e) => writeln!(out, "old key {} expires {}", a.id, rfc3339(e)),
                    None => writeln!(out, "old key {} was deleted meanwhile", a.id),
                }
                .map_err(io)?;
                if let Some(first) = &rotated.first_successor {
                    writeln!(
                        out,
                        "{} was rotated before: its first successor {} stays valid",
                        a.id,
                        crate::sanitize::line(first)
                    )
                    .map_err(io)?;
                }
            }
            Ok(0)
        }
        Command::Verify(a) => {
            let input = read_secret_input(if a.token { "token" } else { "secret" })?;
            let verdict = if a.token {
                store.verify_token(&input).await?
            } else {
                let id = a.id.clone().unwrap_or_default();
                store.verify(&id, &input).await?
            };
            match verdict {
                Verdict::Valid { id, name } => {
                    if a.touch {
                        store.touch(&id).await?;
                    }
                    if a.json {
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"valid": true, "id": id, "name": name})
                        )
                        .map_err(io)?;
                    } else {
                        writeln!(out, "valid: {id} ({})", crate::sanitize::line(&name))
                            .map_err(io)?;
                    }
                    Ok(0)
                }
                Verdict::Rejected(why) => {
                    if a.json {
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"valid": false, "reason": why.code()})
                        )
                        .map_err(io)?;
                    } else {
                        writeln!(out, "rejected: {}", why.as_str()).map_err(io)?;
                    }
                    Ok(EXIT_REJECTED)
                }
            }
        }
        Command::Events(a) => {
            let past = store.recent_events(a.count).await?;
            let mut cursor = store.last_event_cursor().await?;
            for e in &past {
                print_event(&mut out, e, a.json)?;
            }
            out.flush().map_err(io)?;
            if a.follow {
                let block = Duration::from_secs(5);
                let mut blocking = conn::connect_blocking(&opts, block).await?;
                loop {
                    let events =
                        Store::wait_events(&mut blocking, store.namespace(), &cursor, block, 500)
                            .await?;
                    for e in &events {
                        print_event(&mut out, e, a.json)?;
                        cursor = e.cursor.clone();
                    }
                    out.flush().map_err(io)?;
                }
            }
            Ok(0)
        }
        Command::Reveal(a) => crate::cli_extra::reveal(&store, &a.id, a.json).await,
        Command::Migrate(a) => crate::cli_extra::migrate(&store, a.to, a.yes, a.json).await,
        Command::Import(a) => crate::cli_extra::import(&store, &a).await,
        Command::Check(_) => Ok(0),
        Command::Doctor(a) => {
            let base = opts.urls.first().cloned().unwrap_or_default();
            let masters = store.master_urls(&base).await?;
            let how = if a.delete_malformed {
                match confirm_delete_malformed(&store, &masters, a.yes).await? {
                    Some(ids) => Repair::DeleteMalformed(ids),
                    None => return Ok(EXIT_DECLINED),
                }
            } else if a.repair {
                Repair::Index
            } else {
                Repair::No
            };
            let report = store.doctor_with(&how, &masters).await?;
            if a.json {
                let s = serde_json::to_string(&report).map_err(json_err)?;
                writeln!(out, "{s}").map_err(io)?;
            } else {
                writeln!(
                    out,
                    "{} keys indexed, {} records scanned on {} node(s)",
                    report.indexed,
                    report.records_scanned,
                    masters.len()
                )
                .map_err(io)?;
                if let Some(p) = &report.meta_problem {
                    writeln!(out, "meta: {p}").map_err(io)?;
                }
                let clean = crate::sanitize::line;
                for id in &report.dangling {
                    writeln!(out, "dangling index entry (no record): {}", clean(id)).map_err(io)?;
                }
                for id in &report.orphans {
                    writeln!(out, "record missing from the index: {}", clean(id)).map_err(io)?;
                }
                for id in &report.plaintext {
                    writeln!(
                        out,
                        "plaintext secret outside a plain namespace: {} (run keytui migrate again)",
                        clean(id)
                    )
                    .map_err(io)?;
                }
                for m in &report.malformed_records {
                    let place = if m.deleted {
                        "deleted"
                    } else if m.indexed {
                        "in the index"
                    } else {
                        "not in the index"
                    };
                    writeln!(
                        out,
                        "malformed record {}: {} ({place})",
                        clean(&format!("{:?}", m.id)),
                        clean(&m.problem)
                    )
                    .map_err(io)?;
                }
                for id in &report.in_flight {
                    writeln!(
                        out,
                        "index entry of a create in progress (left alone): {}",
                        clean(id)
                    )
                    .map_err(io)?;
                }
                if a.repair {
                    writeln!(out, "repaired {} problem(s)", report.repaired).map_err(io)?;
                    if report.unindexed > 0 {
                        writeln!(
                            out,
                            "moved {} malformed record(s) out of the index; their data is kept",
                            report.unindexed
                        )
                        .map_err(io)?;
                    }
                    if report.deleted > 0 {
                        writeln!(out, "deleted {} malformed record(s)", report.deleted)
                            .map_err(io)?;
                    }
                    if report.malformed_left() > 0 {
                        writeln!(
                            out,
                            "{} malformed record(s) left in place: fix them by hand, or delete them with `keytui doctor --repair --delete-malformed`",
                            report.malformed_left()
                        )
                        .map_err(io)?;
                    }
                } else if report.is_healthy() {
                    writeln!(out, "healthy").map_err(io)?;
                } else {
                    writeln!(out, "run `keytui doctor --repair` to fix the index").map_err(io)?;
                }
            }
            let healthy_now = report.is_healthy()
                || (a.repair
                    && report.malformed_left() == 0
                    && report.plaintext.is_empty()
                    && report.meta_problem.is_none());
            Ok(if healthy_now { 0 } else { 1 })
        }
    }
}

/// The malformed records `doctor --repair --delete-malformed` may delete, after the user
/// confirmed their count on a terminal (or with `--yes`); `None` when the user declined.
/// Without a terminal and without `--yes` it is an error naming the count.
async fn confirm_delete_malformed(
    store: &Store,
    masters: &[String],
    yes: bool,
) -> Result<Option<std::collections::HashSet<String>>> {
    let found = store.doctor_with(&Repair::No, masters).await?;
    let ids: std::collections::HashSet<String> =
        found.malformed_records.into_iter().map(|m| m.id).collect();
    if ids.is_empty() || yes {
        return Ok(Some(ids));
    }
    let what = format!(
        "{} malformed record key(s) in namespace {} (written by another program or damaged; this cannot be undone)",
        ids.len(),
        store.namespace()
    );
    let stdin = std::io::stdin();
    if !(stdin.is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Config(format!(
            "would delete {what}: add --yes to confirm"
        )));
    }
    eprint!("delete {what}? [y/N] ");
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(io)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(Some(ids))
    } else {
        eprintln!("keytui: nothing changed");
        Ok(None)
    }
}

/// The ids matching `filter`, after the user confirmed the count on a terminal (or with
/// `--yes`); `None` when the user declined. Without a terminal and without `--yes` it is
/// an error that names the count, so scripts never change keys by accident.
async fn select_confirmed(
    store: &Store,
    filter: &KeyFilter,
    verb: &str,
    yes: bool,
) -> Result<Option<Vec<String>>> {
    let bar = Progress::new(0, "reading");
    let page = store.list_all(|n, total| bar.set(n, total)).await?;
    bar.finish();
    let now = now_ms();
    let ids: Vec<String> = page
        .records
        .into_iter()
        .filter(|r| filter.matches(r, now))
        .map(|r| r.id)
        .collect();
    let what = format!(
        "{} key{} in namespace {} ({filter})",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        store.namespace()
    );
    if ids.is_empty() || yes {
        return Ok(Some(ids));
    }
    let stdin = std::io::stdin();
    if !(stdin.is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Config(format!(
            "would {verb} {what}: add --yes to confirm"
        )));
    }
    eprint!("{verb} {what}? [y/N] ");
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(io)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(Some(ids))
    } else {
        eprintln!("keytui: nothing changed");
        Ok(None)
    }
}

fn report_bulk(
    out: &mut impl Write,
    verb: &str,
    matched: usize,
    o: &BulkOutcome,
    json: bool,
) -> Result<u8> {
    if json {
        let v = serde_json::json!({
            "matched": matched,
            verb: o.done,
            "unchanged": o.unchanged,
            "missing": o.missing,
            "malformed": o.malformed,
        });
        writeln!(out, "{v}").map_err(io)?;
    } else {
        write!(out, "{verb} {} of {matched} matching key(s)", o.done).map_err(io)?;
        if o.unchanged > 0 {
            write!(out, ", {} already {verb}", o.unchanged).map_err(io)?;
        }
        if !o.missing.is_empty() {
            write!(out, ", {} gone meanwhile", o.missing.len()).map_err(io)?;
        }
        writeln!(out).map_err(io)?;
        for id in &o.malformed {
            writeln!(
                out,
                "left unchanged: {} (malformed record: see keytui doctor)",
                crate::sanitize::line(id)
            )
            .map_err(io)?;
        }
    }
    Ok(0)
}

/// Applies the format flags to a create request.
pub fn apply_format(req: &mut CreateRequest, f: &FormatArgs) -> Result<()> {
    if f.tastypie {
        req.secret_spec = Spec::tastypie();
    } else {
        let encoding: Encoding = f.format.parse()?;
        let length = match (f.bytes, f.length) {
            (Some(b), _) => Length::Bytes(b),
            (None, Some(l)) => Length::Chars(l),
            (None, None) => Length::Bytes(32),
        };
        req.secret_spec = Spec { encoding, length };
    }
    let id_encoding: Encoding = f.id_format.parse()?;
    let default_id = Spec::id_default();
    req.id_spec = Spec {
        length: match f.id_length {
            Some(n) => Length::Chars(n),
            None if f.id_format == "base62" => default_id.length,
            None => Length::Chars(16),
        },
        encoding: id_encoding,
    };
    req.prefix = f.prefix.clone();
    req.checksum = !f.no_checksum;
    req.allow_weak = f.allow_weak;
    Ok(())
}

/// The rotate flags as overrides of the old key's shape.
fn rotate_request(a: &RotateArgs) -> Result<crate::store::RotateRequest> {
    let mut req = crate::store::RotateRequest::new(parse_duration(&a.grace)?);
    req.force = a.force;
    req.allow_weak = a.allow_weak;
    if a.format.is_some() || a.bytes.is_some() || a.length.is_some() {
        let encoding: Encoding = a.format.as_deref().unwrap_or("base62").parse()?;
        let length = match (a.bytes, a.length) {
            (Some(b), _) => Length::Bytes(b),
            (None, Some(l)) => Length::Chars(l),
            (None, None) => Length::Bytes(32),
        };
        req.secret_spec = Some(Spec { encoding, length });
    }
    if a.id_format.is_some() || a.id_length.is_some() {
        let encoding: Encoding = a.id_format.as_deref().unwrap_or("base62").parse()?;
        req.id_spec = Some(Spec {
            encoding,
            length: Length::Chars(a.id_length.unwrap_or(16)),
        });
    }
    req.prefix = a.prefix.clone();
    if a.no_checksum {
        req.checksum = Some(false);
    }
    req.expires_at = match a.expires.as_deref() {
        None => None,
        Some("never") => Some(None),
        Some(s) => Some(Some(parse_expiry(s)?)),
    };
    Ok(req)
}

/// `90d`, `12h` (from now) or an RFC 3339 time, as unix ms.
pub fn parse_expiry(s: &str) -> Result<i64> {
    crate::input::parse_expiry_at(s, now_ms()).map_err(|why| {
        Error::Config(format!(
            "invalid expiry {s:?}: {why} (2027-01-31T00:00:00Z)"
        ))
    })
}

pub fn parse_duration(s: &str) -> Result<Duration> {
    crate::input::parse_duration(s).map_err(Error::Config)
}

fn parse_meta(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut meta = BTreeMap::new();
    for p in pairs {
        let (k, v) = crate::input::parse_meta_pair(p)
            .map_err(|e| Error::Config(format!("invalid --meta {p:?}: {e}")))?;
        meta.insert(k, v);
    }
    Ok(meta)
}

/// Reads a secret or token from standard input: without echo on a terminal, otherwise the
/// whole input minus one trailing newline.
fn read_secret_input(what: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{what}: ")).map_err(io)?
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|_| Error::Config(format!("the {what} on standard input is not UTF-8")))?;
        s
    };
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(Error::Config(format!(
            "no {what} on standard input (pipe it in: echo \"$SECRET\" | keytui verify ID)"
        )));
    }
    Ok(trimmed.to_owned())
}

/// One line of `create --json`; without the secret and token when they went to the
/// clipboard instead. (A struct rather than `json!`, so a million lines build no maps.)
fn print_created_json(
    out: &mut impl Write,
    c: &Created,
    bits: f64,
    with_secret: bool,
) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        id: &'a str,
        secret: Option<&'a str>,
        token: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        copied_to_clipboard: bool,
        name: &'a str,
        status: &'static str,
        created_at: String,
        expires_at: Option<String>,
        meta: &'a BTreeMap<String, String>,
        entropy_bits: f64,
        rotated_from: Option<&'a str>,
    }
    let r = &c.record;
    let line = Line {
        id: &r.id,
        secret: with_secret.then(|| c.secret.expose()),
        token: with_secret.then(|| c.token.expose()),
        copied_to_clipboard: !with_secret,
        name: &r.name,
        status: r.status().as_str(),
        created_at: rfc3339(r.created_at),
        expires_at: r.expires_at.map(rfc3339),
        meta: &r.meta,
        entropy_bits: bits.floor(),
        rotated_from: r.rotated_from.as_deref(),
    };
    serde_json::to_writer(&mut *out, &line).map_err(json_err)?;
    writeln!(out).map_err(io)
}

fn print_created(out: &mut impl Write, c: &Created, json: bool, bits: f64) -> Result<()> {
    let r = &c.record;
    if json {
        return print_created_json(out, c, bits, true);
    }
    writeln!(out, "created key {:?}", crate::sanitize::line(&r.name)).map_err(io)?;
    writeln!(out, "  id:      {}", r.id).map_err(io)?;
    writeln!(out, "  secret:  {}", c.secret.expose()).map_err(io)?;
    writeln!(out, "  token:   {}", c.token.expose()).map_err(io)?;
    writeln!(out, "  entropy: {:.0} bits", bits.floor()).map_err(io)?;
    if let Some(e) = r.expires_at {
        writeln!(out, "  expires: {}", rfc3339(e)).map_err(io)?;
    }
    writeln!(out, "The secret is shown only this once: store it now.").map_err(io)?;
    Ok(())
}

fn print_copied(out: &mut impl Write, c: &Created, bits: f64, clear_after: Duration) -> Result<()> {
    let r = &c.record;
    writeln!(out, "created key {:?}", crate::sanitize::line(&r.name)).map_err(io)?;
    writeln!(out, "  id:      {}", r.id).map_err(io)?;
    writeln!(
        out,
        "  secret:  copied to the clipboard (cleared in {})",
        humantime::format_duration(clear_after)
    )
    .map_err(io)?;
    writeln!(out, "  entropy: {:.0} bits", bits.floor()).map_err(io)?;
    writeln!(
        out,
        "Paste the secret where it belongs now: it is not shown again."
    )
    .map_err(io)?;
    Ok(())
}

fn print_record(out: &mut impl Write, r: &KeyRecord, now: i64) -> Result<()> {
    let opt = |t: Option<i64>| t.map(rfc3339).unwrap_or_else(|| "-".into());
    let clean = crate::sanitize::line;
    let lines = [
        ("id", clean(&r.id)),
        ("name", clean(&r.name)),
        ("status", r.status_at(now).as_str().into()),
        ("created", rfc3339(r.created_at)),
        ("created by", clean(&r.created_by)),
        ("expires", opt(r.expires_at)),
        ("revoked", opt(r.revoked_at)),
        ("reason", clean(r.revoked_reason.as_deref().unwrap_or("-"))),
        ("last used", opt(r.last_used_at)),
        ("secret", r.secret_alg.as_str().into()),
        ("prefix", clean(r.token_prefix.as_deref().unwrap_or("-"))),
        (
            "rotated from",
            clean(r.rotated_from.as_deref().unwrap_or("-")),
        ),
        ("rotated to", clean(r.rotated_to.as_deref().unwrap_or("-"))),
    ];
    for (k, v) in lines {
        writeln!(out, "{k:>12}: {v}").map_err(io)?;
    }
    for (k, v) in &r.meta {
        writeln!(out, "{:>12}: {}", clean(&format!("meta.{k}")), clean(v)).map_err(io)?;
    }
    Ok(())
}

fn print_event(out: &mut impl Write, e: &crate::store::Event, json: bool) -> Result<()> {
    if json {
        let s = serde_json::to_string(e).map_err(json_err)?;
        writeln!(out, "{s}").map_err(io)
    } else {
        let clean = crate::sanitize::line;
        writeln!(
            out,
            "{} {:<8} {:<24} {}{}",
            rfc3339(e.at),
            clean(&e.op),
            clean(&e.id),
            clean(&e.actor),
            e.detail
                .as_deref()
                .map(|d| format!(" ({})", clean(d)))
                .unwrap_or_default()
        )
        .map_err(io)
    }
}

fn report_change(out: &mut impl Write, verb: &str, id: &str, c: Change, json: bool) -> Result<u8> {
    if json {
        let v = serde_json::json!({"id": id, verb: true, "changed": c == Change::Done});
        writeln!(out, "{v}").map_err(io)?;
    } else if c == Change::Done {
        writeln!(out, "{verb} {id}").map_err(io)?;
    } else {
        writeln!(out, "{id} was already {verb}").map_err(io)?;
    }
    Ok(0)
}

/// `list` output written record by record: a JSON array, or a table with a header.
struct ListWriter<W: Write> {
    w: std::io::BufWriter<W>,
    json: bool,
    first: bool,
}

impl<W: Write> ListWriter<W> {
    fn new(out: W, json: bool) -> Result<Self> {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
        if json {
            w.write_all(b"[").map_err(io)?;
        } else {
            writeln!(w, "{:<24} {:<8} {:<20} NAME", "ID", "STATUS", "CREATED").map_err(io)?;
        }
        Ok(Self {
            w,
            json,
            first: true,
        })
    }

    fn item(&mut self, r: &KeyRecord, now: i64) -> Result<()> {
        if self.json {
            if !self.first {
                self.w.write_all(b",\n").map_err(io)?;
            }
            serde_json::to_writer(&mut self.w, &r.to_json(now)).map_err(json_err)?;
        } else {
            writeln!(
                self.w,
                "{:<24} {:<8} {:<20} {}",
                crate::sanitize::line(&r.id),
                r.status_at(now).as_str(),
                rfc3339(r.created_at),
                crate::sanitize::line(&r.name)
            )
            .map_err(io)?;
        }
        self.first = false;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        if self.json {
            self.w.write_all(b"]\n").map_err(io)?;
        }
        self.w.flush().map_err(io)
    }
}

/// A progress bar on stderr when it is a terminal, nothing otherwise.
pub(crate) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(crate) fn new(len: u64, what: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, {eta})")
        {
            bar.set_style(style);
        }
        bar.set_message(what.to_owned());
        Progress(Some(bar))
    }

    /// `done` so far; a non-zero `total` also updates the length.
    pub(crate) fn set(&self, done: usize, total: usize) {
        if let Some(b) = &self.0 {
            if total > 0 {
                b.set_length(total as u64);
            }
            b.set_position(done as u64);
        }
    }

    pub(crate) fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}

pub(crate) fn io(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Error::OutputClosed;
    }
    Error::Config(format!("I/O error: {e}"))
}

pub(crate) fn json_err(e: serde_json::Error) -> Error {
    Error::Config(format!("JSON error: {e}"))
}
