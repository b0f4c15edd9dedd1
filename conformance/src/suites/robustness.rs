//! `robustness`: generated mutations (see [`crate::mutate`]) of every body of every step that
//! expects envelopes - the inbound request and each recorded provider API response - run through
//! parse, fetch and normalize (verify is off: the mutated body no longer matches its signature).
//! Each must end in a typed error or an output with no silently wrong value:
//!
//! - never a panic, never an `internal` error; a `malformed_payload` error names the provider and
//!   the field;
//! - a truncated or non-UTF-8 body is an error, not an acknowledgement;
//! - an unknown event type is an error or emits nothing;
//! - where the output still has an item of the same `source_id`, no value of it changed into a
//!   stand-in: not `0`, `""`, `false` or `[]` for a removed, null or mistyped input; not a clamped
//!   number for a huge one; nothing but null for an impossible date.
//!
//! A case can document why its adapter is right on a mutation the suite flags with
//! `"robustness": {"skip": [{"mutation": ID or PREFIX*, "reason": "..."}]}`.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use nexus_core::{Adapter, ErrorKind};
use nexus_testkit::case::Exchange;
use nexus_testkit::{Expect, LoadedCase, Session, StepOptions, StepOutcome, StepRun};
use serde_json::Value;

use super::{Verdict, panic_message, skip};
use crate::compare::json;
use crate::mutate::{Kind, Mutation, mutations};

/// At most this many mutations run per case.
pub const MAX_PER_CASE: usize = 300;

const OPTIONS: StepOptions = StepOptions {
    verify: false,
    handshake: false,
};

struct Planned {
    step: usize,
    mutation: Mutation,
    /// `None`: the inbound request; `Some(j)`: exchange `j`'s response.
    exchange: Option<usize>,
}

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let mut plan: Vec<Planned> = Vec::new();
    for (i, step) in case.case.steps.iter().enumerate() {
        if step.expect != Expect::Envelopes {
            continue;
        }
        let request = step.request.to_inbound()?;
        for m in mutations(&format!("step{i}.request"), &request.body, true) {
            plan.push(Planned {
                step: i,
                mutation: m,
                exchange: None,
            });
        }
        for (j, ex) in step.exchanges.iter().enumerate() {
            let body = ex.response.body_bytes()?;
            if !(200..300).contains(&ex.response.status) {
                continue;
            }
            for m in mutations(&format!("step{i}.exchange{j}"), &body, false) {
                plan.push(Planned {
                    step: i,
                    mutation: m,
                    exchange: Some(j),
                });
            }
        }
    }
    if plan.is_empty() {
        return skip("the case has no step with a body to mutate");
    }
    if plan.len() > MAX_PER_CASE {
        let n = plan.len();
        let mut keep = Vec::with_capacity(MAX_PER_CASE);
        let mut it = plan.into_iter().enumerate();
        for k in 0..MAX_PER_CASE {
            let want = k * n / MAX_PER_CASE;
            for (idx, p) in it.by_ref() {
                if idx == want {
                    keep.push(p);
                    break;
                }
            }
        }
        plan = keep;
    }

    let id = adapter.descriptor().id;
    let mut session = Session::new(adapter, case)?;
    let mut baselines: HashMap<usize, HashMap<String, Value>> = HashMap::new();
    let mut problems = Vec::new();
    for p in plan {
        if case.case.robustness.skip_reason(&p.mutation.id).is_some() {
            continue;
        }
        let step = &case.case.steps[p.step];
        if let std::collections::hash_map::Entry::Vacant(e) = baselines.entry(p.step) {
            session.reset();
            let request = step.request.to_inbound()?;
            let run = session.run_step_with(
                p.step,
                step.now_ms,
                request,
                step.exchanges.clone(),
                OPTIONS,
            )?;
            if !matches!(run.outcome, StepOutcome::Envelopes) {
                return Err(format!(
                    "{} expects envelopes but without mutation it {}",
                    case.step_label(p.step),
                    run.describe()
                ));
            }
            e.insert(by_source_id(&run));
        }
        let mut request = step.request.to_inbound()?;
        let mut exchanges: Vec<Exchange> = step.exchanges.clone();
        match p.exchange {
            None => request.body = p.mutation.body.clone(),
            Some(j) => {
                if let Some(ex) = exchanges.get_mut(j) {
                    ex.response.body = None;
                    ex.response.body_base64 = Some(base64_encode(&p.mutation.body));
                }
            }
        }
        session.reset();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            session.run_step_with(p.step, step.now_ms, request, exchanges, OPTIONS)
        }));
        let run = match outcome {
            Ok(r) => r?,
            Err(panic) => {
                problems.push(format!(
                    "{}: panicked: {}",
                    p.mutation.id,
                    panic_message(&*panic)
                ));
                // The runtime may be left half-way; start over.
                session = Session::new(adapter, case)?;
                continue;
            }
        };
        let baseline = baselines.get(&p.step).cloned().unwrap_or_default();
        if let Some(problem) = judge(id, &p.mutation, &run, &baseline) {
            problems.push(format!("{}: {problem}", p.mutation.id));
        }
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        let n = problems.len();
        problems.truncate(25);
        let mut msg = problems.join("\n");
        if n > 25 {
            msg.push_str(&format!("\n... and {} more", n - 25));
        }
        msg.push_str(
            "\n(document a deliberate behaviour in the case: \"robustness\": {\"skip\": \
             [{\"mutation\": \"<id or prefix*>\", \"reason\": \"...\"}]})",
        );
        Err(msg)
    }
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn by_source_id(run: &StepRun) -> HashMap<String, Value> {
    run.normalized
        .iter()
        .map(|n| (n.item.source_id.clone(), json(&n.item)))
        .collect()
}

/// What is wrong with the outcome of one mutation, if anything.
fn judge(
    provider: &str,
    m: &Mutation,
    run: &StepRun,
    baseline: &HashMap<String, Value>,
) -> Option<String> {
    if let Some((stage, e)) = run.error() {
        if e.kind() == ErrorKind::Internal {
            return Some(format!("an `internal` error in {stage}: {e}"));
        }
        if e.kind() == ErrorKind::MalformedPayload
            && (e.provider() != Some(provider) || e.field().is_none())
        {
            return Some(format!(
                "the malformed_payload error from {stage} must name the provider ({provider}) and \
                 the field: {e}"
            ));
        }
        return None;
    }
    match m.kind {
        Kind::Truncated | Kind::NonUtf8 => {
            return Some(format!(
                "the {} body was accepted without an error ({} item(s))",
                if m.kind == Kind::Truncated {
                    "truncated"
                } else {
                    "non-UTF-8"
                },
                run.normalized.len()
            ));
        }
        Kind::UnknownEventType => {
            if !run.normalized.is_empty() {
                return Some(format!(
                    "an unknown event type produced {} item(s) instead of an \
                     `unsupported_event` error",
                    run.normalized.len()
                ));
            }
            return None;
        }
        _ => {}
    }
    for n in &run.normalized {
        let Some(before) = baseline.get(&n.item.source_id) else {
            continue;
        };
        let after = json(&n.item);
        let mut changes = Vec::new();
        changed_leaves("", before, &after, &mut changes);
        for (path, old, new) in changes {
            let wrong = match m.kind {
                Kind::Huge => new.as_f64().is_some_and(|x| x.abs() < 1e200),
                Kind::BadDate => !new.is_null(),
                _ => is_stand_in(&new),
            };
            if wrong {
                return Some(format!(
                    "{} `{}`: {path} was {old}, became {new} (a stand-in, not the provider's \
                     value: give null or an error)",
                    n.item.event_type(),
                    n.item.provider_ref
                ));
            }
        }
    }
    None
}

fn is_stand_in(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Leaves that differ between `a` and `b` (a leaf only in `b` counts as changed from null; one only
/// in `a` was dropped, which is not a wrong value). Samples compare by their `ts`.
fn changed_leaves(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, vb) in y {
                let p = format!("{path}.{k}");
                if k == "samples" {
                    let key = |v: &Value| v.get(0).map(|t| t.to_string()).unwrap_or_default();
                    let xa: HashMap<String, &Value> = x
                        .get(k)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|r| (key(r), r))
                        .collect();
                    for row in vb.as_array().into_iter().flatten() {
                        let before = xa.get(&key(row)).copied().unwrap_or(&Value::Null);
                        changed_leaves(&format!("{p}[ts={}]", key(row)), before, row, out);
                    }
                    continue;
                }
                changed_leaves(&p, x.get(k).unwrap_or(&Value::Null), vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if !y.is_empty() => {
            for (i, vb) in y.iter().enumerate() {
                changed_leaves(
                    &format!("{path}[{i}]"),
                    x.get(i).unwrap_or(&Value::Null),
                    vb,
                    out,
                );
            }
        }
        (Value::Null, Value::Array(y)) if !y.is_empty() => {
            for (i, vb) in y.iter().enumerate() {
                changed_leaves(&format!("{path}[{i}]"), &Value::Null, vb, out);
            }
        }
        _ => {
            if a != b {
                out.push((path.to_owned(), a.clone(), b.clone()));
            }
        }
    }
}
