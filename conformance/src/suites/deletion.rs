//! `deletion` (cases that declare it): a provider delete emits a `deletion` item carrying the
//! deleted item's `source_id` (the one emitted earlier in the case, or the documented hash of the
//! deleted type and native id), of the deleted item's type, in the deleted type's stream.

use std::collections::HashMap;

use nexus_core::identity::source_id;
use nexus_core::{Adapter, EventType, ItemBody};
use nexus_testkit::{LoadedCase, SequenceSuite};

use super::{Verdict, envelope_steps, item_label, run_sound, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    if !case.declares(SequenceSuite::Deletion) {
        return skip("the case does not declare `deletion`");
    }
    let id = adapter.descriptor().id;
    let runs = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    let mut live: HashMap<String, EventType> = HashMap::new();
    let mut deletions = 0;
    for (_, run) in envelope_steps(case, &runs) {
        let label = case.step_label(run.index);
        for env in &run.envelopes {
            for item in &env.data {
                let ItemBody::Deletion(d) = &item.body else {
                    live.insert(item.source_id.clone(), item.event_type());
                    continue;
                };
                deletions += 1;
                let what = item_label(item);
                if env.stream != d.deleted_event_type.stream() {
                    problems.push(format!(
                        "{label}: {what}: travels in stream {}, the deleted type {} is in {}",
                        env.stream,
                        d.deleted_event_type,
                        d.deleted_event_type.stream()
                    ));
                }
                match live.get(&item.source_id) {
                    Some(t) if *t != d.deleted_event_type => problems.push(format!(
                        "{label}: {what}: deletes a {t} item but says deleted_event_type {}",
                        d.deleted_event_type
                    )),
                    Some(_) => {}
                    None => {
                        let expected = source_id(d.deleted_event_type, id, &item.provider_ref);
                        if item.source_id != expected {
                            problems.push(format!(
                                "{label}: {what}: carries no source_id emitted in this case and not \
                                 sha256_hex(\"{}:{id}:{}\"): it deletes nothing a consumer has",
                                d.deleted_event_type, item.provider_ref
                            ));
                        }
                    }
                }
                live.remove(&item.source_id);
            }
        }
    }
    if deletions == 0 {
        problems.push("the case declares `deletion` but no `deletion` item was emitted".to_owned());
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
