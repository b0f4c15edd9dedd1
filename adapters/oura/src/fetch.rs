//! Fetching what a notification names from the Oura API v2 (all I/O of the adapter).
//!
//! - a webhook `create`/`update`: `GET {base}/v2/usercollection/<data_type>/<object_id>`, the
//!   document itself is the response body;
//! - a webhook `delete`: nothing to fetch, the notification carries its record;
//! - `personal_info` (connect time, scheduled refresh): `GET {base}/v2/usercollection/personal_info`;
//! - `heartrate` over a range (backfill, polling; Oura has no heart-rate webhook):
//!   `GET {base}/v2/usercollection/heartrate?start_datetime=..&end_datetime=..`, following
//!   `next_token`; one record per page.
//!
//! Every request carries `Authorization: Bearer <access token>`. Statuses map through
//! `HttpResponse::error_for_status`: 401 `unauthorized`, 403 `forbidden`, 404 `not_found`,
//! 429 `rate_limited` with `Retry-After`, anything else non-2xx `upstream`.

use nexus_core::http::{HttpRequest, percent_encode};
use nexus_core::{Error, FetchContext, Notification, NotificationAction, RawRecord, Result};

use crate::PROVIDER;
use crate::webhook::{check_data_type, check_object_id};

/// Record kind of a heart-rate page.
pub const HEARTRATE: &str = "heartrate";
/// Record kind of the personal info document.
pub const PERSONAL_INFO: &str = "personal_info";

/// The most heart-rate pages one fetch follows (a guard against a `next_token` loop).
const MAX_PAGES: usize = 200;

/// Gets the raw records `notification` refers to.
pub async fn fetch(notification: &Notification, ctx: &FetchContext) -> Result<Vec<RawRecord>> {
    if notification.action == NotificationAction::Delete {
        return Ok(notification.records.clone());
    }
    let base = ctx.base_url.trim_end_matches('/');
    match notification.kind.as_str() {
        HEARTRATE => fetch_heartrate(notification, ctx, base).await,
        PERSONAL_INFO => {
            let url = format!("{base}/v2/usercollection/personal_info");
            Ok(vec![get(notification, ctx, PERSONAL_INFO, url).await?.0])
        }
        data_type => {
            check_data_type(data_type)?;
            let id = notification.record_id.as_deref().ok_or_else(|| {
                Error::malformed(PROVIDER, "object_id", "the notification names no object")
            })?;
            check_object_id("object_id", id)?;
            let url = format!("{base}/v2/usercollection/{data_type}/{id}");
            Ok(vec![get(notification, ctx, data_type, url).await?.0])
        }
    }
}

async fn fetch_heartrate(
    notification: &Notification,
    ctx: &FetchContext,
    base: &str,
) -> Result<Vec<RawRecord>> {
    let (start, end) = notification.range.ok_or_else(|| {
        Error::malformed(PROVIDER, "range", "a heart-rate fetch needs a time range")
    })?;
    let first = format!(
        "{base}/v2/usercollection/heartrate?start_datetime={}&end_datetime={}",
        rfc3339_utc(start)?,
        rfc3339_utc(end)?
    );
    let mut records = Vec::new();
    let mut url = first.clone();
    for _ in 0..MAX_PAGES {
        let (record, next) = get(notification, ctx, HEARTRATE, url).await?;
        records.push(record);
        match next {
            Some(token) => url = format!("{first}&next_token={}", percent_encode(&token)),
            None => return Ok(records),
        }
    }
    Err(Error::malformed(
        PROVIDER,
        "next_token",
        format!("more than {MAX_PAGES} pages of heart rate for one range"),
    ))
}

/// GETs `url`, maps the status, and returns the body as a record plus the page's `next_token`.
async fn get(
    notification: &Notification,
    ctx: &FetchContext,
    kind: &str,
    url: String,
) -> Result<(RawRecord, Option<String>)> {
    let token = ctx.require_token(PROVIDER)?;
    let request = HttpRequest::get(url)
        .bearer(token)
        .header("accept", "application/json");
    let response = ctx.http.send(request).await?.error_for_status(PROVIDER)?;
    let next = if kind == HEARTRATE {
        next_token(&response.body)?
    } else {
        None
    };
    let record = RawRecord {
        kind: kind.to_owned(),
        body: response.body,
        provider_user_id: notification
            .provider_user_id
            .clone()
            .or_else(|| ctx.provider_user_id.clone()),
        provider_notification_id: notification.provider_notification_id.clone(),
        fetched_at: Some(ctx.now_ms),
    };
    Ok((record, next))
}

fn next_token(body: &[u8]) -> Result<Option<String>> {
    let map = crate::fields::parse_object(body, "the heart-rate page")?;
    Ok(crate::fields::Obj::root(&map)
        .str_opt("next_token")?
        .filter(|t| !t.is_empty())
        .map(str::to_owned))
}

fn rfc3339_utc(ms: i64) -> Result<String> {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .map_err(|e| Error::malformed(PROVIDER, "range", format!("{ms} ms is not a time ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use nexus_core::http::{HttpClient, HttpResponse};
    use nexus_core::{ErrorKind, Secrets};

    /// A canned answer: URL, status, headers, body.
    type Answer = (String, u16, Vec<(String, String)>, String);
    /// A canned answer as written in a test.
    type AnswerRef<'a> = (&'a str, u16, &'a [(&'a str, &'a str)], &'a str);

    /// A fake HTTP client: answers from a fixed list by URL and records every request.
    struct FakeHttp {
        answers: Vec<Answer>,
        seen: Mutex<Vec<HttpRequest>>,
    }

    #[async_trait::async_trait]
    impl HttpClient for FakeHttp {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
            self.seen.lock().unwrap().push(request.clone());
            let (_, status, headers, body) = self
                .answers
                .iter()
                .find(|(url, ..)| *url == request.url)
                .unwrap_or_else(|| panic!("unexpected request {}", request.url));
            Ok(HttpResponse {
                status: *status,
                headers: headers.clone(),
                body: Bytes::from(body.clone()),
            })
        }
    }

    fn ctx(http: Arc<FakeHttp>) -> FetchContext {
        FetchContext {
            http,
            base_url: "http://127.0.0.1:9/".into(),
            access_token: Some("fake-access-token".into()),
            provider_user_id: Some("u-ctx".into()),
            secrets: Secrets::new(),
            now_ms: 1_731_312_000_000,
        }
    }

    fn notification(kind: &str, action: NotificationAction, id: Option<&str>) -> Notification {
        Notification {
            provider_notification_id: None,
            provider_user_id: Some("u-1".into()),
            previous_provider_user_id: None,
            kind: kind.into(),
            action,
            record_id: id.map(str::to_owned),
            range: None,
            event_ts: None,
            records: vec![],
        }
    }

    fn fake(answers: &[AnswerRef<'_>]) -> Arc<FakeHttp> {
        Arc::new(FakeHttp {
            answers: answers
                .iter()
                .map(|(u, s, h, b)| {
                    let headers = h.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
                    ((*u).into(), *s, headers, (*b).into())
                })
                .collect(),
            seen: Mutex::new(vec![]),
        })
    }

    #[tokio::test]
    async fn a_document_is_fetched_by_id_with_the_bearer_token() {
        let http = fake(&[(
            "http://127.0.0.1:9/v2/usercollection/sleep/s-1",
            200,
            &[],
            r#"{"id":"s-1"}"#,
        )]);
        let n = notification("sleep", NotificationAction::Update, Some("s-1"));
        let records = fetch(&n, &ctx(http.clone())).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].kind, "sleep");
        assert_eq!(records[0].body, Bytes::from_static(br#"{"id":"s-1"}"#));
        assert_eq!(records[0].provider_user_id.as_deref(), Some("u-1"));
        assert_eq!(records[0].fetched_at, Some(1_731_312_000_000));
        let seen = http.seen.lock().unwrap();
        assert_eq!(seen[0].method, "GET");
        assert!(
            seen[0]
                .headers
                .contains(&("authorization".into(), "Bearer fake-access-token".into()))
        );
    }

    #[tokio::test]
    async fn statuses_map_to_error_kinds() {
        let url = "http://127.0.0.1:9/v2/usercollection/workout/w-1";
        let n = notification("workout", NotificationAction::Create, Some("w-1"));
        for (status, kind) in [
            (401, ErrorKind::Unauthorized),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (503, ErrorKind::Upstream),
        ] {
            let http = fake(&[(url, status, &[("retry-after", "42")], r#"{"detail":"x"}"#)]);
            let e = fetch(&n, &ctx(http)).await.unwrap_err();
            assert_eq!(e.kind(), kind);
            if status == 429 {
                assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(42)));
            }
        }
    }

    #[tokio::test]
    async fn deletes_fetch_nothing_and_a_missing_token_is_unauthorized() {
        let http = fake(&[]);
        let mut n = notification("sleep", NotificationAction::Delete, Some("s-1"));
        n.records = vec![RawRecord::new("delete", "{}")];
        assert_eq!(fetch(&n, &ctx(http.clone())).await.unwrap(), n.records);
        assert!(http.seen.lock().unwrap().is_empty());
        let mut c = ctx(http);
        c.access_token = None;
        let n = notification("sleep", NotificationAction::Create, Some("s-1"));
        assert_eq!(
            fetch(&n, &c).await.unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
    }

    #[tokio::test]
    async fn heart_rate_pages_are_followed() {
        let first = "http://127.0.0.1:9/v2/usercollection/heartrate?start_datetime=2024-11-11T08:00:00Z&end_datetime=2024-11-11T09:00:00Z";
        let second = format!("{first}&next_token=a%2Bb%3D");
        let http = fake(&[
            (first, 200, &[], r#"{"data":[],"next_token":"a+b="}"#),
            (&second, 200, &[], r#"{"data":[],"next_token":null}"#),
        ]);
        let mut n = notification(HEARTRATE, NotificationAction::Other, None);
        n.range = Some((1_731_312_000_000, 1_731_315_600_000));
        let records = fetch(&n, &ctx(http)).await.unwrap();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.kind == HEARTRATE));
    }

    #[tokio::test]
    async fn personal_info_has_no_id_and_unmapped_types_are_refused() {
        let http = fake(&[(
            "http://127.0.0.1:9/v2/usercollection/personal_info",
            200,
            &[],
            r#"{"id":"u-1"}"#,
        )]);
        let n = notification(PERSONAL_INFO, NotificationAction::Other, None);
        assert_eq!(
            fetch(&n, &ctx(http.clone())).await.unwrap()[0].kind,
            PERSONAL_INFO
        );
        let n = notification("daily_stress", NotificationAction::Create, Some("x"));
        assert_eq!(
            fetch(&n, &ctx(http)).await.unwrap_err().kind(),
            ErrorKind::UnsupportedEvent
        );
    }
}
