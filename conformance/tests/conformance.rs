//! The workspace conformance run: every suite over every adapter linked through `nexus-adapters`,
//! with its cases in `adapters/<id>/cases/`. `cargo xtask conformance` runs this binary;
//! `cargo test --workspace` runs it too.

use std::path::Path;
use std::process::ExitCode;

// Links every workspace adapter (inventory only sees registrations of linked crates).
use nexus_adapters as _;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."));
    nexus_conformance::Harness::workspace(root).run()
}
