//! `determinism`: the same input gives the same output. Running the case twice on fresh state
//! gives identical envelopes (redactions aside); normalizing each fetched record twice gives
//! identical items; every `source_id` is `sha256_hex(event_type:provider:provider_ref)` (for a
//! `deletion`, of the deleted type); a chunk's `provider_ref` ends with its `window_start`;
//! envelopes carry the adapter's id and the case's connection.

use nexus_core::identity::{chunk_window_start, source_id};
use nexus_core::{Adapter, ItemBody, NormalizeContext};
use nexus_testkit::LoadedCase;
use nexus_testkit::snapshot::{differences, redacted};

use super::{Verdict, envelope_steps, item_label, run_sound, skip};

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let id = adapter.descriptor().id;
    let first = run_sound(adapter, case)?;
    let second = run_sound(adapter, case)?;
    let mut problems = Vec::new();
    let mut envelopes = 0;
    for ((_, a), b) in
        envelope_steps(case, &first).zip(envelope_steps(case, &second).map(|(_, r)| r))
    {
        let label = case.step_label(a.index);
        envelopes += a.envelopes.len();
        let diffs = differences(&redacted(&a.envelopes), &redacted(&b.envelopes));
        if !diffs.is_empty() {
            problems.push(format!(
                "{label}: a second run of the same case gave different envelopes: {}",
                diffs.join("; ")
            ));
        }
        for record in &a.records {
            let ctx = NormalizeContext {
                provider_user_id: case
                    .case
                    .connection
                    .provider_user_id
                    .clone()
                    .or_else(|| record.provider_user_id.clone()),
            };
            let x = adapter.normalize(record, &ctx);
            let y = adapter.normalize(record, &ctx);
            match (x, y) {
                (Ok(x), Ok(y)) if x == y => {}
                (Err(x), Err(y)) if x.to_string() == y.to_string() => {}
                _ => problems.push(format!(
                    "{label}: normalizing the `{}` record twice gave different results",
                    record.kind
                )),
            }
        }
        for env in &a.envelopes {
            if env.provider != id {
                problems.push(format!(
                    "{label}: envelope provider is {:?}, not the adapter id {id:?}",
                    env.provider
                ));
            }
            let c = &case.case.connection;
            if (
                &env.tenant_id,
                &env.user_id,
                &env.external_user_ref,
                &env.connection_id,
            ) != (
                &c.tenant_id,
                &c.user_id,
                &c.external_user_ref,
                &c.connection_id,
            ) {
                problems.push(format!(
                    "{label}: envelope routing fields are not the case's connection"
                ));
            }
            for item in &env.data {
                let identity_type = match &item.body {
                    ItemBody::Deletion(d) => d.deleted_event_type,
                    _ => item.event_type(),
                };
                let expected = source_id(identity_type, id, &item.provider_ref);
                if item.source_id != expected {
                    problems.push(format!(
                        "{label}: {}: source_id is not sha256_hex(\"{identity_type}:{id}:{}\") = {expected}",
                        item_label(item),
                        item.provider_ref
                    ));
                }
                // EVENTS.md section 3: a chunk's composed native id ends with its window start
                // (stores key chunk states by that window's day).
                if let Some(chunk) = item.body.chunk() {
                    let named = chunk_window_start(&item.provider_ref);
                    if named.is_none() || named != chunk.window_start {
                        problems.push(format!(
                            "{label}: {}: provider_ref {:?} does not end with the chunk's window_start {:?} (\"<provider_user_id>:<device or ->:<window_start>\")",
                            item_label(item),
                            item.provider_ref,
                            chunk.window_start
                        ));
                    }
                }
            }
        }
    }
    if envelopes == 0 {
        return skip("the case emits no envelope");
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
