//! `nexus normalize`: parse and normalize one recorded provider request body, statelessly, and print
//! the envelopes a consumer would get as JSON lines. Signatures are not checked (there is no secret
//! here); the body is treated as already verified.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;
use nexus_core::envelope::{assemble, new_event_id};
use nexus_core::{
    InboundRequest, NormalizeContext, NormalizedItem, RawRecord, Recipient, Source, dedupe,
    registry,
};

/// Arguments of `nexus normalize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provider id (see `nexus adapters`).
    #[arg(long)]
    provider: String,
    /// Tenant id to put in the envelopes.
    #[arg(long, default_value = "tenant-local")]
    tenant: String,
    /// User id to put in the envelopes.
    #[arg(long, default_value = "user-local")]
    user: String,
    /// The tenant's external user reference.
    #[arg(long, default_value = "external-local")]
    external_ref: String,
    /// Connection id to put in the envelopes.
    #[arg(long, default_value = "connection-local")]
    connection: String,
    /// The provider user id of the connection (for composed native ids).
    #[arg(long)]
    provider_user_id: Option<String>,
    /// Treat the input as a record fetched from the provider API of this kind (e.g. `sleep` for
    /// Oura), instead of a webhook body.
    #[arg(long, value_name = "KIND")]
    record: Option<String>,
    /// A request header `name: value` of the recorded webhook (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The recorded body: a file, or `-` for standard input.
    file: PathBuf,
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, String> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(file).map_err(|e| format!("reading {}: {e}", file.display()))
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let adapter = registry::adapter(&args.provider).ok_or_else(|| {
        let known: Vec<&str> = registry::adapters()
            .iter()
            .map(|a| a.descriptor().id)
            .collect();
        format!(
            "unknown provider `{}`; registered: {}",
            args.provider,
            known.join(", ")
        )
    })?;
    let body = Bytes::from(read_input(&args.file)?);
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `name: value`"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }

    let mut sources: Vec<Source> = Vec::new();
    let records: Vec<RawRecord> = match &args.record {
        Some(kind) => vec![RawRecord::new(kind.clone(), body)],
        None => {
            let request = InboundRequest {
                method: "POST".to_owned(),
                path: format!("/webhooks/{}", args.provider),
                query: None,
                headers,
                body,
            };
            let notifications = adapter.parse(&request).map_err(|e| e.to_string())?;
            let mut records = Vec::new();
            for n in notifications {
                if n.records.is_empty() {
                    return Err(format!(
                        "this {} notification ({}) names a record to fetch from the provider API; \
                         fetch it and pass the response with --record {}",
                        args.provider, n.kind, n.kind
                    ));
                }
                if n.provider_notification_id.is_some() {
                    sources.push(Source {
                        provider_notification_id: n.provider_notification_id.clone(),
                        fetched_at: 0,
                    });
                }
                records.extend(n.records);
            }
            records
        }
    };

    let ctx = NormalizeContext {
        provider_user_id: args.provider_user_id.clone(),
    };
    let mut items: Vec<NormalizedItem> = Vec::new();
    let mut devices = Vec::new();
    for record in &records {
        let out = adapter.normalize(record, &ctx).map_err(|e| e.to_string())?;
        items.extend(out.items);
        for d in out.devices {
            if !devices
                .iter()
                .any(|x: &nexus_core::Device| x.device_id == d.device_id)
            {
                devices.push(d);
            }
        }
    }
    // Stateless: a fresh dedupe state, so every item is revision 1 and chunks of one input merge.
    let mut states = HashMap::new();
    let emitted = dedupe::apply_batch(&mut states, items);
    let recipient = Recipient {
        tenant_id: args.tenant,
        user_id: args.user,
        external_user_ref: args.external_ref,
        connection_id: args.connection,
    };
    let now = jiff_now_ms();
    for s in &mut sources {
        s.fetched_at = now;
    }
    let envelopes = assemble(
        &args.provider,
        &recipient,
        &sources,
        &devices,
        emitted,
        now,
        new_event_id,
    );
    for env in envelopes {
        let line = serde_json::to_string(&env).map_err(|e| e.to_string())?;
        outln!("{line}");
    }
    Ok(())
}

fn jiff_now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
