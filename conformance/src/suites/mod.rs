//! The suites of `CONFORMANCE.md`, one file each. A suite checks one case (or, for `registry`, one
//! adapter) and returns [`Verdict::Pass`], [`Verdict::Skip`] with the reason it does not apply, or
//! an error message that says what is wrong.

use nexus_core::Adapter;
use nexus_testkit::LoadedCase;

use crate::report::Report;

pub mod deletion;
pub mod determinism;
pub mod handshake;
pub mod idempotent_replay;
pub mod out_of_order;
pub mod registry;
pub mod revision;
pub mod robustness;
pub mod schema;
pub mod signature;
pub mod snapshot;
pub mod timeseries_merge;

/// The outcome of a suite that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything the suite checks holds.
    Pass,
    /// The suite does not apply; the reason shows in the report.
    Skip(String),
}

/// Shorthand for a skip.
pub fn skip(reason: impl Into<String>) -> Result<Verdict, String> {
    Ok(Verdict::Skip(reason.into()))
}

/// Every suite, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// Case files load.
    Load,
    /// Envelopes equal the reviewed snapshots; expected errors happen.
    Snapshot,
    /// Envelopes and items validate against the published JSON Schema.
    Schema,
    /// Same input, same output; `source_id` is the documented hash.
    Determinism,
    /// Feeding a step twice emits nothing the second time.
    IdempotentReplay,
    /// A changed record re-emits with `revision` + 1.
    Revision,
    /// An older version after a newer one is not emitted.
    OutOfOrder,
    /// Overlapping timeseries batches merge.
    TimeseriesMerge,
    /// A provider delete emits a `deletion` for the right `source_id`.
    Deletion,
    /// The recorded request verifies; tampered ones do not.
    Signature,
    /// The subscription handshake gets its answer.
    Handshake,
    /// Generated mutations give typed errors, never panics or silently wrong items.
    Robustness,
    /// Registration, unique ids, declared event types.
    Registry,
}

impl Suite {
    /// The suites run on every case, in order.
    pub const PER_CASE: &'static [Suite] = &[
        Suite::Snapshot,
        Suite::Schema,
        Suite::Determinism,
        Suite::IdempotentReplay,
        Suite::Revision,
        Suite::OutOfOrder,
        Suite::TimeseriesMerge,
        Suite::Deletion,
        Suite::Signature,
        Suite::Handshake,
        Suite::Robustness,
    ];

    /// Every suite, in report order.
    pub const ALL: &'static [Suite] = &[
        Suite::Load,
        Suite::Snapshot,
        Suite::Schema,
        Suite::Determinism,
        Suite::IdempotentReplay,
        Suite::Revision,
        Suite::OutOfOrder,
        Suite::TimeseriesMerge,
        Suite::Deletion,
        Suite::Signature,
        Suite::Handshake,
        Suite::Robustness,
        Suite::Registry,
    ];

    /// The name in trial names and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Load => "load",
            Suite::Snapshot => "snapshot",
            Suite::Schema => "schema",
            Suite::Determinism => "determinism",
            Suite::IdempotentReplay => "idempotent_replay",
            Suite::Revision => "revision",
            Suite::OutOfOrder => "out_of_order",
            Suite::TimeseriesMerge => "timeseries_merge",
            Suite::Deletion => "deletion",
            Suite::Signature => "signature",
            Suite::Handshake => "handshake",
            Suite::Robustness => "robustness",
            Suite::Registry => "registry",
        }
    }
}

/// Runs `suite` on `case`.
pub fn check(
    suite: Suite,
    adapter: &'static dyn Adapter,
    case: &LoadedCase,
    report: &Report,
) -> Result<Verdict, String> {
    match suite {
        Suite::Snapshot => snapshot::check(adapter, case, report),
        Suite::Schema => schema::check(adapter, case),
        Suite::Determinism => determinism::check(adapter, case),
        Suite::IdempotentReplay => idempotent_replay::check(adapter, case),
        Suite::Revision => revision::check(adapter, case),
        Suite::OutOfOrder => out_of_order::check(adapter, case),
        Suite::TimeseriesMerge => timeseries_merge::check(adapter, case),
        Suite::Deletion => deletion::check(adapter, case),
        Suite::Signature => signature::check(adapter, case),
        Suite::Handshake => handshake::check(adapter, case),
        Suite::Robustness => robustness::check(adapter, case),
        Suite::Load | Suite::Registry => Ok(Verdict::Pass),
    }
}

/// The text of a panic payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs the whole case; an envelope step that did not run to the end is an error (the snapshot
/// suite reports it in detail), so sequence suites can assume the case itself is sound.
pub(crate) fn run_sound(
    adapter: &dyn Adapter,
    case: &LoadedCase,
) -> Result<Vec<nexus_testkit::StepRun>, String> {
    let runs = nexus_testkit::run_case(adapter, case)?;
    for (step, run) in case.case.steps.iter().zip(&runs) {
        if step.expect == nexus_testkit::Expect::Envelopes
            && !matches!(run.outcome, nexus_testkit::StepOutcome::Envelopes)
        {
            return Err(format!(
                "{} expects envelopes but {}",
                case.step_label(run.index),
                run.describe()
            ));
        }
    }
    Ok(runs)
}

/// The steps whose expectation is envelopes, with their runs.
pub(crate) fn envelope_steps<'a>(
    case: &'a LoadedCase,
    runs: &'a [nexus_testkit::StepRun],
) -> impl Iterator<Item = (&'a nexus_testkit::Step, &'a nexus_testkit::StepRun)> + 'a {
    case.case
        .steps
        .iter()
        .zip(runs)
        .filter(|(s, _)| s.expect == nexus_testkit::Expect::Envelopes)
}

/// `event_type source_id[..12] rev N` for messages.
pub(crate) fn item_label(item: &nexus_core::Item) -> String {
    format!(
        "{} `{}` (source_id {}.., revision {})",
        item.event_type(),
        item.provider_ref,
        item.source_id.get(..12).unwrap_or(&item.source_id),
        item.revision
    )
}
