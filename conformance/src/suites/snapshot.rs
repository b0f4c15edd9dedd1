//! `snapshot`: every step ends as the case says. Envelope steps equal their reviewed snapshot
//! `<adapter>__<case>__<step>` (insta, `event_id`/`emitted_at` redacted) and request exactly the
//! recorded provider API exchanges; error steps fail with the expected error kind. Handshake steps
//! are the `handshake` suite's.

use nexus_core::Adapter;
use nexus_testkit::snapshot::{check as check_snapshot, snapshot_name};
use nexus_testkit::{Expect, LoadedCase, StepOutcome};

use super::{Verdict, skip};
use crate::report::Report;

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase, report: &Report) -> Result<Verdict, String> {
    let id = adapter.descriptor().id;
    let runs = nexus_testkit::run_case(adapter, case)?;
    let mut problems = Vec::new();
    let mut checked = 0;
    for (step, run) in case.case.steps.iter().zip(&runs) {
        let label = case.step_label(run.index);
        match &step.expect {
            Expect::Envelopes => {
                checked += 1;
                if !matches!(run.outcome, StepOutcome::Envelopes) {
                    problems.push(format!("{label} expects envelopes but {}", run.describe()));
                    continue;
                }
                if !run.unexpected_requests.is_empty() {
                    problems.push(format!("{label}: {}", run.describe()));
                }
                for unused in &run.unused_exchanges {
                    problems.push(format!(
                        "{label}: the recorded exchange `{unused}` was never requested by fetch"
                    ));
                }
                let name = snapshot_name(id, &case.name, run.index);
                match check_snapshot(
                    &case.snapshot_dir,
                    &name,
                    &case.path,
                    &case.case.description,
                    &run.envelopes,
                ) {
                    // Proven: the event types of a reviewed, matching snapshot.
                    Ok(()) => {
                        for env in &run.envelopes {
                            report.emitted(id, env.event_type);
                        }
                    }
                    Err(e) => problems.push(format!("{label}: {e}")),
                }
            }
            Expect::Error(kind) => {
                checked += 1;
                match run.error() {
                    Some((_, e)) if e.kind().as_str() == kind => {}
                    _ => problems.push(format!(
                        "{label} expects error `{kind}` but {}",
                        run.describe()
                    )),
                }
            }
            Expect::Handshake { .. } => {}
        }
    }
    if checked == 0 {
        return skip("the case has only handshake steps (see the handshake suite)");
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
