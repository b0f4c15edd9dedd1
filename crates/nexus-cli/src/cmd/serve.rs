//! `nexus serve`: the gateway. Loads the configuration (or runs on defaults), opens the store,
//! starts the pipeline's workers and dispatchers, and serves the ingress until SIGINT/SIGTERM.
//!
//! **Dev mode**: with no configuration file, listening on loopback, every provider whose app
//! secret is not configured verifies with the public dev secret
//! ([`nexus_server::DEV_SECRET`]), so `nexus dev sign` can sign test requests. A configuration file
//! (or a non-loopback address) turns dev mode off.

use std::net::SocketAddr;
use std::time::Duration;

use nexus_runtime::Runtime;
use nexus_server::{DEV_SECRET, Server, ServerOptions, shutdown_signal};

use super::gateway::{
    ConfigArgs, error_chain, init_logging, open_store_for_serving, tokio_runtime,
};

/// Arguments of `nexus serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Largest accepted webhook body in bytes (larger: 413, not stored); overrides
    /// `server.max_body_bytes` (`NEXUS_SERVER__MAX_BODY_BYTES`), default 10 MiB.
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Never use the public dev secret, even with no configuration file.
    #[arg(long)]
    no_dev: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    init_logging();
    tokio_runtime()?.block_on(serve(args))
}

async fn serve(args: Args) -> Result<(), String> {
    let loaded = args.config.load()?;
    let config = loaded.config;
    let addr = config.listen_addr().map_err(|e| error_chain(&e))?;
    match &loaded.file {
        Some(f) => tracing::info!(file = %f.display(), "configuration loaded"),
        None => tracing::info!(
            "no configuration file (./nexus.toml or --config): running on defaults and NEXUS_* variables"
        ),
    }
    let dev = loaded.file.is_none() && !args.no_dev && addr.ip().is_loopback();
    if loaded.file.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "no configuration file, but not on loopback: dev mode (the public dev secret) is off");
    }

    // Held until `serve` returns: no second gateway can process this store meanwhile.
    let (store, _serving) = open_store_for_serving(&config).await?;
    let jsonl_path = config.tenants.values().find_map(|t| {
        t.sinks.values().find_map(|s| {
            (s.kind == "jsonl")
                .then(|| {
                    s.options
                        .get("path")
                        .and_then(|p| p.as_str())
                        .map(str::to_owned)
                })
                .flatten()
        })
    });
    let store_path = config.store_path();
    let sinks_summary: Vec<String> = config
        .tenants
        .iter()
        .flat_map(|(t, tc)| {
            tc.sinks
                .iter()
                .map(move |(name, s)| format!("{t}/{name} ({})", s.kind))
        })
        .collect();
    let server_config = config.server.clone();
    let runtime = Runtime::start(config, store)
        .await
        .map_err(|e| error_chain(&e))?;
    tracing::info!(store = %store_path.display(), sinks = %sinks_summary.join(", "), "pipeline started");

    let options = ServerOptions {
        max_body_bytes: args.max_body_bytes.unwrap_or(server_config.max_body_bytes),
        dev_secret: dev.then(|| DEV_SECRET.to_owned()),
        request_timeout: Duration::from_secs(server_config.request_timeout_secs),
        ..ServerOptions::default()
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("could not listen on {addr}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("could not read the listening address: {e}"))?;
    let providers: Vec<&str> = runtime
        .adapters()
        .iter()
        .map(|a| a.descriptor().id)
        .collect();
    tracing::info!(
        "listening on http://{local}  (POST /webhooks/{{provider}} for {}; GET /healthz /readyz /metrics)",
        providers.join(", ")
    );
    if dev {
        tracing::warn!(
            "DEV MODE: providers without a configured app secret verify with the PUBLIC dev secret \
             {DEV_SECRET:?}; anyone who can reach this address can send data. Configure real secrets \
             (nexus.toml [providers.<id>] or NEXUS_PROVIDERS__<ID>__WEBHOOK_SECRET) before exposing it."
        );
    }
    log_how_to_send(
        local,
        jsonl_path.as_deref(),
        dev,
        providers.contains(&"terra"),
    );

    let server = Server::new(runtime.clone(), options);
    let served = server.serve(listener, shutdown_signal()).await;
    tracing::info!("ingress stopped; stopping the workers after their current item");
    runtime.shutdown().await;
    tracing::info!("stopped");
    served.map_err(|e| error_chain(&e))
}

/// Logs a copy-paste command that sends the gateway a recorded Terra webhook.
fn log_how_to_send(local: SocketAddr, jsonl_path: Option<&str>, dev: bool, terra: bool) {
    if !terra {
        return;
    }
    let example = "examples/webhooks/terra-sleep.json";
    let secret_note = if dev {
        "signed with the dev secret"
    } else {
        "signed with your configured Terra secret: add --secret-env NEXUS_PROVIDERS__TERRA__WEBHOOK_SECRET to `dev sign` when it is set that way"
    };
    let then = jsonl_path
        .map(|p| format!("\n  then: tail -n 1 {p}\n"))
        .unwrap_or_default();
    tracing::info!(
        "send it a recorded Terra webhook ({secret_note}; from the repository root):\n\n  \
         curl -sS http://{local}/webhooks/terra -H 'content-type: application/json' \
         -H \"terra-signature: $(cargo run -q --release -- dev sign --provider terra {example})\" \
         --data-binary @{example}\n{then}"
    );
}
