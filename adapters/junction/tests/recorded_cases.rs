//! Runs every recorded case in `cases/` on the testkit runner (the conformance harness's: verify,
//! parse, fetch against the case's recorded exchanges on a loopback server, normalize, the
//! nexus-core dedupe engine with one state per case) and checks the (event type, revision) of
//! every emitted item against the table below, nothing emitted for a stale step, and the expected
//! error kinds. The reviewed envelope snapshots (and that every device an item refers to is listed)
//! are the conformance harness's checks.

// Test code: a broken case file or a wrong outcome must fail the test loudly, so unwrap and panic
// are the right tools here (the lints guard provider input in library code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;

use nexus_adapter_junction::JunctionAdapter;
use nexus_testkit::{Expect, StepOutcome, load_cases, run_case};

/// (event type, revision) of every item emitted by one step.
type Emitted = Vec<(String, u32)>;

fn expected() -> HashMap<&'static str, Vec<Emitted>> {
    let e =
        |v: &[(&str, u32)]| -> Emitted { v.iter().map(|(t, r)| ((*t).to_owned(), *r)).collect() };
    let none = Emitted::new;
    HashMap::from([
        (
            "activity_revisions",
            vec![
                e(&[("daily_summary", 1)]),
                none(),
                e(&[("daily_summary", 2)]),
                none(),
            ],
        ),
        (
            "sleep_revision",
            vec![e(&[("sleep", 1)]), e(&[("sleep", 2)])],
        ),
        ("workouts_created", vec![e(&[("activity", 1)])]),
        ("body_created", vec![e(&[("body_measurement", 1)])]),
        ("profile_created", vec![e(&[("profile", 1)])]),
        ("meal_created", vec![e(&[("nutrition", 1)])]),
        (
            "menstrual_cycle_created",
            vec![e(&[("menstruation", 1); 4])],
        ),
        (
            "heartrate_overlapping_batches",
            vec![
                e(&[("heart_rate_series", 1)]),
                e(&[("heart_rate_series", 2), ("heart_rate_series", 1)]),
                none(),
            ],
        ),
        (
            "steps_bucket_update",
            vec![
                e(&[("steps_series", 1), ("steps_series", 1)]),
                e(&[("steps_series", 2)]),
            ],
        ),
        ("hrv_created", vec![e(&[("hrv_rmssd_series", 1)])]),
        (
            "hrv_sdnn_kept_apart",
            vec![e(&[("hrv_rmssd_series", 1)]), e(&[("hrv_sdnn_series", 1)])],
        ),
        (
            "calories_active_created",
            vec![e(&[("calories_series", 1)])],
        ),
        ("distance_created", vec![e(&[("distance_series", 1)])]),
        (
            "glucose_created",
            vec![e(&[("glucose_series", 1), ("glucose_series", 1)])],
        ),
        ("blood_oxygen_created", vec![e(&[("spo2_series", 1)])]),
        (
            "respiratory_rate_created",
            vec![e(&[("respiration_series", 1)])],
        ),
        (
            "temperature_created",
            vec![
                e(&[("temperature_series", 1)]),
                e(&[("temperature_series", 1)]),
            ],
        ),
        ("stress_level_created", vec![e(&[("stress_series", 1)])]),
        ("blood_pressure_created", vec![e(&[("blood_pressure", 1)])]),
        (
            "weight_and_fat_created",
            vec![e(&[("body_measurement", 1)]), e(&[("body_measurement", 1)])],
        ),
        ("calories_basal_acknowledged", vec![none()]),
        (
            "workout_stream_fetched",
            // HR windows 10:30, 10:45, 11:00; distance intervals start 10:35-10:55.
            vec![e(&[
                ("heart_rate_series", 1),
                ("heart_rate_series", 1),
                ("heart_rate_series", 1),
                ("distance_series", 1),
                ("distance_series", 1),
            ])],
        ),
        ("workout_stream_not_found", vec![none()]),
        ("workout_stream_rate_limited", vec![none()]),
        (
            "historical_pulls_completed",
            vec![e(&[("sync", 1)]), e(&[("sync", 1)])],
        ),
        (
            "connection_created_then_error",
            vec![e(&[("connection", 1)]), e(&[("connection", 2)])],
        ),
        ("bad_tampered_signature", vec![none()]),
        ("bad_stale_timestamp", vec![none()]),
        ("bad_malformed_body", vec![none()]),
        ("bad_unsupported_event", vec![none()]),
        ("bad_sample_unit", vec![none()]),
    ])
}

#[test]
fn every_recorded_case_does_what_it_says() {
    let (cases, errors) = load_cases(&Path::new(env!("CARGO_MANIFEST_DIR")).join("cases"));
    assert!(errors.is_empty(), "{errors:?}");
    let table = expected();
    for case in &cases {
        let name = case.name.as_str();
        let want = table
            .get(name)
            .unwrap_or_else(|| panic!("{name}: no expectation in the table"));
        let runs = run_case(&JunctionAdapter, case).unwrap();
        assert_eq!(runs.len(), want.len(), "{name}: step count");
        for (run, step) in runs.iter().zip(&case.case.steps) {
            let i = run.index;
            match (&step.expect, &run.outcome) {
                (Expect::Error(kind), StepOutcome::Failed { error, .. }) => {
                    assert_eq!(error.kind().as_str(), kind, "{name} step {i}: {error}");
                }
                (Expect::Error(kind), _) => {
                    panic!("{name} step {i}: expected {kind}, got {}", run.describe())
                }
                (_, StepOutcome::Failed { stage, error }) => {
                    panic!("{name} step {i}: {stage} failed: {error}")
                }
                _ => {
                    // `JUNCTION_CASES_DUMP=1 cargo test ... -- --nocapture` prints the items for review.
                    if std::env::var_os("JUNCTION_CASES_DUMP").is_some() {
                        eprintln!(
                            "== {name} step {i}\n{}",
                            serde_json::to_string_pretty(&run.emitted).unwrap()
                        );
                    }
                    let emitted: Emitted = run
                        .emitted
                        .iter()
                        .map(|it| (it.event_type().as_str().to_owned(), it.revision))
                        .collect();
                    if step.stale {
                        assert!(
                            emitted.is_empty(),
                            "{name} step {i}: a stale step emitted {emitted:?}"
                        );
                    }
                    assert_eq!(emitted, want[i], "{name} step {i}");
                }
            }
        }
    }
    assert_eq!(
        cases.len(),
        table.len(),
        "every expectation has a case file"
    );
}
