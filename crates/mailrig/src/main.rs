//! The `mailrig` command line: `run` scenarios against servers, `check` and `fmt` scenario
//! files, `serve` fake mail servers, `bench` them (the subcommands are in `cli.rs`).

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;
mod record;
mod report;
mod run;
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
