//! `nexus deliveries list|retry`: the outbox (one row per envelope and sink) and its attempts; make
//! failed deliveries pending again, and re-enable a sink disabled after `410 Gone`.

use nexus_runtime::store::{DeliveryFilter, DeliveryState};

use super::gateway::{
    ConfigArgs, admin_runtime, error_chain, open_store, parse_sink_ref, show_ms, tokio_runtime,
};

/// Arguments of `nexus deliveries`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List deliveries (oldest first), with their last error; `--attempts` adds every attempt.
    List(ListArgs),
    /// Make failed deliveries pending again (all, or one sink's); a running gateway sends them on
    /// its next poll.
    Retry(RetryArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only this sink's (`tenant/sink`).
    #[arg(long)]
    sink: Option<String>,
    /// Only this tenant's.
    #[arg(long)]
    tenant: Option<String>,
    /// Only in this state: pending, delivered, failed.
    #[arg(long)]
    state: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Show every attempt of each delivery.
    #[arg(long)]
    attempts: bool,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct RetryArgs {
    /// Only this sink's failed deliveries (`tenant/sink`).
    #[arg(long)]
    sink: Option<String>,
    /// Also re-enable the sink (after it was disabled by `410 Gone`). Needs `--sink`.
    #[arg(long, requires = "sink")]
    enable: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let config = args.config.load()?.config;
    tokio_runtime()?.block_on(async move {
        let store = open_store(&config)?;
        match args.command {
            Command::List(a) => {
                let state = match a.state.as_deref() {
                    None => None,
                    Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
                        format!("unknown state {s:?}; one of pending, delivered, failed")
                    })?),
                };
                let filter = DeliveryFilter {
                    sink: a.sink.as_deref().map(parse_sink_ref).transpose()?,
                    tenant_id: a.tenant.clone(),
                    state,
                    limit: a.limit,
                };
                let rows = store
                    .deliveries(&filter)
                    .await
                    .map_err(|e| error_chain(&e))?;
                if rows.is_empty() && !a.json {
                    println!("no deliveries");
                }
                if !a.json && !rows.is_empty() {
                    println!(
                        "{:<36} {:<18} {:<10} {:<16} {:>3} {:<20} LAST ERROR",
                        "DELIVERY (webhook-id)",
                        "SINK",
                        "STATE",
                        "EVENT TYPE",
                        "TRY",
                        "NEXT/CREATED"
                    );
                }
                for r in rows {
                    let attempts = if a.attempts {
                        store
                            .attempts(&r.delivery_id)
                            .await
                            .map_err(|e| error_chain(&e))?
                    } else {
                        Vec::new()
                    };
                    if a.json {
                        let line = serde_json::json!({
                            "delivery_id": r.delivery_id,
                            "sink": r.sink.to_string(),
                            "event_id": r.event_id,
                            "event_type": r.event_type,
                            "state": r.state.as_str(),
                            "attempts": r.attempts,
                            "next_attempt_at": r.next_attempt_at,
                            "last_error": r.last_error,
                            "created_at": r.created_at,
                            "attempt_log": attempts.iter().map(|t| serde_json::json!({
                                "attempt": t.attempt, "at": t.at, "duration_ms": t.duration_ms,
                                "outcome": t.outcome, "error": t.error,
                            })).collect::<Vec<_>>(),
                        });
                        println!("{line}");
                        continue;
                    }
                    let when = match r.state {
                        DeliveryState::Pending => show_ms(r.next_attempt_at),
                        _ => show_ms(r.created_at),
                    };
                    println!(
                        "{:<36} {:<18} {:<10} {:<16} {:>3} {:<20} {}",
                        r.delivery_id,
                        r.sink.to_string(),
                        r.state.as_str(),
                        r.event_type,
                        r.attempts,
                        when,
                        r.last_error.as_deref().unwrap_or("")
                    );
                    for t in attempts {
                        println!(
                            "    #{} {} {} ms {} {}",
                            t.attempt,
                            show_ms(t.at),
                            t.duration_ms,
                            t.outcome,
                            t.error.as_deref().unwrap_or("")
                        );
                    }
                }
                Ok(())
            }
            Command::Retry(a) => {
                let sink = a.sink.as_deref().map(parse_sink_ref).transpose()?;
                let runtime = admin_runtime(config, store).await?;
                if a.enable
                    && let Some(s) = &sink
                {
                    runtime.enable_sink(s).await.map_err(|e| error_chain(&e))?;
                    println!("sink {s} enabled");
                }
                let n = runtime
                    .retry_failed_deliveries(sink.as_ref())
                    .await
                    .map_err(|e| error_chain(&e))?;
                println!("{n} failed deliveries are pending again");
                Ok(())
            }
        }
    })
}
