//! Terra `menstruation` -> `menstruation`, one per local date; predicted days
//! (`is_predicted_cycle`) are not emitted. `last_updated_time` is the
//! provider's modification time: an older version of a day than the stored one is dropped.

use nexus_core::identity::daily_native_id;
use nexus_core::items::{Flow, Menstruation};
use nexus_core::{Error, Item, ItemBody, NormalizeContext, Normalized, Result};

use super::{count, data_of, day_of, device, metadata, span, time, user_id};
use crate::PROVIDER;
use crate::payload::{self, DataEvent};
use crate::stamp::stamp_ms;

/// Terra `MenstruationFlow`: 0 unknown, 1 none, 2 light, 3 medium, 4 heavy, 5 "had" (flow
/// without an amount, Nexus `unknown`).
fn flow(v: f64) -> Option<Flow> {
    Some(match v {
        0.0 | 5.0 => Flow::Unknown,
        1.0 => Flow::None,
        2.0 => Flow::Light,
        3.0 => Flow::Medium,
        4.0 => Flow::Heavy,
        _ => return None,
    })
}

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Menstruation>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, r) in data.iter().enumerate() {
        let m = metadata(r.metadata.as_ref(), i)?;
        let (start, _) = span(m, i)?;
        let p = |f: &str| format!("data[{i}].menstruation_data.{f}");
        let (date, midnight) = day_of(&start, &format!("data[{i}].metadata.start_time"))?;
        let md = r.menstruation_data.as_ref();
        let predicted = match md.and_then(|d| d.is_predicted_cycle.as_ref()) {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(Error::malformed(
                    PROVIDER,
                    p("is_predicted_cycle"),
                    format!("expected true or false, got {other}"),
                ));
            }
        };
        if predicted {
            // A forecast, not a record of the day: Nexus carries what happened, and the item has
            // no field to mark a prediction.
            continue;
        }
        // The day's flow: the latest flow log of the record (the latest value replaces earlier).
        let mut latest: Option<(i64, Flow)> = None;
        for (k, s) in md
            .and_then(|d| d.menstruation_flow.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = p(&format!("menstruation_flow[{k}]"));
            let Some(v) = s.flow else { continue };
            let f = flow(v).ok_or_else(|| {
                Error::malformed(
                    PROVIDER,
                    format!("{path}.flow"),
                    format!("unknown flow {v}"),
                )
            })?;
            let ts = stamp_ms(s.timestamp.as_ref(), || format!("{path}.timestamp"))?;
            if latest.is_none_or(|(t, _)| ts >= t) {
                latest = Some((ts, f));
            }
        }
        let phase = match md.and_then(|d| d.current_phase.as_ref()) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                return Err(Error::malformed(
                    PROVIDER,
                    p("current_phase"),
                    "expected a phase name",
                ));
            }
        };
        let version = match md.and_then(|d| d.last_updated_time.as_deref()) {
            Some(s) => Some(time(&p("last_updated_time"), Some(s))?.epoch_ms),
            None => None,
        };
        let item = Menstruation {
            date: date.clone(),
            timezone: None,
            cycle_day: count(&p("day_in_cycle"), md.and_then(|d| d.day_in_cycle))?,
            period_day: None,
            flow: latest.map(|(_, f)| f),
            phase,
        };
        // The tracking app (`user.provider`, e.g. CLUE) is the source in the registry.
        let dev = device(user.as_ref(), None);
        out.push_versioned(
            Item::new(
                PROVIDER,
                &daily_native_id(&uid, &date),
                midnight,
                ItemBody::Menstruation(item),
            )
            .with_device(dev.as_ref().map(|d| d.1.device_id.clone())),
            version,
        );
        if let Some(d) = dev {
            out.add_device(d.1);
        }
    }
    Ok(out)
}
