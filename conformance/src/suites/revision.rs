//! `revision` (cases that declare it): a changed record re-emits with `revision` = last + 1 and
//! only the changed items are re-emitted; a consumer folding the emitted items by `source_id`
//! ends at the latest normalized version of every record.

use std::collections::{BTreeMap, HashMap, HashSet};

use nexus_core::{Adapter, EventType};
use nexus_testkit::{LoadedCase, SequenceSuite};
use serde_json::Value;

use super::{Verdict, envelope_steps, item_label, run_sound, skip};
use crate::compare::content;

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    if !case.declares(SequenceSuite::Revision) {
        return skip("the case does not declare `revision`");
    }
    let runs = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    // source_id -> (revision, content) as last emitted
    let mut last: HashMap<String, (u32, Value)> = HashMap::new();
    // source_id -> content as last normalized (non-stale steps)
    let mut latest: HashMap<String, (Value, String)> = HashMap::new();
    let mut bumped = 0;
    let mut new_later: Vec<String> = Vec::new();
    // Per event type (sessions, snapshots, aggregates, profiles): was any item of it revised, and
    // which items of it appeared as new records after the first step.
    let mut revised_types: HashSet<EventType> = HashSet::new();
    let mut first_step_types: HashSet<EventType> = HashSet::new();
    let mut new_later_by_type: BTreeMap<EventType, Vec<String>> = BTreeMap::new();
    for (n, (step, run)) in envelope_steps(case, &runs).enumerate() {
        let label = case.step_label(run.index);
        for item in &run.emitted {
            let c = content(item);
            match last.get(&item.source_id) {
                Some((rev, prev)) => {
                    if item.revision != rev + 1 {
                        problems.push(format!(
                            "{label}: {} was last emitted as revision {rev}; the new version must be {}",
                            item_label(item),
                            rev + 1
                        ));
                    }
                    if *prev == c {
                        problems.push(format!(
                            "{label}: {} was re-emitted unchanged",
                            item_label(item)
                        ));
                    }
                    bumped += 1;
                    revised_types.insert(item.event_type());
                }
                None => {
                    if item.revision != 1 && item.event_type() != EventType::Deletion {
                        problems.push(format!(
                            "{label}: {} is new but has revision {}",
                            item_label(item),
                            item.revision
                        ));
                    }
                    if n > 0 {
                        new_later.push(format!("{label}: {}", item_label(item)));
                        new_later_by_type
                            .entry(item.event_type())
                            .or_default()
                            .push(format!("{label}: {}", item_label(item)));
                    } else {
                        first_step_types.insert(item.event_type());
                    }
                }
            }
            last.insert(item.source_id.clone(), (item.revision, c));
        }
        if !step.stale {
            for ni in &run.normalized {
                if ni.item.event_type().is_timeseries() {
                    continue; // merged chunks are the timeseries_merge suite's
                }
                latest.insert(
                    ni.item.source_id.clone(),
                    (content(&ni.item), item_label(&ni.item)),
                );
            }
        }
    }
    if bumped == 0 {
        let mut msg = "the case declares `revision` but no item was re-emitted with a new \
                       revision"
            .to_owned();
        if !new_later.is_empty() {
            msg.push_str(&format!(
                "; later steps emitted new source_ids instead (is the native id stable across \
                 versions of a record?): {}",
                new_later.join(", ")
            ));
        }
        problems.push(msg);
    }
    for (t, items) in &new_later_by_type {
        if t.is_timeseries()
            || *t == EventType::Deletion
            || revised_types.contains(t)
            || !first_step_types.contains(t)
        {
            continue;
        }
        problems.push(format!(
            "{t} items of later steps were emitted as new records (revision 1), never as a revision              of the {t} emitted first (is the native id stable across versions of a record?): {}",
            items.join(", ")
        ));
    }
    for (sid, (want, label)) in &latest {
        match last.get(sid) {
            Some((_, got)) if got == want => {}
            Some(_) => problems.push(format!(
                "a consumer folding by source_id does not end at the latest version of {label}"
            )),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        problems.sort();
        Err(problems.join("\n"))
    }
}
