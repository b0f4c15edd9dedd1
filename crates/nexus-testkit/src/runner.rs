//! The case runner: drives one adapter through a recorded case the way the gateway would.
//!
//! Per step: handshake (a subscription challenge is answered and ends the step) -> verify (raw
//! bytes, the step's `now_ms`) -> parse -> fetch (through `nexus_http::ReqwestClient` to a
//! [`ReplayServer`] serving the step's exchanges; `FetchContext.base_url` points at it) ->
//! normalize -> [`nexus_core::dedupe::apply_batch`] on the case's one in-memory state ->
//! [`nexus_core::envelope::assemble`] with one source per notification (`fetched_at` = `now_ms`,
//! `emitted_at` = `now_ms`). Nothing here re-implements dedupe, chunking or grouping.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use nexus_core::dedupe::{StoredState, apply_batch};
use nexus_core::envelope::{assemble, new_event_id};
use nexus_core::http::HttpClient;
use nexus_core::{
    Adapter, Device, Envelope, Error, FetchContext, HandshakeResponse, InboundRequest, Item,
    NormalizeContext, NormalizedItem, Notification, RawRecord, Secrets, Source,
};

use crate::case::{ExpectedRequest, LoadedCase, Step, Trigger};
use crate::replay::{ReplayServer, SeenRequest};

/// The stage of the pipeline where a step stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `Adapter::handshake` refused the request.
    Handshake,
    /// `Adapter::verify`.
    Verify,
    /// `Adapter::parse`.
    Parse,
    /// `Adapter::fetch`.
    Fetch,
    /// `Adapter::normalize`.
    Normalize,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Handshake => "handshake",
            Stage::Verify => "verify",
            Stage::Parse => "parse",
            Stage::Fetch => "fetch",
            Stage::Normalize => "normalize",
        })
    }
}

/// How a step ended.
#[derive(Debug)]
pub enum StepOutcome {
    /// The pipeline ran to the end (possibly emitting nothing).
    Envelopes,
    /// The request was a subscription handshake; this is the answer.
    Handshake(HandshakeResponse),
    /// A stage failed.
    Failed {
        /// Where.
        stage: Stage,
        /// The error.
        error: Error,
    },
}

/// Everything observed while running one step.
#[derive(Debug)]
pub struct StepRun {
    /// Index of the step in the case.
    pub index: usize,
    /// How the step ended.
    pub outcome: StepOutcome,
    /// The inbound request as given to the adapter.
    pub request: Option<InboundRequest>,
    /// What `parse` returned.
    pub notifications: Vec<Notification>,
    /// What `fetch` returned, over all notifications, in order.
    pub records: Vec<RawRecord>,
    /// What `normalize` returned, over all records, in order (before dedupe).
    pub normalized: Vec<NormalizedItem>,
    /// Devices from `normalize`.
    pub devices: Vec<Device>,
    /// What the dedupe stage emitted.
    pub emitted: Vec<Item>,
    /// The envelopes, as a consumer gets them.
    pub envelopes: Vec<Envelope>,
    /// Requests to the replay server that matched no exchange.
    pub unexpected_requests: Vec<SeenRequest>,
    /// Exchanges the adapter never requested.
    pub unused_exchanges: Vec<ExpectedRequest>,
}

impl StepRun {
    fn new(index: usize) -> StepRun {
        StepRun {
            index,
            outcome: StepOutcome::Envelopes,
            request: None,
            notifications: Vec::new(),
            records: Vec::new(),
            normalized: Vec::new(),
            devices: Vec::new(),
            emitted: Vec::new(),
            envelopes: Vec::new(),
            unexpected_requests: Vec::new(),
            unused_exchanges: Vec::new(),
        }
    }

    /// The error, if a stage failed.
    pub fn error(&self) -> Option<(Stage, &Error)> {
        match &self.outcome {
            StepOutcome::Failed { stage, error } => Some((*stage, error)),
            _ => None,
        }
    }

    /// One line describing how the step ended, for failure messages.
    pub fn describe(&self) -> String {
        let mut s = match &self.outcome {
            StepOutcome::Envelopes => format!(
                "ran to the end: {} item(s) emitted in {} envelope(s)",
                self.emitted.len(),
                self.envelopes.len()
            ),
            StepOutcome::Handshake(h) => {
                format!("answered as a handshake: HTTP {} {:?}", h.status, h.body)
            }
            StepOutcome::Failed { stage, error } => format!("failed in {stage}: {error}"),
        };
        if !self.unexpected_requests.is_empty() {
            let list: Vec<String> = self
                .unexpected_requests
                .iter()
                .map(ToString::to_string)
                .collect();
            s.push_str(&format!(
                "; unexpected provider API request(s), not in the step's exchanges: {}",
                list.join(", ")
            ));
        }
        s
    }
}

/// Options of one step run.
#[derive(Debug, Clone, Copy)]
pub struct StepOptions {
    /// Call `verify` (off for generated mutations, whose signatures no longer match).
    pub verify: bool,
    /// Call `handshake` first.
    pub handshake: bool,
}

impl Default for StepOptions {
    fn default() -> Self {
        StepOptions {
            verify: true,
            handshake: true,
        }
    }
}

/// One adapter, one case, one dedupe state, one tokio runtime and HTTP client.
pub struct Session<'a> {
    adapter: &'a dyn Adapter,
    case: &'a LoadedCase,
    secrets: Secrets,
    http: Arc<dyn HttpClient>,
    runtime: tokio::runtime::Runtime,
    /// The dedupe state, keyed by `source_id` (one connection, one tenant).
    pub states: HashMap<String, StoredState>,
}

impl<'a> Session<'a> {
    /// A fresh session (empty dedupe state).
    pub fn new(adapter: &'a dyn Adapter, case: &'a LoadedCase) -> Result<Session<'a>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        let http = nexus_http::ReqwestClient::new()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Session {
            adapter,
            case,
            secrets: case.secrets(),
            http: Arc::new(http),
            runtime,
            states: HashMap::new(),
        })
    }

    /// The adapter.
    pub fn adapter(&self) -> &'a dyn Adapter {
        self.adapter
    }

    /// Forgets the dedupe state.
    pub fn reset(&mut self) {
        self.states.clear();
    }

    /// Runs every step of the case in order on this session's state.
    pub fn run_all(&mut self) -> Result<Vec<StepRun>, String> {
        let case = self.case;
        let mut runs = Vec::with_capacity(case.case.steps.len());
        for (i, step) in case.case.steps.iter().enumerate() {
            let trigger = step
                .trigger(&case.case.connection)
                .map_err(|e| format!("{}: {e}", case.step_label(i)))?;
            runs.push(self.run_step(i, step, trigger, StepOptions::default())?);
        }
        Ok(runs)
    }

    /// Runs one step with `trigger` (the recorded request, a mutation of it, or a scheduled fetch)
    /// against the state. `Err` is a harness failure (cannot bind a port), not an adapter failure.
    pub fn run_step(
        &mut self,
        index: usize,
        step: &Step,
        trigger: Trigger,
        options: StepOptions,
    ) -> Result<StepRun, String> {
        let exchanges = step.exchanges.clone();
        self.run_step_with(index, step.now_ms, trigger, exchanges, options)
    }

    /// Like [`Session::run_step`] with explicit exchanges (the robustness suite mutates them).
    pub fn run_step_with(
        &mut self,
        index: usize,
        now_ms: i64,
        trigger: Trigger,
        exchanges: Vec<crate::case::Exchange>,
        options: StepOptions,
    ) -> Result<StepRun, String> {
        let adapter = self.adapter;
        let secrets = self.secrets.clone();
        let conn = &self.case.case.connection;
        let http = Arc::clone(&self.http);
        let mut run = StepRun::new(index);
        if let Trigger::Request(request) = &trigger {
            run.request = Some(request.clone());
        }

        let fetched = self.runtime.block_on(async {
            let server = ReplayServer::start(exchanges)
                .await
                .map_err(|e| format!("cannot start the replay server: {e}"))?;
            let result = fetch_stage(
                adapter,
                &trigger,
                &secrets,
                conn,
                now_ms,
                server.base_url(),
                http,
                options,
                &mut run,
            )
            .await;
            run.unexpected_requests = server.unexpected();
            run.unused_exchanges = server.unused();
            Ok::<_, String>(result)
        })?;
        if let Err((stage, error)) = fetched {
            run.outcome = StepOutcome::Failed { stage, error };
            return Ok(run);
        }
        if let StepOutcome::Handshake(_) = run.outcome {
            return Ok(run);
        }

        for record in &run.records {
            let ctx = NormalizeContext {
                provider_user_id: conn
                    .provider_user_id
                    .clone()
                    .or_else(|| record.provider_user_id.clone()),
            };
            match adapter.normalize(record, &ctx) {
                Ok(out) => {
                    run.normalized.extend(out.items);
                    for d in out.devices {
                        if !run.devices.iter().any(|x| x.device_id == d.device_id) {
                            run.devices.push(d);
                        }
                    }
                }
                Err(error) => {
                    run.outcome = StepOutcome::Failed {
                        stage: Stage::Normalize,
                        error,
                    };
                    return Ok(run);
                }
            }
        }

        run.emitted = apply_batch(&mut self.states, run.normalized.clone());
        let mut sources: Vec<Source> = Vec::new();
        // A scheduled fetch was triggered by no provider notification: `sources: []`.
        let notified = if matches!(trigger, Trigger::Request(_)) {
            &run.notifications[..]
        } else {
            &[]
        };
        for n in notified {
            let s = Source {
                provider_notification_id: n.provider_notification_id.clone(),
                fetched_at: now_ms,
            };
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        run.envelopes = assemble(
            adapter.descriptor().id,
            &conn.recipient(),
            &sources,
            &run.devices,
            run.emitted.clone(),
            now_ms,
            new_event_id,
        );
        Ok(run)
    }

    /// Feeds already-normalized items through the dedupe stage again (idempotent replay).
    pub fn apply(&mut self, items: Vec<NormalizedItem>) -> Vec<Item> {
        apply_batch(&mut self.states, items)
    }
}

#[allow(clippy::too_many_arguments)] // the stage needs the whole step context; a struct would only rename it
async fn fetch_stage(
    adapter: &dyn Adapter,
    trigger: &Trigger,
    secrets: &Secrets,
    conn: &crate::case::Connection,
    now_ms: i64,
    base_url: &str,
    http: Arc<dyn HttpClient>,
    options: StepOptions,
    run: &mut StepRun,
) -> Result<(), (Stage, Error)> {
    let request = match trigger {
        Trigger::Request(request) => request,
        Trigger::Fetch(notification) => {
            run.notifications = vec![notification.clone()];
            return fetch_all(adapter, secrets, conn, now_ms, base_url, http, run).await;
        }
    };
    if options.handshake {
        match adapter.handshake(request, secrets) {
            Some(Ok(answer)) => {
                run.outcome = StepOutcome::Handshake(answer);
                return Ok(());
            }
            Some(Err(e)) => return Err((Stage::Handshake, e)),
            None => {}
        }
    }
    if options.verify {
        adapter
            .verify(request, secrets, now_ms)
            .map_err(|e| (Stage::Verify, e))?;
    }
    run.notifications = adapter.parse(request).map_err(|e| (Stage::Parse, e))?;
    fetch_all(adapter, secrets, conn, now_ms, base_url, http, run).await
}

/// Calls `fetch` for every notification of the run and collects the records.
async fn fetch_all(
    adapter: &dyn Adapter,
    secrets: &Secrets,
    conn: &crate::case::Connection,
    now_ms: i64,
    base_url: &str,
    http: Arc<dyn HttpClient>,
    run: &mut StepRun,
) -> Result<(), (Stage, Error)> {
    let ctx = FetchContext {
        http,
        base_url: base_url.to_owned(),
        access_token: conn.access_token.clone(),
        provider_user_id: conn.provider_user_id.clone(),
        secrets: secrets.clone(),
        now_ms,
    };
    for n in &run.notifications {
        let mut ctx = ctx.clone();
        if ctx.provider_user_id.is_none() {
            ctx.provider_user_id = n.provider_user_id.clone();
        }
        let records = adapter
            .fetch(n, &ctx)
            .await
            .map_err(|e| (Stage::Fetch, e))?;
        run.records.extend(records);
    }
    Ok(())
}

/// Runs a whole case on a fresh session.
pub fn run_case(adapter: &dyn Adapter, case: &LoadedCase) -> Result<Vec<StepRun>, String> {
    Session::new(adapter, case)?.run_all()
}

/// Loads the case `name` (its file stem) from `dir` and runs it on a fresh session: for an
/// adapter's own item-level tests of what its cases claim.
pub fn run_named(
    adapter: &dyn Adapter,
    dir: &std::path::Path,
    name: &str,
) -> Result<Vec<StepRun>, String> {
    let case = crate::case::load_case(&dir.join(format!("{name}.json")))?;
    run_case(adapter, &case)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::load_case;
    use nexus_core::adapter::{AdapterDescriptor, Ingestion};
    use nexus_core::http::HttpRequest;
    use nexus_core::items::Profile;
    use nexus_core::{ErrorKind, EventType, ItemBody, Normalized, NotificationAction};

    /// A FAKE notify-then-fetch adapter: the webhook names a user, fetch GETs their profile.
    struct FakeProfiles;

    static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
        id: "fake_profiles",
        display_name: "Fake profiles",
        event_types: &[EventType::Profile],
        ingestion: Ingestion::NotifyThenFetch,
        signature: None,
        secrets: &[],
        api_base_url: None,
        oauth: None,
        rate_limit: None,
        ack_deadline: None,
    };

    #[async_trait::async_trait]
    impl Adapter for FakeProfiles {
        fn descriptor(&self) -> &AdapterDescriptor {
            &DESCRIPTOR
        }
        fn verify(&self, r: &InboundRequest, _: &Secrets, _: i64) -> nexus_core::Result<()> {
            match r.header("x-ok") {
                Some("yes") => Ok(()),
                _ => Err(Error::invalid_signature("fake_profiles", "no x-ok")),
            }
        }
        fn parse(&self, r: &InboundRequest) -> nexus_core::Result<Vec<Notification>> {
            let user = String::from_utf8_lossy(&r.body).into_owned();
            Ok(vec![Notification {
                provider_notification_id: Some(format!("n-{user}")),
                provider_user_id: Some(user.clone()),
                previous_provider_user_id: None,
                kind: "profile".into(),
                action: NotificationAction::Update,
                record_id: Some(user),
                range: None,
                event_ts: None,
                records: Vec::new(),
            }])
        }
        async fn fetch(
            &self,
            n: &Notification,
            ctx: &FetchContext,
        ) -> nexus_core::Result<Vec<RawRecord>> {
            let id = n.record_id.clone().unwrap_or_default();
            let token = ctx.require_token("fake_profiles")?;
            let resp = ctx
                .http
                .send(HttpRequest::get(format!("{}/users/{id}", ctx.base_url)).bearer(token))
                .await?
                .error_for_status("fake_profiles")?;
            Ok(vec![RawRecord::new("profile", resp.body)])
        }
        fn normalize(
            &self,
            record: &RawRecord,
            _: &NormalizeContext,
        ) -> nexus_core::Result<Normalized> {
            let v: serde_json::Value = serde_json::from_slice(&record.body)
                .map_err(|e| Error::malformed("fake_profiles", "body", e.to_string()))?;
            let user = v["id"].as_str().unwrap_or("?").to_owned();
            let mut out = Normalized::default();
            out.push(Item::new(
                "fake_profiles",
                &user,
                1,
                ItemBody::Profile(Profile {
                    provider_user_id: Some(user.clone()),
                    birth_year: None,
                    sex: None,
                    height_m: v["height_m"].as_f64(),
                    weight_kg: None,
                }),
            ));
            Ok(out)
        }
    }

    fn case(steps: &str) -> LoadedCase {
        let dir = std::env::temp_dir().join(format!(
            "nexus-testkit-runner-{}-{}",
            std::process::id(),
            steps.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"connection": {{"tenant_id": "t", "user_id": "u", "external_user_ref": "e",
                     "connection_id": "c", "provider_user_id": "u1", "access_token": "fake-token"}},
                   "steps": [{steps}]}}"#
            ),
        )
        .unwrap();
        load_case(&path).unwrap()
    }

    const FETCH_U1: &str = r#"{"request": {"method": "GET", "path": "/users/u1",
        "headers": {"authorization": "Bearer fake-token"}},
        "response": {"body": {"id": "u1", "height_m": 1.8}}}"#;

    #[test]
    fn steps_run_through_fetch_on_loopback_dedupe_and_assemble() {
        let steps = format!(
            r#"{{"now_ms": 1000, "request": {{"headers": {{"x-ok": "yes"}}, "body": "u1"}},
                "exchanges": [{FETCH_U1}]}},
               {{"now_ms": 2000, "request": {{"headers": {{"x-ok": "yes"}}, "body": "u1"}},
                "exchanges": [{FETCH_U1}]}},
               {{"now_ms": 3000, "request": {{"body": "u1"}}}}"#
        );
        let c = case(&steps);
        let runs = run_case(&FakeProfiles, &c).unwrap();
        let first = &runs[0];
        assert!(
            matches!(first.outcome, StepOutcome::Envelopes),
            "{}",
            first.describe()
        );
        assert!(first.unexpected_requests.is_empty() && first.unused_exchanges.is_empty());
        assert_eq!(first.envelopes.len(), 1);
        let env = &first.envelopes[0];
        assert_eq!(env.provider, "fake_profiles");
        assert_eq!(env.tenant_id, "t");
        assert_eq!(env.emitted_at, 1000);
        assert_eq!(
            env.sources,
            vec![Source {
                provider_notification_id: Some("n-u1".into()),
                fetched_at: 1000
            }]
        );
        assert_eq!(env.data[0].revision, 1);
        // The same data again: the one dedupe state of the case emits nothing.
        assert!(runs[1].emitted.is_empty() && runs[1].envelopes.is_empty());
        // No signature header: verify fails, nothing is fetched.
        let (stage, e) = runs[2].error().unwrap();
        assert_eq!(
            (stage, e.kind()),
            (Stage::Verify, ErrorKind::InvalidSignature)
        );
    }

    #[test]
    fn unexpected_and_unused_exchanges_are_named() {
        let steps = r#"{"now_ms": 1000, "request": {"headers": {"x-ok": "yes"}, "body": "u2"},
            "exchanges": [{"request": {"path": "/users/u1"}, "response": {"body": {"id": "u1"}}}]}"#;
        let c = case(steps);
        let runs = run_case(&FakeProfiles, &c).unwrap();
        let run = &runs[0];
        let (stage, e) = run.error().unwrap();
        assert_eq!(stage, Stage::Fetch);
        assert_eq!(e.kind(), ErrorKind::Upstream);
        assert_eq!(run.unexpected_requests[0].to_string(), "GET /users/u2");
        assert_eq!(run.unused_exchanges[0].to_string(), "GET /users/u1");
        assert!(
            run.describe().contains("GET /users/u2"),
            "{}",
            run.describe()
        );
    }
}
