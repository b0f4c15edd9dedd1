//! Nullability, field order and serde round trips of items and envelopes (EVENTS.md sections 1, 2
//! and 4), for every event type.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::items::Sample;
use crate::schema::{envelope_example, item_example, serialized_field_order};
use crate::testdata::{SPEC_COMMON, SPEC_ENVELOPE, T0, full_chunk, full_item, spec_fields};
use crate::{Device, Envelope, Source};

/// Body fields that are never null (the rest are `Option`s).
const NEVER_NULL: &[&str] = &[
    "date",
    "score_kind",
    "start_ts",
    "activity_type",
    "status",
    "deleted_event_type",
    "deleted_at",
    "columns",
    "samples",
];

fn expected_order(t: EventType) -> Vec<&'static str> {
    let mut v = SPEC_COMMON.to_vec();
    v.extend(spec_fields(t));
    v
}

fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(x: &T) -> T {
    let text = serde_json::to_string(x).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn an_item_with_every_option_none_has_every_field_as_null_in_spec_order() {
    for &t in EventType::ALL {
        let item = item_example(t);
        assert_eq!(serialized_field_order(&item), expected_order(t), "{t}");
        let json = serde_json::to_value(&item).unwrap();
        for (key, value) in json.as_object().unwrap() {
            let never_null = NEVER_NULL.contains(&key.as_str())
                || [
                    "event_type",
                    "data_version",
                    "source_id",
                    "provider_ref",
                    "payload_ts",
                    "revision",
                ]
                .contains(&key.as_str());
            if never_null {
                assert!(!value.is_null(), "{t}.{key} must never be null");
            } else {
                assert!(
                    value.is_null(),
                    "{t}.{key} should be null in the example, is {value}"
                );
            }
        }
        assert_eq!(json["event_type"], t.as_str());
        assert_eq!(json["data_version"], DATA_VERSION);
    }
}

#[test]
fn a_fully_populated_item_has_the_same_fields_in_the_same_order() {
    for &t in EventType::ALL {
        let item = full_item(t);
        assert_eq!(serialized_field_order(&item), expected_order(t), "{t}");
        let json = serde_json::to_value(&item).unwrap();
        for key in spec_fields(t) {
            assert!(!json[key].is_null(), "{t}.{key} is set in full_item");
        }
    }
}

#[test]
fn nested_objects_keep_every_field() {
    let json = serde_json::to_value(full_item(EventType::Activity)).unwrap();
    assert_eq!(
        json["heart_rate_zones"][1],
        json!({ "zone": 2, "min_bpm": null, "max_bpm": null, "duration_s": 3000.5 })
    );
    let json = serde_json::to_value(full_item(EventType::Sleep)).unwrap();
    let stage = serde_json::to_string(&json["stages"][0]).unwrap();
    assert_eq!(
        stage,
        format!(
            r#"{{"end_ts":{},"stage":"light","start_ts":{T0}}}"#,
            T0 + 600_000
        )
    );
    let text = serde_json::to_string(&full_item(EventType::Sleep)).unwrap();
    assert!(text.contains(&format!(
        r#"{{"stage":"light","start_ts":{T0},"end_ts":{}}}"#,
        T0 + 600_000
    )));
}

#[test]
fn every_item_type_round_trips_without_loss() {
    for &t in EventType::ALL {
        for item in [item_example(t), full_item(t)] {
            assert_eq!(round_trip(&item), item, "{t}");
            // Through a Value too (what sinks and stores do).
            let back: Item = serde_json::from_value(serde_json::to_value(&item).unwrap()).unwrap();
            assert_eq!(back, item, "{t} via Value");
        }
    }
}

#[test]
fn items_read_back_whatever_the_key_order() {
    let item = full_item(EventType::StressSeries);
    let json = serde_json::to_value(&item).unwrap();
    let mut keys: Vec<(String, Value)> = json.as_object().unwrap().clone().into_iter().collect();
    keys.reverse();
    let text = format!(
        "{{{}}}",
        keys.iter()
            .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(text.starts_with("{\"window_start\"") || text.starts_with("{\"scale_max\""));
    let back: Item = serde_json::from_str(&text).unwrap();
    assert_eq!(back, item);
}

#[test]
fn an_item_whose_body_does_not_fit_its_event_type_is_an_error() {
    let mut json = serde_json::to_value(full_item(EventType::Sleep)).unwrap();
    json["event_type"] = json!("daily_summary");
    let err = serde_json::from_value::<Item>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("daily_summary item"), "{err}");
    let mut json = serde_json::to_value(full_item(EventType::Sleep)).unwrap();
    json.as_object_mut().unwrap().remove("revision");
    assert!(serde_json::from_value::<Item>(json).is_err());
}

#[test]
fn envelope_fields_are_in_spec_order_and_round_trip() {
    for &t in EventType::ALL {
        let mut env = envelope_example(t);
        assert_eq!(serialized_field_order(&env), SPEC_ENVELOPE, "{t}");
        env.data.push(full_item(t));
        env.sources.push(Source {
            provider_notification_id: Some("n-1".into()),
            fetched_at: T0 + 5,
        });
        env.devices.push(Device {
            device_id: "dev_1".into(),
            name: Some("Ring".into()),
            model: Some("Gen3".into()),
            provider_device_id: Some("abc".into()),
        });
        assert_eq!(round_trip(&env), env, "{t}");
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            serialized_field_order(&env.sources[0]),
            ["provider_notification_id", "fetched_at"]
        );
        assert_eq!(
            serialized_field_order(&env.devices[0]),
            ["device_id", "name", "model", "provider_device_id"]
        );
        assert!(json["sources"][0]["provider_notification_id"].is_null());
        assert!(json["devices"][0]["name"].is_null());
        assert_eq!(json["schema_version"], "1.1");
    }
}

#[test]
fn an_empty_sources_list_is_an_empty_array() {
    let mut env: Envelope = envelope_example(EventType::Sleep);
    env.sources.clear();
    let json = serde_json::to_value(&env).unwrap();
    assert_eq!(json["sources"], json!([]));
}

#[test]
fn samples_keep_nulls_integers_and_fractions() {
    let chunk = full_chunk(EventType::StepsSeries);
    let text = serde_json::to_string(&chunk.samples).unwrap();
    assert_eq!(
        text,
        format!(
            "[[{T0},60,61.25],[{},61.25,null],[{},null,1000001.5]]",
            T0 + 60_000,
            T0 + 120_000
        )
    );
    let edge = vec![
        Sample {
            ts: -1,
            values: smallvec::smallvec![Some(-0.0), Some(-3.0), Some(0.1)],
        },
        Sample {
            ts: 0,
            values: smallvec::smallvec![Some(9_007_199_254_740_992.0), Some(1e300), None],
        },
        Sample {
            ts: i64::MAX,
            values: smallvec::smallvec![Some(f64::MIN_POSITIVE), Some(-1e-9), Some(72.0)],
        },
    ];
    let text = serde_json::to_string(&edge).unwrap();
    assert!(text.starts_with("[[-1,0,-3,0.1],"), "{text}");
    assert!(text.contains(",72]]"), "{text}");
    let back: Vec<Sample> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, edge);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn samples_round_trip(
        ts in any::<i64>(),
        values in prop::collection::vec(
            prop::option::of(prop_oneof![
                (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
                -1e12f64..1e12,
                prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
            ]),
            0..4,
        ),
    ) {
        let s = Sample::new(ts, &values);
        let back: Sample = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert_eq!(back, s);
    }
}

fn arb_value() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        -1e12f64..1e12,
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Flattened chunk bodies (`temperature_series`) go through serde's buffered content: values
    /// must survive that too.
    #[test]
    fn flattened_chunk_items_round_trip(
        rows in prop::collection::vec((any::<i64>(), arb_value()), 0..8),
        resolution in prop::option::of(-1e6f64..1e6),
    ) {
        let mut item = full_item(EventType::TemperatureSeries);
        let chunk = item.body.chunk_mut().unwrap();
        chunk.resolution_s = resolution;
        chunk.samples = rows.into_iter().map(|(ts, v)| Sample { ts, values: smallvec::smallvec![v] }).collect();
        prop_assert_eq!(round_trip(&item), item);
    }
}
