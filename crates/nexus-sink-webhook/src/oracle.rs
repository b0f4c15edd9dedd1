//! For tests only (feature `test-oracle`): a loopback receiver that verifies what we send with the
//! PyPI `standardwebhooks` 1.1.0 package instead of our own code
//! (`tests/verify_standardwebhooks.py`, run by the interpreter named in `NEXUS_PYTHON`).
//!
//! Without `NEXUS_PYTHON`, [`python_or_skip`] prints why and returns `None` so the test can return
//! early; when `CI` is set it fails instead, because CI always provides the venv:
//!
//! ```sh
//! python3 -m venv /tmp/venv-sw && /tmp/venv-sw/bin/pip install standardwebhooks==1.1.0
//! NEXUS_PYTHON=/tmp/venv-sw/bin/python cargo test -p nexus-sink-webhook
//! ```

use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The verifier script.
pub fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verify_standardwebhooks.py")
}

/// The interpreter from `NEXUS_PYTHON`, or `None` after printing that `test` is skipped. Fails
/// (panics) when `NEXUS_PYTHON` is unset and `CI` is set.
#[allow(clippy::panic)] // test support: a missing oracle in CI must fail the test loudly
pub fn python_or_skip(test: &str) -> Option<PathBuf> {
    match std::env::var_os("NEXUS_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{test}: NEXUS_PYTHON is not set, but CI is: CI must provide a Python with \
             standardwebhooks==1.1.0 installed"
        ),
        _ => {
            // Written to the process's stderr directly: `eprintln!` is captured by the test
            // harness for passing tests, and a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: set NEXUS_PYTHON to a Python with standardwebhooks==1.1.0 \
                 (python3 -m venv /tmp/venv-sw && /tmp/venv-sw/bin/pip install \
                 standardwebhooks==1.1.0) to verify our signatures with it"
            );
            None
        }
    }
}

/// A running `verify_standardwebhooks.py`; killed on drop.
pub struct StandardWebhooksReceiver {
    child: Child,
    /// Where to POST (`http://127.0.0.1:PORT/`).
    pub url: String,
    reports: mpsc::Receiver<serde_json::Value>,
}

impl StandardWebhooksReceiver {
    /// Starts the receiver with `python`, verifying with each of `secrets` and answering verified
    /// requests with `status`. Waits until it listens.
    pub fn start(
        python: &std::path::Path,
        secrets: &[&str],
        status: u16,
    ) -> Result<StandardWebhooksReceiver, String> {
        let mut cmd = Command::new(python);
        cmd.arg(script_path());
        for s in secrets {
            cmd.arg("--secret").arg(s);
        }
        cmd.arg("--status").arg(status.to_string());
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not run {}: {e}", python.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "no stdout pipe".to_owned())?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("verifier printed a non-JSON line: {line}"),
                }
            }
        });
        let mut receiver = StandardWebhooksReceiver {
            child,
            url: String::new(),
            reports: rx,
        };
        let first = receiver
            .next_report(Duration::from_secs(30))
            .ok_or_else(|| {
                "the verifier did not start (is standardwebhooks==1.1.0 installed in NEXUS_PYTHON?)"
                    .to_owned()
            })?;
        receiver.url = first
            .get("listening")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("unexpected first line from the verifier: {first}"))?
            .to_owned();
        Ok(receiver)
    }

    /// The next report (one per request received), waiting at most `timeout`.
    pub fn next_report(&self, timeout: Duration) -> Option<serde_json::Value> {
        self.reports.recv_timeout(timeout).ok()
    }
}

impl Drop for StandardWebhooksReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
