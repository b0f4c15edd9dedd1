//! `registry`: every folder under `adapters/` is a registered adapter (inventory drops the
//! registration of a crate nothing links, silently: the workspace links them through the generated
//! `nexus-adapters` crate), ids are unique and well-formed, and the event types an adapter declares
//! equal those its reviewed snapshots contain.

use std::collections::BTreeSet;
use std::path::Path;

use nexus_core::registry;
use nexus_testkit::snapshot::read_snapshot;
use serde_json::Value;

use super::Verdict;
use crate::Target;

/// The per-adapter checks, in trial order.
pub const ADAPTER_CHECKS: &[&str] = &["unique_id", "event_types"];

/// The adapter folders under `root` (each a directory with a `Cargo.toml`), sorted.
pub fn adapter_folders(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `adapters/<folder>` is registered under the id `<folder>`.
pub fn folder_registered(folder: &str, targets: &[Target]) -> Result<Verdict, String> {
    if registry::adapter(folder).is_some()
        && targets.iter().any(|t| t.adapter.descriptor().id == folder)
    {
        return Ok(Verdict::Pass);
    }
    let ids: Vec<&str> = registry::adapters()
        .iter()
        .map(|a| a.descriptor().id)
        .collect();
    Err(format!(
        "adapters/{folder} is not registered under the id `{folder}` (registered: {}). Either its \
         crate is not linked (run `cargo xtask codegen` so crates/nexus-adapters links it), it does \
         not call `nexus_core::register_adapter!`, or its descriptor id differs from the folder name",
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.join(", ")
        }
    ))
}

/// One per-adapter check.
pub fn adapter_check(check: &str, target: &Target, targets: &[Target]) -> Result<Verdict, String> {
    let d = target.adapter.descriptor();
    match check {
        "unique_id" => {
            let mut problems = Vec::new();
            if d.id.is_empty()
                || !d
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                problems.push(format!(
                    "id {:?} must be lowercase ASCII letters, digits or `_` (it is a URL path segment)",
                    d.id
                ));
            }
            let registered = registry::adapters()
                .iter()
                .filter(|a| a.descriptor().id == d.id)
                .count();
            if registered > 1 {
                problems.push(format!(
                    "{registered} registered adapters have the id `{}`",
                    d.id
                ));
            }
            if registered == 0 {
                problems.push(format!(
                    "`{}` is not in the registry: call `nexus_core::register_adapter!` and link the crate",
                    d.id
                ));
            }
            let given = targets
                .iter()
                .filter(|t| t.adapter.descriptor().id == d.id)
                .count();
            if given > 1 {
                problems.push(format!("the harness was given `{}` {given} times", d.id));
            }
            if problems.is_empty() {
                Ok(Verdict::Pass)
            } else {
                Err(problems.join("\n"))
            }
        }
        "event_types" => {
            let declared: BTreeSet<&str> = d.event_types.iter().map(|t| t.as_str()).collect();
            let seen = snapshot_event_types(&target.cases_dir.join("snapshots"), d.id)?;
            let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
            let missing: Vec<&str> = declared.difference(&seen).copied().collect();
            let extra: Vec<&str> = seen.difference(&declared).copied().collect();
            let mut problems = Vec::new();
            if !missing.is_empty() {
                problems.push(format!(
                    "declared but in no reviewed snapshot (add a case that emits them): {}",
                    missing.join(", ")
                ));
            }
            if !extra.is_empty() {
                problems.push(format!(
                    "in snapshots but not declared in the descriptor's event_types: {}",
                    extra.join(", ")
                ));
            }
            if problems.is_empty() {
                Ok(Verdict::Pass)
            } else {
                Err(problems.join("\n"))
            }
        }
        other => Err(format!("unknown registry check `{other}`")),
    }
}

/// The event types of every envelope in the snapshots of adapter `id` in `dir`.
pub fn snapshot_event_types(dir: &Path, id: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let prefix = format!("{id}__");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(&prefix) && name.ends_with(".snap")) {
            continue;
        }
        if let Some(Value::Array(envs)) = read_snapshot(&e.path())? {
            for env in envs {
                if let Some(t) = env.get("event_type").and_then(Value::as_str) {
                    out.insert(t.to_owned());
                }
            }
        }
    }
    Ok(out)
}
