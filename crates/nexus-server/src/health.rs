//! `/healthz` (the process answers), `/readyz` (the store answers, the workers are alive; queue
//! depths) and `/metrics` (Prometheus text).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use nexus_runtime::runtime::{Readiness, now_ms};
use serde_json::json;

use crate::AppState;

/// How long `/readyz` and `/metrics` wait for the store.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let rt = &state.runtime;
    let readiness = tokio::time::timeout(STORE_PROBE_TIMEOUT, rt.readiness())
        .await
        .unwrap_or_else(|_| Readiness {
            ready: false,
            problems: vec!["the store did not answer within 2 s".to_owned()],
        });
    let depths = match readiness.ready {
        true => tokio::time::timeout(STORE_PROBE_TIMEOUT, rt.store().depths(now_ms()))
            .await
            .ok()
            .and_then(|d| d.ok()),
        false => None,
    };
    let body = json!({
        "ready": readiness.ready,
        "store": rt.store().backend(),
        "problems": readiness.problems,
        "queues": depths,
    });
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, state.runtime.render_metrics()).await {
        Ok(Ok(text)) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the store did not give its queue depths");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("metrics unavailable: {e}\n"),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics unavailable: the store did not answer within 2 s\n",
        )
            .into_response(),
    }
}
