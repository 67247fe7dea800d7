//! The command line: [`run_command`] turns a parsed command into calls on the store and
//! an exit code ([`crate::exit`]). The argument types are in [`args`], each command group
//! in its own file under [`commands`], printing in [`output`], questions in [`prompt`].
//! Errors are printed as one line on stderr. Must not import the terminal UI
//! ([`crate::app`] starts it, for `keytui` alone and `keytui demo`).

pub mod args;
mod commands;
mod filter_args;
mod output;
mod progress;
mod prompt;

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::error::{Error, Result};

pub use self::args::*;
pub use self::filter_args::{AttentionArgs, SortArgs};

pub use self::commands::import::{ParsedImport, SkippedRow, parse_import};
pub use self::commands::keys::apply_format;
pub use crate::exit::{EXIT_DECLINED, EXIT_ERROR, EXIT_REJECTED};
pub use crate::open::pepper_from_env;

/// Runs a CLI command to completion and returns the exit code.
pub async fn run_command(cli: Cli, command: Command) -> ExitCode {
    match dispatch(&cli, command).await {
        Ok(code) => ExitCode::from(code),
        Err(Error::OutputClosed) => ExitCode::SUCCESS,
        Err(e @ Error::Declined(_)) => {
            let _ = writeln!(std::io::stderr(), "keytui: {e}");
            ExitCode::from(EXIT_DECLINED)
        }
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
    #[cfg(feature = "tui")]
    if let Command::Demo = command {
        // The demo is the terminal UI: `crate::app` starts it, the CLI never does.
        return Err(Error::Input(
            "demo runs the terminal UI; start it as `keytui demo`".into(),
        ));
    }
    if let Command::Check(a) = &command {
        return commands::verify::check(a.json);
    }
    let (store, opts) = cli.global.store(cli.url_arg.as_deref()).await?;
    // Every command refuses a namespace of a newer layout on its own (the store's
    // connection checks it before its first round trip); checking now refuses it before
    // anything else happens (a prompt, a master key file written).
    store.check_layout().await?;
    match command {
        Command::Completions { .. } => Ok(0),
        #[cfg(feature = "tui")]
        Command::Demo => Ok(0), // answered above
        Command::Init(a) => commands::namespace::init(store, a).await,
        Command::Create(a) => commands::keys::create(store, a).await,
        Command::List(a) => commands::keys::list(store, a).await,
        Command::Show(a) => commands::keys::show(store, a).await,
        Command::Revoke(a) => commands::change::revoke(store, a).await,
        Command::Restore(a) => commands::change::restore(store, a).await,
        Command::Delete(a) => commands::change::delete(store, a).await,
        Command::Rotate(a) => commands::keys::rotate(store, a).await,
        Command::Verify(a) => commands::verify::verify(store, a).await,
        Command::Events(a) => commands::events::events(store, &opts, a).await,
        Command::Reveal(a) => commands::keys::reveal(&store, &a.id, a.json).await,
        Command::Migrate(a) => commands::namespace::migrate(&store, a.to, a.yes, a.json).await,
        Command::Upgrade(a) => commands::namespace::upgrade(&store, &opts, a).await,
        Command::Import(a) => commands::import::import(&store, &a).await,
        Command::Check(_) => Ok(0),
        Command::Doctor(a) => commands::namespace::doctor(store, &opts, a).await,
        Command::Scan(a) => commands::scan::scan(&store, &a).await,
        Command::Namespaces(a) => commands::namespace::namespaces(&store, &opts, a.json).await,
        Command::Edit(a) => commands::edit::edit(&store, &a).await,
    }
}
