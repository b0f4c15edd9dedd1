//! # nexus-server
//!
//! The HTTP ingress of the Nexus gateway (axum 0.8):
//!
//! - `POST /webhooks/{provider}`: the provider's adapter (from `nexus_core::registry`) verifies the
//!   signature on the raw bytes with the provider's app secrets and the current time; a request
//!   that fails gets 401 and nothing of it is stored. A verified request is written durably to the
//!   inbox (group commit, [`inbox_writer`]) and then answered 200; the pipeline processes it
//!   asynchronously. An unknown provider gets 404 naming the known ones; a body over the limit 413;
//!   a store that cannot take the request within the provider's deadline 503 with `Retry-After`,
//!   so the provider retries.
//! - `GET|HEAD|POST /webhooks/{provider}`: subscription handshakes (`Adapter::handshake`) are
//!   answered on the same path.
//! - `GET /healthz`: the process answers. `GET /readyz`: the store answers and the workers are
//!   alive, with queue depths; 503 when not. `GET /metrics`: Prometheus text.
//!
//! [`Server::serve`] stops gracefully when its shutdown future completes ([`shutdown_signal`]:
//! SIGINT or SIGTERM): it stops accepting, finishes the requests in flight, and flushes the inbox
//! writer.

mod health;
pub mod inbox_writer;
mod ingress;
pub mod metrics;
mod options;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use nexus_core::{Error, ErrorKind, Result};
use nexus_runtime::Store;

pub use health::{Pipeline, WorkersHealth};
pub use inbox_writer::InboxWriter;
pub use metrics::IngressMetrics;
pub use options::{DEFAULT_ACK_DEADLINE, DEFAULT_MAX_BODY_BYTES, DEV_SECRET, ServerOptions};

/// Shared state of the handlers.
pub(crate) struct AppState {
    store: Arc<dyn Store>,
    inbox: InboxWriter,
    options: ServerOptions,
    metrics: Arc<IngressMetrics>,
    pipeline: Option<Arc<dyn Pipeline>>,
}

/// The ingress server: build it, then [`Server::serve`] it on a listener.
pub struct Server {
    state: Arc<AppState>,
    writer_task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// A server that stores verified requests in `store`. Must be called inside a tokio runtime
    /// (it starts the inbox writer task).
    pub fn new(store: Arc<dyn Store>, options: ServerOptions) -> Server {
        let (inbox, writer_task) = InboxWriter::spawn(Arc::clone(&store), options.max_inbox_group);
        Server {
            state: Arc::new(AppState {
                store,
                inbox,
                options,
                metrics: Arc::new(IngressMetrics::default()),
                pipeline: None,
            }),
            writer_task,
        }
    }

    /// Attaches the pipeline: woken after each stored request, asked for `/readyz` (workers
    /// alive) and `/metrics`.
    pub fn with_pipeline(mut self, pipeline: Arc<dyn Pipeline>) -> Server {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.pipeline = Some(pipeline);
        }
        self
    }

    /// The ingress counters (shared with the handlers).
    pub fn metrics(&self) -> Arc<IngressMetrics> {
        Arc::clone(&self.state.metrics)
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/webhooks/{provider}", any(ingress::webhook))
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/metrics", get(health::metrics))
            .layer(DefaultBodyLimit::max(self.state.options.max_body_bytes))
            .with_state(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in flight and
    /// waits for the inbox writer to flush.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let router = self.router();
        let Server { state, writer_task } = self;
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        // The router (and its handlers' clones of the state) is gone: dropping the last state
        // drops the writer's sender, so the writer ends after its queue is written.
        drop(state);
        let _ = writer_task.await;
        served.map_err(|e| Error::new(ErrorKind::Internal, "the HTTP server failed").with_source(e))
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = term => tracing::info!("SIGTERM received; shutting down"),
    }
}
