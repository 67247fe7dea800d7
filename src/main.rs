use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some(keytui::clipboard_hold::HOLD_COMMAND) {
        return keytui::clipboard_hold::hold(&args.next().unwrap_or_default());
    }
    keytui::app::main(keytui::cli::Cli::parse())
}
