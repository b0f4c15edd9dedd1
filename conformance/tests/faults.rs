//! The harness catches real faults. A correct FAKE adapter (`fake_sleep`) passes every suite on
//! its recorded cases; each deliberately broken variant fails the matching suite with a message
//! that says what is wrong.

// Test helpers outside #[test] fns: a failing test should stop loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod fake_sleep;

use std::path::{Path, PathBuf};

use fake_sleep::{FakeSleep, Fault};
use nexus_conformance::{Suite, Verdict, check_case};
use nexus_testkit::{LoadedCase, load_cases};

static GOOD: FakeSleep = FakeSleep { fault: Fault::None };
static DROPS_SCORE: FakeSleep = FakeSleep {
    fault: Fault::DropScore,
};
static WRONG_SOURCE_ID: FakeSleep = FakeSleep {
    fault: Fault::WrongSourceId,
};
static PANICS_ON_NULL: FakeSleep = FakeSleep {
    fault: Fault::PanicOnNullScore,
};
static ZERO_FOR_MISSING: FakeSleep = FakeSleep {
    fault: Fault::ZeroForMissingScore,
};
static UNSTABLE_NATIVE_ID: FakeSleep = FakeSleep {
    fault: Fault::UnstableNativeId,
};
static IGNORES_MISMATCH: FakeSleep = FakeSleep {
    fault: Fault::IgnoresSignatureMismatch,
};

static UNLISTED_DEVICE: FakeSleep = FakeSleep {
    fault: Fault::UnlistedDevice,
};
static CHUNK_ID_WITHOUT_WINDOW: FakeSleep = FakeSleep {
    fault: Fault::ChunkIdWithoutWindow,
};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_sleep/cases")
}

fn cases(dir: &Path) -> Vec<LoadedCase> {
    let (cases, errors) = load_cases(dir);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(cases.len(), 4);
    cases
}

fn case<'a>(cases: &'a [LoadedCase], name: &str) -> &'a LoadedCase {
    cases.iter().find(|c| c.name == name).unwrap()
}

/// A copy of the cases and snapshots in a temporary folder, so that a broken fake's failing
/// snapshot check (insta writes `.snap.new`) leaves the repository untouched.
fn scratch_copy() -> (tempfile::TempDir, Vec<LoadedCase>) {
    let tmp = tempfile::tempdir().unwrap();
    let src = cases_dir();
    std::fs::create_dir_all(tmp.path().join("snapshots")).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(src.join("snapshots")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "snap") {
            std::fs::copy(
                &p,
                tmp.path().join("snapshots").join(p.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let cases = cases(tmp.path());
    (tmp, cases)
}

fn failure(adapter: &'static FakeSleep, suite: Suite, case: &LoadedCase) -> String {
    match check_case(suite, adapter, case) {
        Err(msg) => msg,
        Ok(v) => panic!(
            "{:?} should fail {} on {}, got {v:?}",
            adapter.fault,
            suite.as_str(),
            case.name
        ),
    }
}

#[test]
fn the_correct_fake_passes_every_suite_on_every_case() {
    let cases = cases(&cases_dir());
    let mut ran = 0;
    for c in &cases {
        for &suite in Suite::PER_CASE {
            match check_case(suite, &GOOD, c) {
                Ok(Verdict::Pass) => ran += 1,
                Ok(Verdict::Skip(_)) => {}
                Err(e) => panic!("{}::{}: {e}", suite.as_str(), c.name),
            }
        }
    }
    // Every suite passes on at least one case.
    for &suite in Suite::PER_CASE {
        assert!(
            cases
                .iter()
                .any(|c| check_case(suite, &GOOD, c) == Ok(Verdict::Pass)),
            "no case exercises {}",
            suite.as_str()
        );
    }
    assert!(ran > 15, "{ran}");
}

#[test]
fn a_dropped_field_fails_the_snapshot_suite_naming_the_field() {
    let (_tmp, cases) = scratch_copy();
    let msg = failure(
        &DROPS_SCORE,
        Suite::Snapshot,
        case(&cases, "sleep-sequence"),
    );
    assert!(msg.contains("differs"), "{msg}");
    assert!(msg.contains(".score: snapshot 80"), "{msg}");
    assert!(msg.contains("now null"), "{msg}");
}

#[test]
fn a_wrong_source_id_fails_the_determinism_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &WRONG_SOURCE_ID,
        Suite::Determinism,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("source_id is not sha256_hex(\"sleep:fake_sleep:s-1\")"),
        "{msg}"
    );
}

#[test]
fn a_chunk_native_id_without_its_window_fails_the_determinism_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &CHUNK_ID_WITHOUT_WINDOW,
        Suite::Determinism,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("does not end with the chunk's window_start"),
        "{msg}"
    );
    assert!(!msg.contains("source_id is not"), "{msg}");
}

#[test]
fn a_panic_on_null_fails_the_robustness_suite_naming_the_mutation() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &PANICS_ON_NULL,
        Suite::Robustness,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("step0.exchange0:null:/score: panicked: score is null"),
        "{msg}"
    );
    // The correct fake gives errors or nulls for the same mutations.
    assert_eq!(
        check_case(Suite::Robustness, &GOOD, case(&cases, "sleep-sequence")),
        Ok(Verdict::Pass)
    );
}

#[test]
fn a_stand_in_for_a_missing_value_fails_the_robustness_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &ZERO_FOR_MISSING,
        Suite::Robustness,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("step0.exchange0:remove:/score: sleep `s-1`: .score was 80.0, became 0.0"),
        "{msg}"
    );
    assert!(
        msg.contains("a stand-in, not the provider's value"),
        "{msg}"
    );
}

#[test]
fn a_revision_not_bumped_fails_the_revision_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &UNSTABLE_NATIVE_ID,
        Suite::Revision,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("sleep items of later steps were emitted as new records (revision 1)"),
        "{msg}"
    );
    assert!(msg.contains("is the native id stable"), "{msg}");
}

#[test]
fn a_signature_check_that_accepts_a_tampered_body_fails_the_signature_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &IGNORES_MISMATCH,
        Suite::Signature,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("verify accepted the request with body byte"),
        "{msg}"
    );
    assert!(
        msg.contains("the signature must cover the raw body"),
        "{msg}"
    );
    // The recorded tampered request also fails the snapshot suite (it expects invalid_signature).
    let msg = failure(
        &IGNORES_MISMATCH,
        Suite::Snapshot,
        case(&cases, "bad-requests"),
    );
    assert!(msg.contains("expects error `invalid_signature`"), "{msg}");
}

#[test]
fn suites_that_do_not_apply_are_skipped_with_a_reason() {
    let cases = cases(&cases_dir());
    let bad = case(&cases, "bad-requests");
    for (suite, reason) in [
        (Suite::Revision, "the case does not declare `revision`"),
        (Suite::Handshake, "the case has no handshake step"),
        (Suite::Schema, "the case emits no envelope"),
    ] {
        assert_eq!(
            check_case(suite, &GOOD, bad),
            Ok(Verdict::Skip(reason.to_owned()))
        );
    }
}

#[test]
fn trials_are_one_flat_list_named_adapter_suite_case() {
    let report = std::sync::Arc::new(nexus_conformance::Report::default());
    let trials = nexus_conformance::Harness::new()
        .adapter(&GOOD, cases_dir())
        .trials(&report);
    let names: Vec<&str> = trials.iter().map(|t| t.name()).collect();
    // 4 cases x 11 per-case suites + 2 registry checks.
    assert_eq!(names.len(), 4 * Suite::PER_CASE.len() + 2, "{names:?}");
    for want in [
        "fake_sleep::snapshot::sleep-sequence",
        "fake_sleep::robustness::bad-requests",
        "fake_sleep::timeseries_merge::sleep-deleted",
        "fake_sleep::registry::unique_id",
        "fake_sleep::registry::event_types",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn a_device_the_adapter_did_not_list_fails_the_schema_suite() {
    let cases = cases(&cases_dir());
    let msg = failure(
        &UNLISTED_DEVICE,
        Suite::Schema,
        case(&cases, "sleep-sequence"),
    );
    assert!(
        msg.contains("refers to device fake-ring, which normalize did not list"),
        "{msg}"
    );
}
