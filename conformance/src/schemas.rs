//! Validation against the published JSON Schemas of the envelope and of every item type
//! (`nexus_core::schema`, the same schemas `cargo xtask codegen` writes to `schemas/`). The
//! validators are compiled once per process.

use std::collections::HashMap;
use std::sync::OnceLock;

use nexus_core::EventType;
use nexus_core::schema::{envelope_schema, item_schema};
use serde_json::Value;

struct Validators {
    envelope: Result<jsonschema::Validator, String>,
    items: HashMap<EventType, Result<jsonschema::Validator, String>>,
}

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(|| Validators {
        envelope: jsonschema::validator_for(&envelope_schema())
            .map_err(|e| format!("the envelope schema does not compile: {e}")),
        items: EventType::ALL
            .iter()
            .map(|t| {
                (
                    *t,
                    jsonschema::validator_for(&item_schema(*t))
                        .map_err(|e| format!("the {t} item schema does not compile: {e}")),
                )
            })
            .collect(),
    })
}

fn errors(v: &Result<jsonschema::Validator, String>, instance: &Value) -> Vec<String> {
    match v {
        Ok(v) => v
            .iter_errors(instance)
            .map(|e| {
                let at = e.instance_path.to_string();
                format!("{} {e}", if at.is_empty() { "/".to_owned() } else { at })
            })
            .collect(),
        Err(e) => vec![e.clone()],
    }
}

/// Schema violations of one serialized envelope (its items included).
pub(crate) fn envelope_problems(envelope: &Value) -> Vec<String> {
    errors(&validators().envelope, envelope)
        .into_iter()
        .map(|e| format!("envelope schema: {e}"))
        .collect()
}

/// Schema violations of one serialized item against its type's schema.
pub(crate) fn item_problems(item: &Value) -> Vec<String> {
    let Some(t) = item
        .get("event_type")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<EventType>().ok())
    else {
        return vec!["no known `event_type`".to_owned()];
    };
    match validators().items.get(&t) {
        Some(v) => errors(v, item)
            .into_iter()
            .map(|e| format!("{t} item schema: {e}"))
            .collect(),
        None => vec![format!("no schema for {t}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples_validate_and_broken_ones_do_not() {
        for t in EventType::ALL {
            let env = serde_json::to_value(nexus_core::schema::envelope_example(*t)).unwrap();
            assert!(
                envelope_problems(&env).is_empty(),
                "{t}: {:?}",
                envelope_problems(&env)
            );
            let item = env["data"][0].clone();
            assert!(
                item_problems(&item).is_empty(),
                "{t}: {:?}",
                item_problems(&item)
            );
        }
        let mut env =
            serde_json::to_value(nexus_core::schema::envelope_example(EventType::Sleep)).unwrap();
        env["data"][0].as_object_mut().unwrap().remove("score");
        env["data"][0]["revision"] = Value::from(-1);
        let item_errs = item_problems(&env["data"][0]);
        assert!(
            item_errs.iter().any(|e| e.contains("score")),
            "{item_errs:?}"
        );
        assert!(!envelope_problems(&env).is_empty());
    }
}
