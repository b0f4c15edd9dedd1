//! What the gateway commands (`serve`, `connections`, `deliveries`, `replay`, `config`) share:
//! finding and loading the configuration, logging, opening the store, building the runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nexus_runtime::{Config, Runtime, Store};
use nexus_store_sqlite::SqliteStore;

/// The configuration file used when `--config` and `NEXUS_CONFIG` are not given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "nexus.toml";

/// `--config`, shared by the gateway commands.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// The configuration file [default: ./nexus.toml when it exists; else built-in defaults:
    /// 127.0.0.1:8787, a store and a jsonl sink under ./nexus-data/]. Every key can also be set by
    /// an environment variable (NEXUS_LISTEN, NEXUS_PROVIDERS__TERRA__WEBHOOK_SECRET, ...).
    #[arg(long, global = true, env = "NEXUS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The configuration and where it came from.
pub struct Loaded {
    /// The configuration (defaults < file < environment).
    pub config: Config,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

impl ConfigArgs {
    /// Loads the configuration: the given file (which must exist), else `./nexus.toml` if it
    /// exists, else defaults; environment variables on top.
    pub fn load(&self) -> Result<Loaded, String> {
        let file = match &self.config {
            Some(p) => Some(p.clone()),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                p.exists().then_some(p)
            }
        };
        let config = Config::load(file.as_deref()).map_err(|e| error_chain(&e))?;
        Ok(Loaded { config, file })
    }
}

/// An error with its causes, one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Logs to stderr; the filter comes from `NEXUS_LOG` (e.g. `debug`, `nexus_server=debug`),
/// default `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NEXUS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A multi-threaded tokio runtime for one command.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))
}

/// Opens (creating it and its directory if needed) the SQLite store of `config`.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    Ok(Arc::new(open_sqlite(config)?))
}

/// The SQLite store of `config` (its directory created if needed).
pub fn open_sqlite(config: &Config) -> Result<SqliteStore, String> {
    let path = config.store_path();
    create_parent(&path)?;
    SqliteStore::open(&path)
        .map_err(|e| format!("opening the store {}: {}", path.display(), error_chain(&e)))
}

/// Opens the store of `config` for `nexus serve`: takes its serving lock (one gateway per store)
/// and releases the leases a crashed gateway left behind, so their work resumes at once instead
/// of after the lease timeouts. The lock must be kept for as long as the gateway runs.
pub async fn open_store_for_serving(
    config: &Config,
) -> Result<(Arc<dyn Store>, nexus_store_sqlite::ServeLock), String> {
    let store = open_sqlite(config)?;
    let lock = store.lock_for_serving().map_err(|e| error_chain(&e))?;
    let (inbox, outbox) = store
        .release_leases(&lock, nexus_runtime::now_ms())
        .await
        .map_err(|e| format!("releasing stale leases: {}", error_chain(&e)))?;
    if inbox + outbox > 0 {
        tracing::warn!(
            inbox,
            deliveries = outbox,
            "resuming work a previous gateway left leased (it stopped without finishing it)"
        );
    }
    Ok((Arc::new(store), lock))
}

fn create_parent(path: &Path) -> Result<(), String> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating the directory {}: {e}", dir.display())),
        None => Ok(()),
    }
}

/// The runtime over `store`, built but with no workers started (for the admin commands; a
/// running `nexus serve` picks up what they change on its next poll).
pub async fn admin_runtime(config: Config, store: Arc<dyn Store>) -> Result<Runtime, String> {
    Runtime::builder(config, store)
        .build()
        .await
        .map_err(|e| error_chain(&e))
}

/// Parses `tenant/sink`.
pub fn parse_sink_ref(s: &str) -> Result<nexus_runtime::store::SinkRef, String> {
    match s.split_once('/') {
        Some((t, k)) if !t.is_empty() && !k.is_empty() => Ok(nexus_runtime::store::SinkRef {
            tenant_id: t.to_owned(),
            sink_id: k.to_owned(),
        }),
        _ => Err(format!(
            "a sink is named `tenant/sink` (e.g. `default/jsonl`), got {s:?}"
        )),
    }
}

/// Epoch ms as RFC 3339 (UTC), for tables.
pub fn show_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Parses RFC 3339 or epoch milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("{s:?} is neither RFC 3339 nor epoch milliseconds: {e}"))
}
