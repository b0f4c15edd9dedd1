//! Oura's sampled series (`{interval, items, timestamp}`, e.g. the heart rate and HRV of a sleep)
//! -> timestamped samples.

use nexus_core::items::Sample;
use nexus_core::time::epoch_ms_checked;
use nexus_core::{Error, Result};
use serde_json::Value;

use crate::PROVIDER;
use crate::fields::Obj;

/// Most items one sampled series may hold (a week at 30-second intervals).
const MAX_ITEMS: usize = 20_160;

/// The samples of a `{interval, items, timestamp}` object: item `i` is at
/// `timestamp + i * interval`. `null` items (no reading) are skipped; every value must lie in
/// `[min, max]`.
pub(crate) fn sampled_series(series: &Obj<'_>, min: f64, max: f64) -> Result<Vec<Sample>> {
    let interval_s = series
        .f64_in("interval", f64::MIN_POSITIVE, 86_400.0)?
        .ok_or_else(|| Error::malformed(PROVIDER, series.path_of("interval"), "is required"))?;
    let Some(items) = series.array_opt("items")? else {
        return Ok(Vec::new());
    };
    if items.len() > MAX_ITEMS {
        return Err(Error::malformed(
            PROVIDER,
            series.path_of("items"),
            format!(
                "{} items exceed the {MAX_ITEMS} this adapter accepts",
                items.len()
            ),
        ));
    }
    if items.iter().all(Value::is_null) {
        return Ok(Vec::new());
    }
    let start = series.time_req("timestamp")?.epoch_ms;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = || format!("{}[{i}]", series.path_of("items"));
        let value = match item {
            Value::Null => continue,
            Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
            _ => None,
        }
        .ok_or_else(|| Error::malformed(PROVIDER, path(), "expected a number or null"))?;
        if !(min..=max).contains(&value) {
            return Err(Error::malformed(
                PROVIDER,
                path(),
                format!("{value} is outside the plausible range {min}..={max}"),
            ));
        }
        // i < MAX_ITEMS, so the offset is exact in f64.
        #[allow(clippy::cast_precision_loss)] // i is bounded by MAX_ITEMS
        let offset_ms = i as f64 * interval_s * 1000.0;
        #[allow(clippy::cast_precision_loss)] // epoch ms of 1900-2200 are exact in f64
        let ms = start as f64 + offset_ms;
        // The item's path is built only when the time is out of range (the same error again).
        let ts = epoch_ms_checked(PROVIDER, "", ms)
            .or_else(|_| epoch_ms_checked(PROVIDER, &path(), ms))?;
        out.push(Sample::one(ts, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::parse_object;

    fn series(json: &str) -> Result<Vec<Sample>> {
        let map = parse_object(json.as_bytes(), "t").unwrap();
        let root = Obj::root(&map);
        let s = root.obj_opt("hr")?.unwrap();
        sampled_series(&s, 20.0, 250.0)
    }

    #[test]
    fn items_are_spaced_by_the_interval_and_nulls_skipped() {
        let s = series(r#"{"hr":{"interval":300.0,"items":[60.0,null,58],"timestamp":"2024-11-10T23:30:00.000-03:30"}}"#).unwrap();
        let start = 1_731_294_000_000; // 2024-11-11T03:00:00Z
        assert_eq!(
            s,
            vec![Sample::one(start, 60.0), Sample::one(start + 600_000, 58.0)]
        );
    }

    #[test]
    fn bad_series_are_errors_naming_the_item() {
        let e = series(
            r#"{"hr":{"interval":300,"items":[60,"x"],"timestamp":"2024-11-11T00:00:00Z"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("hr.items[1]"));
        let e =
            series(r#"{"hr":{"interval":300,"items":[600],"timestamp":"2024-11-11T00:00:00Z"}}"#)
                .unwrap_err();
        assert_eq!(e.field(), Some("hr.items[0]"));
        let e = series(r#"{"hr":{"interval":0,"items":[60],"timestamp":"2024-11-11T00:00:00Z"}}"#)
            .unwrap_err();
        assert_eq!(e.field(), Some("hr.interval"));
        let e = series(r#"{"hr":{"interval":300,"items":[60],"timestamp":null}}"#).unwrap_err();
        assert_eq!(e.field(), Some("hr.timestamp"));
        assert!(
            series(r#"{"hr":{"interval":300,"items":[null],"timestamp":null}}"#)
                .unwrap()
                .is_empty()
        );
    }
}
