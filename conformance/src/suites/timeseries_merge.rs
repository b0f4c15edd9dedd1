//! `timeseries_merge` (cases that declare it): overlapping batches merge. Every emitted chunk holds
//! exactly the union of the samples normalized so far for its window, the latest value per `ts`
//! winning (the higher provider version where both samples have one, else the later arrival; so a
//! stale batch only fills gaps), sorted by `ts`, each `ts` once, inside
//! `[window_start, window_end)`, with the type's columns; and at least one chunk was re-emitted
//! whole with a new revision. The expected chunk is computed here independently of the dedupe
//! engine, from the normalized items of every step.

use std::collections::{BTreeMap, HashMap};

use nexus_core::Adapter;
use nexus_testkit::{LoadedCase, SequenceSuite};
use serde_json::Value;

use super::{Verdict, envelope_steps, item_label, run_sound, skip};
use crate::compare::json;

fn ts_of(row: &Value) -> Option<i64> {
    let t = row.get(0)?;
    t.as_i64().or_else(|| t.as_f64().map(|f| f as i64))
}

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    if !case.declares(SequenceSuite::TimeseriesMerge) {
        return skip("the case does not declare `timeseries_merge`");
    }
    let runs = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    // source_id -> ts -> (provider version, sample)
    type Rows = BTreeMap<i64, (Option<i64>, Value)>;
    let mut model: HashMap<String, Rows> = HashMap::new();
    let mut remerged = 0;
    for (_, run) in envelope_steps(case, &runs) {
        let label = case.step_label(run.index);
        for n in &run.normalized {
            if !n.item.event_type().is_timeseries() {
                continue;
            }
            let v = json(&n.item);
            let rows = model.entry(n.item.source_id.clone()).or_default();
            for row in v["samples"].as_array().into_iter().flatten() {
                let Some(ts) = ts_of(row) else { continue };
                let wins = match (rows.get(&ts), n.provider_version) {
                    (Some((Some(stored), _)), Some(incoming)) => incoming >= *stored,
                    _ => true,
                };
                if wins {
                    rows.insert(ts, (n.provider_version, row.clone()));
                }
            }
        }
        for item in run
            .emitted
            .iter()
            .filter(|i| i.event_type().is_timeseries())
        {
            let v = json(item);
            let what = item_label(item);
            let columns: Vec<&str> = v["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if columns != item.event_type().columns() {
                problems.push(format!(
                    "{label}: {what}: columns {columns:?}, the type's are {:?}",
                    item.event_type().columns()
                ));
            }
            let samples = v["samples"].as_array().cloned().unwrap_or_default();
            let ts: Vec<Option<i64>> = samples.iter().map(ts_of).collect();
            if ts.windows(2).any(|w| w[0] >= w[1]) {
                problems.push(format!(
                    "{label}: {what}: samples are not strictly sorted by ts (a sample twice?)"
                ));
            }
            let (start, end) = (v["window_start"].as_i64(), v["window_end"].as_i64());
            if let (Some(s), Some(e)) = (start, end)
                && ts.iter().any(|t| t.is_none_or(|t| t < s || t >= e))
            {
                problems.push(format!(
                    "{label}: {what}: a sample lies outside [window_start, window_end)"
                ));
            }
            if let Some(rows) = model.get(&item.source_id) {
                let want: Vec<Value> = rows.values().map(|(_, r)| r.clone()).collect();
                let diffs = nexus_testkit::snapshot::differences(
                    &Value::Array(want),
                    &Value::Array(samples),
                );
                if !diffs.is_empty() {
                    problems.push(format!(
                        "{label}: {what}: the chunk is not the merge of every batch so far \
                         (latest value per ts wins, emitted whole): expected vs emitted samples {}",
                        diffs.join("; ")
                    ));
                }
            }
            if item.revision > 1 {
                remerged += 1;
            }
        }
    }
    if remerged == 0 {
        problems.push(
            "the case declares `timeseries_merge` but no chunk was re-emitted with a new revision \
             (do two steps deliver overlapping samples of the same window?)"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
