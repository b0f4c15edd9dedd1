//! `nexus adapters`: the registered adapters and what they emit.

use nexus_core::registry;

/// Arguments of `nexus adapters`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let adapters = registry::adapters();
    if args.json {
        let list: Vec<serde_json::Value> = adapters
            .iter()
            .map(|a| {
                let d = a.descriptor();
                serde_json::json!({
                    "id": d.id,
                    "name": d.display_name,
                    "ingestion": d.ingestion,
                    "signature": d.signature.as_ref().map(|s| s.name),
                    "event_types": d.event_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        outln!("{text}");
        return Ok(());
    }
    if adapters.is_empty() {
        outln!("no adapters registered");
        return Ok(());
    }
    outln!(
        "{:<10} {:<12} {:<18} {:<16} EMITS",
        "ID",
        "NAME",
        "INGESTION",
        "SIGNATURE"
    );
    for a in adapters {
        let d = a.descriptor();
        let ingestion = serde_json::to_value(d.ingestion)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let emits: Vec<&str> = d.event_types.iter().map(|t| t.as_str()).collect();
        outln!(
            "{:<10} {:<12} {:<18} {:<16} {}",
            d.id,
            d.display_name,
            ingestion,
            d.signature.as_ref().map_or("none", |s| s.name),
            emits.join(", ")
        );
    }
    Ok(())
}
