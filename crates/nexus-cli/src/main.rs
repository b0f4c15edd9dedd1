//! `nexus`: the Nexus gateway and its tools. Each subcommand lives in `cmd/<name>.rs`.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Nexus: wearable health data in, one deduplicated event envelope out.
#[derive(Debug, Parser)]
#[command(name = "nexus", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the registered provider adapters and what they emit.
    Adapters(cmd::adapters::Args),
    /// Print the JSON Schema of the envelope or of one event type's items.
    Schema(cmd::schema::Args),
    /// Parse and normalize one recorded provider request body (stateless); print envelopes as JSON lines.
    Normalize(cmd::normalize::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Adapters(args) => cmd::adapters::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Normalize(args) => cmd::normalize::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

// Link every workspace adapter (the generated facade, `cargo xtask codegen`): `inventory` only sees
// registrations of crates that are linked.
use nexus_adapters as _;
