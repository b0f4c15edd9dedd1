//! `handshake`: a step that expects a handshake is answered by `Adapter::handshake` with the
//! recorded status (and body, when the case pins it); the adapter does not mistake the case's
//! other requests for handshakes.

use nexus_core::Adapter;
use nexus_testkit::{Expect, LoadedCase, SequenceSuite, StepOutcome};

use super::{Verdict, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let has = case
        .case
        .steps
        .iter()
        .any(|s| matches!(s.expect, Expect::Handshake { .. }));
    if !has {
        if case.declares(SequenceSuite::Handshake) {
            return Err("the case declares `handshake` but no step expects one".to_owned());
        }
        return skip("the case has no handshake step");
    }
    let runs = nexus_testkit::run_case(adapter, case)?;
    let mut problems = Vec::new();
    for (step, run) in case.case.steps.iter().zip(&runs) {
        let label = case.step_label(run.index);
        match (&step.expect, &run.outcome) {
            (Expect::Handshake { status, body }, StepOutcome::Handshake(answer)) => {
                if answer.status != *status {
                    problems.push(format!(
                        "{label}: handshake answered HTTP {}, expected {status}",
                        answer.status
                    ));
                }
                if let Some(b) = body
                    && &answer.body != b
                {
                    problems.push(format!(
                        "{label}: handshake answered {:?}, expected {b:?}",
                        answer.body
                    ));
                }
            }
            (Expect::Handshake { status, .. }, _) => problems.push(format!(
                "{label} expects a handshake answer (HTTP {status}) but {}",
                run.describe()
            )),
            (_, StepOutcome::Handshake(answer)) => problems.push(format!(
                "{label} is not a handshake but was answered as one (HTTP {})",
                answer.status
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
