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

use crate::case::{ExpectedRequest, LoadedCase, Step};
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
            let request = step
                .request
                .to_inbound()
                .map_err(|e| format!("{}: {e}", case.step_label(i)))?;
            runs.push(self.run_step(i, step, request, StepOptions::default())?);
        }
        Ok(runs)
    }

    /// Runs one step with `request` (the recorded one or a mutation) against the state. `Err` is a
    /// harness failure (cannot bind a port), not an adapter failure.
    pub fn run_step(
        &mut self,
        index: usize,
        step: &Step,
        request: InboundRequest,
        options: StepOptions,
    ) -> Result<StepRun, String> {
        let exchanges = step.exchanges.clone();
        self.run_step_with(index, step.now_ms, request, exchanges, options)
    }

    /// Like [`Session::run_step`] with explicit exchanges (the robustness suite mutates them).
    pub fn run_step_with(
        &mut self,
        index: usize,
        now_ms: i64,
        request: InboundRequest,
        exchanges: Vec<crate::case::Exchange>,
        options: StepOptions,
    ) -> Result<StepRun, String> {
        let adapter = self.adapter;
        let secrets = self.secrets.clone();
        let conn = &self.case.case.connection;
        let http = Arc::clone(&self.http);
        let mut run = StepRun::new(index);
        run.request = Some(request.clone());

        let fetched = self.runtime.block_on(async {
            let server = ReplayServer::start(exchanges)
                .await
                .map_err(|e| format!("cannot start the replay server: {e}"))?;
            let result = fetch_stage(
                adapter,
                &request,
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
        for n in &run.notifications {
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
    request: &InboundRequest,
    secrets: &Secrets,
    conn: &crate::case::Connection,
    now_ms: i64,
    base_url: &str,
    http: Arc<dyn HttpClient>,
    options: StepOptions,
    run: &mut StepRun,
) -> Result<(), (Stage, Error)> {
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
