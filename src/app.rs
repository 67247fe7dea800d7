//! The binary's entry: logging, the tokio runtime, and the choice between a CLI command and
//! the terminal UI (`keytui` alone, or `keytui demo`). The only module that knows both
//! [`crate::cli`] and [`crate::tui`]: neither imports the other.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::exit::EXIT_ERROR;

/// Runs keytui with parsed arguments.
pub fn main(mut cli: Cli) -> ExitCode {
    // The TUI owns the screen, so it always logs to a file.
    let tui = matches!(cli.command, None | Some(crate::cli::Command::Demo));
    let log_file = match (&cli.global.log_file, tui) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(crate::tui::config::default_log_path()),
        (None, false) => None,
    };
    let _log_guard = crate::logging::init(log_file.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "keytui: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match cli.command.take() {
        Some(crate::cli::Command::Demo) => {
            runtime.block_on(crate::tui::demo::run(cli.global.open_options(None)))
        }
        Some(command) => runtime.block_on(crate::cli::run_command(cli, command)),
        None => runtime.block_on(crate::tui::run(
            cli.global.open_options(cli.url_arg.as_deref()),
        )),
    }
}
