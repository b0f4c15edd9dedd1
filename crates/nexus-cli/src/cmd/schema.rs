//! `nexus schema [EVENT_TYPE]`: print the JSON Schema of the envelope, or of one event type's items.
//! These are the files under `schemas/`, generated from the Rust types.

use nexus_core::{EventType, schema};

/// Arguments of `nexus schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An event type (`activity`, `heart_rate_series`, ...); without it, the envelope's schema.
    event_type: Option<String>,
    /// List the event types instead.
    #[arg(long, conflicts_with = "event_type")]
    list: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    if args.list {
        for t in EventType::ALL {
            println!("{:<20} {}", t.as_str(), t.stream());
        }
        return Ok(());
    }
    let value = match args.event_type.as_deref() {
        Some(name) => {
            let t: EventType = name.parse().map_err(|_| {
                format!("unknown event type `{name}`; `nexus schema --list` lists them")
            })?;
            schema::item_schema(t)
        }
        None => schema::envelope_schema(),
    };
    print!("{}", schema::render(&value));
    Ok(())
}
