//! `daily.data.menstrual_cycle.*` -> `menstruation`, one item per day of recorded flow.

use nexus_core::items::{Flow, Menstruation};
use nexus_core::time::{local_midnight_ms, parse_date};
use nexus_core::{Error, Item, ItemBody, Normalized, Result};

use super::SummaryRecord;
use crate::PROVIDER;
use crate::fields::Obj;

fn flow(entry: &Obj<'_>) -> Result<Option<Flow>> {
    Ok(match entry.str_opt("flow")? {
        None => None,
        Some("none") => Some(Flow::None),
        Some("light") => Some(Flow::Light),
        Some("medium") => Some(Flow::Medium),
        Some("heavy") => Some(Flow::Heavy),
        Some("unspecified") => Some(Flow::Unknown),
        Some(other) => {
            return Err(Error::malformed(
                PROVIDER,
                entry.path_of("flow"),
                format!("expected none, light, medium, heavy or unspecified, got {other:?}"),
            ));
        }
    })
}

pub(super) fn normalize(rec: &SummaryRecord, data: &Obj<'_>) -> Result<Normalized> {
    let mut out = Normalized::default();
    // Predicted cycles are the provider's forecast, not recorded data.
    if data.bool_opt("is_predicted")? == Some(true) {
        return Ok(out);
    }
    let Some(entries) = data.arr_opt("menstrual_flow")? else {
        return Ok(out);
    };
    for (i, v) in entries.iter().enumerate() {
        let entry = data.elem("menstrual_flow", i, v)?;
        let date = parse_date(PROVIDER, &entry.path_of("date"), entry.str_req("date")?)?;
        let body = Menstruation {
            date: date.to_string(),
            timezone: None,
            // Junction gives the cycle's dates, not day numbers; Nexus does not count them.
            cycle_day: None,
            period_day: None,
            flow: flow(&entry)?,
            phase: None,
        };
        // One item per day of the cycle: `<cycle id>:<date>`.
        let native = format!("{}:{date}", rec.id);
        rec.push(
            &mut out,
            Item::new(
                PROVIDER,
                &native,
                local_midnight_ms(date, None),
                ItemBody::Menstruation(body),
            ),
        );
    }
    Ok(out)
}
