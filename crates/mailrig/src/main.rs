//! The `mailrig` command line: run, check and format scenarios, serve fake servers, benchmark
//! (later: replay, record, fuzz).

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;
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
