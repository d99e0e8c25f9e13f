//! The `mailrig` command line: `run` scenarios against servers (or a client profile's flows),
//! `replay` one to a client, `fuzz` a client, `record` a client and server through a proxy,
//! `check` and `fmt` scenario files, `serve` fake mail servers, `bench` them (the subcommands
//! are in `cli.rs`).

use std::process::ExitCode;

use clap::Parser;

mod bench;
mod cli;
mod client;
mod fuzz;
mod record;
mod replay;
mod report;
mod run;
mod serve;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mailrig: {}", render(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `: `-separated. Library errors often end their message with their
/// source's (`cannot read F: No such file`); such a cause is not repeated.
fn render(error: &anyhow::Error) -> String {
    let mut out = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !out.ends_with(&cause) {
            out.push_str(": ");
            out.push_str(&cause);
        }
    }
    out
}
