//! The whole Nexus conformance suite over this crate's adapter and its recorded cases in
//! `cases/`: `cargo test` runs it, `cargo test -- --list` lists the trials, a trial filter such as
//! `acme::snapshot::` narrows them, `INSTA_UPDATE=always cargo test` accepts new snapshots.

use std::process::ExitCode;

fn main() -> ExitCode {
    nexus_conformance::Harness::new()
        .adapter(
            &acme_nexus_adapter::AcmeAdapter,
            concat!(env!("CARGO_MANIFEST_DIR"), "/cases"),
        )
        .run()
}
