//! The README flow with the built `nexus` binary, in an empty directory and no configuration:
//! `nexus serve` (dev mode) -> `nexus dev sign` -> POST the example Terra webhook -> the envelope
//! lands in `./nexus-data/envelopes.jsonl` -> SIGTERM -> the process exits cleanly. Also: the same
//! body with a wrong signature is refused with 401.

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NEXUS: &str = env!("CARGO_BIN_EXE_nexus");

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webhooks/terra-sleep.json")
}

/// `nexus` with no `NEXUS_*` variable from the test's environment (each would be read as a
/// configuration key) and the given directory as working directory.
fn nexus(dir: &Path) -> Command {
    let mut cmd = Command::new(NEXUS);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("NEXUS_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir);
    cmd
}

/// Kills the gateway if the test fails before stopping it.
struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, log: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            log.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }
    panic!("no log line with {needle:?}; log:\n{}", log.join("\n"));
}

#[test]
fn serve_in_dev_mode_takes_a_signed_terra_webhook_to_the_jsonl_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = nexus(dir.path())
        .arg("serve")
        .env("NEXUS_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let mut guard = Gateway(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let line = wait_for_line(&rx, "listening on http://", &mut log);
    let base = line
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    wait_for_line(&rx, "DEV MODE", &mut log);
    wait_for_line(&rx, "send it a recorded Terra webhook", &mut log);
    let curl = wait_for_line(&rx, "dev sign --provider terra", &mut log);
    assert!(curl.trim_start().starts_with("curl -sS http://"), "{curl}");

    let sign = nexus(dir.path())
        .args(["dev", "sign", "--provider", "terra"])
        .arg(example())
        .output()
        .unwrap();
    assert!(sign.status.success(), "{sign:?}");
    let signature = String::from_utf8(sign.stdout).unwrap().trim().to_owned();
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );

    let body = std::fs::read(example()).unwrap();
    let client = reqwest::blocking::Client::new();
    let post = |sig: &str| {
        client
            .post(format!("{base}/webhooks/terra"))
            .header("content-type", "application/json")
            .header("terra-signature", sig)
            .body(body.clone())
            .send()
            .unwrap()
    };
    let wrong = signature.replace(",v1=", ",v1=00");
    assert_eq!(post(&wrong).status(), 401);
    let resp = post(&signature);
    assert_eq!(resp.status(), 200);

    let jsonl = dir.path().join("nexus-data/envelopes.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    let envelope: serde_json::Value = loop {
        let text = std::fs::read_to_string(&jsonl).unwrap_or_default();
        if let Some(line) = text.lines().next() {
            break serde_json::from_str(line).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no envelope in {}",
            jsonl.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(envelope["provider"], "terra");
    assert_eq!(envelope["event_type"], "sleep");
    assert_eq!(envelope["tenant_id"], "default");
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap().lines().count(),
        1,
        "the refused request produced nothing"
    );

    // Graceful stop on SIGTERM (by pid; std has no signal API).
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_line(&rx, "nexus::cmd::serve: stopped", &mut log);
    let exit = guard.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
