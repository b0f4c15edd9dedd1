//! `idempotent_replay`: feeding a step a second time (the same request, the same provider API
//! responses, through fetch, normalize and dedupe again) emits nothing.

use nexus_core::Adapter;
use nexus_testkit::{Expect, LoadedCase, Session, StepOptions, StepOutcome};

use super::{Verdict, item_label, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let mut session = Session::new(adapter, case)?;
    let mut problems = Vec::new();
    let mut emitted = 0;
    for (i, step) in case.case.steps.iter().enumerate() {
        let label = case.step_label(i);
        let request = step.request.to_inbound()?;
        let first = session.run_step(i, step, request.clone(), StepOptions::default())?;
        if step.expect != Expect::Envelopes {
            continue;
        }
        if !matches!(first.outcome, StepOutcome::Envelopes) {
            return Err(format!(
                "{label} expects envelopes but {}",
                first.describe()
            ));
        }
        emitted += first.emitted.len();
        let again = session.run_step(i, step, request, StepOptions::default())?;
        if !matches!(again.outcome, StepOutcome::Envelopes) {
            problems.push(format!(
                "{label}: the same delivery a second time {}",
                again.describe()
            ));
            continue;
        }
        if !again.emitted.is_empty() {
            let list: Vec<String> = again.emitted.iter().map(item_label).collect();
            problems.push(format!(
                "{label}: the same delivery a second time emitted {} item(s) again \
                 (the normalized output must be identical for identical input): {}",
                list.len(),
                list.join(", ")
            ));
        }
    }
    if emitted == 0 {
        return skip("the case emits no item");
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
