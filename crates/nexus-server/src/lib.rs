//! # nexus-server
//!
//! The HTTP ingress of the Nexus gateway (axum 0.8), in front of a running
//! [`nexus_runtime::Runtime`]:
//!
//! - `POST /webhooks/{provider}`: the provider's adapter verifies the signature on the raw bytes
//!   with the provider's app secrets and the current time; a request that fails gets 401 and
//!   nothing of it is stored. A verified request is written durably to the inbox
//!   (`Runtime::enqueue`, which wakes a worker; the store groups concurrent writes into one commit)
//!   and then answered 200; the pipeline processes it asynchronously. An unknown provider gets 404
//!   naming the known ones; a body over the limit 413; a provider whose secret is not configured
//!   503; a store that cannot take the request within the provider's deadline 503 with
//!   `Retry-After`, so the provider retries; a request that takes longer than
//!   [`ServerOptions::request_timeout`] as a whole (a client sending its body slowly) 408.
//! - `GET|HEAD|POST /webhooks/{provider}`: subscription handshakes (`Adapter::handshake`) are
//!   answered on the same path.
//! - `GET /healthz`: the process answers. `GET /readyz`: the store answers and the workers are
//!   alive, with queue depths; 503 when not. `GET /metrics`: the runtime's metrics (received,
//!   verified, rejected, normalized, emitted, delivered, failed, queue depths, latencies) as
//!   Prometheus text.
//!
//! [`Server::serve`] stops gracefully when its shutdown future completes ([`shutdown_signal`]:
//! SIGINT or SIGTERM): it stops accepting and finishes the requests in flight.

mod health;
mod ingress;
mod options;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use nexus_core::{Error, ErrorKind, Result};
use nexus_runtime::Runtime;

pub use options::{
    DEFAULT_ACK_DEADLINE, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT, DEV_SECRET,
    ServerOptions,
};

/// Histogram (in the runtime's metrics) of the time from receiving a verified webhook to
/// answering it after the durable write.
pub const ACK_HISTOGRAM: &str = "webhook_ack_seconds";

/// Shared state of the handlers.
pub(crate) struct AppState {
    runtime: Runtime,
    options: ServerOptions,
}

/// The ingress server: build it, then [`Server::serve`] it on a listener.
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// A server in front of `runtime`.
    pub fn new(runtime: Runtime, options: ServerOptions) -> Server {
        Server {
            state: Arc::new(AppState { runtime, options }),
        }
    }

    /// The routes.
    pub fn router(&self) -> Router {
        let webhooks = Router::new()
            .route("/webhooks/{provider}", any(ingress::webhook))
            .route_layer(axum::middleware::from_fn_with_state(
                self.state.options.request_timeout,
                ingress::request_deadline,
            ));
        Router::new()
            .merge(webhooks)
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/metrics", get(health::metrics))
            .layer(DefaultBodyLimit::max(self.state.options.max_body_bytes))
            .with_state(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| Error::new(ErrorKind::Internal, "the HTTP server failed").with_source(e))
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
