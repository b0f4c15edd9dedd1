//! # nexus-conformance
//!
//! The conformance harness: every suite of `CONFORMANCE.md` over every adapter's recorded cases,
//! as one flat list of `libtest-mimic` trials named `<adapter>::<suite>::<case>`, followed by a
//! coverage report (adapter x suite, adapter x event type).
//!
//! In this workspace, `conformance/tests/conformance.rs` runs [`Harness::workspace`] (every
//! registered adapter, cases in `adapters/<id>/cases/`). A third-party crate runs its own adapter
//! from a `harness = false` test:
//!
//! ```no_run
//! # struct Acme;
//! # static ACME: Acme = Acme;
//! # fn adapter() -> &'static dyn nexus_core::Adapter { unimplemented!() }
//! fn main() -> std::process::ExitCode {
//!     nexus_conformance::Harness::new()
//!         .adapter(adapter(), concat!(env!("CARGO_MANIFEST_DIR"), "/cases"))
//!         .run()
//! }
//! ```
//!
//! A suite that does not apply to a case (a sequence suite the case does not declare, a signature
//! suite for a provider that signs nothing) is reported as ignored with its reason.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use nexus_core::Adapter;
use nexus_testkit::LoadedCase;

mod compare;
pub mod mutate;
pub mod report;
mod schemas;
pub mod suites;

pub use report::Report;
pub use suites::{Suite, Verdict};

/// Environment variable selecting adapters by id (comma-separated); `cargo xtask conformance
/// --adapter ID` sets it.
pub const ADAPTER_ENV: &str = "NEXUS_CONFORMANCE_ADAPTER";

/// One adapter and the folder of its recorded cases.
#[derive(Clone)]
pub struct Target {
    /// The adapter.
    pub adapter: &'static dyn Adapter,
    /// Its cases folder (`<dir>/*.json`, snapshots in `<dir>/snapshots/`).
    pub cases_dir: PathBuf,
}

/// What the harness runs: a list of adapters with their cases, and optionally the workspace's
/// `adapters/` folder for the registry checks.
#[derive(Clone, Default)]
pub struct Harness {
    targets: Vec<Target>,
    adapters_root: Option<PathBuf>,
}

impl Harness {
    /// An empty harness; add adapters with [`Harness::adapter`].
    pub fn new() -> Harness {
        Harness::default()
    }

    /// Adds an adapter and the folder of its cases.
    pub fn adapter(mut self, adapter: &'static dyn Adapter, cases_dir: impl Into<PathBuf>) -> Self {
        self.targets.push(Target {
            adapter,
            cases_dir: cases_dir.into(),
        });
        self
    }

    /// Every registered adapter, with its cases in `<root>/adapters/<id>/cases/`, and the registry
    /// checks of every folder under `<root>/adapters/`.
    pub fn workspace(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        let mut h = Harness {
            targets: Vec::new(),
            adapters_root: Some(root.join("adapters")),
        };
        for a in nexus_core::registry::adapters() {
            let dir = root.join("adapters").join(a.descriptor().id).join("cases");
            h = h.adapter(a, dir);
        }
        h
    }

    /// The targets, narrowed to the ids in `NEXUS_CONFORMANCE_ADAPTER` when it is set.
    fn selected(&self) -> (Vec<Target>, Option<Vec<String>>) {
        let only: Option<Vec<String>> = std::env::var(ADAPTER_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
        let targets = self
            .targets
            .iter()
            .filter(|t| {
                only.as_ref()
                    .is_none_or(|o| o.iter().any(|id| id == t.adapter.descriptor().id))
            })
            .cloned()
            .collect();
        (targets, only)
    }

    /// Every trial, in order: per adapter, per case, per suite; then the adapter's registry checks.
    pub fn trials(&self, report: &Arc<Report>) -> Vec<Trial> {
        let (targets, only) = self.selected();
        let mut trials = Vec::new();

        // Registry: every folder under adapters/ is registered (workspace mode).
        if let Some(root) = &self.adapters_root {
            for folder in suites::registry::adapter_folders(root) {
                if only.as_ref().is_some_and(|o| !o.contains(&folder)) {
                    continue;
                }
                let r = Arc::clone(report);
                let name = format!("{folder}::registry::registered");
                let f = folder.clone();
                let all = self.targets.clone();
                trials.push(trial(name, &folder, Suite::Registry, r, move || {
                    suites::registry::folder_registered(&f, &all)
                }));
            }
        }

        for target in targets {
            let id = target.adapter.descriptor().id;
            report.declare(id, target.adapter.descriptor().event_types);
            let (cases, errors) = nexus_testkit::load_cases(&target.cases_dir);
            for e in errors {
                let file = e.split(':').next().unwrap_or_default().to_owned();
                let stem = Path::new(&file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("case")
                    .to_owned();
                let r = Arc::clone(report);
                trials.push(trial(
                    format!("{id}::load::{stem}"),
                    id,
                    Suite::Load,
                    r,
                    move || Err(e.clone()),
                ));
            }
            if cases.is_empty() {
                let dir = target.cases_dir.display().to_string();
                trials.push(trial(
                    format!("{id}::load::no_cases"),
                    id,
                    Suite::Load,
                    Arc::clone(report),
                    move || {
                        Err(format!(
                            "no recorded cases in {dir}: add one (docs/recorded-cases.md)"
                        ))
                    },
                ));
            }
            for case in cases {
                let case = Arc::new(case);
                for &suite in Suite::PER_CASE {
                    let name = format!("{id}::{}::{}", suite.as_str(), case.name);
                    let c = Arc::clone(&case);
                    let adapter = target.adapter;
                    let r = Arc::clone(report);
                    let r2 = Arc::clone(report);
                    trials.push(trial(name, id, suite, r, move || {
                        suites::check(suite, adapter, &c, &r2)
                    }));
                }
            }
            for check in suites::registry::ADAPTER_CHECKS {
                let name = format!("{id}::registry::{check}");
                let t = target.clone();
                let all = self.targets.clone();
                trials.push(trial(
                    name,
                    id,
                    Suite::Registry,
                    Arc::clone(report),
                    move || suites::registry::adapter_check(check, &t, &all),
                ));
            }
        }
        trials
    }

    /// Runs the trials with the command-line arguments of `cargo test` (filters, `--list`, ...),
    /// prints the coverage report, and returns the exit code.
    pub fn run(self) -> ExitCode {
        let args = Arguments::from_args();
        let report = Arc::new(Report::default());
        let trials = self.trials(&report);
        let conclusion = libtest_mimic::run(&args, trials);
        if !args.list {
            print!("{}", report.render());
        }
        conclusion.exit_code()
    }
}

/// A trial whose outcome is recorded in the report.
fn trial(
    name: String,
    adapter: &str,
    suite: Suite,
    report: Arc<Report>,
    check: impl FnOnce() -> Result<Verdict, String> + Send + 'static,
) -> Trial {
    let adapter = adapter.to_owned();
    Trial::ignorable_test(name, move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check))
            .unwrap_or_else(|p| Err(format!("panicked: {}", suites::panic_message(&p))));
        report.record(&adapter, suite, &outcome);
        match outcome {
            Ok(Verdict::Pass) => Ok(Completion::Completed),
            Ok(Verdict::Skip(reason)) => Ok(Completion::ignored_with(reason)),
            Err(msg) => Err(Failed::from(msg)),
        }
    })
}

/// Runs one suite on one case outside libtest (for tests of the harness itself).
pub fn check_case(
    suite: Suite,
    adapter: &'static dyn Adapter,
    case: &LoadedCase,
) -> Result<Verdict, String> {
    suites::check(suite, adapter, case, &Report::default())
}
