//! JSON Schemas (draft 2020-12) of the envelope and every item type, generated from the Rust
//! types with `schemars`, then tightened to the contract of EVENTS.md:
//!
//! - every property is listed in `required` (the nullability rule: a value the provider does not
//!   give is `null`, never omitted), and a property of an `Option` field accepts `null`;
//! - `additionalProperties: false` on every object;
//! - an item schema has the common fields of EVENTS.md section 2 first, in that order, then its
//!   type's own fields in declaration order, and pins `event_type` with a `const`;
//! - a timeseries item pins `columns` to its type's columns and describes every sample as the
//!   array `[ts, value, ...]` of exactly that many entries.
//!
//! The files live in `schemas/` at the repository root: `envelope.schema.json` and
//! `items/<event_type>.schema.json`. `cargo xtask codegen` rewrites them with [`write_all`] and
//! `cargo xtask codegen --check` compares them with [`check_all`]; a test in this crate fails when
//! they are stale (`NEXUS_UPDATE_SCHEMAS=1 cargo test -p nexus-core schema` rewrites them).
//!
//! JSON objects have no order, but humans read these files, so [`render`] writes every
//! `properties` object in the order of its sibling `required` array (which is the wire order) and
//! schema keywords in a fixed order. The [`serde_json::Value`]s returned here carry the order only
//! in `required`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::envelope::{Device, Envelope, SCHEMA_VERSION, Source};
use crate::items::*;
use crate::{CaptureMode, DATA_VERSION, EventType, Item, ItemBody, Stream};

/// The JSON Schema dialect of every generated schema.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Path of the envelope schema, relative to the schema directory.
pub const ENVELOPE_PATH: &str = "envelope.schema.json";

/// The common item fields of EVENTS.md section 2, in wire order.
pub const COMMON_FIELDS: &[&str] = &[
    "event_type",
    "data_version",
    "source_id",
    "provider_ref",
    "device_id",
    "payload_ts",
    "revision",
    "capture_mode",
];

/// The envelope fields of EVENTS.md section 1, in wire order.
pub const ENVELOPE_FIELDS: &[&str] = &[
    "event_id",
    "schema_version",
    "event_type",
    "stream",
    "provider",
    "sources",
    "devices",
    "tenant_id",
    "user_id",
    "external_user_ref",
    "connection_id",
    "emitted_at",
    "data",
];

/// Path of the schema of items of `event_type`, relative to the schema directory:
/// `items/<event_type>.schema.json`.
pub fn item_path(event_type: EventType) -> String {
    format!("items/{event_type}.schema.json")
}

/// The `$defs` key under which the envelope schema holds the item schema of `event_type`.
pub fn item_def_name(event_type: EventType) -> String {
    format!("item_{event_type}")
}

// ---------------------------------------------------------------------------------------------
// Examples

/// An item of `event_type` with every `Option` field `None` (serialized: `null`) and placeholder
/// values for the fields that are never null (`date`, `start_ts`, `status`, ...). A timeseries
/// example has its type's columns and one sample whose values are all null. Used by
/// `nexus schema` and by tests; the values mean nothing.
pub fn item_example(event_type: EventType) -> Item {
    const TS: i64 = 1_700_006_400_000; // 2023-11-15T00:00:00Z
    const DATE: &str = "2023-11-15";
    let body = match event_type {
        EventType::Activity => ItemBody::Activity(Activity {
            start_ts: TS,
            end_ts: None,
            timezone: None,
            utc_offset_s: None,
            activity_type: ActivityType::Other,
            provider_activity_type: None,
            name: None,
            duration_s: None,
            moving_duration_s: None,
            distance_m: None,
            steps: None,
            calories_total_kcal: None,
            calories_active_kcal: None,
            avg_heart_rate_bpm: None,
            max_heart_rate_bpm: None,
            elevation_gain_m: None,
            avg_speed_mps: None,
            max_speed_mps: None,
            avg_power_w: None,
            heart_rate_zones: None,
        }),
        EventType::Sleep => ItemBody::Sleep(Sleep {
            start_ts: TS,
            end_ts: None,
            timezone: None,
            utc_offset_s: None,
            is_nap: None,
            in_bed_s: None,
            asleep_s: None,
            awake_s: None,
            light_s: None,
            deep_s: None,
            rem_s: None,
            latency_s: None,
            efficiency_pct: None,
            avg_heart_rate_bpm: None,
            min_heart_rate_bpm: None,
            avg_hrv_rmssd_ms: None,
            avg_hrv_sdnn_ms: None,
            avg_respiration_brpm: None,
            avg_spo2_pct: None,
            temp_deviation_c: None,
            score: None,
            stages: None,
        }),
        EventType::BodyMeasurement => ItemBody::BodyMeasurement(BodyMeasurement {
            weight_kg: None,
            height_m: None,
            bmi: None,
            body_fat_pct: None,
            muscle_mass_kg: None,
            bone_mass_kg: None,
            body_water_pct: None,
            lean_mass_kg: None,
        }),
        EventType::BloodPressure => ItemBody::BloodPressure(BloodPressure {
            systolic_mmhg: None,
            diastolic_mmhg: None,
            pulse_bpm: None,
        }),
        EventType::DailySummary => ItemBody::DailySummary(DailySummary {
            date: DATE.to_owned(),
            timezone: None,
            steps: None,
            distance_m: None,
            floors: None,
            calories_total_kcal: None,
            calories_active_kcal: None,
            active_minutes: None,
            sedentary_minutes: None,
            resting_heart_rate_bpm: None,
        }),
        EventType::DailyReadiness => ItemBody::DailyReadiness(DailyReadiness {
            date: DATE.to_owned(),
            timezone: None,
            score_kind: "oura_readiness".to_owned(),
            score: None,
            resting_heart_rate_bpm: None,
            hrv_rmssd_ms: None,
            temp_deviation_c: None,
        }),
        EventType::Nutrition => ItemBody::Nutrition(Nutrition {
            date: DATE.to_owned(),
            timezone: None,
            calories_kcal: None,
            protein_g: None,
            carbohydrates_g: None,
            fat_g: None,
            fiber_g: None,
            sugar_g: None,
            sodium_mg: None,
            water_ml: None,
        }),
        EventType::Menstruation => ItemBody::Menstruation(Menstruation {
            date: DATE.to_owned(),
            timezone: None,
            cycle_day: None,
            period_day: None,
            flow: None,
            phase: None,
        }),
        EventType::Profile => ItemBody::Profile(Profile {
            provider_user_id: None,
            birth_year: None,
            sex: None,
            height_m: None,
            weight_kg: None,
        }),
        EventType::Connection => ItemBody::Connection(Connection {
            status: ConnectionStatus::Connected,
            reason: None,
            scopes: None,
            scopes_added: None,
            scopes_removed: None,
            previous_provider_user_id: None,
            occurred_at: None,
        }),
        EventType::Sync => ItemBody::Sync(Sync {
            status: SyncStatus::Started,
            resource: None,
            range_start_ts: None,
            range_end_ts: None,
            expected_payloads: None,
            retry_at_ts: None,
            reference: None,
        }),
        EventType::Deletion => {
            return Item::deletion("example", EventType::Activity, "example-1", TS);
        }
        series => {
            let columns = series.columns();
            let chunk = TimeseriesChunk {
                window_start: None,
                window_end: None,
                chunk_index: None,
                day_complete: None,
                resolution_s: None,
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                samples: vec![Sample {
                    ts: TS,
                    values: smallvec::smallvec![None; columns.len().saturating_sub(1)],
                }],
            };
            match ItemBody::from_chunk(series, chunk) {
                Some(body) => body,
                // Unreachable: every type not matched above is a timeseries type. A profile
                // example keeps this total without a panic.
                None => return item_example(EventType::Profile),
            }
        }
    };
    Item::new("example", "example-1", TS, body)
}

/// An envelope around `item_example(event_type)`, with one source and one device whose optional
/// fields are null. Used by tests and `nexus schema`; the values mean nothing.
pub fn envelope_example(event_type: EventType) -> Envelope {
    let device_id = crate::identity::device_id("example", "device-1");
    let item = item_example(event_type).with_device(Some(device_id.clone()));
    Envelope {
        event_id: "00000000-0000-4000-8000-000000000000".to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        event_type,
        stream: item.stream(),
        provider: "example".to_owned(),
        sources: vec![Source {
            provider_notification_id: None,
            fetched_at: item.payload_ts,
        }],
        devices: vec![Device {
            device_id,
            name: None,
            model: None,
            provider_device_id: None,
        }],
        tenant_id: "tenant-1".to_owned(),
        user_id: "user-1".to_owned(),
        external_user_ref: "ext-1".to_owned(),
        connection_id: "conn-1".to_owned(),
        emitted_at: item.payload_ts,
        data: vec![item],
    }
}

// ---------------------------------------------------------------------------------------------
// Generation

/// The keys of the JSON object `value` serializes to, in serialization order (empty when it is
/// not an object). Our `Serialize` impls write fields in declaration order, so this is the wire
/// order.
pub fn serialized_field_order<T: Serialize>(value: &T) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                        keys.push(k);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::to_string(value)
        .ok()
        .and_then(|s| serde_json::from_str::<Keys>(&s).ok())
        .map(|k| k.0)
        .unwrap_or_default()
}

/// The common fields as a Rust type, so their schemas come from the same types as [`Item`]'s.
#[derive(JsonSchema)]
#[allow(dead_code)] // never built: only its derived schema is used
struct CommonFields {
    /// The item's event type; the same as the envelope's `event_type`.
    event_type: EventType,
    /// Version of this item type's shape.
    data_version: String,
    /// `sha256_hex(event_type + ":" + provider + ":" + provider_native_id)`, lowercase hex; for a
    /// `deletion`, the deleted item's.
    source_id: String,
    /// The raw provider id, or the composed native id.
    provider_ref: String,
    /// A `devices[].device_id` of the envelope, or null when the device is unknown.
    device_id: Option<String>,
    /// The authoritative time of this data point, epoch ms.
    payload_ts: i64,
    /// 1 on first delivery, +1 each time the normalized item changes. Consumers dedupe on
    /// `source_id` + `revision`.
    revision: u32,
    /// `manual`, `automatic`, or null when the provider gives no signal.
    capture_mode: Option<CaptureMode>,
}

/// A root schema of `T` split into the schema (without `$schema`, `$defs`) and its `$defs`.
fn generate<T: JsonSchema>() -> (Map<String, Value>, Map<String, Value>) {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.root_schema_for::<T>().to_value();
    let mut root = match schema {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    root.remove("$schema");
    let defs = match root.remove("$defs") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    (root, defs)
}

fn body_schema(event_type: EventType) -> (Map<String, Value>, Map<String, Value>) {
    match event_type {
        EventType::Activity => generate::<Activity>(),
        EventType::Sleep => generate::<Sleep>(),
        EventType::BodyMeasurement => generate::<BodyMeasurement>(),
        EventType::BloodPressure => generate::<BloodPressure>(),
        EventType::DailySummary => generate::<DailySummary>(),
        EventType::DailyReadiness => generate::<DailyReadiness>(),
        EventType::Nutrition => generate::<Nutrition>(),
        EventType::Menstruation => generate::<Menstruation>(),
        EventType::Profile => generate::<Profile>(),
        EventType::Connection => generate::<Connection>(),
        EventType::Sync => generate::<Sync>(),
        EventType::Deletion => generate::<Deletion>(),
        EventType::TemperatureSeries => generate::<TemperatureChunk>(),
        EventType::StressSeries => generate::<StressChunk>(),
        EventType::HeartRateSeries
        | EventType::HrvRmssdSeries
        | EventType::HrvSdnnSeries
        | EventType::StepsSeries
        | EventType::CaloriesSeries
        | EventType::DistanceSeries
        | EventType::Spo2Series
        | EventType::RespirationSeries
        | EventType::GlucoseSeries => generate::<TimeseriesChunk>(),
    }
}

/// Field order of the nested object types, from examples of them.
fn nested_field_orders() -> BTreeMap<&'static str, Vec<String>> {
    let mut orders = BTreeMap::new();
    orders.insert(
        "Source",
        serialized_field_order(&Source {
            provider_notification_id: None,
            fetched_at: 0,
        }),
    );
    orders.insert(
        "Device",
        serialized_field_order(&Device {
            device_id: String::new(),
            name: None,
            model: None,
            provider_device_id: None,
        }),
    );
    orders.insert(
        "HeartRateZone",
        serialized_field_order(&HeartRateZone {
            zone: 0,
            min_bpm: None,
            max_bpm: None,
            duration_s: None,
        }),
    );
    orders.insert(
        "SleepStage",
        serialized_field_order(&SleepStage {
            stage: SleepStageKind::Unknown,
            start_ts: 0,
            end_ts: 0,
        }),
    );
    orders
}

/// Makes an object schema closed: `required` lists every property (in `order`, then any others
/// sorted) and `additionalProperties` is false.
fn close_object(schema: &mut Map<String, Value>, order: &[String]) {
    let Some(Value::Object(props)) = schema.get("properties") else {
        return;
    };
    let mut required: Vec<Value> = Vec::with_capacity(props.len());
    for key in order {
        if props.contains_key(key) {
            required.push(Value::String(key.clone()));
        }
    }
    for key in props.keys() {
        if !order.contains(key) {
            required.push(Value::String(key.clone()));
        }
    }
    schema.insert("required".to_owned(), Value::Array(required));
    schema.insert("additionalProperties".to_owned(), Value::Bool(false));
}

fn close_defs(defs: &mut Map<String, Value>) {
    let orders = nested_field_orders();
    for (name, def) in defs.iter_mut() {
        if let Value::Object(def) = def {
            let order = orders.get(name.as_str()).cloned().unwrap_or_default();
            close_object(def, &order);
        }
    }
}

/// Every `$ref` target (`#/$defs/<name>`) used in `value`.
fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
                        out.insert(name.to_owned());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Drops the `$defs` nothing refers to (e.g. `Sample` after the per-type sample schema replaced it).
fn prune_defs(root: &Map<String, Value>, defs: &mut Map<String, Value>) {
    let mut live = BTreeSet::new();
    collect_refs(&Value::Object(root.clone()), &mut live);
    loop {
        let mut next = live.clone();
        for name in &live {
            if let Some(def) = defs.get(name) {
                collect_refs(def, &mut next);
            }
        }
        if next == live {
            break;
        }
        live = next;
    }
    defs.retain(|name, _| live.contains(name));
}

/// The per-type schema of one sample: `[ts, <column>...]`, exactly one entry per column.
fn sample_schema(event_type: EventType) -> Value {
    let columns = event_type.columns();
    let mut prefix = vec![json!({
        "description": "`ts`: sample time, epoch ms",
        "type": "integer"
    })];
    for column in columns.iter().skip(1) {
        prefix.push(json!({
            "description": format!("`{column}`"),
            "type": ["number", "null"]
        }));
    }
    json!({
        "description": format!("`[{}]`", columns.join(", ")),
        "type": "array",
        "prefixItems": prefix,
        "items": false,
        "minItems": columns.len(),
        "maxItems": columns.len()
    })
}

fn set(props: &mut Map<String, Value>, field: &str, key: &str, value: Value) {
    if let Some(Value::Object(p)) = props.get_mut(field) {
        p.insert(key.to_owned(), value);
    }
}

/// An item schema without `$schema`, and its `$defs`.
fn item_parts(event_type: EventType) -> (Map<String, Value>, Map<String, Value>) {
    let (common, mut defs) = generate::<CommonFields>();
    let (body, body_defs) = body_schema(event_type);
    for (k, v) in body_defs {
        defs.entry(k).or_insert(v);
    }

    let mut props = match common.get("properties") {
        Some(Value::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(body_props)) = body.get("properties") {
        for (k, v) in body_props {
            props.insert(k.clone(), v.clone());
        }
    }
    props.insert(
        "event_type".to_owned(),
        json!({
            "description": "The item's event type; the same as the envelope's `event_type`.",
            "type": "string",
            "const": event_type.as_str()
        }),
    );
    set(&mut props, "data_version", "const", json!(DATA_VERSION));
    set(&mut props, "source_id", "pattern", json!("^[0-9a-f]{64}$"));
    set(&mut props, "revision", "minimum", json!(1));
    if event_type.is_timeseries() {
        set(&mut props, "columns", "const", json!(event_type.columns()));
        if let Some(Value::Object(samples)) = props.get_mut("samples") {
            samples.insert("items".to_owned(), sample_schema(event_type));
        }
    }

    let stream = match event_type {
        EventType::Deletion => "the stream of the deleted type".to_owned(),
        t => format!("`{}`", t.stream()),
    };
    let body_doc = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut root = Map::new();
    root.insert("title".to_owned(), json!(format!("{event_type} item")));
    root.insert(
        "description".to_owned(),
        json!(format!(
            "One item of event type `{event_type}` (stream {stream}), Nexus data_version \
             {DATA_VERSION}: the common fields, then the type's own fields. {body_doc}"
        )),
    );
    root.insert("type".to_owned(), json!("object"));
    root.insert("properties".to_owned(), Value::Object(props));
    close_object(
        &mut root,
        &serialized_field_order(&item_example(event_type)),
    );
    close_defs(&mut defs);
    prune_defs(&root, &mut defs);
    (root, defs)
}

fn with_dialect(mut root: Map<String, Value>, defs: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("$schema".to_owned(), json!(DIALECT));
    out.append(&mut root);
    if !defs.is_empty() {
        out.insert("$defs".to_owned(), Value::Object(defs));
    }
    Value::Object(out)
}

/// The self-contained schema of one item of `event_type` (what `items/<event_type>.schema.json`
/// holds): the common fields in EVENTS.md order, then the type's fields; every property
/// required, `Option` fields nullable, no other properties; `event_type` a `const`.
pub fn item_schema(event_type: EventType) -> Value {
    let (root, defs) = item_parts(event_type);
    with_dialect(root, defs)
}

/// The schema of the envelope (what `envelope.schema.json` holds), one self-contained file.
///
/// Shape, and why: the items are a tagged union. `data.items` refers to `$defs/item`, a `oneOf`
/// over the item schemas (held in the same file as `$defs/item_<event_type>`), each of which pins
/// `event_type` with a `const`, so exactly one matches. That is the shape code generators in
/// other languages (quicktype, datamodel-code-generator, typify, ...) turn into a sum type or a
/// discriminated union, and it needs no resolver for external files: every `$ref` is local.
/// `oneOf` cannot say that every item has the envelope's `event_type` or which `stream` goes with
/// it, so an `allOf` of `if`/`then` rules (one per event type) adds exactly that; validators apply
/// it, generators can ignore it. A consumer that handles only some types can also take the
/// per-type files from [`item_schema`].
pub fn envelope_schema() -> Value {
    let (mut root, mut defs) = generate::<Envelope>();
    // `Source` and `Device`; the item definitions added below are closed already.
    close_defs(&mut defs);

    let mut props = match root.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    set(&mut props, "schema_version", "const", json!(SCHEMA_VERSION));
    set(&mut props, "event_id", "format", json!("uuid"));
    props.insert(
        "data".to_owned(),
        json!({
            "description": "One or more items, all of the envelope's `event_type`.",
            "type": "array",
            "minItems": 1,
            "items": { "$ref": "#/$defs/item" }
        }),
    );
    root.insert("properties".to_owned(), Value::Object(props));
    close_object(
        &mut root,
        &serialized_field_order(&envelope_example(EventType::Activity)),
    );
    root.insert("title".to_owned(), json!("Nexus event envelope"));
    root.insert(
        "description".to_owned(),
        json!(format!(
            "One emitted Nexus event, schema_version {SCHEMA_VERSION}: routing fields and one or \
             more items of one event type. Consumers dedupe on `source_id` + `revision` of the \
             items, never on `event_id`."
        )),
    );

    let mut one_of = Vec::new();
    let mut rules = Vec::new();
    for &t in EventType::ALL {
        let (item_root, item_defs) = item_parts(t);
        for (k, v) in item_defs {
            defs.entry(k).or_insert(v);
        }
        defs.insert(item_def_name(t), Value::Object(item_root));
        one_of.push(json!({ "$ref": format!("#/$defs/{}", item_def_name(t)) }));
        rules.push(type_rule(t));
    }
    defs.insert(
        "item".to_owned(),
        json!({
            "description": "Any item, told apart by its `event_type`.",
            "oneOf": one_of
        }),
    );
    root.insert("allOf".to_owned(), Value::Array(rules));
    with_dialect(root, defs)
}

/// The `if`/`then` rule tying `stream` and the items' `event_type` to the envelope's `event_type`.
fn type_rule(t: EventType) -> Value {
    let condition = json!({
        "properties": { "event_type": { "const": t.as_str() } },
        "required": ["event_type"]
    });
    let items = json!({ "properties": { "event_type": { "const": t.as_str() } } });
    if t != EventType::Deletion {
        return json!({
            "if": condition,
            "then": {
                "properties": {
                    "stream": { "const": t.stream().as_str() },
                    "data": { "items": items }
                }
            }
        });
    }
    // A deletion travels in the stream of the deleted type.
    let streams = [
        Stream::Session,
        Stream::Snapshot,
        Stream::Timeseries,
        Stream::Aggregate,
        Stream::Profile,
    ];
    let per_stream: Vec<Value> = streams
        .iter()
        .map(|s| {
            let types: Vec<&str> = EventType::ALL
                .iter()
                .filter(|d| **d != EventType::Deletion && d.stream() == *s)
                .map(|d| d.as_str())
                .collect();
            json!({
                "if": {
                    "properties": { "stream": { "const": s.as_str() } },
                    "required": ["stream"]
                },
                "then": {
                    "properties": {
                        "data": {
                            "items": { "properties": { "deleted_event_type": { "enum": types } } }
                        }
                    }
                }
            })
        })
        .collect();
    json!({
        "if": condition,
        "then": {
            "properties": { "data": { "items": items } },
            "allOf": per_stream
        }
    })
}

/// Every schema file: `(path relative to the schema directory, schema)`, the envelope first, then
/// the items in the order of [`EventType::ALL`].
pub fn all_schemas() -> Vec<(String, Value)> {
    let mut out = vec![(ENVELOPE_PATH.to_owned(), envelope_schema())];
    for &t in EventType::ALL {
        out.push((item_path(t), item_schema(t)));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering and files

const KEYWORD_ORDER: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "$ref",
    "type",
    "const",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "additionalProperties",
    "prefixItems",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "if",
    "then",
    "else",
    "$defs",
];

/// The file text of a schema: pretty-printed (two-space indent), `properties` in the order of
/// their sibling `required`, schema keywords in a fixed order, anything else sorted; ends with a
/// newline. Deterministic.
pub fn render(schema: &Value) -> String {
    let mut out = String::new();
    write_value(schema, None, 0, &mut out);
    out.push('\n');
    out
}

fn write_value(value: &Value, required: Option<&[Value]>, indent: usize, out: &mut String) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            let keys = ordered_keys(m, required);
            let inner_required = match m.get("required") {
                Some(Value::Array(r)) => Some(r.as_slice()),
                _ => None,
            };
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                push_indent(indent + 1, out);
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push_str(": ");
                let child = &m[key.as_str()];
                // `properties` is ordered by the sibling `required`; a property named
                // `properties` inside it is a field, so the hint applies one level only.
                let hint = if *key == "properties" && required.is_none() {
                    inner_required
                } else {
                    None
                };
                write_value(child, hint, indent + 1, out);
                if i + 1 < keys.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            push_indent(indent, out);
            out.push('}');
        }
        Value::Array(a) if !a.is_empty() => {
            out.push_str("[\n");
            for (i, v) in a.iter().enumerate() {
                push_indent(indent + 1, out);
                write_value(v, None, indent + 1, out);
                if i + 1 < a.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            push_indent(indent, out);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn push_indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Keys of `m` in rendering order: by `required` for a `properties` object, else schema keywords
/// first in [`KEYWORD_ORDER`], then the rest sorted.
fn ordered_keys<'a>(m: &'a Map<String, Value>, required: Option<&[Value]>) -> Vec<&'a String> {
    let rank = |k: &String| -> usize {
        match required {
            Some(r) => r.iter().position(|v| v.as_str() == Some(k)),
            None => KEYWORD_ORDER.iter().position(|w| *w == k),
        }
        .unwrap_or(usize::MAX)
    };
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    keys
}

/// Every schema file rendered: `(relative path, file text)`, in the order of [`all_schemas`].
pub fn rendered() -> Vec<(String, String)> {
    all_schemas()
        .into_iter()
        .map(|(path, schema)| (path, render(&schema)))
        .collect()
}

/// The `*.schema.json` files under `dir` (top level and `items/`), as relative paths.
fn existing_schema_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for sub in ["", "items"] {
        let d = if sub.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(sub)
        };
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".schema.json") {
                out.push(if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes every schema file under `dir` (usually `<repo>/schemas`), creating directories, leaving
/// files that are already up to date untouched, and removing `*.schema.json` files there that are
/// no longer generated (e.g. of a renamed type).
pub fn write_all(dir: &Path) -> io::Result<()> {
    let files = rendered();
    std::fs::create_dir_all(dir.join("items"))?;
    for (rel, text) in &files {
        let path = dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
        }
    }
    for rel in existing_schema_files(dir)? {
        if !files.iter().any(|(p, _)| *p == rel) {
            std::fs::remove_file(dir.join(&rel))?;
        }
    }
    Ok(())
}

/// Compares the schema files under `dir` with what [`write_all`] would write. `Err` lists, as
/// paths relative to `dir`, every file that is missing, differs, or is a `*.schema.json` that is
/// no longer generated; an unreadable directory is reported as its own entry.
pub fn check_all(dir: &Path) -> Result<(), Vec<String>> {
    let files = rendered();
    let mut problems = Vec::new();
    for (rel, text) in &files {
        if std::fs::read_to_string(dir.join(rel)).ok().as_deref() != Some(text.as_str()) {
            problems.push(rel.clone());
        }
    }
    match existing_schema_files(dir) {
        Ok(existing) => {
            for rel in existing {
                if !files.iter().any(|(p, _)| *p == rel) {
                    problems.push(rel);
                }
            }
        }
        Err(e) => problems.push(format!("{} (unreadable: {e})", dir.display())),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
