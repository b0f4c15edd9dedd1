//! Small JSON helpers shared by the suites.

use nexus_core::Item;
use serde_json::Value;

/// An item as JSON without its `revision` (what the dedupe stage compares).
pub(crate) fn content(item: &Item) -> Value {
    let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("revision");
    }
    v
}

/// An item as JSON.
pub(crate) fn json(item: &Item) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}
