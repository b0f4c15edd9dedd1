//! `out_of_order` (cases that declare it, or mark a step `stale`): a step that re-delivers an
//! older version of a record emits nothing for that record, because the adapter passes the
//! provider's modification time (`Normalized::push_versioned`) and the dedupe stage drops it.
//! (Timeseries chunks are never dropped whole - an older batch may fill gaps - so their samples
//! are the `timeseries_merge` suite's.)

use std::collections::HashSet;

use nexus_core::Adapter;
use nexus_testkit::{LoadedCase, SequenceSuite};

use super::{Verdict, envelope_steps, item_label, run_sound, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let declared = case.declares(SequenceSuite::OutOfOrder);
    let any_stale = case.case.steps.iter().any(|s| s.stale);
    if !declared && !any_stale {
        return skip("the case does not declare `out_of_order`");
    }
    if !any_stale {
        return Err(
            "the case declares `out_of_order` but no step is marked `\"stale\": true`".to_owned(),
        );
    }
    let runs = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (step, run) in envelope_steps(case, &runs) {
        let label = case.step_label(run.index);
        if step.stale {
            let older: Vec<_> = run
                .normalized
                .iter()
                .filter(|n| seen.contains(&n.item.source_id))
                .collect();
            if older.is_empty() {
                problems.push(format!(
                    "{label} is marked stale but normalizes no record emitted before"
                ));
            }
            for n in older
                .into_iter()
                .filter(|n| !n.item.event_type().is_timeseries())
            {
                if run.emitted.iter().any(|e| e.source_id == n.item.source_id) {
                    let hint = if n.provider_version.is_none() {
                        " (the adapter gives no provider version: use push_versioned with the \
                         provider's modification time)"
                    } else {
                        ""
                    };
                    problems.push(format!(
                        "{label} re-delivers an older version but {} was emitted{hint}",
                        item_label(&n.item)
                    ));
                }
            }
        }
        for e in &run.emitted {
            seen.insert(e.source_id.clone());
        }
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
