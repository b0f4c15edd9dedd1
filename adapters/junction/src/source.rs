//! The data source Junction names on every wearable event (`$.data.source`), and the device it
//! becomes in the Nexus device registry.
//!
//! Junction has printed the source in three shapes; all are read:
//! - the summary/timeseries source of its API models: `{provider, type, app_id, device_id}`;
//! - the docs' event structure: `{slug, name, logo}`;
//! - older timeseries events: `source: {provider, type}` plus `provider: {slug, name, logo}`.
//!
//! The source slug (`oura`) is never the Nexus `provider` (that is always `junction`); the slug and
//! the Source Type (`ring`, `watch`, `app`, ...) form the device's native key `<slug>:<type>`.

use nexus_core::identity::device_id;
use nexus_core::{CaptureMode, Device, Error, Result};

use crate::PROVIDER;
use crate::fields::Obj;

/// Junction's Source Type when it does not know one.
pub(crate) const UNKNOWN_TYPE: &str = "unknown";

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceInfo {
    /// Junction's stable source slug (`oura`, `apple_health_kit`).
    pub slug: String,
    /// Display name (`Oura`), when given.
    pub name: Option<String>,
    /// Source Type (`ring`, `watch`, `app`, ...), `unknown` when not given.
    pub source_type: String,
    /// Junction's device id, when it attributes one.
    pub device_id: Option<String>,
}

impl SourceInfo {
    /// Reads the source of the event data object `data`.
    pub(crate) fn from_data(data: &Obj<'_>) -> Result<SourceInfo> {
        let source = data.obj_opt("source")?;
        // `data.provider` is an object in older events and in `provider.connection.created`.
        let provider_obj = match data.get("provider") {
            Some(v) if v.is_object() => data.obj_opt("provider")?,
            _ => None,
        };
        let mut slug = None;
        let mut name = None;
        let mut source_type = None;
        let mut dev = None;
        if let Some(s) = &source {
            slug = s
                .nonempty_str_opt("slug")?
                .or(s.nonempty_str_opt("provider")?);
            name = s.nonempty_str_opt("name")?;
            source_type = s.nonempty_str_opt("type")?;
            dev = s.nonempty_str_opt("device_id")?;
        }
        if let Some(p) = &provider_obj {
            slug = slug.or(p.nonempty_str_opt("slug")?);
            name = name.or(p.nonempty_str_opt("name")?);
        }
        if slug.is_none() {
            // `provider.connection.error` and historical pulls name the slug as a string.
            slug = data.nonempty_str_opt("provider").ok().flatten();
        }
        let slug = slug.ok_or_else(|| {
            Error::malformed(
                PROVIDER,
                data.path_of("source"),
                "no source slug: neither `source.slug`, `source.provider` nor `provider` is given",
            )
        })?;
        check_key_part(&data.path_of("source.slug"), slug)?;
        let source_type = source_type.unwrap_or(UNKNOWN_TYPE);
        check_key_part(&data.path_of("source.type"), source_type)?;
        Ok(SourceInfo {
            slug: slug.to_owned(),
            name: name.map(str::to_owned),
            source_type: source_type.to_owned(),
            device_id: dev.map(str::to_owned),
        })
    }

    /// The same source with another Source Type (a sample's own `type`).
    pub(crate) fn with_type(&self, field: &str, source_type: &str) -> Result<SourceInfo> {
        check_key_part(field, source_type)?;
        Ok(SourceInfo {
            source_type: source_type.to_owned(),
            ..self.clone()
        })
    }

    /// Checks a sample's own Source Type as `with_type` would, naming `field()` only on failure.
    pub(crate) fn check_type(
        &self,
        field: impl FnOnce() -> String,
        source_type: &str,
    ) -> Result<()> {
        if key_part_ok(source_type) {
            Ok(())
        } else {
            check_key_part(&field(), source_type)
        }
    }

    /// The device's native key, `<slug>:<source type>`.
    pub(crate) fn device_key(&self) -> String {
        format!("{}:{}", self.slug, self.source_type)
    }

    /// The Nexus device id of this source.
    pub(crate) fn device_id(&self) -> String {
        device_id(PROVIDER, &self.device_key())
    }

    /// The registry entry: name = the source's display name (else its slug), model = the Source
    /// Type, provider device id = Junction's `source.device_id` when it attributes one.
    pub(crate) fn device(&self) -> Device {
        Device {
            device_id: self.device_id(),
            name: Some(self.name.clone().unwrap_or_else(|| self.slug.clone())),
            model: Some(self.source_type.clone()),
            provider_device_id: self.device_id.clone(),
        }
    }

    /// `manual` for data typed in through an app, `automatic` for data a device recorded, null
    /// when Junction does not know (`unknown`, `multiple_sources`).
    pub(crate) fn capture_mode(&self) -> Option<CaptureMode> {
        match self.source_type.as_str() {
            "app" => Some(CaptureMode::Manual),
            "unknown" | "multiple_sources" => None,
            _ => Some(CaptureMode::Automatic),
        }
    }
}

/// Slugs and types become parts of composed native ids joined by `:`: refuse anything that could
/// make two different keys collide.
fn key_part_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn check_key_part(field: &str, s: &str) -> Result<()> {
    if key_part_ok(s) {
        Ok(())
    } else {
        Err(Error::malformed(
            PROVIDER,
            field,
            format!("expected a slug of letters, digits, `_`, `-` or `.`, got {s:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::object_at;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<SourceInfo> {
        SourceInfo::from_data(&object_at(&v, "data").unwrap())
    }

    #[test]
    fn all_three_source_shapes_are_read() {
        let a = read(json!({"source": {"provider": "oura", "type": "ring", "device_id": "d1"}}))
            .unwrap();
        assert_eq!((a.slug.as_str(), a.source_type.as_str()), ("oura", "ring"));
        assert_eq!(a.device().provider_device_id.as_deref(), Some("d1"));
        assert_eq!(a.device().name.as_deref(), Some("oura"));
        let b = read(json!({"source": {"slug": "fitbit", "name": "Fitbit", "logo": "x"}})).unwrap();
        assert_eq!(b.device_key(), "fitbit:unknown");
        assert_eq!(b.device().name.as_deref(), Some("Fitbit"));
        let c = read(json!({"source": {"provider": "oura", "type": "ring"},
                            "provider": {"slug": "oura", "name": "Oura", "logo": "x"}}))
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("Oura"));
        assert_eq!(a.device_id(), c.device_id());
    }

    #[test]
    fn a_missing_or_odd_slug_is_malformed() {
        assert_eq!(
            read(json!({"source": {"type": "ring"}}))
                .unwrap_err()
                .field(),
            Some("data.source")
        );
        assert!(read(json!({"source": {"provider": "ou:ra"}})).is_err());
        assert!(read(json!({"source": {"provider": "oura", "type": "a b"}})).is_err());
    }

    #[test]
    fn capture_mode_follows_the_source_type() {
        let s = read(json!({"source": {"provider": "oura", "type": "app"}})).unwrap();
        assert_eq!(s.capture_mode(), Some(CaptureMode::Manual));
        assert_eq!(
            s.with_type("t", "ring").unwrap().capture_mode(),
            Some(CaptureMode::Automatic)
        );
        assert_eq!(s.with_type("t", "unknown").unwrap().capture_mode(), None);
    }
}
