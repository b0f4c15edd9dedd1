//! Recorded cases: the file format of `docs/recorded-cases.md` and loading a folder of them.
//!
//! A case is one JSON file `<cases dir>/<name>.json`; its name is the file stem. Loading is strict
//! about shape (a misspelled key is an error naming the file and the key) so that a typo never
//! silently turns a check off.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use nexus_core::{InboundRequest, Notification, NotificationAction, Recipient, Secrets};
use serde::Deserialize;
use serde_json::Value;

/// One recorded case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    #[serde(default)]
    pub description: String,
    /// Sequence suites the case exercises besides the suites that run on every case.
    #[serde(default)]
    pub suites: Vec<SequenceSuite>,
    /// The connection the data belongs to.
    pub connection: Connection,
    /// App secrets by name (test values only).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// The steps, run in order against one dedupe state.
    pub steps: Vec<Step>,
    /// Documented skips of generated robustness mutations (an addition to the first format; optional).
    #[serde(default)]
    pub robustness: Robustness,
}

/// The sequence suites a case can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceSuite {
    /// A changed record re-emits with `revision` + 1.
    Revision,
    /// An older version after a newer one is not emitted.
    OutOfOrder,
    /// Overlapping timeseries batches merge.
    TimeseriesMerge,
    /// A provider delete emits a `deletion`.
    Deletion,
    /// The subscription handshake gets its answer.
    Handshake,
}

impl SequenceSuite {
    /// The name used in case files and trial names.
    pub fn as_str(self) -> &'static str {
        match self {
            SequenceSuite::Revision => "revision",
            SequenceSuite::OutOfOrder => "out_of_order",
            SequenceSuite::TimeseriesMerge => "timeseries_merge",
            SequenceSuite::Deletion => "deletion",
            SequenceSuite::Handshake => "handshake",
        }
    }
}

/// The connection a case's data belongs to: envelope routing fields and fetch credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Target tenant.
    pub tenant_id: String,
    /// The user inside the tenant.
    pub user_id: String,
    /// The tenant's own reference for the user.
    pub external_user_ref: String,
    /// The connection id.
    pub connection_id: String,
    /// The provider's user id.
    #[serde(default)]
    pub provider_user_id: Option<String>,
    /// The OAuth access token (fake).
    #[serde(default)]
    pub access_token: Option<String>,
}

impl Connection {
    /// The envelope routing fields.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            tenant_id: self.tenant_id.clone(),
            user_id: self.user_id.clone(),
            external_user_ref: self.external_user_ref.clone(),
            connection_id: self.connection_id.clone(),
        }
    }
}

/// One step: what triggers it (an inbound request, or a fetch Nexus makes on its own), the provider
/// API exchanges its fetch makes, the expectation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in failures.
    #[serde(default)]
    pub name: Option<String>,
    /// The clock of the step (signature tolerance, `fetched_at`).
    pub now_ms: i64,
    /// The inbound request as the provider sent it. A step has a `request` or a `fetch`.
    #[serde(default)]
    pub request: Option<RecordedRequest>,
    /// A fetch Nexus makes without a provider notification (backfill, connect time, a schedule):
    /// for data the provider sends no webhook for (Oura `personal_info`, `heartrate`). Its
    /// envelopes have `sources: []`.
    #[serde(default)]
    pub fetch: Option<ScheduledFetch>,
    /// The provider API exchanges of this step, served by the loopback server.
    #[serde(default)]
    pub exchanges: Vec<Exchange>,
    /// What must come out.
    #[serde(default)]
    pub expect: Expect,
    /// True when the step re-delivers an older version of a record.
    #[serde(default)]
    pub stale: bool,
}

/// A fetch Nexus makes on its own: the notification it hands to the adapter's `fetch`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFetch {
    /// The provider data type to fetch (`personal_info`).
    pub kind: String,
    /// The record to fetch, if one.
    #[serde(default)]
    pub record_id: Option<String>,
    /// The time range to fetch, epoch ms `[start, end]`.
    #[serde(default)]
    pub range: Option<(i64, i64)>,
}

impl ScheduledFetch {
    /// The notification the gateway would build for this fetch.
    pub fn notification(&self, provider_user_id: Option<String>) -> Notification {
        Notification {
            provider_notification_id: None,
            provider_user_id,
            previous_provider_user_id: None,
            kind: self.kind.clone(),
            action: NotificationAction::Other,
            record_id: self.record_id.clone(),
            range: self.range,
            event_ts: None,
            records: Vec::new(),
        }
    }
}

/// What starts a step.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// An inbound request (the recorded one or a mutation of it).
    Request(InboundRequest),
    /// A fetch without a provider notification.
    Fetch(Notification),
}

impl Step {
    /// What starts this step: exactly one of `request` and `fetch`.
    pub fn trigger(&self, connection: &Connection) -> Result<Trigger, String> {
        match (&self.request, &self.fetch) {
            (Some(r), None) => Ok(Trigger::Request(r.to_inbound()?)),
            (None, Some(f)) => Ok(Trigger::Fetch(
                f.notification(connection.provider_user_id.clone()),
            )),
            _ => Err("a step needs exactly one of `request` and `fetch`".to_owned()),
        }
    }

    /// The inbound request of the step; `None` for a scheduled fetch.
    pub fn inbound(&self) -> Result<Option<InboundRequest>, String> {
        self.request
            .as_ref()
            .map(RecordedRequest::to_inbound)
            .transpose()
    }
}

/// The inbound request of a step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// HTTP method.
    #[serde(default = "default_post")]
    pub method: String,
    /// Path.
    #[serde(default)]
    pub path: String,
    /// Raw query string without `?`.
    #[serde(default)]
    pub query: Option<String>,
    /// Headers (names are lowercased when the request is built).
    #[serde(default)]
    pub headers: Headers,
    /// The raw body text (a JSON value here is served as compact JSON).
    #[serde(default)]
    pub body: Option<Value>,
    /// The raw body as base64, for bytes that are not UTF-8.
    #[serde(default)]
    pub body_base64: Option<String>,
}

fn default_post() -> String {
    "POST".to_owned()
}

/// Headers as a JSON object (`{"name": "value"}`) or a list of pairs (`[["name", "value"]]`), the
/// latter for repeated headers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Headers {
    /// `{"name": "value"}`.
    Map(BTreeMap<String, String>),
    /// `[["name", "value"], ...]`.
    Pairs(Vec<(String, String)>),
    /// No headers.
    #[default]
    None,
}

impl Headers {
    /// The headers as pairs with lowercase names, in file order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        match self {
            Headers::Map(m) => m
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            Headers::Pairs(p) => p
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            Headers::None => Vec::new(),
        }
    }
}

/// Turns a recorded body (`body` text or JSON, or `body_base64`) into bytes.
fn body_bytes(body: &Option<Value>, body_base64: &Option<String>) -> Result<Bytes, String> {
    match (body, body_base64) {
        (Some(_), Some(_)) => Err("both `body` and `body_base64` are set; keep one".to_owned()),
        (None, Some(b64)) => STANDARD
            .decode(b64.as_bytes())
            .map(Bytes::from)
            .map_err(|e| format!("`body_base64` is not base64: {e}")),
        (Some(Value::String(s)), None) => Ok(Bytes::from(s.clone())),
        (Some(Value::Null), None) | (None, None) => Ok(Bytes::new()),
        (Some(v), None) => serde_json::to_vec(v)
            .map(Bytes::from)
            .map_err(|e| format!("`body` cannot be serialized: {e}")),
    }
}

impl RecordedRequest {
    /// The request as the adapter receives it.
    pub fn to_inbound(&self) -> Result<InboundRequest, String> {
        Ok(InboundRequest {
            method: self.method.to_ascii_uppercase(),
            path: self.path.clone(),
            query: self.query.clone().filter(|q| !q.is_empty()),
            headers: self.headers.pairs(),
            body: body_bytes(&self.body, &self.body_base64)?,
        })
    }
}

/// One provider API exchange: the request the adapter must make and the recorded response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The request to match.
    pub request: ExpectedRequest,
    /// The response to serve.
    pub response: RecordedResponse,
}

/// The request an exchange matches: method, path and query (as a set of decoded pairs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequest {
    /// HTTP method.
    #[serde(default = "default_get")]
    pub method: String,
    /// Path, starting with `/`.
    pub path: String,
    /// Raw query string without `?`, or null for none.
    #[serde(default)]
    pub query: Option<String>,
    /// Headers the request must carry (optional; names case-insensitive, values exact).
    #[serde(default)]
    pub headers: Headers,
}

fn default_get() -> String {
    "GET".to_owned()
}

impl fmt::Display for ExpectedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

/// A recorded provider API response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Headers that matter (paging, rate limits, content type).
    #[serde(default)]
    pub headers: Headers,
    /// Body: a JSON value is served as compact JSON, a string as is.
    #[serde(default)]
    pub body: Option<Value>,
    /// Body as base64, for bytes that are not UTF-8.
    #[serde(default)]
    pub body_base64: Option<String>,
}

fn default_status() -> u16 {
    200
}

impl RecordedResponse {
    /// The body bytes to serve.
    pub fn body_bytes(&self) -> Result<Bytes, String> {
        body_bytes(&self.body, &self.body_base64)
    }
}

/// The expected outcome of a step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Expect {
    /// The emitted envelopes equal the snapshot.
    #[default]
    Envelopes,
    /// The step fails with this error kind name (`invalid_signature`).
    Error(String),
    /// The step is a subscription handshake with this answer.
    Handshake {
        /// HTTP status.
        status: u16,
        /// Body, when the case pins it.
        body: Option<String>,
    },
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Hs {
            status: u16,
            #[serde(default)]
            body: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Obj {
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            handshake: Option<Hs>,
        }
        let v = Value::deserialize(d)?;
        match v {
            Value::String(s) if s == "envelopes" => Ok(Expect::Envelopes),
            Value::Null => Ok(Expect::Envelopes),
            Value::Object(_) => {
                let o: Obj = serde_json::from_value(v).map_err(D::Error::custom)?;
                match (o.error, o.handshake) {
                    (Some(e), None) => {
                        if nexus_core::ErrorKind::parse(&e).is_none() {
                            return Err(D::Error::custom(format!(
                                "`expect.error` {e:?} is not an error kind name \
                                 (invalid_signature, malformed_payload, ...)"
                            )));
                        }
                        Ok(Expect::Error(e))
                    }
                    (None, Some(h)) => Ok(Expect::Handshake {
                        status: h.status,
                        body: h.body,
                    }),
                    _ => Err(D::Error::custom(
                        "`expect` must be \"envelopes\", {\"error\": KIND} or {\"handshake\": {...}}",
                    )),
                }
            }
            other => Err(D::Error::custom(format!(
                "`expect` must be \"envelopes\", {{\"error\": KIND}} or {{\"handshake\": {{...}}}}, got {other}"
            ))),
        }
    }
}

/// Documented skips of generated robustness mutations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Robustness {
    /// Mutations to skip: `mutation` is a mutation id or a prefix ending in `*`; `reason` says why
    /// the adapter's behaviour on it is right although the suite would flag it.
    #[serde(default)]
    pub skip: Vec<RobustnessSkip>,
}

/// One documented skip.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustnessSkip {
    /// A mutation id (as printed by a failing robustness trial) or a prefix ending in `*`.
    pub mutation: String,
    /// Why.
    pub reason: String,
}

impl Robustness {
    /// The documented reason to skip `mutation_id`, if any.
    pub fn skip_reason(&self, mutation_id: &str) -> Option<&str> {
        self.skip.iter().find_map(|s| {
            let hit = match s.mutation.strip_suffix('*') {
                Some(prefix) => mutation_id.starts_with(prefix),
                None => mutation_id == s.mutation,
            };
            hit.then_some(s.reason.as_str())
        })
    }
}

/// A case loaded from a file, with its name and where it lives.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The file stem (`sleep-updated`).
    pub name: String,
    /// The case file.
    pub path: PathBuf,
    /// The folder where its snapshots live (`<cases dir>/snapshots`).
    pub snapshot_dir: PathBuf,
    /// The case.
    pub case: Case,
}

impl LoadedCase {
    /// The app secrets of the case.
    pub fn secrets(&self) -> Secrets {
        let mut s = Secrets::new();
        for (k, v) in &self.case.secrets {
            s.insert(k, v.clone());
        }
        s
    }

    /// True when the case declares `suite`.
    pub fn declares(&self, suite: SequenceSuite) -> bool {
        self.case.suites.contains(&suite)
    }

    /// A label for step `index`: `step 1 "first delivery"`.
    pub fn step_label(&self, index: usize) -> String {
        match self.case.steps.get(index).and_then(|s| s.name.as_deref()) {
            Some(n) => format!("step {index} ({n:?})"),
            None => format!("step {index}"),
        }
    }
}

/// Parses one case file. The error names the file and what is wrong.
pub fn load_case(path: &Path) -> Result<LoadedCase, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let case: Case = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a valid recorded case: {e}", path.display()))?;
    if case.steps.is_empty() {
        return Err(format!(
            "{}: a case needs at least one step",
            path.display()
        ));
    }
    for (i, step) in case.steps.iter().enumerate() {
        step.trigger(&case.connection)
            .map_err(|e| format!("{}: step {i}: {e}", path.display()))?;
        for (j, ex) in step.exchanges.iter().enumerate() {
            ex.response
                .body_bytes()
                .map_err(|e| format!("{}: step {i}: exchange {j}: {e}", path.display()))?;
        }
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
        .to_owned();
    let snapshot_dir = path
        .parent()
        .map_or_else(|| PathBuf::from("snapshots"), |p| p.join("snapshots"));
    Ok(LoadedCase {
        name,
        path: path.to_owned(),
        snapshot_dir,
        case,
    })
}

/// Loads every `*.json` file directly in `dir`, sorted by name. A missing folder gives no cases;
/// each file that does not load is returned as an error beside the cases that did.
pub fn load_cases(dir: &Path) -> (Vec<LoadedCase>, Vec<String>) {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match load_case(&p) {
            Ok(c) => cases.push(c),
            Err(e) => errors.push(e),
        }
    }
    (cases, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "description": "d",
        "suites": ["revision"],
        "connection": {"tenant_id": "t", "user_id": "u", "external_user_ref": "e",
                       "connection_id": "c", "provider_user_id": null, "access_token": null},
        "secrets": {"webhook_secret": "fake-s"},
        "steps": [
          {"now_ms": 1, "request": {"method": "post", "path": "/w", "query": "",
             "headers": {"X-Sig": "a"}, "body": "{\"a\":1}"},
           "exchanges": [{"request": {"method": "GET", "path": "/v2/x", "query": null},
                          "response": {"status": 200, "headers": {}, "body": {"id": "abc"}}}]},
          {"now_ms": 2, "request": {"body_base64": "/w=="}, "expect": {"error": "invalid_signature"}},
          {"now_ms": 3, "request": {"method": "GET", "query": "challenge=x"},
           "expect": {"handshake": {"status": 200, "body": "x"}}, "stale": true}
        ]
    }"#;

    #[test]
    fn the_documented_format_loads() {
        let c: Case = serde_json::from_str(MINIMAL).unwrap();
        assert_eq!(c.suites, vec![SequenceSuite::Revision]);
        let r0 = c.steps[0].inbound().unwrap().unwrap();
        assert_eq!(r0.method, "POST");
        assert_eq!(r0.query, None);
        assert_eq!(r0.header("x-sig"), Some("a"));
        assert_eq!(&r0.body[..], b"{\"a\":1}");
        assert_eq!(
            &c.steps[0].exchanges[0].response.body_bytes().unwrap()[..],
            b"{\"id\":\"abc\"}"
        );
        assert_eq!(&c.steps[1].inbound().unwrap().unwrap().body[..], b"\xff");
        assert_eq!(c.steps[1].expect, Expect::Error("invalid_signature".into()));
        assert_eq!(
            c.steps[2].expect,
            Expect::Handshake {
                status: 200,
                body: Some("x".into())
            }
        );
        assert!(c.steps[2].stale);
    }

    #[test]
    fn typos_and_unknown_error_kinds_are_refused() {
        let typo = MINIMAL.replace("\"stale\"", "\"stael\"");
        let e = serde_json::from_str::<Case>(&typo).unwrap_err().to_string();
        assert!(e.contains("stael"), "{e}");
        let kind = MINIMAL.replace("invalid_signature", "bad_sig");
        let e = serde_json::from_str::<Case>(&kind).unwrap_err().to_string();
        assert!(e.contains("bad_sig"), "{e}");
    }

    #[test]
    fn robustness_skips_match_ids_and_prefixes() {
        let r = Robustness {
            skip: vec![
                RobustnessSkip {
                    mutation: "step0.request:remove:/a".into(),
                    reason: "r1".into(),
                },
                RobustnessSkip {
                    mutation: "step0.exchange0:*".into(),
                    reason: "r2".into(),
                },
            ],
        };
        assert_eq!(r.skip_reason("step0.request:remove:/a"), Some("r1"));
        assert_eq!(r.skip_reason("step0.request:remove:/ab"), None);
        assert_eq!(r.skip_reason("step0.exchange0:null:/x"), Some("r2"));
    }
}
