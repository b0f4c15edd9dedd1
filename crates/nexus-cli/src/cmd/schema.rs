//! `nexus schema [EVENT_TYPE]`: print the JSON Schema of the envelope, or of one event type's items.

use nexus_core::EventType;

/// Arguments of `nexus schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An event type (`activity`, `heart_rate_series`, ...); without it, the envelope's schema.
    event_type: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let _ = match args.event_type.as_deref() {
        Some(name) => Some(name.parse::<EventType>().map_err(|e| e.to_string())?),
        None => None,
    };
    Err("schemas are not generated yet".to_owned())
}
