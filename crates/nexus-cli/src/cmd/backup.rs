//! `nexus backup DEST`: a consistent copy of the store, taken while the gateway runs.

use std::path::PathBuf;

use super::gateway::{ConfigArgs, error_chain, open_sqlite, tokio_runtime};

/// Arguments of `nexus backup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Where to write the copy (a new file; an existing one is never overwritten).
    dest: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let config = args.config.load()?.config;
    let path = config.store_path();
    if !path.exists() {
        return Err(format!(
            "there is no store at {} to back up",
            path.display()
        ));
    }
    tokio_runtime()?.block_on(async {
        let store = open_sqlite(&config)?;
        store
            .backup_to(&args.dest)
            .await
            .map_err(|e| error_chain(&e))
    })?;
    let size = std::fs::metadata(&args.dest).map(|m| m.len()).unwrap_or(0);
    outln!(
        "backed up {} to {} ({:.1} MB)",
        path.display(),
        args.dest.display(),
        size as f64 / 1e6
    );
    match &config.encryption_key {
        Some(_) => outln!(
            "connection tokens in it are sealed with your configured encryption_key: keep that key too"
        ),
        None => outln!(
            "connection tokens in it are sealed with the key in {}: back that file up too",
            config.key_path().display()
        ),
    }
    Ok(())
}
