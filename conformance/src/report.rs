//! The coverage report printed after a run: adapter x suite (how many cases passed, failed or were
//! skipped, with the skip reasons) and adapter x event type (declared, proven by a passing
//! snapshot, or emitted without being declared).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use nexus_core::EventType;

use crate::suites::{Suite, Verdict};

#[derive(Debug, Default, Clone)]
struct Tally {
    pass: usize,
    fail: usize,
    skip: usize,
    reasons: BTreeMap<String, usize>,
}

#[derive(Debug, Default)]
struct Data {
    tallies: BTreeMap<(String, Suite), Tally>,
    declared: BTreeMap<String, Vec<EventType>>,
    emitted: BTreeMap<String, BTreeSet<EventType>>,
}

/// Results gathered while trials run (shared between threads).
#[derive(Debug, Default)]
pub struct Report {
    data: Mutex<Data>,
}

impl Report {
    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        let mut d = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut d)
    }

    /// Notes the event types an adapter declares.
    pub fn declare(&self, adapter: &str, types: &[EventType]) {
        self.with(|d| {
            d.declared.insert(adapter.to_owned(), types.to_vec());
        });
    }

    /// Notes an event type emitted in a case whose snapshot suite ran.
    pub fn emitted(&self, adapter: &str, t: EventType) {
        self.with(|d| {
            d.emitted.entry(adapter.to_owned()).or_default().insert(t);
        });
    }

    /// Records the outcome of one trial.
    pub fn record(&self, adapter: &str, suite: Suite, outcome: &Result<Verdict, String>) {
        self.with(|d| {
            let t = d.tallies.entry((adapter.to_owned(), suite)).or_default();
            match outcome {
                Ok(Verdict::Pass) => t.pass += 1,
                Ok(Verdict::Skip(r)) => {
                    t.skip += 1;
                    *t.reasons.entry(r.clone()).or_default() += 1;
                }
                Err(_) => t.fail += 1,
            }
        });
    }

    /// Whether any trial failed.
    pub fn has_failures(&self) -> bool {
        self.with(|d| d.tallies.values().any(|t| t.fail > 0))
    }

    /// The report as text.
    pub fn render(&self) -> String {
        self.with(|d| render(d))
    }
}

fn cell(t: Option<&Tally>) -> String {
    match t {
        None => "-".to_owned(),
        Some(t) if t.fail > 0 => format!("FAIL {}/{}", t.fail, t.fail + t.pass),
        Some(t) if t.pass > 0 && t.skip > 0 => format!("ok {} ({} skip)", t.pass, t.skip),
        Some(t) if t.pass > 0 => format!("ok {}", t.pass),
        Some(t) => format!("skip {}", t.skip),
    }
}

fn render(d: &Data) -> String {
    let mut adapters: BTreeSet<&String> = d.tallies.keys().map(|(a, _)| a).collect();
    adapters.extend(d.declared.keys());
    if adapters.is_empty() {
        return "\nconformance coverage: no adapter ran\n".to_owned();
    }
    let adapters: Vec<&String> = adapters.into_iter().collect();
    let mut out = String::new();
    let w0 = 18;
    let widths: Vec<usize> = adapters.iter().map(|a| a.len().max(16)).collect();

    let _ = writeln!(
        out,
        "\nconformance coverage: cases per adapter and suite (ok = passed, FAIL failed/run, skip = does not apply)"
    );
    let _ = write!(out, "{:<w0$}", "suite");
    for (a, w) in adapters.iter().zip(&widths) {
        let _ = write!(out, " {a:<w$}");
    }
    out.push('\n');
    for suite in Suite::ALL {
        let cells: Vec<String> = adapters
            .iter()
            .map(|a| cell(d.tallies.get(&((*a).clone(), *suite))))
            .collect();
        if cells.iter().all(|c| c == "-") && *suite == Suite::Load {
            continue;
        }
        let _ = write!(out, "{:<w0$}", suite.as_str());
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(out, " {c:<w$}");
        }
        out.push('\n');
    }

    let mut skips = String::new();
    for ((a, s), t) in &d.tallies {
        for (r, n) in &t.reasons {
            let _ = writeln!(skips, "  {a} {}: {r} ({n})", s.as_str());
        }
    }
    if !skips.is_empty() {
        let _ = writeln!(out, "\nskipped, and why:\n{skips}");
    }

    let mut types: BTreeSet<EventType> = BTreeSet::new();
    for a in &adapters {
        types.extend(d.declared.get(*a).into_iter().flatten());
        types.extend(d.emitted.get(*a).into_iter().flatten());
    }
    if !types.is_empty() {
        let _ = writeln!(
            out,
            "event types per adapter (proven = declared and emitted in a case; declared = no case emits it yet)"
        );
        let _ = write!(out, "{:<w0$}", "event type");
        for (a, w) in adapters.iter().zip(&widths) {
            let _ = write!(out, " {a:<w$}");
        }
        out.push('\n');
        for t in types {
            let _ = write!(out, "{:<w0$}", t.as_str());
            for (a, w) in adapters.iter().zip(&widths) {
                let declared = d.declared.get(*a).is_some_and(|v| v.contains(&t));
                let emitted = d.emitted.get(*a).is_some_and(|v| v.contains(&t));
                let c = match (declared, emitted) {
                    (true, true) => "proven",
                    (true, false) => "declared",
                    (false, true) => "UNDECLARED",
                    (false, false) => "",
                };
                let _ = write!(out, " {c:<w$}");
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_shows_every_outcome_and_skip_reason() {
        let r = Report::default();
        r.declare("acme", &[EventType::Sleep, EventType::Activity]);
        r.emitted("acme", EventType::Sleep);
        r.emitted("acme", EventType::Profile);
        r.record("acme", Suite::Snapshot, &Ok(Verdict::Pass));
        r.record("acme", Suite::Snapshot, &Err("x".into()));
        r.record(
            "acme",
            Suite::Signature,
            &Ok(Verdict::Skip("no scheme".into())),
        );
        let text = r.render();
        assert!(text.contains("FAIL 1/2"), "{text}");
        assert!(text.contains("skip 1"), "{text}");
        assert!(text.contains("acme signature: no scheme (1)"), "{text}");
        assert!(text.contains("proven"), "{text}");
        assert!(text.contains("UNDECLARED"), "{text}");
        assert!(r.has_failures());
    }
}
