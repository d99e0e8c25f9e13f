//! The `mailrig` command line: validate and format scenario files (later: serve, run, replay,
//! record, fuzz).

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;
mod serve;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mailrig: {error:#}");
            ExitCode::from(2)
        }
    }
}
