//! Refreshing a connection's OAuth access token, for providers the gateway fetches from with the
//! user's token (the adapter's descriptor has `oauth`). Oura's access tokens last a day, so
//! without this a connection stops working a day after it was added.
//!
//! - **When**: before a fetch, if the access token expires within [`EARLY_MS`]; and once after
//!   a fetch answered `Unauthorized` (the provider revoked the token early, or `expires_at` was
//!   unknown).
//! - **How**: `POST` to the token URL (the descriptor's, or `providers.<id>.token_url`) with
//!   `grant_type=refresh_token`, the refresh token and the app's `client_id` and `client_secret`
//!   (provider secrets). The new tokens are sealed and stored before they are used. A provider
//!   that sends no new refresh token keeps the old one.
//! - **One at a time**: a provider may rotate refresh tokens (the old one stops working once
//!   used), so two refreshes of one connection must never race. Refreshes of a connection are
//!   serialized, and each first re-reads the connection: if its tokens changed meanwhile (another
//!   worker refreshed, or `nexus connections add` stored new ones), those are used instead.
//! - **Refused** (HTTP 400 or 401 from the token URL: `invalid_grant`, a revoked app): the
//!   refresh token is dead and only the user can fix it by connecting again. The connection is
//!   marked revoked, and the error is permanent: the request is quarantined, kept for
//!   `nexus replay` once the user has reconnected. A network error, 429 or 5xx is retryable.
//! - Tokens are never logged; errors name the provider, the connection and the provider's error
//!   code only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nexus_core::adapter::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthSpec};
use nexus_core::http::{HttpRequest, percent_encode};
use nexus_core::{Error, ErrorKind, ErrorStatus, Result};
use serde::Deserialize;

use crate::crypto::Tokens;
use crate::runtime::{Inner, now_ms};
use crate::store::{ConnectionRecord, ConnectionStatus};

/// An access token that expires within this much (5 minutes) is refreshed before it is used.
pub(crate) const EARLY_MS: i64 = 5 * 60 * 1000;

/// True when `tokens` should be refreshed before use at `now`.
pub(crate) fn expires_soon(tokens: &Tokens, now: i64) -> bool {
    tokens.refresh_token.is_some()
        && tokens
            .expires_at
            .is_some_and(|at| at <= now.saturating_add(EARLY_MS))
}

/// Attempts to store refreshed tokens.
const STORE_TRIES: u32 = 3;

/// Serializes the refreshes of each connection.
#[derive(Default)]
pub(crate) struct RefreshLocks {
    by_connection: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RefreshLocks {
    fn of(&self, connection_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        // Poisoning only follows a panic elsewhere; the map stays valid.
        let mut m = self
            .by_connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.entry(connection_id.to_owned()).or_default().clone()
    }
}

/// The token endpoint's answer (RFC 6749 section 5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    /// Seconds; some providers send it as a string.
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<i64>,
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom("expires_in is not a whole number of seconds")),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expires_in is not a whole number of seconds")),
        Some(_) => Err(D::Error::custom("expires_in is not a number")),
    }
}

/// The token endpoint's error (RFC 6749 section 5.2): only the code is kept, never echoed tokens.
#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

/// Refreshes the tokens of `conn`, which the caller holds as `stale`; returns the tokens to use.
pub(crate) async fn refresh(
    inner: &Inner,
    provider: &str,
    spec: &OAuthSpec,
    conn: &ConnectionRecord,
    stale: &Tokens,
) -> Result<Tokens> {
    let lock = inner.refresh_locks.of(&conn.connection_id);
    let _held = lock.lock().await;
    let current = inner
        .store
        .connection(&conn.connection_id)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("connection {} no longer exists", conn.connection_id),
            )
            .with_provider(provider)
        })?;
    let Some(tokens) = inner.tokens_of(&current)? else {
        return Err(refused(provider, conn, "the connection has no tokens"));
    };
    if tokens.access_token != stale.access_token {
        // Refreshed (or replaced) since the caller read them.
        return Ok(tokens);
    }
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(refused(
            provider,
            conn,
            "the access token expired or was refused, and the connection has no refresh token",
        ));
    };
    let secrets = inner.config.secrets(provider);
    let secret = |name: &str| {
        secrets.get(name).map(str::to_owned).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("cannot refresh access tokens: providers.{provider}.{name} is not set"),
            )
            .with_provider(provider)
            .with_field(format!("providers.{provider}.{name}"))
        })
    };
    let (client_id, client_secret) = (secret(OAUTH_CLIENT_ID)?, secret(OAUTH_CLIENT_SECRET)?);
    let url = inner
        .config
        .token_url(provider)
        .unwrap_or(spec.token_url)
        .to_owned();
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        percent_encode(&refresh_token),
        percent_encode(&client_id),
        percent_encode(&client_secret)
    );
    let request = HttpRequest {
        method: "POST".to_owned(),
        url,
        headers: vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept".to_owned(), "application/json".to_owned()),
        ],
        body: Some(Bytes::from(form)),
    };
    let outcome = |o: &str| {
        inner.metrics.add(
            "token_refreshes_total",
            &[("provider", provider), ("outcome", o)],
            1,
        );
    };
    let response = match inner.http.send(request).await {
        Ok(r) => r,
        Err(e) => {
            outcome("failed");
            return Err(e.with_provider(provider));
        }
    };
    match response.status {
        200..=299 => {}
        400 | 401 => {
            outcome("refused");
            // The provider's code, as a short token of safe characters: it goes into logs and
            // the quarantine.
            let code = serde_json::from_slice::<TokenError>(&response.body)
                .ok()
                .and_then(|e| e.error)
                .map(|c| {
                    c.chars()
                        .filter(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(*ch))
                        .take(64)
                        .collect::<String>()
                })
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "no error code".to_owned());
            revoke(inner, current).await?;
            return Err(refused(
                provider,
                conn,
                &format!(
                    "the token URL refused the refresh token (HTTP {}, {code}); the user must connect again",
                    response.status
                ),
            ));
        }
        _ => {
            outcome("failed");
            return Err(response
                .error_for_status(provider)
                .err()
                .unwrap_or_else(|| Error::new(ErrorKind::Upstream, "token URL failed")));
        }
    }
    let got: TokenResponse = serde_json::from_slice(&response.body).map_err(|e| {
        outcome("failed");
        // The refresh token may already be used up; trying again is the best left to do.
        Error::malformed(provider, "access_token", format!("token URL answer: {e}"))
            .with_status(ErrorStatus::Retryable)
    })?;
    let now = now_ms();
    let fresh = Tokens {
        access_token: got.access_token,
        refresh_token: got.refresh_token.or(Some(refresh_token)),
        expires_at: got
            .expires_in
            .map(|s| now.saturating_add(s.saturating_mul(1000))),
    };
    let mut updated = current;
    updated.sealed_tokens = Some(inner.cipher.seal(&fresh)?);
    updated.updated_at = now;
    // The old refresh token may be spent already: losing the new one would cut the connection
    // off, so a failing store is tried a few times before giving up.
    let mut tries = 0;
    while let Err(e) = inner.store.upsert_connection(&updated).await {
        tries += 1;
        if tries >= STORE_TRIES {
            tracing::error!(
                provider,
                connection_id = %conn.connection_id,
                error = %e,
                "refreshed the access token but could not store the new tokens; the connection may need to be connected again"
            );
            return Err(e);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    outcome("refreshed");
    tracing::info!(
        provider,
        connection_id = %conn.connection_id,
        expires_in_secs = got.expires_in,
        "refreshed the connection's access token"
    );
    Ok(fresh)
}

fn refused(provider: &str, conn: &ConnectionRecord, why: &str) -> Error {
    Error::new(
        ErrorKind::Unauthorized,
        format!("connection {}: {why}", conn.connection_id),
    )
    .with_provider(provider)
}

async fn revoke(inner: &Inner, mut conn: ConnectionRecord) -> Result<()> {
    conn.status = ConnectionStatus::Revoked;
    conn.updated_at = now_ms();
    tracing::warn!(
        provider = %conn.provider,
        connection_id = %conn.connection_id,
        "the provider refused the refresh token; the connection is revoked until the user connects again"
    );
    inner.store.upsert_connection(&conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_as_a_number_or_a_numeric_string() {
        let read = |json: &str| serde_json::from_str::<TokenResponse>(json).map(|t| t.expires_in);
        assert_eq!(
            read(r#"{"access_token":"a","expires_in":86400}"#).unwrap(),
            Some(86_400)
        );
        assert_eq!(
            read(r#"{"access_token":"a","expires_in":"3600"}"#).unwrap(),
            Some(3_600)
        );
        assert_eq!(read(r#"{"access_token":"a"}"#).unwrap(), None);
        assert_eq!(
            read(r#"{"access_token":"a","expires_in":null}"#).unwrap(),
            None
        );
        assert!(read(r#"{"access_token":"a","expires_in":"soon"}"#).is_err());
        assert!(read(r#"{"expires_in":60}"#).is_err(), "no access token");
    }

    #[test]
    fn only_tokens_with_a_refresh_token_and_a_near_expiry_are_refreshed_early() {
        let t = |refresh: Option<&str>, at: Option<i64>| Tokens {
            access_token: "fake-a".into(),
            refresh_token: refresh.map(str::to_owned),
            expires_at: at,
        };
        let now = 1_000_000_000;
        assert!(expires_soon(&t(Some("fake-r"), Some(now + EARLY_MS)), now));
        assert!(expires_soon(&t(Some("fake-r"), Some(now - 1)), now));
        assert!(!expires_soon(
            &t(Some("fake-r"), Some(now + EARLY_MS + 1)),
            now
        ));
        assert!(
            !expires_soon(&t(None, Some(now - 1)), now),
            "nothing to refresh with"
        );
        assert!(
            !expires_soon(&t(Some("fake-r"), None), now),
            "expiry unknown: wait for a 401"
        );
    }
}
