//! `cargo xtask test`: every test of the project, as CI runs it.
//!
//! 1. a Python virtualenv in `.venv/` with the pinned oracles of `conformance/realism/requirements.txt`
//!    (the providers' client libraries and the Standard Webhooks reference implementation);
//! 2. `cargo test --workspace` with `NEXUS_PYTHON` pointing at that interpreter, so the tests that
//!    verify our output with those libraries run;
//! 3. `cargo xtask codegen --check`: every generated file (adapter facade, docs/adapters.md,
//!    schemas/) is up to date;
//! 4. the third-party adapter example (`examples/third-party-adapter`, outside the workspace): its
//!    own conformance run over its own cases;
//! 5. the realism checks: every provider body of every recorded case must be accepted by the
//!    provider's own published client models (`conformance/realism/check_<provider>.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn run_cmd(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Creates (once) and returns the interpreter of `.venv/` with the pinned requirements installed.
fn python_venv(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".venv");
    let python = venv.join("bin").join("python");
    let requirements = root.join("conformance/realism/requirements.txt");
    let stamp = venv.join(".requirements-installed");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(python);
    }
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::util::root();
    let python = python_venv(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());

    let mut test = Command::new(&cargo);
    test.current_dir(&root)
        .args(["test", "--workspace"])
        .args(args)
        .env("NEXUS_PYTHON", &python);
    run_cmd(&mut test)?;

    crate::codegen::run(&["--check".to_owned()])?;

    run_cmd(Command::new(&cargo).current_dir(&root).args([
        "test",
        "--manifest-path",
        "examples/third-party-adapter/Cargo.toml",
    ]))?;

    let mut checks: Vec<PathBuf> = std::fs::read_dir(root.join("conformance/realism"))
        .map_err(|e| format!("listing conformance/realism: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("check_") && n.ends_with(".py"))
        })
        .collect();
    checks.sort();
    for check in checks {
        let provider = check
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("check_"))
            .unwrap_or_default()
            .to_owned();
        let cases = root.join("adapters").join(&provider).join("cases");
        run_cmd(
            Command::new(&python)
                .arg(&check)
                .arg(&cases)
                .current_dir(&root),
        )?;
    }
    eprintln!("xtask: all tests passed");
    Ok(())
}
