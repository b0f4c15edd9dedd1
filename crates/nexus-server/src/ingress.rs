//! `/webhooks/{provider}`: the adapter's subscription handshake, then signature verification on
//! the raw bytes, then a durable write to the inbox, then the answer. Nothing is parsed before the
//! signature verifies, and nothing of a refused request is stored.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use nexus_core::{ErrorKind, InboundRequest};
use nexus_runtime::now_ms;
use serde_json::json;

use crate::{ACK_HISTOGRAM, AppState};

/// Metric label values of refused requests (`nexus_webhooks_rejected_total{reason}`).
mod reason {
    pub const TOO_LARGE: &str = "payload_too_large";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const METHOD: &str = "method_not_allowed";
    pub const NOT_CONFIGURED: &str = "not_configured";
    pub const STORE_FAILED: &str = "store_failed";
    pub const STORE_TIMEOUT: &str = "store_timeout";
}

/// A JSON error answer: `{"error": kind, "message": ...}` plus extra fields.
pub(crate) fn error_response(
    status: StatusCode,
    error: &str,
    message: impl Into<String>,
    extra: Option<serde_json::Value>,
) -> Response {
    let mut body = json!({"error": error, "message": message.into()});
    if let (Some(obj), Some(serde_json::Value::Object(more))) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    (status, axum::Json(body)).into_response()
}

fn inbound_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> InboundRequest {
    InboundRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(k, v)| {
                let value = match v.to_str() {
                    Ok(s) => s.to_owned(),
                    Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                };
                (k.as_str().to_ascii_lowercase(), value)
            })
            .collect(),
        body,
    }
}

/// Bounds a whole webhook request, body reading included: a client that sends slowly cannot hold
/// a connection and a handler forever.
pub(crate) async fn request_deadline(
    State(limit): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                limit_ms = limit.as_millis() as u64,
                "a webhook request took too long (slow client); answered 408, nothing stored"
            );
            error_response(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request was not received and answered within {} s",
                    limit.as_secs_f64()
                ),
                None,
            )
        }
    }
}

/// The handler of `/webhooks/{provider}` for every method.
pub(crate) async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(provider): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let rt = &state.runtime;
    let metrics = rt.metrics();
    let Some(adapter) = rt.adapter(&provider) else {
        let known: Vec<&str> = rt.adapters().iter().map(|a| a.descriptor().id).collect();
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown_provider",
            format!(
                "no adapter is registered for provider `{provider}`; known providers: {}",
                if known.is_empty() {
                    "(none)".to_owned()
                } else {
                    known.join(", ")
                }
            ),
            Some(json!({"known_providers": known})),
        );
    };
    let provider = adapter.descriptor().id;
    metrics.webhook_received(provider);
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                metrics.webhook_rejected(provider, reason::TOO_LARGE);
                tracing::warn!(
                    provider,
                    limit = state.options.max_body_bytes,
                    "webhook body too large; refused, not stored"
                );
                return error_response(
                    status,
                    "payload_too_large",
                    format!(
                        "the body is larger than the limit of {} bytes",
                        state.options.max_body_bytes
                    ),
                    None,
                );
            }
            metrics.webhook_rejected(provider, reason::BAD_REQUEST);
            return error_response(status, "bad_request", rejection.body_text(), None);
        }
    };
    let request = inbound_request(&method, &uri, &headers, body);
    let secrets = state
        .options
        .secrets_for(adapter.descriptor(), rt.secrets(provider));

    if let Some(answer) = adapter.handshake(&request, &secrets) {
        return match answer {
            Ok(h) => {
                tracing::info!(
                    provider,
                    status = h.status,
                    "answered a subscription handshake"
                );
                let status = StatusCode::from_u16(h.status).unwrap_or(StatusCode::OK);
                Response::builder()
                    .status(status)
                    .header(header::CONTENT_TYPE, h.content_type)
                    .body(Body::from(h.body))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
            Err(e) => {
                metrics.webhook_rejected(provider, e.kind().as_str());
                tracing::warn!(provider, kind = %e.kind(), "refused a subscription handshake");
                let status = match e.kind() {
                    ErrorKind::Config => StatusCode::SERVICE_UNAVAILABLE,
                    ErrorKind::InvalidSignature
                    | ErrorKind::Unauthorized
                    | ErrorKind::Forbidden => StatusCode::UNAUTHORIZED,
                    _ => StatusCode::BAD_REQUEST,
                };
                error_response(status, e.kind().as_str(), e.to_string(), None)
            }
        };
    }

    if method != Method::POST {
        metrics.webhook_rejected(provider, reason::METHOD);
        let mut resp = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("`{method}` is not a {provider} handshake; webhooks are POSTed"),
            None,
        );
        resp.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return resp;
    }

    if let Err(e) = adapter.verify(&request, &secrets, now_ms()) {
        if e.kind() == ErrorKind::Config {
            // We cannot tell a good request from a forged one: ask the provider to retry later
            // rather than refusing data we might have accepted.
            metrics.webhook_rejected(provider, reason::NOT_CONFIGURED);
            tracing::error!(provider, error = %e, "cannot verify webhooks: app secret missing; answered 503");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                e.to_string(),
                None,
            );
        }
        metrics.webhook_rejected(provider, e.kind().as_str());
        tracing::warn!(provider, kind = %e.kind(), reason = e.message(), "refused a webhook: signature did not verify; nothing stored");
        return error_response(
            StatusCode::UNAUTHORIZED,
            e.kind().as_str(),
            e.to_string(),
            None,
        );
    }

    // Stores durably, counts `webhooks_verified_total` and wakes a worker.
    let budget = state.options.store_budget(adapter.descriptor());
    match tokio::time::timeout(budget, rt.enqueue(provider, request)).await {
        Ok(Ok(id)) => {
            metrics.observe(ACK_HISTOGRAM, started.elapsed());
            tracing::debug!(provider, inbox_id = %id, "webhook stored");
            (
                StatusCode::OK,
                axum::Json(json!({"status": "accepted", "id": id})),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            metrics.webhook_rejected(provider, reason::STORE_FAILED);
            tracing::error!(provider, error = %e, "could not store a verified webhook; answered 503 so the provider retries");
            retry_later(format!("the request could not be stored: {}", e.message()))
        }
        Err(_) => {
            metrics.webhook_rejected(provider, reason::STORE_TIMEOUT);
            tracing::error!(
                provider,
                budget_ms = budget.as_millis() as u64,
                "storing a verified webhook took too long; answered 503 so the provider retries"
            );
            retry_later("the request could not be stored in time".to_owned())
        }
    }
}

fn retry_later(message: String) -> Response {
    let mut resp = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        message,
        None,
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    resp
}
