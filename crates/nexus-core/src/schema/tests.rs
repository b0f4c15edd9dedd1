use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::testdata::{SPEC_COMMON, SPEC_ENVELOPE, full_item, spec_fields};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).unwrap()
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errs = errors(v, instance);
    assert!(
        errs.is_empty(),
        "{what} should be valid: {errs:#?}\n{instance:#}"
    );
}

fn assert_invalid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    assert!(
        !v.is_valid(instance),
        "{what} should be rejected\n{instance:#}"
    );
}

#[test]
fn checked_in_schema_files_are_up_to_date() {
    let dir = schema_dir();
    if std::env::var_os("NEXUS_UPDATE_SCHEMAS").is_some_and(|v| v == "1") {
        write_all(&dir).unwrap();
    }
    if let Err(stale) = check_all(&dir) {
        panic!(
            "the schema files in {} are stale or missing: {stale:?}\n\
             regenerate them with `cargo xtask codegen` \
             (or `NEXUS_UPDATE_SCHEMAS=1 cargo test -p nexus-core schema`) and commit the result",
            dir.display()
        );
    }
}

#[test]
fn check_all_reports_missing_changed_and_leftover_files() {
    let dir = std::env::temp_dir().join(format!("nexus-schema-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let all = check_all(&dir).unwrap_err();
    assert_eq!(all.len(), EventType::ALL.len() + 1, "{all:?}");

    write_all(&dir).unwrap();
    assert_eq!(check_all(&dir), Ok(()));

    std::fs::write(dir.join(item_path(EventType::Sleep)), "{}\n").unwrap();
    std::fs::write(dir.join("items/gone.schema.json"), "{}\n").unwrap();
    std::fs::write(dir.join("items/README.md"), "not a schema\n").unwrap();
    let problems = check_all(&dir).unwrap_err();
    assert_eq!(
        problems,
        vec![
            item_path(EventType::Sleep),
            "items/gone.schema.json".to_owned()
        ]
    );

    write_all(&dir).unwrap();
    assert_eq!(check_all(&dir), Ok(()));
    assert!(!dir.join("items/gone.schema.json").exists());
    assert!(
        dir.join("items/README.md").exists(),
        "only *.schema.json files are ours"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rendering_is_deterministic_pretty_and_ends_with_a_newline() {
    let a = rendered();
    let b = rendered();
    assert_eq!(a, b);
    for (path, text) in &a {
        assert!(text.ends_with("}\n"), "{path}");
        assert!(!text.ends_with("\n\n"), "{path}");
        let parsed: Value = serde_json::from_str(text).unwrap();
        let expected = all_schemas()
            .into_iter()
            .find(|(p, _)| p == path)
            .unwrap()
            .1;
        assert_eq!(parsed, expected, "{path}: rendering changed the content");
    }
    // Properties are written in wire order, not alphabetically.
    let (_, activity) = a
        .iter()
        .find(|(p, _)| *p == item_path(EventType::Activity))
        .unwrap();
    let pos = |k: &str| activity.find(&format!("\"{k}\": {{")).unwrap();
    assert!(pos("event_type") < pos("data_version"));
    assert!(pos("capture_mode") < pos("start_ts"));
    assert!(pos("start_ts") < pos("end_ts"));
    assert!(pos("avg_power_w") < pos("heart_rate_zones"));
}

#[test]
fn every_schema_is_valid_draft_2020_12() {
    for (path, schema) in all_schemas() {
        assert_eq!(schema["$schema"], DIALECT, "{path}");
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{path} is not a valid schema: {e}");
        }
        // Compiling resolves every $ref.
        validator(&schema);
    }
}

#[test]
fn item_schemas_list_the_common_fields_then_the_spec_fields_all_required() {
    for &t in EventType::ALL {
        let schema = item_schema(t);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = SPEC_COMMON.to_vec();
        expected.extend(spec_fields(t));
        assert_eq!(required, expected, "{t}");
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(
            props.len(),
            required.len(),
            "{t}: every property is required"
        );
        assert_eq!(schema["additionalProperties"], json!(false), "{t}");
        assert_eq!(
            schema["properties"]["event_type"]["const"],
            t.as_str(),
            "{t}"
        );
    }
}

#[test]
fn nested_objects_are_closed_and_require_every_field() {
    let env = envelope_schema();
    for (name, def) in env["$defs"].as_object().unwrap() {
        if let Some(props) = def.get("properties").and_then(Value::as_object) {
            let required = def["required"].as_array().unwrap();
            assert_eq!(required.len(), props.len(), "$defs/{name}");
            assert_eq!(def["additionalProperties"], json!(false), "$defs/{name}");
        }
    }
    let zone = &env["$defs"]["HeartRateZone"]["required"];
    assert_eq!(zone, &json!(["zone", "min_bpm", "max_bpm", "duration_s"]));
    let stage = &env["$defs"]["SleepStage"]["required"];
    assert_eq!(stage, &json!(["stage", "start_ts", "end_ts"]));
    assert_eq!(env["required"], json!(SPEC_ENVELOPE));
}

#[test]
fn item_files_and_the_envelope_share_their_definitions() {
    let env = envelope_schema();
    for &t in EventType::ALL {
        let item = item_schema(t);
        let mut inner = env["$defs"][item_def_name(t)].clone();
        let mut standalone = item.clone();
        standalone.as_object_mut().unwrap().remove("$schema");
        standalone.as_object_mut().unwrap().remove("$defs");
        inner.as_object_mut().unwrap().remove("$defs");
        assert_eq!(inner, standalone, "{t}");
        if let Some(defs) = item.get("$defs").and_then(Value::as_object) {
            for (name, def) in defs {
                assert_eq!(&env["$defs"][name], def, "{t}: $defs/{name}");
            }
        }
    }
}

#[test]
fn examples_with_every_option_null_validate() {
    for &t in EventType::ALL {
        let v = validator(&item_schema(t));
        let example = serde_json::to_value(item_example(t)).unwrap();
        assert_valid(&v, &example, &format!("{t} example"));
        let env = serde_json::to_value(envelope_example(t)).unwrap();
        assert_valid(
            &validator(&envelope_schema()),
            &env,
            &format!("{t} envelope example"),
        );
    }
}

#[test]
fn fully_populated_items_validate_alone_and_in_an_envelope() {
    let env_v = validator(&envelope_schema());
    for &t in EventType::ALL {
        let item = full_item(t);
        let json = serde_json::to_value(&item).unwrap();
        assert_valid(&validator(&item_schema(t)), &json, &format!("full {t}"));
        let mut env = envelope_example(t);
        env.stream = item.stream();
        env.data = vec![item.clone(), item];
        assert_valid(
            &env_v,
            &serde_json::to_value(&env).unwrap(),
            &format!("{t} envelope"),
        );
    }
}

#[test]
fn item_schemas_reject_missing_extra_and_mistyped_fields() {
    for &t in EventType::ALL {
        let v = validator(&item_schema(t));
        let good = serde_json::to_value(item_example(t)).unwrap();
        for field in good.as_object().unwrap().keys() {
            let mut missing = good.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert_invalid(&v, &missing, &format!("{t} without `{field}`"));
        }
        let mut extra = good.clone();
        extra["unexpected"] = json!(1);
        assert_invalid(&v, &extra, &format!("{t} with an extra field"));
        let mut other_type = good.clone();
        let other = if t == EventType::Sleep {
            "activity"
        } else {
            "sleep"
        };
        other_type["event_type"] = json!(other);
        assert_invalid(&v, &other_type, &format!("{t} with event_type {other}"));
        let mut bad_source = good.clone();
        bad_source["source_id"] = json!("ABC");
        assert_invalid(&v, &bad_source, &format!("{t} with a bad source_id"));
        let mut rev0 = good.clone();
        rev0["revision"] = json!(0);
        assert_invalid(&v, &rev0, &format!("{t} with revision 0"));
        let mut ts_string = good.clone();
        ts_string["payload_ts"] = json!("2023-11-15");
        assert_invalid(&v, &ts_string, &format!("{t} with a string payload_ts"));
    }
}

#[test]
fn timeseries_schemas_pin_columns_and_sample_width() {
    for &t in EventType::ALL.iter().filter(|t| t.is_timeseries()) {
        let v = validator(&item_schema(t));
        let good = serde_json::to_value(full_item(t)).unwrap();
        assert_valid(&v, &good, &format!("{t}"));
        let width = t.columns().len();

        let mut short = good.clone();
        short["samples"][0].as_array_mut().unwrap().pop();
        assert_invalid(&v, &short, &format!("{t} with a short sample"));
        let mut long = good.clone();
        long["samples"][0].as_array_mut().unwrap().push(json!(1));
        assert_invalid(&v, &long, &format!("{t} with a long sample"));
        let mut null_ts = good.clone();
        null_ts["samples"][0][0] = Value::Null;
        assert_invalid(&v, &null_ts, &format!("{t} with a null ts"));
        let mut text_value = good.clone();
        text_value["samples"][0][width - 1] = json!("72");
        assert_invalid(&v, &text_value, &format!("{t} with a string value"));
        let mut columns = good.clone();
        columns["columns"] = json!(["ts", "something_else"]);
        assert_invalid(&v, &columns, &format!("{t} with other columns"));
        let mut nulls = good.clone();
        nulls["samples"][0] = json!([crate::testdata::T0]);
        nulls["samples"][0]
            .as_array_mut()
            .unwrap()
            .extend(std::iter::repeat_n(Value::Null, width - 1));
        assert_valid(&v, &nulls, &format!("{t} with a sample of nulls"));
    }
}

#[test]
fn the_envelope_ties_items_and_stream_to_its_event_type() {
    let v = validator(&envelope_schema());
    let good = serde_json::to_value(envelope_example(EventType::Sleep)).unwrap();
    assert_valid(&v, &good, "sleep envelope");

    let mut mixed = good.clone();
    let activity = serde_json::to_value(item_example(EventType::Activity)).unwrap();
    mixed["data"].as_array_mut().unwrap().push(activity);
    assert_invalid(&v, &mixed, "a sleep envelope with an activity item");

    let mut wrong_stream = good.clone();
    wrong_stream["stream"] = json!("aggregate");
    assert_invalid(&v, &wrong_stream, "a sleep envelope in stream aggregate");

    let mut empty = good.clone();
    empty["data"] = json!([]);
    assert_invalid(&v, &empty, "an envelope without items");

    let mut version = good.clone();
    version["schema_version"] = json!("1.0");
    assert_invalid(&v, &version, "schema_version 1.0");

    for field in SPEC_ENVELOPE {
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove(*field);
        assert_invalid(&v, &missing, &format!("an envelope without `{field}`"));
    }
    let mut extra = good.clone();
    extra["extra"] = json!(true);
    assert_invalid(&v, &extra, "an envelope with an extra field");
    let mut device_extra = good.clone();
    device_extra["devices"][0]["serial"] = json!("x");
    assert_invalid(&v, &device_extra, "a device with an extra field");
    let mut source_missing = good.clone();
    source_missing["sources"][0]
        .as_object_mut()
        .unwrap()
        .remove("provider_notification_id");
    assert_invalid(
        &v,
        &source_missing,
        "a source without provider_notification_id",
    );
}

#[test]
fn a_deletion_travels_in_the_stream_of_the_deleted_type() {
    let v = validator(&envelope_schema());
    // item_example(Deletion) deletes an activity: stream session.
    let good = serde_json::to_value(envelope_example(EventType::Deletion)).unwrap();
    assert_eq!(good["stream"], "session");
    assert_valid(&v, &good, "deletion of an activity in session");
    let mut wrong = good.clone();
    wrong["stream"] = json!("timeseries");
    assert_invalid(&v, &wrong, "deletion of an activity in timeseries");

    let chunk = Item::deletion("oura", EventType::HeartRateSeries, "u1:-:0", 5);
    let mut env = envelope_example(EventType::Deletion);
    env.stream = chunk.stream();
    env.data = vec![chunk];
    let json = serde_json::to_value(&env).unwrap();
    assert_eq!(json["stream"], "timeseries");
    assert_valid(&v, &json, "deletion of a chunk in timeseries");
}

#[test]
fn assembled_envelopes_validate() {
    use crate::chunking::{SeriesSpec, chunk_samples};
    use crate::envelope::{Recipient, assemble};
    use crate::items::Sample;

    let device = crate::identity::device_id("oura", "ring-1");
    let mut spec = SeriesSpec::new("oura", EventType::StepsSeries, "u1");
    spec.device_native_id = Some("ring-1");
    spec.device_id = Some(device.clone());
    let t0 = crate::testdata::T0;
    let mut items = chunk_samples(
        &spec,
        vec![
            Sample::interval(t0, Some(60.0), 12.0),
            Sample::interval(t0 + 60_000, None, 7.5),
            Sample::interval(t0 + 20 * 60_000, Some(60.0), 3.0),
        ],
    );
    assert_eq!(items.len(), 2);
    items.push(full_item(EventType::Sleep).with_device(Some(device.clone())));
    items.push(Item::deletion("oura", EventType::Sleep, "s-0", t0));
    items.push(Item::deletion(
        "oura",
        EventType::DailySummary,
        "u1:2023-11-14",
        t0,
    ));
    let recipient = Recipient {
        tenant_id: "t".into(),
        user_id: "u".into(),
        external_user_ref: "ext".into(),
        connection_id: "c".into(),
    };
    let sources = [Source {
        provider_notification_id: Some("n-1".into()),
        fetched_at: t0,
    }];
    let devices = [Device {
        device_id: device,
        name: Some("Oura Ring".into()),
        model: None,
        provider_device_id: Some("ring-1".into()),
    }];
    let mut n = 0;
    let envelopes = assemble("oura", &recipient, &sources, &devices, items, t0, || {
        n += 1;
        format!("00000000-0000-4000-8000-00000000000{n}")
    });
    assert_eq!(
        envelopes.len(),
        4,
        "steps, sleep, deletion in session, deletion in aggregate"
    );
    let v = validator(&envelope_schema());
    for env in &envelopes {
        let json = serde_json::to_value(env).unwrap();
        assert_valid(&v, &json, &format!("{} envelope", env.event_type));
    }
}
