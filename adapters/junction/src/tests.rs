//! Adapter-level tests: parse, fetch (against a fake HTTP client) and the summary mappings.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::items::{ActivityType, Flow};
use nexus_core::{
    Adapter, ErrorKind, FetchContext, InboundRequest, ItemBody, NormalizeContext, Normalized,
    NotificationAction, RawRecord, Secrets,
};
use serde_json::{Value, json};

use super::*;

fn request(body: &Value) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/webhooks/junction".into(),
        query: None,
        headers: vec![("svix-id".into(), "msg_fake_1".into())],
        body: Bytes::from(serde_json::to_vec(body).unwrap()),
    }
}

fn event(event_type: &str, data: Value) -> Value {
    json!({"event_type": event_type, "user_id": "u-1", "client_user_id": "c-1", "team_id": "t-1", "data": data})
}

fn run(event_type: &str, data: Value) -> nexus_core::Result<Normalized> {
    let n = JunctionAdapter.parse(&request(&event(event_type, data)))?;
    assert_eq!(n.len(), 1);
    JunctionAdapter.normalize(&n[0].records[0], &NormalizeContext::default())
}

fn source() -> Value {
    json!({"provider": "oura", "type": "ring", "app_id": null, "device_id": null})
}

#[test]
fn parse_names_the_notification_user_and_record() {
    let body = event(
        "daily.data.sleep.updated",
        json!({"id": "s-1", "source": source()}),
    );
    let n = JunctionAdapter.parse(&request(&body)).unwrap();
    assert_eq!(n[0].provider_notification_id.as_deref(), Some("msg_fake_1"));
    assert_eq!(n[0].provider_user_id.as_deref(), Some("u-1"));
    assert_eq!(n[0].record_id.as_deref(), Some("s-1"));
    assert_eq!(n[0].action, NotificationAction::Update);
    assert_eq!(n[0].records[0].kind, "daily.data.sleep.updated");
    assert_eq!(
        n[0].records[0].provider_notification_id.as_deref(),
        Some("msg_fake_1")
    );
}

#[test]
fn parse_acknowledges_unmapped_resources_and_refuses_unknown_ones() {
    let basal = event(
        "daily.data.calories_basal.created",
        json!({"source": source(), "data": []}),
    );
    assert!(JunctionAdapter.parse(&request(&basal)).unwrap().is_empty());
    let unknown = event("daily.data.mood.created", json!({}));
    assert_eq!(
        JunctionAdapter
            .parse(&request(&unknown))
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedEvent
    );
    let mut bad = request(&json!({}));
    bad.body = Bytes::from_static(b"{\"event_type\": ");
    assert_eq!(
        JunctionAdapter.parse(&bad).unwrap_err().kind(),
        ErrorKind::MalformedPayload
    );
    let no_user = json!({"event_type": "daily.data.sleep.created", "data": {}});
    assert_eq!(
        JunctionAdapter
            .parse(&request(&no_user))
            .unwrap_err()
            .field(),
        Some("user_id")
    );
}

#[test]
fn daily_activity_uses_the_local_midnight_of_its_zone() {
    let data = |tz: Value, off: Value| {
        json!({"id": "a-1", "calendar_date": "2024-03-10", "date": "2024-03-10T00:00:00+00:00",
               "steps": 9000, "distance": 6500.5, "floors_climbed": 4, "calories_total": 2100,
               "calories_active": 450, "low": 30, "medium": 20, "high": 5,
               "heart_rate": {"resting_bpm": 52}, "time_zone": tz, "timezone_offset": off,
               "source": source(), "created_at": "2024-03-11T01:00:00+00:00",
               "updated_at": "2024-03-11T01:00:00+00:00"})
    };
    let n = run(
        "daily.data.activity.created",
        data(json!("America/New_York"), json!(-18000)),
    )
    .unwrap();
    let item = &n.items[0].item;
    // 2024-03-10 00:00 in New York is still EST (-05:00); DST starts at 02:00 that day.
    assert_eq!(item.payload_ts, 1_710_046_800_000);
    assert_eq!(item.provider_ref, "a-1");
    assert_eq!(n.items[0].provider_version, Some(1_710_118_800_000));
    match &item.body {
        ItemBody::DailySummary(d) => {
            assert_eq!(d.timezone.as_deref(), Some("America/New_York"));
            assert_eq!(
                (d.steps, d.distance_m, d.floors),
                (Some(9000), Some(6500.5), Some(4.0))
            );
            assert_eq!(d.resting_heart_rate_bpm, Some(52.0));
            assert_eq!(d.active_minutes, None);
        }
        other => panic!("{other:?}"),
    }
    // Half-hour offset without a zone name: local midnight at +05:30.
    let n = run(
        "daily.data.activity.created",
        data(Value::Null, json!(19800)),
    )
    .unwrap();
    assert_eq!(n.items[0].item.payload_ts, 1_710_009_000_000);
    let e = run(
        "daily.data.activity.created",
        data(json!("Mars/Olympus"), Value::Null),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("data.time_zone"));
}

#[test]
fn sleep_keeps_offsets_and_refuses_reversed_times() {
    let sleep = |stop: &str| {
        json!({"id": "s-1", "calendar_date": "2024-03-10", "date": "2024-03-10T00:00:00+00:00",
               "bedtime_start": "2024-03-09T23:10:00-03:30", "bedtime_stop": stop, "type": "long_sleep",
               "timezone_offset": -12600, "duration": 27000, "total": 24000, "awake": 3000, "light": 12000,
               "rem": 6000, "deep": 6000, "efficiency": 0.89, "hr_lowest": 48, "hr_average": 55,
               "average_hrv": 61, "respiratory_rate": 14.5, "temperature_delta": -0.3, "score": 81,
               "source": source(), "created_at": "2024-03-10T08:00:00+00:00",
               "updated_at": "2024-03-10T08:00:00+00:00"})
    };
    let n = run(
        "daily.data.sleep.created",
        sleep("2024-03-10T06:40:00-03:30"),
    )
    .unwrap();
    match &n.items[0].item.body {
        ItemBody::Sleep(s) => {
            assert_eq!(s.start_ts, 1_710_038_400_000); // 2024-03-10T02:40Z
            assert_eq!(s.utc_offset_s, Some(-12600));
            assert_eq!(s.efficiency_pct, Some(89.0));
            assert_eq!(s.is_nap, Some(false));
            assert_eq!(s.avg_hrv_rmssd_ms, Some(61.0));
            assert_eq!(s.avg_hrv_sdnn_ms, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(n.devices[0].name.as_deref(), Some("oura"));
    let e = run(
        "daily.data.sleep.created",
        sleep("2024-03-09T20:00:00-03:30"),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("data.bedtime_stop"));
}

#[test]
fn workouts_map_sport_zones_and_leave_duration_null() {
    let n = run(
        "daily.data.workouts.created",
        json!({"id": "w-1", "calendar_date": "2024-03-10", "time_start": "2024-03-10T07:00:00+01:00",
               "time_end": "2024-03-10T07:45:00+01:00", "sport": {"id": 1, "name": "Running", "slug": "running"},
               "hr_zones": [60, 300, 900, 1200, 240, 0], "calories": 510, "average_hr": 151,
               "provider_id": "p-1", "source": {"provider": "garmin", "type": "watch"},
               "created_at": "2024-03-10T08:00:00+00:00", "updated_at": "2024-03-10T08:00:00+00:00"}),
    )
    .unwrap();
    match &n.items[0].item.body {
        ItemBody::Activity(a) => {
            assert_eq!(a.activity_type, ActivityType::Running);
            assert_eq!(a.provider_activity_type.as_deref(), Some("running"));
            assert_eq!(a.duration_s, None);
            assert_eq!(a.calories_total_kcal, Some(510.0));
            let zones = a.heart_rate_zones.as_ref().unwrap();
            assert_eq!(zones.len(), 6);
            assert_eq!(
                (zones[2].zone, zones[2].duration_s, zones[2].min_bpm),
                (2, Some(900.0), None)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn profile_meal_and_menstrual_cycle_map() {
    let p = run(
        "daily.data.profile.created",
        json!({"id": "p-1", "height": 172, "birth_date": "1990-06-15", "sex": "female", "gender": "female",
               "source": source(), "created_at": "2024-03-10T08:00:00+00:00", "updated_at": "2024-03-10T09:00:00+00:00"}),
    )
    .unwrap();
    match &p.items[0].item.body {
        ItemBody::Profile(p) => {
            assert_eq!(
                (p.birth_year, p.sex.as_deref(), p.height_m),
                (Some(1990), Some("female"), Some(1.72))
            );
            assert_eq!(p.provider_user_id.as_deref(), Some("u-1"));
        }
        other => panic!("{other:?}"),
    }
    let m = run(
        "daily.data.meal.created",
        json!({"id": "m-1", "priority_id": 1, "source_id": 2, "provider_id": "m-1", "name": "Lunch",
               "timestamp": "2024-03-10T12:30:00+05:30", "calendar_date": "2024-03-10",
               "energy": {"unit": "kcal", "value": 640}, "macros": {"carbs": 70, "protein": 35,
               "fats": {"total": 22}, "fibre": 9, "sugar": 12, "water": 300},
               "micros": {"minerals": {"sodium": 900}}, "source": {"provider": "cronometer", "type": "app"},
               "created_at": "2024-03-10T08:00:00+00:00", "updated_at": "2024-03-10T08:00:00+00:00"}),
    )
    .unwrap();
    match &m.items[0].item.body {
        ItemBody::Nutrition(n) => {
            assert_eq!(
                (n.calories_kcal, n.fat_g, n.sodium_mg, n.water_ml),
                (Some(640.0), Some(22.0), Some(900.0), Some(300.0))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.items[0].item.payload_ts, 1_710_054_000_000);
    assert_eq!(
        m.items[0].item.capture_mode,
        Some(nexus_core::CaptureMode::Manual)
    );
    let cycle = |predicted: bool| {
        json!({"id": "c-1", "period_start": "2024-04-07", "is_predicted": predicted,
               "menstrual_flow": [{"date": "2024-04-07", "flow": "light"}, {"date": "2024-04-08", "flow": "unspecified"}],
               "source_provider": "apple_health_kit", "source_type": "app", "user_id": "u-1",
               "source": {"provider": "apple_health_kit", "type": "app"},
               "created_at": "2024-04-09T08:00:00+00:00", "updated_at": "2024-04-09T08:00:00+00:00"})
    };
    let c = run("daily.data.menstrual_cycle.created", cycle(false)).unwrap();
    let got: Vec<_> = c
        .items
        .iter()
        .map(|i| match &i.item.body {
            ItemBody::Menstruation(m) => (i.item.provider_ref.clone(), m.date.clone(), m.flow),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "c-1:2024-04-07".to_owned(),
                "2024-04-07".to_owned(),
                Some(Flow::Light)
            ),
            (
                "c-1:2024-04-08".to_owned(),
                "2024-04-08".to_owned(),
                Some(Flow::Unknown)
            ),
        ]
    );
    assert!(
        run("daily.data.menstrual_cycle.created", cycle(true))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn historical_pulls_and_connections_map() {
    let s = run(
        "historical.data.sleep.created",
        json!({"user_id": "u-1", "start_date": "2024-01-01T00:00:00+00:00", "end_date": "2024-03-01T00:00:00+00:00", "provider": "oura"}),
    )
    .unwrap();
    match &s.items[0].item.body {
        ItemBody::Sync(s) => {
            assert_eq!(s.status, nexus_core::items::SyncStatus::Completed);
            assert_eq!(s.resource, Some(nexus_core::EventType::Sleep));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.items[0].item.provider_ref, "u-1:oura:sleep");
    let c = run(
        "provider.connection.error",
        json!({"provider": "fitbit", "user_id": "u-1", "message": "Please reconnect", "error_type": "token_refresh_failed", "error_details": "x"}),
    )
    .unwrap();
    match &c.items[0].item.body {
        ItemBody::Connection(c) => {
            assert_eq!(c.status, nexus_core::items::ConnectionStatus::Degraded);
            assert_eq!(c.reason.as_deref(), Some("Please reconnect"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.items[0].item.provider_ref, "u-1:fitbit");
    assert_eq!(c.devices[0].name.as_deref(), Some("fitbit"));
}

/// A fake HTTP client: answers every request with one canned response and records the requests.
struct FakeHttp {
    status: u16,
    body: &'static str,
    seen: Mutex<Vec<HttpRequest>>,
}

#[async_trait::async_trait]
impl HttpClient for FakeHttp {
    async fn send(&self, request: HttpRequest) -> nexus_core::Result<HttpResponse> {
        self.seen.lock().unwrap().push(request);
        Ok(HttpResponse {
            status: self.status,
            headers: vec![("retry-after".into(), "7".into())],
            body: Bytes::from_static(self.body.as_bytes()),
        })
    }
}

fn fetch_ctx(http: Arc<FakeHttp>, secrets: Secrets) -> FetchContext {
    FetchContext {
        http,
        base_url: "http://127.0.0.1:9/".into(),
        access_token: None,
        provider_user_id: Some("u-1".into()),
        secrets,
        now_ms: 1_710_072_000_000,
    }
}

fn stream_notification() -> nexus_core::Notification {
    let body = event(
        "daily.data.workout_stream.created",
        json!({"user_id": "u-1", "workout_id": "w-9", "provider_id": "p", "source": {"provider": "garmin", "type": "watch"},
               "sport": {"id": 1, "name": "Running", "slug": "running"}, "message": "use /v2/timeseries/workouts/x/stream"}),
    );
    JunctionAdapter.parse(&request(&body)).unwrap().remove(0)
}

#[tokio::test]
async fn the_workout_stream_is_fetched_with_the_api_key_and_normalized() {
    let http = Arc::new(FakeHttp {
        status: 200,
        body: r#"{"time":[1710072000,1710072005],"heartrate":[120,125],"distance":[0,14]}"#,
        seen: Mutex::new(Vec::new()),
    });
    let ctx = fetch_ctx(
        http.clone(),
        Secrets::new().with(API_KEY, "fake-junction-api-key"),
    );
    let n = stream_notification();
    assert_eq!(n.record_id.as_deref(), Some("w-9"));
    let records = JunctionAdapter.fetch(&n, &ctx).await.unwrap();
    let seen = http.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].url,
        "http://127.0.0.1:9/v2/timeseries/workouts/w-9/stream"
    );
    assert!(
        seen[0]
            .headers
            .contains(&(API_KEY_HEADER.into(), "fake-junction-api-key".into()))
    );
    assert_eq!(records[0].fetched_at, Some(1_710_072_000_000));
    let out = JunctionAdapter
        .normalize(&records[0], &NormalizeContext::default())
        .unwrap();
    let types: Vec<_> = out.items.iter().map(|i| i.item.event_type()).collect();
    assert_eq!(
        types,
        vec![
            nexus_core::EventType::HeartRateSeries,
            nexus_core::EventType::DistanceSeries
        ]
    );
    // The shallow event alone normalizes to nothing.
    assert!(
        JunctionAdapter
            .normalize(&n.records[0], &NormalizeContext::default())
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn fetch_errors_map_to_kinds() {
    let cases = [
        (401, ErrorKind::Unauthorized),
        (404, ErrorKind::NotFound),
        (429, ErrorKind::RateLimited),
        (503, ErrorKind::Upstream),
    ];
    for (status, kind) in cases {
        let http = Arc::new(FakeHttp {
            status,
            body: "{}",
            seen: Mutex::new(Vec::new()),
        });
        let ctx = fetch_ctx(http, Secrets::new().with(API_KEY, "fake-junction-api-key"));
        let e = JunctionAdapter
            .fetch(&stream_notification(), &ctx)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{status}");
    }
    let http = Arc::new(FakeHttp {
        status: 200,
        body: "<html>",
        seen: Mutex::new(Vec::new()),
    });
    let e = JunctionAdapter
        .fetch(
            &stream_notification(),
            &fetch_ctx(http.clone(), Secrets::new().with(API_KEY, "fake-k")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedPayload);
    let e = JunctionAdapter
        .fetch(&stream_notification(), &fetch_ctx(http, Secrets::new()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}

#[test]
fn the_adapter_is_registered() {
    let a = nexus_core::registry::adapter("junction").unwrap();
    assert_eq!(a.descriptor().id, "junction");
    let _ = RawRecord::new("x", Bytes::new());
}

#[test]
fn body_keeps_percentages_out_of_mass_fields() {
    let n = run(
        "daily.data.body.updated",
        json!({"id": "b-1", "date": "2024-03-10T00:00:00+00:00", "calendar_date": "2024-03-10",
               "weight": 80.2, "fat": 21.0, "water_percentage": 55.0, "muscle_mass_percentage": 40.0,
               "bone_mass_percentage": 4.0, "body_mass_index": 24.1, "lean_body_mass_kilogram": 63.4,
               "source": {"provider": "withings", "type": "scale"},
               "created_at": "2024-03-10T08:00:00+00:00", "updated_at": "2024-03-10T08:00:00+00:00"}),
    )
    .unwrap();
    assert_eq!(n.items[0].item.payload_ts, 1_710_028_800_000);
    match &n.items[0].item.body {
        ItemBody::BodyMeasurement(b) => {
            assert_eq!(
                (b.weight_kg, b.body_fat_pct, b.bmi),
                (Some(80.2), Some(21.0), Some(24.1))
            );
            assert_eq!((b.body_water_pct, b.lean_mass_kg), (Some(55.0), Some(63.4)));
            assert_eq!(
                (b.muscle_mass_kg, b.bone_mass_kg, b.height_m),
                (None, None, None)
            );
        }
        other => panic!("{other:?}"),
    }
    let e = run(
        "daily.data.body.created",
        json!({"id": "b-1", "date": "2024-03-10", "source": {"provider": "withings"}, "weight": -3}),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("data.date"));
}

#[test]
fn connection_created_reads_the_provider_object() {
    let n = run(
        "provider.connection.created",
        json!({"user_id": "u-1", "provider": {"name": "Fitbit", "slug": "fitbit", "logo": "x"},
               "resource_availability": {}}),
    )
    .unwrap();
    assert_eq!(n.items[0].item.provider_ref, "u-1:fitbit");
    assert_eq!(n.devices[0].name.as_deref(), Some("Fitbit"));
    match &n.items[0].item.body {
        ItemBody::Connection(c) => {
            assert_eq!(c.status, nexus_core::items::ConnectionStatus::Connected)
        }
        other => panic!("{other:?}"),
    }
}
