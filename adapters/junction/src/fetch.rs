//! Fetching the workout stream a shallow `daily.data.workout_stream.created` event announces:
//! `GET {base}/v2/timeseries/workouts/{workout_id}/stream` with the team API key in
//! `x-vital-api-key` (Junction's API-key header, kept from its Vital days).
//!
//! The event's `message` names the endpoint in prose (and Junction's own examples name a different
//! id there than in `workout_id`), so the path is built from `$.data.workout_id` and the documented
//! route, never from the message.

use bytes::{BufMut, BytesMut};
use nexus_core::http::HttpRequest;
use nexus_core::{Error, FetchContext, Notification, RawRecord, Result};

use crate::PROVIDER;
use crate::fields::object_at;
use crate::normalize::parse_json;
use crate::normalize::workout_stream::{RECORD_KIND, check_workout_id};

/// Name of the team API key secret.
pub const API_KEY: &str = "api_key";
/// Junction's API-key header.
pub const API_KEY_HEADER: &str = "x-vital-api-key";

/// The path of a workout's stream.
pub(crate) fn stream_path(workout_id: &str) -> String {
    format!("/v2/timeseries/workouts/{workout_id}/stream")
}

/// Fetches the stream of the workout the notification's webhook body names; returns one
/// [`RECORD_KIND`] record `{"event": <webhook body>, "stream": <response body>}` built from both
/// raw byte strings (both checked to be JSON first).
pub(crate) async fn workout_stream(
    notification: &Notification,
    ctx: &FetchContext,
) -> Result<Vec<RawRecord>> {
    let Some(event) = notification.records.first() else {
        return Err(Error::malformed(
            PROVIDER,
            "$",
            "the workout stream notification carries no event body",
        ));
    };
    let value = parse_json(&event.body, "$")?;
    let root = object_at(&value, "")?;
    let data = root.obj_req("data")?;
    let workout_id = data.str_req("workout_id")?;
    check_workout_id(&data.path_of("workout_id"), workout_id)?;
    let api_key = ctx.secrets.require(PROVIDER, API_KEY)?;

    let url = format!(
        "{}{}",
        ctx.base_url.trim_end_matches('/'),
        stream_path(workout_id)
    );
    let request = HttpRequest::get(url)
        .header(API_KEY_HEADER, api_key)
        .header("accept", "application/json");
    let response = ctx.http.send(request).await?.error_for_status(PROVIDER)?;
    // Refuse a non-JSON answer here, so the combined record is always valid JSON.
    parse_json(&response.body, "workout stream response")?;

    let mut body = BytesMut::with_capacity(event.body.len() + response.body.len() + 24);
    body.put_slice(b"{\"event\":");
    body.put_slice(&event.body);
    body.put_slice(b",\"stream\":");
    body.put_slice(&response.body);
    body.put_slice(b"}");
    Ok(vec![RawRecord {
        kind: RECORD_KIND.to_owned(),
        body: body.freeze(),
        provider_user_id: notification.provider_user_id.clone(),
        provider_notification_id: notification.provider_notification_id.clone(),
        fetched_at: Some(ctx.now_ms),
    }])
}
