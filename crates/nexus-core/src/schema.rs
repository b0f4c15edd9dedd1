//! JSON Schemas of the envelope and every item type, generated from the Rust types.
