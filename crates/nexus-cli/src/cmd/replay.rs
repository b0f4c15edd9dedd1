//! `nexus replay`: after an adapter fix, run kept input through the pipeline again.
//!
//! - `nexus replay quarantined [--list] [--id ID ...]`: verified requests that failed
//!   normalization go back into the inbox (a running gateway takes them on its next poll);
//! - `nexus replay archive [--provider P] [--tenant T] [--connection C] [--since T] [--until T]`:
//!   archived raw records are normalized again and run through dedupe: unchanged items emit
//!   nothing, changed ones the next revision.

use nexus_runtime::store::ArchiveFilter;

use super::gateway::{
    ConfigArgs, admin_runtime, error_chain, open_store, parse_time, show_ms, tokio_runtime,
};

/// Arguments of `nexus replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Quarantined requests (verified, but normalization failed): list them, or put them back
    /// into the inbox.
    Quarantined(QuarantinedArgs),
    /// Archived raw provider records: normalize them again and emit what changed.
    Archive(ArchiveArgs),
}

#[derive(Debug, clap::Args)]
struct QuarantinedArgs {
    /// Only list them, with their errors.
    #[arg(long)]
    list: bool,
    /// Only these (repeatable) [default: all].
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<String>,
    /// At most this many listed.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

#[derive(Debug, clap::Args)]
struct ArchiveArgs {
    /// Only this provider's records.
    #[arg(long)]
    provider: Option<String>,
    /// Only this tenant's.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this connection's.
    #[arg(long)]
    connection: Option<String>,
    /// Archived at or after (RFC 3339 or epoch ms).
    #[arg(long)]
    since: Option<String>,
    /// Archived before (RFC 3339 or epoch ms).
    #[arg(long)]
    until: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let config = args.config.load()?.config;
    tokio_runtime()?.block_on(async move {
        let store = open_store(&config)?;
        match args.command {
            Command::Quarantined(a) if a.list => {
                let all = store
                    .quarantined(a.limit)
                    .await
                    .map_err(|e| error_chain(&e))?;
                if all.is_empty() {
                    println!("nothing is quarantined");
                }
                for q in all {
                    println!(
                        "{} {} {} {}: {}",
                        q.entry.id,
                        q.entry.provider,
                        show_ms(q.quarantined_at),
                        q.reason.kind,
                        q.reason.message
                    );
                }
                Ok(())
            }
            Command::Quarantined(a) => {
                let runtime = admin_runtime(config, store).await?;
                let ids = (!a.ids.is_empty()).then_some(a.ids.as_slice());
                let n = runtime
                    .replay_quarantined(ids)
                    .await
                    .map_err(|e| error_chain(&e))?;
                println!("{n} quarantined requests are back in the inbox");
                Ok(())
            }
            Command::Archive(a) => {
                let filter = ArchiveFilter {
                    provider: a.provider,
                    tenant_id: a.tenant,
                    connection_id: a.connection,
                    since: a.since.as_deref().map(parse_time).transpose()?,
                    until: a.until.as_deref().map(parse_time).transpose()?,
                    after_id: None,
                    limit: 0,
                };
                let runtime = admin_runtime(config, store).await?;
                let report = runtime
                    .replay_archive(&filter)
                    .await
                    .map_err(|e| error_chain(&e))?;
                println!(
                    "{} records replayed: {} envelopes emitted ({} deliveries), {} items unchanged",
                    report.records, report.envelopes, report.deliveries, report.suppressed
                );
                for (id, err) in &report.failures {
                    println!("  still failing: {id}: {err}");
                }
                if report.failures.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{} records still fail", report.failures.len()))
                }
            }
        }
    })
}
