//! Realistic provider bodies, built from the adapters' recorded cases: a case's request (or
//! fetched response) is loaded and its sample arrays are filled to realistic sizes (a day of
//! per-minute heart rate, ...), with timestamps that advance in the case's own format and offset.
//! Every body built here is checked by the benches to normalize without error into items.

use std::path::PathBuf;

use bytes::Bytes;
use nexus_core::{Adapter, InboundRequest, NormalizeContext, RawRecord};
use serde_json::Value;

/// One benchmark input: a provider, what it is, and the record to normalize.
#[derive(Debug, Clone)]
pub struct Input {
    /// Adapter id (`terra`).
    pub provider: &'static str,
    /// Short name (`daily-1440hr`).
    pub name: &'static str,
    /// The record as the pipeline hands it to `normalize` (for push providers: the webhook body).
    pub record: RawRecord,
}

impl Input {
    /// The raw provider JSON bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.record.body
    }
}

/// `adapters/<id>/cases/<name>.json`, parsed.
pub fn load_case(provider: &str, name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "adapters",
        provider,
        "cases",
        &format!("{name}.json"),
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The request body of step `step` of a case, parsed.
pub fn step_body(case: &Value, step: usize) -> Value {
    let body = case["steps"][step]["request"]["body"]
        .as_str()
        .expect("the step has a text body");
    serde_json::from_str(body).expect("the step body is JSON")
}

/// The response body of exchange `ex` of step `step` of a case.
pub fn exchange_body(case: &Value, step: usize, ex: usize) -> Value {
    let body = &case["steps"][step]["exchanges"][ex]["response"]["body"];
    match body {
        Value::String(s) => serde_json::from_str(s).expect("the response body is JSON"),
        other => other.clone(),
    }
}

/// Epoch seconds of an RFC 3339 timestamp.
pub fn epoch_s(ts: &str) -> i64 {
    ts.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{ts}: {e}"))
        .as_second()
}

/// `epoch` formatted like `template`: same offset (`Z` or `+hh:mm`) and fractional digits.
pub fn format_like(template: &str, epoch: i64) -> String {
    let (offset_text, offset_s) = if let Some(stripped) = template.strip_suffix('Z') {
        let _ = stripped;
        ("Z".to_owned(), 0i32)
    } else {
        let tail = &template[template.len() - 6..];
        let sign = if tail.starts_with('-') { -1 } else { 1 };
        let h: i32 = tail[1..3].parse().expect("offset hours");
        let m: i32 = tail[4..6].parse().expect("offset minutes");
        (tail.to_owned(), sign * (h * 3600 + m * 60))
    };
    let frac_digits = template
        .split_once('.')
        .map(|(_, rest)| rest.bytes().take_while(u8::is_ascii_digit).count())
        .unwrap_or(0);
    let offset = jiff::tz::Offset::from_seconds(offset_s).expect("offset in range");
    let ts = jiff::Timestamp::from_second(epoch).expect("timestamp in range");
    let civil = offset.to_datetime(ts);
    let mut out = civil.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if frac_digits > 0 {
        out.push('.');
        out.extend(std::iter::repeat_n('0', frac_digits));
    }
    out.push_str(&offset_text);
    out
}

/// Replaces the array at `pointer` by `n` rows cycled from its current rows, the row field
/// `ts_field` set to `start + i * step_s` (formatted like the first row's timestamp).
pub fn fill_rows(
    root: &mut Value,
    pointer: &str,
    ts_field: &str,
    n: usize,
    start: i64,
    step_s: i64,
) {
    let arr = root
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("no array at {pointer}"));
    assert!(!arr.is_empty(), "{pointer} is empty");
    let template = arr[0][ts_field]
        .as_str()
        .unwrap_or_else(|| panic!("{pointer}/0/{ts_field} is not a string"))
        .to_owned();
    let rows: Vec<Value> = arr.clone();
    *arr = (0..n)
        .map(|i| {
            let mut row = rows[i % rows.len()].clone();
            row[ts_field] = Value::String(format_like(&template, start + i as i64 * step_s));
            row
        })
        .collect();
}

/// Replaces the array at `pointer` by `n` values cycled from its current values.
pub fn fill_values(root: &mut Value, pointer: &str, n: usize) {
    let arr = root
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("no array at {pointer}"));
    let vals = arr.clone();
    *arr = (0..n).map(|i| vals[i % vals.len()].clone()).collect();
}

fn bytes_of(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).expect("serializable"))
}

fn record(kind: &str, body: Bytes) -> RawRecord {
    RawRecord::new(kind, body)
}

/// Terra `daily` for one day: 1,440 per-minute heart-rate samples, 480 stress samples (3 min),
/// 96 step samples (15 min), 24 SpO2 samples, from the case `daily_heart_rate_overlap`.
pub fn terra_daily_day() -> Input {
    let case = load_case("terra", "daily_heart_rate_overlap");
    let mut body = step_body(&case, 0);
    let start = epoch_s(
        body["data"][0]["metadata"]["start_time"]
            .as_str()
            .expect("start_time"),
    );
    let d = "/data/0";
    fill_rows(
        &mut body,
        &format!("{d}/heart_rate_data/detailed/hr_samples"),
        "timestamp",
        1440,
        start,
        60,
    );
    fill_rows(
        &mut body,
        &format!("{d}/stress_data/samples"),
        "timestamp",
        480,
        start,
        180,
    );
    fill_rows(
        &mut body,
        &format!("{d}/distance_data/detailed/step_samples"),
        "timestamp",
        96,
        start,
        900,
    );
    fill_rows(
        &mut body,
        &format!("{d}/oxygen_data/saturation_samples"),
        "timestamp",
        24,
        start,
        3600,
    );
    Input {
        provider: "terra",
        name: "daily: 1440 HR + 480 stress + 96 steps",
        record: record("daily", bytes_of(&body)),
    }
}

/// Terra `sleep` for one night: 90 hypnogram samples (5 min), 450 per-minute heart-rate samples,
/// 90 HRV samples, from the case `sleep_half_hour_offset`.
pub fn terra_sleep_night() -> Input {
    let case = load_case("terra", "sleep_half_hour_offset");
    let mut body = step_body(&case, 0);
    let start = epoch_s(
        body["data"][0]["metadata"]["start_time"]
            .as_str()
            .expect("start_time"),
    );
    let d = "/data/0";
    fill_rows(
        &mut body,
        &format!("{d}/sleep_durations_data/hypnogram_samples"),
        "timestamp",
        90,
        start,
        300,
    );
    fill_rows(
        &mut body,
        &format!("{d}/heart_rate_data/detailed/hr_samples"),
        "timestamp",
        450,
        start,
        60,
    );
    fill_rows(
        &mut body,
        &format!("{d}/heart_rate_data/detailed/hrv_samples_rmssd"),
        "timestamp",
        90,
        start,
        300,
    );
    Input {
        provider: "terra",
        name: "sleep: 450 HR + 90 hypnogram + 90 HRV",
        record: record("sleep", bytes_of(&body)),
    }
}

/// Junction `daily.data.heartrate.created` for one day: 1,440 per-minute samples, from the case
/// `heartrate_overlapping_batches`.
pub fn junction_heartrate_day() -> Input {
    let case = load_case("junction", "heartrate_overlapping_batches");
    let mut body = step_body(&case, 0);
    let start = epoch_s(
        body["data"]["data"][0]["timestamp"]
            .as_str()
            .expect("timestamp"),
    );
    fill_rows(&mut body, "/data/data", "timestamp", 1440, start, 60);
    let kind = body["event_type"].as_str().expect("event_type").to_owned();
    Input {
        provider: "junction",
        name: "heartrate: 1440 samples",
        record: record(&kind, bytes_of(&body)),
    }
}

/// Junction `daily.data.sleep.*` summary as recorded (`sleep_revision`, step 0): a small document.
pub fn junction_sleep_summary() -> Input {
    let case = load_case("junction", "sleep_revision");
    let body = step_body(&case, 0);
    let kind = body["event_type"].as_str().expect("event_type").to_owned();
    Input {
        provider: "junction",
        name: "sleep summary (as recorded)",
        record: record(&kind, bytes_of(&body)),
    }
}

/// Oura `daily_activity` as fetched, with 1,440 per-minute MET values, from the case
/// `daily-activity-created`.
pub fn oura_daily_activity_day() -> Input {
    let case = load_case("oura", "daily-activity-created");
    let mut body = exchange_body(&case, 0, 0);
    fill_values(&mut body, "/met/items", 1440);
    Input {
        provider: "oura",
        name: "daily_activity: 1440 MET",
        record: record("daily_activity", bytes_of(&body)),
    }
}

/// Oura `sleep` as fetched (case `sleep-created`), heart rate and HRV at 5 minutes for 8 hours.
pub fn oura_sleep_night() -> Input {
    let case = load_case("oura", "sleep-created");
    let mut body = exchange_body(&case, 0, 0);
    fill_values(&mut body, "/heart_rate/items", 96);
    fill_values(&mut body, "/hrv/items", 96);
    Input {
        provider: "oura",
        name: "sleep: 96 HR + 96 HRV + hypnogram",
        record: record("sleep", bytes_of(&body)),
    }
}

/// Every benchmark input, by provider.
pub fn all_inputs() -> Vec<Input> {
    vec![
        terra_daily_day(),
        terra_sleep_night(),
        junction_heartrate_day(),
        junction_sleep_summary(),
        oura_daily_activity_day(),
        oura_sleep_night(),
    ]
}

/// The registered adapter with this id.
pub fn adapter(provider: &str) -> &'static dyn Adapter {
    nexus_core::registry::adapters()
        .into_iter()
        .find(|a| a.descriptor().id == provider)
        .unwrap_or_else(|| panic!("adapter {provider} is not linked"))
}

/// What a push provider's webhook looks like to `Adapter::parse`.
pub fn webhook_request(provider: &str, body: Bytes) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: format!("/webhooks/{provider}"),
        query: None,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

/// Normalizes `input` with its adapter; returns the number of items. Panics on an error, so a
/// benchmark never measures a fast failure.
pub fn normalize(adapter: &dyn Adapter, input: &Input) -> usize {
    let ctx = NormalizeContext {
        provider_user_id: Some("bench-user".into()),
    };
    match adapter.normalize(&input.record, &ctx) {
        Ok(n) => n.items.len(),
        Err(e) => panic!("{} {}: normalize failed: {e}", input.provider, input.name),
    }
}

// Link every adapter: `inventory` only sees registrations of crates that are linked.
use nexus_adapter_junction as _;
use nexus_adapter_oura as _;
use nexus_adapter_terra as _;

/// The envelope bodies (exact JSON bytes, as the outbox stores and sinks send them) that the
/// first delivery of `input` emits for a fresh connection: normalize, then the runtime's pure
/// dedupe + assemble step (`nexus_runtime::store::plan_group`).
pub fn envelope_bodies(input: &Input) -> Vec<Bytes> {
    use nexus_core::envelope::Recipient;
    use nexus_runtime::store::{ApplyGroup, plan_group};
    let adapter = adapter(input.provider);
    let ctx = NormalizeContext {
        provider_user_id: Some("bench-user".into()),
    };
    let n = adapter.normalize(&input.record, &ctx).expect("normalizes");
    let group = ApplyGroup {
        provider: input.provider.to_owned(),
        recipient: Recipient {
            tenant_id: "bench".into(),
            user_id: "user-1".into(),
            external_user_ref: "ext-1".into(),
            connection_id: "conn-bench-1".into(),
        },
        sources: Vec::new(),
        devices: n.devices,
        items: n
            .items
            .into_iter()
            .map(nexus_core::dedupe::PreparedItem::new)
            .collect(),
        sinks: vec!["main".into()],
    };
    let mut states = std::collections::HashMap::new();
    let (planned, _) = plan_group(group, &mut states, 1_786_700_000_000).expect("plans");
    planned.into_iter().map(|p| p.body).collect()
}
