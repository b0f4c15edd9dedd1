//! Writes, or with `--check` compares, the JSON Schemas under a directory (`schemas/`) with
//! `nexus_core::schema`. Prints `stale: <path>` for every out-of-date file under `--check`. Run by
//! `cargo xtask codegen`; not meant to be run by hand.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let Some(dir) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: schemas [--check] DIR");
        return ExitCode::FAILURE;
    };
    if check {
        if let Err(stale) = nexus_core::schema::check_all(&dir) {
            for s in stale {
                println!("stale: {s}");
            }
        }
        return ExitCode::SUCCESS;
    }
    match nexus_core::schema::write_all(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("writing schemas under {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
