use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = keytui::cli::Cli::parse();
    keytui::app::main(cli)
}
