use std::process::ExitCode;

use clap::Parser;
use sagesync::cli::{self, Cli, Outcome};

// Jobs are parsed on one thread and freed on another; glibc's allocator spends more time on
// that than on the parsing.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Ok(Outcome::Busy) => ExitCode::from(3),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}
