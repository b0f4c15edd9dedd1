//! Unit and property tests of the dedupe engine, one per rule of EVENTS.md sections 3 and 4.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::*;
use crate::chunking::{SeriesSpec, chunk_samples};
use crate::items::{DailySummary, Sample};
use crate::testdata::T0;
use crate::{Item, ItemBody, Stream};

fn daily(native: &str, steps: i64) -> Item {
    Item::new(
        "oura",
        native,
        T0,
        ItemBody::DailySummary(DailySummary {
            date: "2023-11-15".into(),
            timezone: None,
            steps: Some(steps),
            distance_m: None,
            floors: None,
            calories_total_kcal: None,
            calories_active_kcal: None,
            active_minutes: None,
            sedentary_minutes: None,
            resting_heart_rate_bpm: None,
        }),
    )
}

fn plain(item: Item) -> NormalizedItem {
    NormalizedItem {
        item,
        provider_version: None,
    }
}

fn versioned(item: Item, v: i64) -> NormalizedItem {
    NormalizedItem {
        item,
        provider_version: Some(v),
    }
}

/// One heart-rate chunk (window T0) with `(offset seconds, bpm)` samples, in the given order.
fn hr_chunk(samples: &[(i64, f64)]) -> Item {
    let spec = SeriesSpec::new("oura", EventType::HeartRateSeries, "u1");
    let samples = samples
        .iter()
        .map(|(s, v)| Sample::one(T0 + s * 1000, *v))
        .collect();
    let mut items = chunk_samples(&spec, samples);
    assert_eq!(items.len(), 1, "test samples must fall in one window");
    items.remove(0)
}

fn samples_of(item: &Item) -> Vec<(i64, Option<f64>)> {
    item.body
        .chunk()
        .unwrap()
        .samples
        .iter()
        .map(|s| ((s.ts - T0) / 1000, s.values[0]))
        .collect()
}

fn emit(d: Decision) -> Item {
    match d {
        Decision::Emit(item) => item,
        other => panic!("expected an emission, got {other:?}"),
    }
}

/// Runs one item through `decide` against `states`, returning the decision.
fn step(states: &mut HashMap<String, StoredState>, n: NormalizedItem) -> Decision {
    let key = n.item.source_id.clone();
    let (d, s) = decide(states.get(&key), n);
    states.insert(key, s.unwrap());
    d
}

#[test]
fn first_delivery_is_revision_1() {
    let mut st = HashMap::new();
    let out = emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    assert_eq!(out.revision, 1);
    let s = &st[&out.source_id];
    assert_eq!(
        (s.revision, s.deleted, s.event_type),
        (1, false, EventType::DailySummary)
    );
    assert_eq!(s.content_hash, content_hash(&out));
}

#[test]
fn an_identical_redelivery_emits_nothing() {
    let mut st = HashMap::new();
    emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    let before = st.clone();
    assert_eq!(
        step(&mut st, plain(daily("u1:2023-11-15", 10))),
        Decision::Unchanged
    );
    assert_eq!(st, before);
}

#[test]
fn a_changed_item_is_the_next_revision() {
    let mut st = HashMap::new();
    emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    let out = emit(step(&mut st, plain(daily("u1:2023-11-15", 11))));
    assert_eq!(out.revision, 2);
    let out = emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    assert_eq!(out.revision, 3, "changing back is a change too");
}

#[test]
fn the_comparison_ignores_revision() {
    let mut st = HashMap::new();
    emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    let mut again = daily("u1:2023-11-15", 10);
    again.revision = 7;
    assert_eq!(step(&mut st, plain(again)), Decision::Unchanged);
    assert_eq!(content_hash(&daily("a", 1)), {
        let mut x = daily("a", 1);
        x.revision = 99;
        content_hash(&x)
    });
}

#[test]
fn the_content_hash_is_the_sha256_of_the_items_json_at_revision_0() {
    // Stored states keep this hash: it must stay the hash of the item's own JSON bytes.
    let mut item = daily("u1:2024-03-01", 100);
    item.revision = 7;
    let mut zero = item.clone();
    zero.revision = 0;
    let expected = hex::encode(Sha256::digest(serde_json::to_vec(&zero).unwrap()));
    assert_eq!(content_hash(&item), expected);
    assert_eq!(item.revision, 7, "hashing does not touch the item");
}

#[test]
fn an_emitted_items_json_is_the_hashed_json_at_its_revision() {
    // The gateway writes envelopes from this JSON: it must be the item's own bytes, revision
    // included, for every kind of emission (new, changed, a chunk, a merged chunk, a deletion, a
    // high revision, a native id that spells the revision field), whether the item was hashed in
    // advance (as the gateway does) or by the engine.
    for prepare in [PreparedItem::new, PreparedItem::from] {
        let run = |st: &mut HashMap<String, StoredState>, item: Item| {
            apply_batch_serialized(st, [prepare(plain(item))])
        };
        let mut st = HashMap::new();
        let mut tricky = daily("\"revision\":0", 1);
        tricky.provider_ref = "x\"revision\":0,\"".into();
        let mut emitted = run(&mut st, daily("d", 1));
        emitted.extend(run(&mut st, tricky));
        for steps in 2..=12 {
            emitted.extend(run(&mut st, daily("d", steps)));
        }
        // A chunk, then a merge that changes it (a hash made in advance no longer applies).
        emitted.extend(run(&mut st, hr_chunk(&[(10, 61.5), (0, 60.0)])));
        emitted.extend(run(&mut st, hr_chunk(&[(20, 62.0)])));
        let deletion = Item::deletion("oura", EventType::DailySummary, "d", T0);
        emitted.extend(run(&mut st, deletion));
        assert_eq!(emitted.len(), 16);
        assert_eq!(emitted[12].0.revision, 12);
        assert_eq!(samples_of(&emitted[14].0).len(), 3, "merged");
        assert_emitted_json(&emitted);
        let chunk = &st[&hr_chunk(&[(0, 0.0)]).source_id];
        assert_eq!(chunk.content_hash, content_hash(&emitted[14].0));
    }
}

/// Each emitted item's JSON is its own at its revision, and at revision 0.
fn assert_emitted_json(emitted: &[(Item, ItemJson)]) {
    for (item, json) in emitted {
        let mut out = Vec::new();
        assert!(json.write_with_revision(item.revision, &mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(item).unwrap()
        );
        let mut zero = item.clone();
        zero.revision = 0;
        assert_eq!(json.0, serde_json::to_vec(&zero).unwrap());
    }
}

#[test]
fn json_without_a_revision_field_is_refused() {
    let mut out = b"[".to_vec();
    assert!(!ItemJson(br#"{"revision":1}"#.to_vec()).write_with_revision(3, &mut out));
    assert_eq!(out, b"[", "nothing written");
}

#[test]
fn an_older_provider_version_is_dropped() {
    let mut st = HashMap::new();
    emit(step(&mut st, versioned(daily("d", 10), 200)));
    let before = st.clone();
    assert_eq!(
        step(&mut st, versioned(daily("d", 99), 100)),
        Decision::Stale
    );
    assert_eq!(st, before, "a stale item changes nothing");
    // A newer one is a revision; the same version with other content is the latest arrival.
    assert_eq!(
        emit(step(&mut st, versioned(daily("d", 11), 300))).revision,
        2
    );
    assert_eq!(
        emit(step(&mut st, versioned(daily("d", 12), 300))).revision,
        3
    );
    // Without a version there is nothing to compare: the latest arrival wins.
    assert_eq!(emit(step(&mut st, plain(daily("d", 13)))).revision, 4);
    assert_eq!(st[&daily("d", 0).source_id].provider_version, Some(300));
}

#[test]
fn a_delete_is_a_deletion_with_the_deleted_items_source_id_and_the_next_revision() {
    let mut st = HashMap::new();
    let first = emit(step(&mut st, plain(daily("u1:2023-11-15", 10))));
    emit(step(&mut st, plain(daily("u1:2023-11-15", 11))));
    let del = Item::deletion("oura", EventType::DailySummary, "u1:2023-11-15", T0 + 5);
    let out = emit(step(&mut st, plain(del.clone())));
    assert_eq!(out.event_type(), EventType::Deletion);
    assert_eq!(out.source_id, first.source_id);
    assert_eq!(out.revision, 3);
    assert_eq!(out.stream(), Stream::Aggregate);
    let s = &st[&first.source_id];
    assert!(s.deleted);
    assert_eq!(s.event_type, EventType::Deletion);
    // Deleting again emits nothing.
    assert_eq!(step(&mut st, plain(del)), Decision::Unchanged);
    assert_eq!(st[&first.source_id].revision, 3);
}

#[test]
fn a_deletion_of_an_unseen_record_is_revision_1() {
    let mut st = HashMap::new();
    let del = Item::deletion("oura", EventType::Sleep, "s-1", T0);
    assert_eq!(emit(step(&mut st, plain(del))).revision, 1);
}

#[test]
fn the_same_source_id_after_a_deletion_is_a_new_revision() {
    let mut st = HashMap::new();
    emit(step(&mut st, versioned(daily("d", 10), 100)));
    emit(step(
        &mut st,
        versioned(
            Item::deletion("oura", EventType::DailySummary, "d", T0),
            150,
        ),
    ));
    // Identical content to what was there before the delete: still new (consumers deleted it).
    let out = emit(step(&mut st, versioned(daily("d", 10), 200)));
    assert_eq!(out.revision, 3);
    assert_eq!(out.event_type(), EventType::DailySummary);
    assert!(!st[&out.source_id].deleted);
}

#[test]
fn an_older_version_does_not_resurrect_a_deleted_record() {
    let mut st = HashMap::new();
    emit(step(&mut st, versioned(daily("d", 10), 100)));
    emit(step(
        &mut st,
        versioned(
            Item::deletion("oura", EventType::DailySummary, "d", T0),
            150,
        ),
    ));
    assert_eq!(
        step(&mut st, versioned(daily("d", 10), 100)),
        Decision::Stale
    );
    assert!(st[&daily("d", 0).source_id].deleted);
}

#[test]
fn a_timeseries_chunk_is_merged_and_emitted_whole() {
    let mut st = HashMap::new();
    let first = emit(step(&mut st, plain(hr_chunk(&[(0, 60.0), (10, 61.0)]))));
    assert_eq!(first.revision, 1);
    let out = emit(step(&mut st, plain(hr_chunk(&[(20, 65.0), (10, 70.0)]))));
    assert_eq!(out.revision, 2);
    assert_eq!(out.source_id, first.source_id);
    assert_eq!(
        samples_of(&out),
        vec![(0, Some(60.0)), (10, Some(70.0)), (20, Some(65.0))],
        "the union, the latest value per ts, sorted"
    );
    assert_eq!(st[&out.source_id].chunk.as_ref(), out.body.chunk());
    // A subset already contained: nothing new.
    assert_eq!(
        step(&mut st, plain(hr_chunk(&[(20, 65.0)]))),
        Decision::Unchanged
    );
}

#[test]
fn an_unsorted_chunk_with_duplicate_ts_is_sorted_and_deduped() {
    let mut st = HashMap::new();
    let mut item = hr_chunk(&[(0, 60.0)]);
    let chunk = item.body.chunk_mut().unwrap();
    chunk.samples = vec![
        Sample::one(T0 + 30_000, 3.0),
        Sample::one(T0, 1.0),
        Sample::one(T0 + 30_000, 4.0),
    ];
    let out = emit(step(&mut st, plain(item)));
    assert_eq!(samples_of(&out), vec![(0, Some(1.0)), (30, Some(4.0))]);
    let mut again = hr_chunk(&[(0, 60.0)]);
    again.body.chunk_mut().unwrap().samples =
        vec![Sample::one(T0 + 30_000, 5.0), Sample::one(T0 + 30_000, 4.0)];
    assert_eq!(step(&mut st, plain(again)), Decision::Unchanged);
}

#[test]
fn an_older_timeseries_batch_fills_gaps_but_does_not_overwrite() {
    let mut st = HashMap::new();
    emit(step(
        &mut st,
        versioned(hr_chunk(&[(10, 70.0), (20, 71.0)]), 200),
    ));
    let out = emit(step(
        &mut st,
        versioned(hr_chunk(&[(0, 50.0), (10, 55.0)]), 100),
    ));
    assert_eq!(
        samples_of(&out),
        vec![(0, Some(50.0)), (10, Some(70.0)), (20, Some(71.0))]
    );
    assert_eq!(out.revision, 2);
    // Entirely superseded: dropped as stale.
    assert_eq!(
        step(&mut st, versioned(hr_chunk(&[(10, 1.0)]), 150)),
        Decision::Stale
    );
    // A newer one overwrites.
    let out = emit(step(&mut st, versioned(hr_chunk(&[(0, 52.0)]), 300)));
    assert_eq!(samples_of(&out)[0], (0, Some(52.0)));
    let s = &st[&out.source_id];
    assert_eq!(
        s.sample_versions,
        BTreeMap::from([(T0, 300), (T0 + 10_000, 200), (T0 + 20_000, 200)])
    );
}

#[test]
fn a_deleted_chunk_starts_over() {
    let mut st = HashMap::new();
    let first = emit(step(&mut st, plain(hr_chunk(&[(0, 60.0), (10, 61.0)]))));
    let del = Item::deletion("oura", EventType::HeartRateSeries, &first.provider_ref, T0);
    let out = emit(step(&mut st, plain(del)));
    assert_eq!(
        (out.source_id.as_str(), out.revision),
        (first.source_id.as_str(), 2)
    );
    assert_eq!(out.stream(), Stream::Timeseries);
    let again = emit(step(&mut st, plain(hr_chunk(&[(20, 62.0)]))));
    assert_eq!(again.revision, 3);
    assert_eq!(
        samples_of(&again),
        vec![(20, Some(62.0))],
        "not merged with the deleted chunk"
    );
}

#[test]
fn a_batch_emits_one_final_item_per_source_id_without_revision_gaps() {
    let mut st = HashMap::new();
    apply_batch(&mut st, [plain(daily("d", 1))]);
    let out = apply_batch(
        &mut st,
        [
            plain(daily("d", 2)),
            plain(daily("e", 1)),
            plain(daily("d", 3)),
        ],
    );
    assert_eq!(out.len(), 2);
    let d = out.iter().find(|i| i.provider_ref == "d").unwrap();
    assert_eq!(
        d.revision, 2,
        "rev 2 was never emitted, so the final item is rev 2"
    );
    assert_eq!(d.body, daily("d", 3).body);
    assert_eq!(st[&d.source_id].revision, 2);
    assert_eq!(st[&d.source_id].content_hash, content_hash(d));
    // The next batch continues from there.
    let out = apply_batch(&mut st, [plain(daily("d", 4))]);
    assert_eq!(out[0].revision, 3);
}

#[test]
fn a_batch_that_ends_where_it_started_emits_nothing() {
    let mut st = HashMap::new();
    apply_batch(&mut st, [plain(daily("d", 1))]);
    let before = st.clone();
    let out = apply_batch(&mut st, [plain(daily("d", 2)), plain(daily("d", 1))]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(st, before);
    // Deleted, re-created and deleted again within one batch: consumers already have the delete.
    let del = || plain(Item::deletion("oura", EventType::DailySummary, "d", T0));
    let out = apply_batch(&mut st, [del()]);
    assert_eq!(out[0].revision, 2);
    let out = apply_batch(&mut st, [plain(daily("d", 5)), del()]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(st[&daily("d", 0).source_id].revision, 2);
    assert!(st[&daily("d", 0).source_id].deleted);
}

#[test]
fn chunks_in_one_batch_merge_into_one_emission() {
    let mut st = HashMap::new();
    let out = apply_batch(
        &mut st,
        [
            plain(hr_chunk(&[(0, 60.0)])),
            plain(hr_chunk(&[(10, 61.0)])),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].revision, 1);
    assert_eq!(samples_of(&out[0]), vec![(0, Some(60.0)), (10, Some(61.0))]);
}

/// Scope is the caller's: one state map per (tenant, connection). The same provider data for two
/// tenants is revision 1 for each; sharing one map would wrongly hide it from the second.
#[test]
fn state_is_scoped_by_the_caller_per_tenant_and_connection() {
    let mut scoped: HashMap<(&str, &str), HashMap<String, StoredState>> = HashMap::new();
    let a = apply_batch(
        scoped.entry(("tenant-a", "conn-1")).or_default(),
        [plain(daily("d", 1))],
    );
    let b = apply_batch(
        scoped.entry(("tenant-b", "conn-9")).or_default(),
        [plain(daily("d", 1))],
    );
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!((a[0].revision, b[0].revision), (1, 1));
    assert_eq!(
        a[0].source_id, b[0].source_id,
        "source_id alone does not separate tenants"
    );
    // A change seen by tenant a only moves tenant a's revision.
    let a2 = apply_batch(
        scoped.entry(("tenant-a", "conn-1")).or_default(),
        [plain(daily("d", 2))],
    );
    assert_eq!(a2[0].revision, 2);
    assert_eq!(scoped[&("tenant-b", "conn-9")][&b[0].source_id].revision, 1);

    let mut shared = HashMap::new();
    apply_batch(&mut shared, [plain(daily("d", 1))]);
    assert!(apply_batch(&mut shared, [plain(daily("d", 1))]).is_empty());
}

#[test]
fn stored_state_survives_json_and_reads_old_records_without_sample_versions() {
    let mut st = HashMap::new();
    emit(step(
        &mut st,
        versioned(hr_chunk(&[(0, 60.25), (10, 61.0)]), 5),
    ));
    let state = st.values().next().unwrap().clone();
    let back: StoredState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(back, state);
    let mut json = serde_json::to_value(&state).unwrap();
    json.as_object_mut().unwrap().remove("sample_versions");
    let old: StoredState = serde_json::from_value(json).unwrap();
    assert!(old.sample_versions.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Properties

/// A delivery order over `n` versions: every version at least once, some re-delivered, shuffled.
fn deliveries(n: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..n, 0..(2 * n)).prop_flat_map(move |extra| {
        let mut all: Vec<usize> = (0..n).collect();
        all.extend(extra);
        Just(all).prop_shuffle()
    })
}

/// Splits `items` into batches at the given cut points.
fn batches<T: Clone>(items: &[T], cuts: &[usize]) -> Vec<Vec<T>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (items.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([items.len()]) {
        out.push(items[start..c.max(start)].to_vec());
        start = c.max(start);
    }
    out
}

/// Checks that the revisions of emitted items grow by exactly one per emission per source_id,
/// starting after `start`.
fn assert_consecutive(emitted: &[Item], start: &HashMap<String, u32>) -> Result<(), TestCaseError> {
    let mut last = start.clone();
    for item in emitted {
        let prev = last.get(&item.source_id).copied().unwrap_or(0);
        prop_assert_eq!(
            item.revision,
            prev + 1,
            "revision gap or repeat for {}",
            item.source_id
        );
        last.insert(item.source_id.clone(), item.revision);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Versioned records re-delivered in any order and number end in the state of the highest
    /// version, one at a time or in batches, with consecutive revisions.
    #[test]
    fn any_interleaving_of_versioned_redeliveries_ends_in_the_newest_version(
        (n, order) in (1usize..6).prop_flat_map(|n| (Just(n), deliveries(n))),
        cuts in prop::collection::vec(0usize..32, 0..4),
    ) {
        // Version i has content 1000 + i; version numbers are distinct.
        let item = |i: usize| versioned(daily("d", 1000 + i as i64), 10 * i as i64);
        let newest = daily("d", 1000 + (n - 1) as i64);

        let mut one = HashMap::new();
        let mut emitted = Vec::new();
        for &i in &order {
            if let Decision::Emit(x) = step(&mut one, item(i)) {
                emitted.push(x);
            }
        }
        let s = &one[&newest.source_id];
        prop_assert_eq!(&s.content_hash, &content_hash(&newest));
        prop_assert_eq!(s.provider_version, Some(10 * (n - 1) as i64));
        assert_consecutive(&emitted, &HashMap::new())?;
        prop_assert_eq!(emitted.last().map(|e| e.body.clone()), Some(newest.body.clone()));

        let mut batched = HashMap::new();
        let mut emitted = Vec::new();
        for batch in batches(&order, &cuts) {
            emitted.extend(apply_batch(&mut batched, batch.into_iter().map(item)));
        }
        prop_assert_eq!(&batched[&newest.source_id].content_hash, &content_hash(&newest));
        assert_consecutive(&emitted, &HashMap::new())?;
    }

    /// Interleaved items and deletions for several source_ids, in random batches: revisions only
    /// grow (by one per emission), and folding the emitted items by source_id gives the stored
    /// state and the last delivered content.
    #[test]
    fn folding_emitted_items_gives_the_latest_state(
        ops in prop::collection::vec((0usize..3, prop::option::of(0i64..3)), 1..40),
        cuts in prop::collection::vec(0usize..64, 0..6),
    ) {
        // (record, Some(content) | None = delete)
        let make = |(rec, content): (usize, Option<i64>)| {
            let native = format!("rec-{rec}");
            plain(match content {
                Some(c) => daily(&native, c),
                None => Item::deletion("oura", EventType::DailySummary, &native, T0),
            })
        };
        let mut states = HashMap::new();
        let mut emitted = Vec::new();
        for batch in batches(&ops, &cuts) {
            emitted.extend(apply_batch(&mut states, batch.into_iter().map(make)));
        }
        assert_consecutive(&emitted, &HashMap::new())?;

        let mut folded: HashMap<String, Item> = HashMap::new();
        for item in emitted {
            folded.insert(item.source_id.clone(), item);
        }
        let mut last_op: HashMap<String, Option<i64>> = HashMap::new();
        for &(rec, content) in &ops {
            last_op.insert(daily(&format!("rec-{rec}"), 0).source_id, content);
        }
        for (sid, content) in last_op {
            let state = &states[&sid];
            match folded.get(&sid) {
                Some(item) => {
                    prop_assert_eq!(item.revision, state.revision);
                    prop_assert_eq!(state.deleted, content.is_none());
                    if let Some(c) = content {
                        prop_assert_eq!(&content_hash(item), &state.content_hash);
                        prop_assert_eq!(&item.body, &daily("x", c).body);
                    } else {
                        prop_assert_eq!(item.event_type(), EventType::Deletion);
                    }
                }
                // The first delivery of a record (item or deletion) is always emitted.
                None => prop_assert!(false, "nothing emitted for {}", sid),
            }
        }
    }

    /// Overlapping timeseries batches with distinct versions, delivered in any order and
    /// re-delivered: the final chunk holds, per ts, the value of the highest-version batch that
    /// has that ts; every emitted chunk is sorted with one sample per ts; the last emitted chunk
    /// is the stored one; revisions are consecutive.
    #[test]
    fn timeseries_batches_in_any_order_converge_per_sample(
        (raw, order) in prop::collection::vec(
            prop::collection::vec((0i64..30, 0u8..4), 0..8),
            1..5,
        )
        .prop_flat_map(|raw| {
            let n = raw.len();
            (Just(raw), deliveries(n))
        }),
        cuts in prop::collection::vec(0usize..32, 0..4),
    ) {
        // Batch i has version 100 + i; its sample for ts t carries value 1000 * i + t + v / 4
        // (distinct per batch, fractional sometimes).
        let batch_samples: Vec<Vec<(i64, f64)>> = raw
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.iter()
                    .map(|(t, v)| (*t, 1000.0 * i as f64 + *t as f64 + f64::from(*v) / 4.0))
                    .collect()
            })
            .collect();
        let item = |i: usize| {
            let mut x = hr_chunk(&[(0, 0.0)]);
            let chunk = x.body.chunk_mut().unwrap();
            chunk.samples = batch_samples[i]
                .iter()
                .map(|(t, v)| Sample::one(T0 + t * 1000, *v))
                .collect();
            versioned(x, 100 + i as i64)
        };

        // Expected: per ts the value of the highest-version batch with it (inside a batch, the
        // last sample for a ts).
        let mut expected: BTreeMap<i64, f64> = BTreeMap::new();
        for samples in &batch_samples {
            for (t, v) in samples {
                expected.insert(*t, *v);
            }
        }

        let mut states = HashMap::new();
        let mut emitted = Vec::new();
        for &i in &order {
            if let Decision::Emit(x) = step(&mut states, item(i)) {
                emitted.push(x);
            }
        }
        assert_consecutive(&emitted, &HashMap::new())?;
        for e in &emitted {
            let ts: Vec<i64> = e.body.chunk().unwrap().samples.iter().map(|s| s.ts).collect();
            prop_assert!(ts.windows(2).all(|w| w[0] < w[1]), "unsorted or duplicate ts: {:?}", ts);
        }
        let sid = hr_chunk(&[(0, 0.0)]).source_id;
        let state = &states[&sid];
        let got: BTreeMap<i64, f64> = state
            .chunk
            .as_ref()
            .unwrap()
            .samples
            .iter()
            .map(|s| ((s.ts - T0) / 1000, s.values[0].unwrap()))
            .collect();
        prop_assert_eq!(got, expected);
        if let Some(last) = emitted.last() {
            prop_assert_eq!(last.body.chunk(), state.chunk.as_ref());
            prop_assert_eq!(last.revision, state.revision);
        }

        // The same deliveries in batches end with the same chunk.
        let mut batched = HashMap::new();
        let mut emitted = Vec::new();
        for batch in batches(&order, &cuts) {
            emitted.extend(apply_batch(&mut batched, batch.into_iter().map(item)));
        }
        assert_consecutive(&emitted, &HashMap::new())?;
        prop_assert_eq!(batched[&sid].chunk.as_ref(), state.chunk.as_ref());

        // Hashed in advance, as the gateway does: the same emissions and states, and the JSON
        // of each emission is its own.
        let mut prepared = HashMap::new();
        let mut emitted_prepared = Vec::new();
        for batch in batches(&order, &cuts) {
            let items = batch.into_iter().map(|i| PreparedItem::new(item(i)));
            emitted_prepared.extend(apply_batch_serialized(&mut prepared, items));
        }
        prop_assert_eq!(&prepared, &batched);
        let items: Vec<Item> = emitted_prepared.iter().map(|(x, _)| x.clone()).collect();
        prop_assert_eq!(items, emitted);
        assert_emitted_json(&emitted_prepared);
    }
}

mod sample_deletion {
    use super::*;

    fn remove(
        st: &mut HashMap<String, StoredState>,
        from_s: i64,
        to_s: i64,
        version: Option<i64>,
    ) -> Decision {
        let chunk = hr_chunk(&[(0, 0.0)]);
        let key = chunk.source_id.clone();
        let (d, s) = remove_samples(
            st.get(&key),
            chunk,
            T0 + from_s * 1000,
            T0 + to_s * 1000,
            T0 + 999_000,
            version,
        );
        if let Some(s) = s {
            st.insert(key, s);
        }
        d
    }

    #[test]
    fn removed_samples_leave_their_chunk_which_re_emits_whole() {
        let mut st = HashMap::new();
        emit(step(
            &mut st,
            plain(hr_chunk(&[(0, 60.0), (10, 61.0), (20, 62.0)])),
        ));
        let out = emit(remove(&mut st, 5, 20, None));
        assert_eq!(out.revision, 2);
        assert_eq!(out.event_type(), EventType::HeartRateSeries);
        assert_eq!(
            samples_of(&out),
            vec![(0, Some(60.0)), (20, Some(62.0))],
            "to_ts is exclusive"
        );
        assert_eq!(st[&out.source_id].chunk.as_ref(), out.body.chunk());
        // Nothing left in the interval: nothing to emit.
        assert_eq!(remove(&mut st, 5, 20, None), Decision::Unchanged);
    }

    #[test]
    fn a_chunk_left_empty_becomes_a_deletion() {
        let mut st = HashMap::new();
        let first = emit(step(&mut st, plain(hr_chunk(&[(0, 60.0), (10, 61.0)]))));
        let out = emit(remove(&mut st, 0, 900, None));
        assert_eq!(out.event_type(), EventType::Deletion);
        assert_eq!(out.source_id, first.source_id);
        assert_eq!(out.provider_ref, first.provider_ref);
        assert_eq!(out.revision, 2);
        assert_eq!(out.stream(), Stream::Timeseries);
        assert!(st[&out.source_id].deleted);
        assert_eq!(remove(&mut st, 0, 900, None), Decision::Unchanged);
        // New samples later: a new revision, not merged with the removed ones.
        let again = emit(step(&mut st, plain(hr_chunk(&[(30, 70.0)]))));
        assert_eq!(
            (again.revision, samples_of(&again)),
            (3, vec![(30, Some(70.0))])
        );
    }

    #[test]
    fn an_older_batch_does_not_bring_deleted_samples_back() {
        let mut st = HashMap::new();
        emit(step(
            &mut st,
            versioned(hr_chunk(&[(0, 60.0), (10, 61.0)]), 100),
        ));
        emit(remove(&mut st, 0, 5, Some(200)));
        assert_eq!(
            step(&mut st, versioned(hr_chunk(&[(0, 60.0), (10, 61.0)]), 100)),
            Decision::Stale
        );
        let out = emit(step(&mut st, versioned(hr_chunk(&[(0, 65.0)]), 300)));
        assert_eq!(samples_of(&out), vec![(0, Some(65.0)), (10, Some(61.0))]);
        assert_eq!(remove(&mut st, 0, 5, Some(250)), Decision::Stale);
    }

    #[test]
    fn nothing_stored_means_nothing_to_remove() {
        let mut st = HashMap::new();
        assert_eq!(remove(&mut st, 0, 900, None), Decision::Unchanged);
        assert!(st.is_empty(), "no state is created for a chunk never seen");
    }
}
