//! The inbound side of Oura webhooks: the subscription handshake and the notification body.
//!
//! Handshake: when a subscription is created Oura sends
//! `GET <callback>?verification_token=<token>&challenge=<random>`; the answer is HTTP 200 with
//! `{"challenge": "<random>"}` when the token equals the configured `verification_token`, and a
//! refusal otherwise.
//!
//! Notification: `POST` with `{event_type, data_type, object_id, event_time, user_id}`, where
//! `event_type` is `create`, `update` or `delete`. Oura sends no notification id.

use nexus_core::{
    Error, ErrorKind, HandshakeResponse, InboundRequest, Notification, NotificationAction,
    RawRecord, Result, Secrets,
};
use subtle::ConstantTimeEq;

use crate::PROVIDER;
use crate::fields::{Obj, parse_object};

/// Secret: the `verification_token` given to Oura when creating the subscription.
pub const VERIFICATION_TOKEN: &str = "verification_token";

/// Kind of the raw record a `delete` notification carries (its body is the notification).
pub const DELETE_KIND: &str = "delete";

/// The Oura data types this adapter maps, by webhook `data_type`.
pub const WEBHOOK_DATA_TYPES: &[&str] = &[
    "sleep",
    "daily_activity",
    "daily_readiness",
    "workout",
    "daily_spo2",
];

/// Oura webhook data types that exist but are not mapped (see the crate docs).
pub const UNMAPPED_DATA_TYPES: &[&str] = &[
    "tag",
    "enhanced_tag",
    "session",
    "daily_sleep",
    "sleep_time",
    "rest_mode_period",
    "ring_configuration",
    "daily_stress",
    "daily_cardiovascular_age",
    "daily_resilience",
    "vo2_max",
    "meal",
];

/// Answers `GET ?verification_token=..&challenge=..`; `None` for any other request.
pub fn handshake(request: &InboundRequest, secrets: &Secrets) -> Option<Result<HandshakeResponse>> {
    if !request.method.eq_ignore_ascii_case("GET") {
        return None;
    }
    let offered = request.query_param(VERIFICATION_TOKEN)?;
    Some(answer(&offered, request.query_param("challenge"), secrets))
}

fn answer(
    offered: &str,
    challenge: Option<String>,
    secrets: &Secrets,
) -> Result<HandshakeResponse> {
    let configured = crate::signature::non_empty(
        secrets.require(PROVIDER, VERIFICATION_TOKEN)?,
        VERIFICATION_TOKEN,
    )?;
    if !bool::from(offered.as_bytes().ct_eq(configured.as_bytes())) {
        return Err(Error::invalid_signature(
            PROVIDER,
            "the verification token does not match the configured one",
        )
        .with_field(VERIFICATION_TOKEN));
    }
    let challenge = challenge.ok_or_else(|| {
        Error::malformed(
            PROVIDER,
            "challenge",
            "the handshake has no challenge to echo",
        )
    })?;
    Ok(HandshakeResponse {
        status: 200,
        content_type: "application/json".to_owned(),
        body: serde_json::json!({ "challenge": challenge }).to_string(),
    })
}

/// Parses a notification body into one notification. A `delete` carries its own body as a
/// record (kind [`DELETE_KIND`]) because nothing can be fetched for a deleted object.
pub fn parse(request: &InboundRequest) -> Result<Vec<Notification>> {
    let map = parse_object(&request.body, "the notification body")?;
    let doc = Obj::root(&map);
    let action = match doc.str_req("event_type")? {
        "create" => NotificationAction::Create,
        "update" => NotificationAction::Update,
        "delete" => NotificationAction::Delete,
        other => {
            return Err(Error::unsupported(
                PROVIDER,
                format!("unknown webhook event_type {other:?} (expected create, update or delete)"),
            )
            .with_field("event_type"));
        }
    };
    let data_type = doc.str_req("data_type")?;
    check_data_type(data_type)?;
    let object_id = doc.str_req("object_id")?;
    check_object_id("object_id", object_id)?;
    let user_id = doc.str_req("user_id")?;
    let event_time = doc.time_req("event_time")?;

    let records = if action == NotificationAction::Delete {
        vec![RawRecord {
            kind: DELETE_KIND.to_owned(),
            body: request.body.clone(),
            provider_user_id: Some(user_id.to_owned()),
            provider_notification_id: None,
            fetched_at: None,
        }]
    } else {
        Vec::new()
    };
    Ok(vec![Notification {
        provider_notification_id: None,
        provider_user_id: Some(user_id.to_owned()),
        previous_provider_user_id: None,
        kind: data_type.to_owned(),
        action,
        record_id: Some(object_id.to_owned()),
        range: None,
        event_ts: Some(event_time.epoch_ms),
        records,
    }])
}

/// Refuses data types this adapter does not map, naming whether Oura knows them.
pub(crate) fn check_data_type(data_type: &str) -> Result<()> {
    if WEBHOOK_DATA_TYPES.contains(&data_type) {
        return Ok(());
    }
    let why = if UNMAPPED_DATA_TYPES.contains(&data_type) {
        format!("Oura data type {data_type:?} is not mapped by this adapter")
    } else {
        format!("unknown Oura data type {data_type:?}")
    };
    Err(Error::new(ErrorKind::UnsupportedEvent, why)
        .with_provider(PROVIDER)
        .with_field("data_type"))
}

/// An object id goes into a URL path: only `[A-Za-z0-9._-]`, 1..=128 characters, and not `.`/`..`.
pub(crate) fn check_object_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            PROVIDER,
            field,
            format!("{id:?} is not an Oura object id (letters, digits, '-', '_', '.')"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn get(query: &str) -> InboundRequest {
        InboundRequest {
            method: "GET".into(),
            path: "/webhooks/oura".into(),
            query: Some(query.into()),
            headers: vec![],
            body: Bytes::new(),
        }
    }

    fn post(body: &str) -> InboundRequest {
        InboundRequest {
            method: "POST".into(),
            path: "/webhooks/oura".into(),
            query: None,
            headers: vec![],
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn secrets() -> Secrets {
        Secrets::new().with(VERIFICATION_TOKEN, "fake-verify-token")
    }

    #[test]
    fn the_challenge_is_echoed_when_the_token_matches() {
        let r = handshake(
            &get("verification_token=fake-verify-token&challenge=a%22b"),
            &secrets(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.body, r#"{"challenge":"a\"b"}"#);
    }

    #[test]
    fn a_wrong_token_is_refused_and_other_requests_are_no_handshake() {
        let e = handshake(
            &get("verification_token=fake-guess&challenge=x"),
            &secrets(),
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        assert!(handshake(&get("challenge=x"), &secrets()).is_none());
        assert!(handshake(&post("{}"), &secrets()).is_none());
        let e = handshake(&get("verification_token=fake-verify-token"), &secrets())
            .unwrap()
            .unwrap_err();
        assert_eq!(e.field(), Some("challenge"));
        let e = handshake(&get("verification_token=x&challenge=y"), &Secrets::new())
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let empty = Secrets::new().with(VERIFICATION_TOKEN, "");
        let e = handshake(&get("verification_token=&challenge=y"), &empty)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn notifications_parse() {
        let n = parse(&post(r#"{"event_type":"update","data_type":"sleep","object_id":"s-1","event_time":"2024-11-11T08:00:00-03:30","user_id":"u-1"}"#)).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].action, NotificationAction::Update);
        assert_eq!(n[0].kind, "sleep");
        assert_eq!(n[0].record_id.as_deref(), Some("s-1"));
        assert_eq!(n[0].provider_user_id.as_deref(), Some("u-1"));
        assert_eq!(n[0].event_ts, Some(1_731_324_600_000));
        assert!(n[0].records.is_empty());
        let d = parse(&post(r#"{"event_type":"delete","data_type":"workout","object_id":"w-1","event_time":"2024-11-11T08:00:00+00:00","user_id":"u-1"}"#)).unwrap();
        assert_eq!(d[0].records.len(), 1);
        assert_eq!(d[0].records[0].kind, DELETE_KIND);
    }

    #[test]
    fn bad_notifications_name_the_field() {
        let cases = [
            (
                r#"{"event_type":"rename","data_type":"sleep","object_id":"s","event_time":"2024-11-11T08:00:00Z","user_id":"u"}"#,
                ErrorKind::UnsupportedEvent,
                "event_type",
            ),
            (
                r#"{"event_type":"create","data_type":"daily_stress","object_id":"s","event_time":"2024-11-11T08:00:00Z","user_id":"u"}"#,
                ErrorKind::UnsupportedEvent,
                "data_type",
            ),
            (
                r#"{"event_type":"create","data_type":"sleep","object_id":"../x","event_time":"2024-11-11T08:00:00Z","user_id":"u"}"#,
                ErrorKind::MalformedPayload,
                "object_id",
            ),
            (
                r#"{"event_type":"create","data_type":"sleep","object_id":"s","event_time":"yesterday","user_id":"u"}"#,
                ErrorKind::MalformedPayload,
                "event_time",
            ),
            (
                r#"{"event_type":"create","data_type":"sleep","object_id":"s","event_time":"2024-11-11T08:00:00Z"}"#,
                ErrorKind::MalformedPayload,
                "user_id",
            ),
            (
                r#"{"event_type":5}"#,
                ErrorKind::MalformedPayload,
                "event_type",
            ),
            (r#"[]"#, ErrorKind::MalformedPayload, "$"),
        ];
        for (body, kind, field) in cases {
            let e = parse(&post(body)).unwrap_err();
            assert_eq!(e.kind(), kind, "{body}");
            assert_eq!(e.field(), Some(field), "{body}");
        }
    }
}
