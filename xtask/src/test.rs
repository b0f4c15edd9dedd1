//! `cargo xtask test`: every test of the repository, in order: the workspace's tests (unit tests
//! and the conformance run over every adapter), `codegen --check`, the third-party adapter example
//! (its own conformance run), and the realism checks (`conformance/realism/check_*.py`, in a
//! `.venv` with `conformance/realism/requirements.txt`). `--skip-realism` leaves out the last step
//! (it needs Python 3 with `venv` and the package index).

use std::path::Path;

use crate::util::{cargo, root, status};

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let skip_realism = match args {
        [] => false,
        [a] if a == "--skip-realism" => true,
        _ => return Err("usage: cargo xtask test [--skip-realism]".to_owned()),
    };
    step("cargo test --workspace");
    status(cargo().args(["test", "--workspace"]))?;
    step("cargo xtask codegen --check");
    crate::codegen::run(&["--check".to_owned()])?;
    step("the third-party adapter example");
    status(cargo().args([
        "test",
        "--manifest-path",
        "examples/third-party-adapter/Cargo.toml",
    ]))?;
    if skip_realism {
        step("realism checks skipped (--skip-realism)");
        return Ok(());
    }
    realism()
}

fn step(what: &str) {
    println!("\n== xtask test: {what}");
}

fn realism() -> Result<(), String> {
    let root = root();
    let dir = root.join("conformance/realism");
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.starts_with("check_") && n.ends_with(".py"))
        .collect();
    scripts.sort();
    step("realism checks");
    if scripts.is_empty() {
        println!("no conformance/realism/check_*.py yet");
        return Ok(());
    }
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        status(
            std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv),
        )?;
    }
    status(
        std::process::Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(dir.join("requirements.txt")),
    )?;
    for script in scripts {
        let id = script
            .trim_start_matches("check_")
            .trim_end_matches(".py")
            .to_owned();
        let mut cmd = std::process::Command::new(&python);
        cmd.current_dir(&root).arg(dir.join(&script));
        let cases = Path::new("adapters").join(&id).join("cases");
        if root.join(&cases).is_dir() {
            cmd.arg(&cases);
        }
        println!("-- {script}");
        status(&mut cmd)?;
    }
    Ok(())
}
