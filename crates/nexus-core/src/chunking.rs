//! Timeseries chunking (EVENTS.md section 4): samples -> 15-minute chunks aligned to UTC quarter
//! hours, and the merge rule (the latest value per sample key wins; samples sorted, one per `ts`).
//!
//! Within one chunk the sample key (event type, provider, device, `ts`) reduces to `ts`: the event
//! type, provider and device are already part of the chunk's `source_id`.

use crate::identity::chunk_native_id;
use crate::items::{Sample, TimeseriesChunk};
use crate::{CaptureMode, EventType, Item, ItemBody, Stream};

/// Length of a window, ms (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Length of a UTC day, ms.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Start of the UTC quarter hour containing `ts` (epoch ms; works before 1970 too).
pub fn window_start(ts: i64) -> i64 {
    ts.div_euclid(WINDOW_MS) * WINDOW_MS
}

/// Index of the window starting at `window_start` in its UTC day, 0..=95.
pub fn chunk_index(window_start: i64) -> u32 {
    // rem_euclid is in 0..DAY_MS, so the quotient is in 0..96 and fits a u32.
    u32::try_from(window_start.rem_euclid(DAY_MS) / WINDOW_MS).unwrap_or(0)
}

/// Where a series comes from and what its chunks carry besides samples.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec<'a> {
    /// Provider id.
    pub provider: &'a str,
    /// A `*_series` event type.
    pub event_type: EventType,
    /// The provider's user id (part of the composed native id).
    pub provider_user_id: &'a str,
    /// The device's native key, part of the composed native id (`-` when `None`).
    pub device_native_id: Option<&'a str>,
    /// The Nexus device id items reference.
    pub device_id: Option<String>,
    /// Sample interval hint, seconds.
    pub resolution_s: Option<f64>,
    /// `manual`/`automatic`, if known.
    pub capture_mode: Option<CaptureMode>,
    /// `day_complete` of every chunk (usually `None`: unknown).
    pub day_complete: Option<bool>,
}

impl<'a> SeriesSpec<'a> {
    /// A spec with no device, resolution, capture mode or completeness.
    pub fn new(provider: &'a str, event_type: EventType, provider_user_id: &'a str) -> Self {
        SeriesSpec {
            provider,
            event_type,
            provider_user_id,
            device_native_id: None,
            device_id: None,
            resolution_s: None,
            capture_mode: None,
            day_complete: None,
        }
    }
}

/// Sorts samples by `ts` and keeps one per `ts`: the last one in input order wins (the latest
/// value replaces earlier ones).
pub fn dedupe_samples(samples: &mut Vec<Sample>) {
    // Already sorted with one sample per ts (the usual case): nothing to do.
    if samples.is_sorted_by(|a, b| a.ts < b.ts) {
        return;
    }
    // A stable sort keeps input order among equal ts; then keep the last of each run: `dedup_by`
    // keeps the first element of a run, so each later duplicate is swapped into the kept slot
    // before being dropped.
    samples.sort_by_key(|s| s.ts);
    samples.dedup_by(|later, kept| {
        if later.ts == kept.ts {
            std::mem::swap(later, kept);
            true
        } else {
            false
        }
    });
}

/// Cuts samples into chunk items, one per UTC quarter hour that has samples, in window order.
/// Returns nothing for a non-timeseries event type or no samples.
pub fn chunk_samples(spec: &SeriesSpec<'_>, mut samples: Vec<Sample>) -> Vec<Item> {
    if spec.event_type.stream() != Stream::Timeseries || samples.is_empty() {
        return Vec::new();
    }
    dedupe_samples(&mut samples);
    // Samples are sorted: measure each window's run first, so every vector is allocated once.
    let mut runs: Vec<usize> = Vec::new();
    let mut run_start = 0;
    for i in 1..=samples.len() {
        if i == samples.len() || window_start(samples[i].ts) != window_start(samples[i - 1].ts) {
            runs.push(i - run_start);
            run_start = i;
        }
    }
    let mut items = Vec::with_capacity(runs.len());
    let mut rest = samples.into_iter();
    for n in runs {
        let current: Vec<Sample> = rest.by_ref().take(n).collect();
        if let Some(start) = current.first().map(|s| window_start(s.ts)) {
            items.extend(make_chunk(spec, start, current));
        }
    }
    items
}

fn make_chunk(spec: &SeriesSpec<'_>, start: i64, samples: Vec<Sample>) -> Option<Item> {
    let chunk = TimeseriesChunk {
        window_start: Some(start),
        window_end: Some(start + WINDOW_MS),
        chunk_index: Some(chunk_index(start)),
        day_complete: spec.day_complete,
        resolution_s: spec.resolution_s,
        columns: spec
            .event_type
            .columns()
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        samples,
    };
    let body = ItemBody::from_chunk(spec.event_type, chunk)?;
    let native = chunk_native_id(spec.provider_user_id, spec.device_native_id, start);
    let mut item = Item::with_native_id(spec.provider, native, start, body);
    item.device_id.clone_from(&spec.device_id);
    item.capture_mode = spec.capture_mode;
    Some(item)
}

/// Merges an incoming chunk into a stored one: the union of their samples by `ts`, the incoming
/// value winning on equal `ts`, sorted. Window fields and `resolution_s` come from the incoming
/// chunk where it has them.
pub fn merge_chunks(stored: &TimeseriesChunk, incoming: &TimeseriesChunk) -> TimeseriesChunk {
    let mut samples = Vec::with_capacity(stored.samples.len() + incoming.samples.len());
    samples.extend(stored.samples.iter().cloned());
    samples.extend(incoming.samples.iter().cloned());
    dedupe_samples(&mut samples);
    TimeseriesChunk {
        window_start: incoming.window_start.or(stored.window_start),
        window_end: incoming.window_end.or(stored.window_end),
        chunk_index: incoming.chunk_index.or(stored.chunk_index),
        day_complete: incoming.day_complete.or(stored.day_complete),
        resolution_s: incoming.resolution_s.or(stored.resolution_s),
        columns: if incoming.columns.is_empty() {
            stored.columns.clone()
        } else {
            incoming.columns.clone()
        },
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_006_400_000; // 2023-11-15T00:00:00Z, a UTC midnight

    fn spec() -> SeriesSpec<'static> {
        SeriesSpec::new("oura", EventType::HeartRateSeries, "u1")
    }

    fn chunk_of(item: &Item) -> &TimeseriesChunk {
        item.body.chunk().unwrap()
    }

    #[test]
    fn windows_align_to_utc_quarter_hours() {
        assert_eq!(T0 % DAY_MS, 0);
        assert_eq!(window_start(T0), T0);
        assert_eq!(window_start(T0 + WINDOW_MS - 1), T0);
        assert_eq!(window_start(T0 + WINDOW_MS), T0 + WINDOW_MS);
        assert_eq!(window_start(-1), -WINDOW_MS);
        assert_eq!(chunk_index(T0), 0);
        assert_eq!(chunk_index(T0 + 95 * WINDOW_MS), 95);
        assert_eq!(chunk_index(T0 + DAY_MS), 0);
    }

    #[test]
    fn samples_on_a_boundary_start_the_next_chunk() {
        let items = chunk_samples(
            &spec(),
            vec![
                Sample::one(T0 + WINDOW_MS - 1, 60.0),
                Sample::one(T0 + WINDOW_MS, 61.0),
            ],
        );
        assert_eq!(items.len(), 2);
        assert_eq!(chunk_of(&items[0]).window_start, Some(T0));
        assert_eq!(chunk_of(&items[0]).window_end, Some(T0 + WINDOW_MS));
        assert_eq!(chunk_of(&items[1]).chunk_index, Some(1));
        assert_eq!(items[1].payload_ts, T0 + WINDOW_MS);
        assert_ne!(items[0].source_id, items[1].source_id);
    }

    #[test]
    fn out_of_order_and_duplicate_samples_sort_and_the_last_wins() {
        let items = chunk_samples(
            &spec(),
            vec![
                Sample::one(T0 + 2_000, 62.0),
                Sample::one(T0, 60.0),
                Sample::one(T0 + 2_000, 65.0),
                Sample::one(T0 + 1_000, 61.0),
            ],
        );
        assert_eq!(items.len(), 1);
        let c = chunk_of(&items[0]);
        let got: Vec<(i64, Option<f64>)> = c.samples.iter().map(|s| (s.ts, s.values[0])).collect();
        assert_eq!(
            got,
            vec![
                (T0, Some(60.0)),
                (T0 + 1_000, Some(61.0)),
                (T0 + 2_000, Some(65.0))
            ]
        );
        assert_eq!(c.columns, vec!["ts", "bpm"]);
    }

    #[test]
    fn devices_get_their_own_chunks() {
        let mut a = spec();
        a.device_native_id = Some("ring");
        let mut b = spec();
        b.device_native_id = Some("watch");
        let ia = chunk_samples(&a, vec![Sample::one(T0, 60.0)]);
        let ib = chunk_samples(&b, vec![Sample::one(T0, 60.0)]);
        let none = chunk_samples(&spec(), vec![Sample::one(T0, 60.0)]);
        assert_ne!(ia[0].source_id, ib[0].source_id);
        assert_ne!(ia[0].source_id, none[0].source_id);
        assert_eq!(none[0].provider_ref, format!("u1:-:{T0}"));
    }

    #[test]
    fn sparse_samples_skip_empty_windows() {
        let items = chunk_samples(
            &spec(),
            vec![
                Sample::one(T0, 60.0),
                Sample::one(T0 + 10 * WINDOW_MS + 5, 70.0),
            ],
        );
        assert_eq!(items.len(), 2);
        assert_eq!(chunk_of(&items[1]).chunk_index, Some(10));
        assert!(chunk_samples(&spec(), vec![]).is_empty());
    }

    #[test]
    fn non_timeseries_types_give_nothing() {
        let s = SeriesSpec::new("oura", EventType::Sleep, "u1");
        assert!(chunk_samples(&s, vec![Sample::one(T0, 1.0)]).is_empty());
    }

    #[test]
    fn merge_takes_the_union_and_the_incoming_value_wins() {
        let old = chunk_samples(
            &spec(),
            vec![Sample::one(T0, 60.0), Sample::one(T0 + 1_000, 61.0)],
        );
        let new = chunk_samples(
            &spec(),
            vec![Sample::one(T0 + 1_000, 70.0), Sample::one(T0 + 500, 65.0)],
        );
        let merged = merge_chunks(chunk_of(&old[0]), chunk_of(&new[0]));
        let got: Vec<(i64, Option<f64>)> =
            merged.samples.iter().map(|s| (s.ts, s.values[0])).collect();
        assert_eq!(
            got,
            vec![
                (T0, Some(60.0)),
                (T0 + 500, Some(65.0)),
                (T0 + 1_000, Some(70.0))
            ]
        );
    }
}
