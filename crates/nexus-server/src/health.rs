//! `/healthz` (the process answers), `/readyz` (the store answers, the workers are alive; queue
//! depths) and `/metrics` (Prometheus text).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::metrics::render_depths;

/// How long `/readyz` and `/metrics` wait for the store.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the pipeline reports about its workers.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkersHealth {
    /// True when every worker and dispatcher task is running.
    pub alive: bool,
    /// Details for `/readyz` (what is wrong, per task).
    pub detail: serde_json::Value,
}

/// The pipeline behind the ingress, as the server sees it: woken when requests are stored, asked
/// about its workers (`/readyz`) and for its metrics (`/metrics`). Implemented over the runtime's
/// handle by whoever starts both (the `nexus serve` command).
#[async_trait::async_trait]
pub trait Pipeline: Send + Sync {
    /// `count` verified requests of `provider` were durably stored: wake a worker.
    fn stored(&self, provider: &str, count: usize);
    /// Whether the workers are alive.
    async fn workers(&self) -> WorkersHealth;
    /// The pipeline's metrics in Prometheus text format (normalized, emitted, delivered, failed,
    /// latencies) including the queue depths, or `None` when they cannot be read now.
    async fn render_metrics(&self) -> Option<String>;
}

pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let store_check = tokio::time::timeout(STORE_PROBE_TIMEOUT, async {
        state.store.ping().await?;
        state.store.depths(now_ms()).await
    })
    .await;
    let (store_ok, store_json, depths) = match store_check {
        Ok(Ok(depths)) => (
            true,
            json!({"backend": state.store.backend(), "ok": true}),
            Some(depths),
        ),
        Ok(Err(e)) => (
            false,
            json!({"backend": state.store.backend(), "ok": false, "error": e.to_string()}),
            None,
        ),
        Err(_) => (
            false,
            json!({"backend": state.store.backend(), "ok": false, "error": "the store did not answer within 2 s"}),
            None,
        ),
    };
    let workers = match &state.pipeline {
        Some(p) => Some(p.workers().await),
        None => None,
    };
    let workers_ok = workers.as_ref().is_none_or(|w| w.alive);
    let ready = store_ok && workers_ok;
    let body = json!({
        "ready": ready,
        "store": store_json,
        "workers": match &workers {
            Some(w) => json!({"alive": w.alive, "detail": w.detail}),
            None => json!({"alive": null, "detail": "no pipeline attached to this server"}),
        },
        "queues": depths,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut out = String::with_capacity(4096);
    state.metrics.render(&mut out);
    // The pipeline renders the queue depths with its own metrics; without one, the store's.
    let up = match &state.pipeline {
        Some(p) => match p.render_metrics().await {
            Some(text) => {
                out.push_str(&text);
                1
            }
            None => 0,
        },
        None => match tokio::time::timeout(STORE_PROBE_TIMEOUT, state.store.depths(now_ms())).await
        {
            Ok(Ok(d)) => {
                render_depths(&mut out, &d);
                1
            }
            _ => 0,
        },
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "# HELP nexus_store_up Whether the queue depths could be read for this scrape.\n# TYPE nexus_store_up gauge\nnexus_store_up {up}\n"
    ));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
