//! `cargo xtask <task>`: the project's tasks, in plain Rust with no dependencies.
//!
//! - `conformance [--adapter ID] [--accept] [-- <libtest args>]`: the conformance harness;
//! - `new-adapter NAME`: a new adapter crate with a first recorded case, linked and listed;
//! - `codegen [--check]`: every generated file (the adapter facade, docs/adapters.md, schemas/).

mod codegen;
mod conformance;
mod new_adapter;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
usage: cargo xtask <task>

tasks:
  conformance [--adapter ID] [--accept] [-- ARGS]
      run every conformance suite over every adapter (or only ID) and print the coverage report;
      --accept writes new and changed snapshots (never on CI); ARGS go to the test harness
      (a trial filter such as `oura::snapshot::`, --list, ...)
  new-adapter NAME
      write adapters/NAME (crate nexus-adapter-NAME) with a first recorded case, link it into
      crates/nexus-adapters and regenerate the generated files
  codegen [--check]
      regenerate crates/nexus-adapters, docs/adapters.md and schemas/; --check fails when a
      generated file is out of date instead of writing it
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("conformance") => conformance::run(&args[1..]),
        Some("new-adapter") => new_adapter::run(&args[1..]),
        Some("codegen") => codegen::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
