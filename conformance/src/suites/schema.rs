//! `schema`: every envelope a case emits, and every item in it, validates against the published
//! JSON Schema (`nexus_core::schema`, checked in under `schemas/`), which requires every field of
//! the type (the nullability rule: null, never omitted); the envelope round-trips through the Rust
//! types, its items all have its `event_type` and stream, and their devices are in `devices`; and
//! every device an item refers to was listed by the adapter (`Normalized::devices`).

use nexus_core::{Adapter, Envelope};
use nexus_testkit::LoadedCase;
use serde_json::Value;

use super::{Verdict, envelope_steps, run_sound, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let runs = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    let mut seen = 0;
    for (_, run) in envelope_steps(case, &runs) {
        let label = case.step_label(run.index);
        // `assemble` gives an unlisted device a placeholder entry, so check what the adapter
        // itself listed in `Normalized::devices`.
        for ni in &run.normalized {
            if let Some(d) = &ni.item.device_id
                && !run.devices.iter().any(|x| &x.device_id == d)
            {
                problems.push(format!(
                    "{label}: a {} item refers to device {d}, which normalize did not list in `devices`",
                    ni.item.event_type()
                ));
            }
        }
        for (i, env) in run.envelopes.iter().enumerate() {
            seen += 1;
            for p in envelope_problems(env) {
                problems.push(format!("{label}: envelope {i} ({}): {p}", env.event_type));
            }
        }
    }
    if seen == 0 {
        return skip("the case emits no envelope");
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}

/// What is wrong with one envelope, as readable lines.
pub fn envelope_problems(env: &Envelope) -> Vec<String> {
    let mut out = Vec::new();
    let json = match serde_json::to_value(env) {
        Ok(v) => v,
        Err(e) => return vec![format!("does not serialize: {e}")],
    };
    match serde_json::from_value::<Envelope>(json.clone()) {
        Ok(back) => {
            if serde_json::to_value(&back).ok().as_ref() != Some(&json) {
                out.push("does not round-trip through its JSON form".to_owned());
            }
        }
        Err(e) => out.push(format!("its JSON does not read back as an envelope: {e}")),
    }
    if env.schema_version != nexus_core::SCHEMA_VERSION {
        out.push(format!("schema_version is {:?}", env.schema_version));
    }
    if env.data.is_empty() {
        out.push("`data` is empty".to_owned());
    }
    for (j, item) in env.data.iter().enumerate() {
        if item.event_type() != env.event_type {
            out.push(format!(
                "data[{j}] is a {} item in a {} envelope",
                item.event_type(),
                env.event_type
            ));
        }
        if item.stream() != env.stream {
            out.push(format!(
                "data[{j}] travels in stream {} but the envelope says {}",
                item.stream(),
                env.stream
            ));
        }
        if let Some(d) = &item.device_id
            && !env.devices.iter().any(|x| &x.device_id == d)
        {
            out.push(format!("data[{j}].device_id {d} is not in `devices`"));
        }
    }
    if let Some(Value::Array(items)) = json.get("data") {
        for (j, item) in items.iter().enumerate() {
            for p in crate::schemas::item_problems(item) {
                out.push(format!("data[{j}]: {p}"));
            }
        }
    }
    for p in crate::schemas::envelope_problems(&json) {
        out.push(p);
    }
    out
}
