//! `cargo xtask conformance [--adapter ID] [--accept] [-- ARGS]`: runs the conformance test binary
//! (`cargo test -p nexus-conformance --test conformance`), which prints the trial list and the
//! coverage report. `--adapter` selects adapters through `NEXUS_CONFORMANCE_ADAPTER`; `--accept`
//! sets `INSTA_UPDATE=always` so new and changed snapshots are written (refused on CI).

use crate::util::{cargo, in_ci, status};

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut adapters: Vec<String> = Vec::new();
    let mut accept = false;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--adapter" => adapters.push(it.next().ok_or("--adapter needs an adapter id")?.clone()),
            s if s.starts_with("--adapter=") => adapters.push(s["--adapter=".len()..].to_owned()),
            "--accept" => accept = true,
            "--" => {
                rest.extend(it.by_ref().cloned());
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (see `cargo xtask help`)"
                ));
            }
        }
    }
    if accept && in_ci() {
        return Err(
            "--accept is refused on CI (CI is set): accept snapshots locally, review and commit them"
                .to_owned(),
        );
    }
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "nexus-conformance",
        "--test",
        "conformance",
        "--",
    ]);
    cmd.args(&rest);
    if !adapters.is_empty() {
        cmd.env("NEXUS_CONFORMANCE_ADAPTER", adapters.join(","));
    }
    if accept {
        cmd.env("INSTA_UPDATE", "always");
    } else if in_ci() {
        cmd.env("INSTA_UPDATE", "no");
    }
    status(&mut cmd).map_err(|_| "conformance: some trials failed (see above)".to_owned())
}
