//! `provider.connection.created|error` -> `connection`. A Junction user connects several sources,
//! so the state is kept per source: native id `<user_id>:<source slug>`.
//!
//! Junction's connection events carry no time: `occurred_at` is null and `payload_ts` is 0 (the
//! epoch), so a re-delivery is identical and emits nothing.

use nexus_core::items::{Connection, ConnectionStatus};
use nexus_core::{Item, ItemBody, Normalized, Result};

use crate::PROVIDER;
use crate::fields::Obj;
use crate::source::SourceInfo;

fn emit(user_id: &str, source: &SourceInfo, body: Connection) -> Normalized {
    let native = format!("{user_id}:{}", source.slug);
    let mut out = Normalized::default();
    // The connection is to the source as a whole, not one Source Type: key `<slug>:unknown`
    // unless Junction names a type.
    out.add_device(source.device());
    out.push(
        Item::new(PROVIDER, &native, 0, ItemBody::Connection(body))
            .with_device(Some(source.device_id())),
    );
    out
}

pub(super) fn created(user_id: &str, data: &Obj<'_>) -> Result<Normalized> {
    let source = SourceInfo::from_data(data)?;
    let body = Connection {
        status: ConnectionStatus::Connected,
        reason: None,
        scopes: None,
        scopes_added: None,
        scopes_removed: None,
        previous_provider_user_id: None,
        occurred_at: None,
    };
    Ok(emit(user_id, &source, body))
}

/// Junction's `error_type` -> a Nexus status.
fn status(error_type: Option<&str>) -> ConnectionStatus {
    match error_type {
        Some("deregistered_per_provider") => ConnectionStatus::Revoked,
        Some("user_not_found") => ConnectionStatus::Disconnected,
        Some(
            "provider_credential_error"
            | "provider_password_expired"
            | "required_scopes_not_granted",
        ) => ConnectionStatus::AuthFailed,
        // token_refresh_failed, webhook_registration_failed, unknown, anything new.
        _ => ConnectionStatus::Degraded,
    }
}

pub(super) fn error(user_id: &str, data: &Obj<'_>) -> Result<Normalized> {
    let source = SourceInfo::from_data(data)?;
    let body = Connection {
        status: status(data.nonempty_str_opt("error_type")?),
        reason: data.nonempty_str_opt("message")?.map(str::to_owned),
        scopes: None,
        scopes_added: None,
        scopes_removed: None,
        previous_provider_user_id: None,
        occurred_at: None,
    };
    Ok(emit(user_id, &source, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_map_to_statuses() {
        assert_eq!(
            status(Some("token_refresh_failed")),
            ConnectionStatus::Degraded
        );
        assert_eq!(
            status(Some("deregistered_per_provider")),
            ConnectionStatus::Revoked
        );
        assert_eq!(
            status(Some("provider_password_expired")),
            ConnectionStatus::AuthFailed
        );
        assert_eq!(
            status(Some("user_not_found")),
            ConnectionStatus::Disconnected
        );
        assert_eq!(status(None), ConnectionStatus::Degraded);
    }
}
