//! `signature` (adapters that declare a signature scheme): every recorded request a case expects
//! envelopes from verifies; the same request with one body byte flipped, with every secret wrong,
//! without its signature headers, and (schemes with a timestamp) checked well after its
//! tolerance, is each rejected with the right error kind.

use std::time::Duration;

use bytes::Bytes;
use nexus_core::{Adapter, ErrorKind, InboundRequest, Secrets};
use nexus_testkit::{Expect, LoadedCase};

use super::{Verdict, skip};

fn expect_kind(
    problems: &mut Vec<String>,
    label: &str,
    what: &str,
    kind: ErrorKind,
    result: nexus_core::Result<()>,
) {
    match result {
        Ok(()) => problems.push(format!("{label}: verify accepted {what}")),
        Err(e) if e.kind() == kind => {}
        Err(e) => problems.push(format!(
            "{label}: {what} was rejected as `{}`, expected `{kind}` ({e})",
            e.kind()
        )),
    }
}

/// Runs the suite.
pub fn check(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Verdict, String> {
    let d = adapter.descriptor();
    let Some(scheme) = &d.signature else {
        return skip(format!("{} declares no signature scheme", d.id));
    };
    let secrets = case.secrets();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (i, step) in case.case.steps.iter().enumerate() {
        if step.expect != Expect::Envelopes {
            continue;
        }
        let label = case.step_label(i);
        let request = step.request.to_inbound()?;
        if adapter.handshake(&request, &secrets).is_some() {
            continue;
        }
        checked += 1;
        let now = step.now_ms;
        if let Err(e) = adapter.verify(&request, &secrets, now) {
            problems.push(format!(
                "{label}: the recorded request does not verify: {e}"
            ));
            continue;
        }

        if !request.body.is_empty() {
            let mut body = request.body.to_vec();
            let at = body.len() / 2;
            body[at] ^= 0x01;
            let tampered = InboundRequest {
                body: Bytes::from(body),
                ..request.clone()
            };
            expect_kind(
                &mut problems,
                &label,
                &format!(
                    "the request with body byte {at} flipped (the signature must cover the raw body)"
                ),
                ErrorKind::InvalidSignature,
                adapter.verify(&tampered, &secrets, now),
            );
        }

        let mut wrong = Secrets::new();
        for name in secrets.names() {
            let v = secrets.get(name).unwrap_or_default();
            wrong.insert(name, format!("fake-wrong-{v}"));
        }
        expect_kind(
            &mut problems,
            &label,
            "the request checked with wrong secrets",
            ErrorKind::InvalidSignature,
            adapter.verify(&request, &wrong, now),
        );

        let unsigned = InboundRequest {
            headers: request
                .headers
                .iter()
                .filter(|(k, _)| !scheme.headers.iter().any(|h| h.eq_ignore_ascii_case(k)))
                .cloned()
                .collect(),
            ..request.clone()
        };
        if unsigned.headers.len() != request.headers.len() {
            expect_kind(
                &mut problems,
                &label,
                &format!(
                    "the request without its {} header(s)",
                    scheme.headers.join(", ")
                ),
                ErrorKind::InvalidSignature,
                adapter.verify(&unsigned, &secrets, now),
            );
        }

        if scheme.has_timestamp {
            let tolerance = scheme
                .default_tolerance
                .unwrap_or(Duration::from_secs(3600));
            let late = now.saturating_add(
                i64::try_from(tolerance.as_millis().saturating_mul(10)).unwrap_or(i64::MAX / 2),
            );
            expect_kind(
                &mut problems,
                &label,
                &format!(
                    "the request checked {} s after it was sent (tolerance {} s)",
                    (late - now) / 1000,
                    tolerance.as_secs()
                ),
                ErrorKind::StaleTimestamp,
                adapter.verify(&request, &secrets, late),
            );
        }
    }
    if checked == 0 {
        return skip("the case has no signed request that expects envelopes");
    }
    if problems.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(problems.join("\n"))
    }
}
