//! `nexus`: the Nexus gateway and its tools. Each subcommand lives in `cmd/<name>.rs`.

/// mimalloc instead of the system allocator: the pipeline allocates and frees many small values
/// per item (strings, samples, states), and with glibc's malloc that cost 7-8% of its CPU time
/// (interleaved runs of the pipeline bench, which uses the same allocator: `nexus_benches`).
/// The price is memory held for reuse: peak RSS while ingesting 1 GB went from 47 to 99 MB (the
/// `replay_memory` bench; the limit is 200). Built without transparent huge pages (`no_thp`),
/// which otherwise held 114 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `println!` that ends the process quietly when stdout is closed (`nexus adapters | head`)
/// instead of panicking on the broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` with the same broken-pipe handling as `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

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
    /// Run the gateway: webhook ingress, pipeline workers, delivery to sinks.
    Serve(cmd::serve::Args),
    /// Link provider users to tenants' users, and list the links.
    Connections(cmd::connections::Args),
    /// List deliveries and their attempts; retry failed ones.
    Deliveries(cmd::deliveries::Args),
    /// Run quarantined requests or archived records through the pipeline again.
    Replay(cmd::replay::Args),
    /// Check or show the configuration.
    Config(cmd::config::Args),
    /// Write a consistent copy of the store (safe while the gateway runs).
    Backup(cmd::backup::Args),
    /// Development helpers (sign a recorded webhook for a local gateway).
    Dev(cmd::dev::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Adapters(args) => cmd::adapters::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Normalize(args) => cmd::normalize::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Connections(args) => cmd::connections::run(args),
        Command::Deliveries(args) => cmd::deliveries::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Backup(args) => cmd::backup::run(args),
        Command::Dev(args) => cmd::dev::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

// Link every workspace adapter (the generated facade, `cargo xtask codegen`) and sink: `inventory`
// only sees registrations of crates that are linked.
use nexus_adapters as _;
use nexus_sink_webhook as _;

/// Writes to stdout; a closed pipe ends the process with success (the reader has what it wanted),
/// any other write error ends it with failure.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}
