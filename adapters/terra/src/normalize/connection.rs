//! Terra authentication events -> `connection` (native id `<user_id>`, upserted per user).
//!
//! | Terra `type` | `status` |
//! |---|---|
//! | `auth` with `status: success` | `connected` |
//! | `auth` with `status: error` | `auth_failed` |
//! | `deauth` | `disconnected` |
//! | `user_reauth` | `reconnected` (id of `new_user`; `old_user` -> `previous_provider_user_id`) |
//! | `access_revoked` | `revoked` |
//! | `connection_error` | `degraded` |
//! | `google_no_datasource` | `no_data_source` |
//! | `permission_change` | `permissions_changed` (with `scopes_added` / `scopes_removed`) |

use nexus_core::identity::user_native_id;
use nexus_core::items::{Connection, ConnectionStatus};
use nexus_core::{Error, Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{device, scopes, user_id};
use crate::PROVIDER;
use crate::payload::{self, StatusEvent};

pub(super) fn normalize(kind: &str, body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let ev: StatusEvent = payload::parse(body)?;
    let (user, user_field) = if kind == "user_reauth" {
        (ev.new_user.as_ref(), "new_user.user_id")
    } else {
        (ev.user.as_ref(), "user.user_id")
    };
    let uid = user_id(user, user_field, ctx)?;
    let status = match kind {
        "auth" => match ev.status.as_deref() {
            Some("success") => ConnectionStatus::Connected,
            Some("error") => ConnectionStatus::AuthFailed,
            other => {
                return Err(Error::malformed(
                    PROVIDER,
                    "status",
                    format!("expected `success` or `error` for an auth event, got {other:?}"),
                ));
            }
        },
        "deauth" => ConnectionStatus::Disconnected,
        "user_reauth" => ConnectionStatus::Reconnected,
        "access_revoked" => ConnectionStatus::Revoked,
        "connection_error" => ConnectionStatus::Degraded,
        "google_no_datasource" => ConnectionStatus::NoDataSource,
        "permission_change" => ConnectionStatus::PermissionsChanged,
        other => {
            return Err(Error::unsupported(
                PROVIDER,
                format!("Terra event type `{other}`"),
            ));
        }
    };
    let reason = match status {
        // An auth error's `reason` is the machine-readable cause; `message` is generic.
        ConnectionStatus::AuthFailed => ev.reason.clone().or_else(|| ev.message.clone()),
        _ => ev.message.clone(),
    };
    let (added, removed) = if status == ConnectionStatus::PermissionsChanged {
        (
            scopes(ev.scopes_added.as_deref()),
            scopes(ev.scopes_removed.as_deref()),
        )
    } else {
        (None, None)
    };
    let previous = if status == ConnectionStatus::Reconnected {
        ev.old_user.as_ref().and_then(|u| u.user_id.clone())
    } else {
        None
    };
    let item = Connection {
        status,
        reason,
        scopes: scopes(user.and_then(|u| u.scopes.as_deref())),
        scopes_added: added,
        scopes_removed: removed,
        previous_provider_user_id: previous,
        occurred_at: None,
    };
    let dev = device(user, None);
    let mut out = Normalized::default();
    // Terra's connection events carry no event time: payload_ts 0 (unknown) keeps identical
    // re-deliveries identical.
    out.push(
        Item::new(
            PROVIDER,
            &user_native_id(&uid),
            0,
            ItemBody::Connection(item),
        )
        .with_device(dev.as_ref().map(|d| d.1.device_id.clone())),
    );
    if let Some(d) = dev {
        out.add_device(d.1);
    }
    Ok(out)
}
