use std::process::ExitCode;

use clap::Parser;
use sagesync::cli::{self, Cli, Outcome};

#[tokio::main]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sagesync: {e:#}");
            ExitCode::from(2)
        }
    }
}
