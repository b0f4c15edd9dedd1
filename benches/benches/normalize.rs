//! Normalize throughput of each adapter against `serde_json::from_slice::<serde_json::Value>` on
//! the same bytes (the target: at least 0.5x), on realistic bodies built from the recorded cases
//! (`nexus_benches::bodies`). Both run in the same process, interleaved by criterion; the table
//! at the end gives MB/s and the ratio per body and per adapter.
//!
//! `cargo bench -p nexus-benches --bench normalize`

// A broken fixture must stop the benchmark loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use nexus_benches::bodies::{self, Input};
use nexus_benches::tally;

fn id(input: &Input, what: &str) -> String {
    format!("normalize/{}/{}/{what}", input.provider, input.name)
}

fn bench(c: &mut Criterion, inputs: &[Input]) {
    for input in inputs {
        let adapter = bodies::adapter(input.provider);
        let items = bodies::normalize(adapter, input);
        assert!(
            items > 0,
            "{} {} normalizes to no items",
            input.provider,
            input.name
        );
        let bytes = input.bytes().clone();
        let mut g = c.benchmark_group(format!("normalize/{}/{}", input.provider, input.name));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let value_id = id(input, "serde_json_value");
        g.bench_function("serde_json_value", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    let v: serde_json::Value = serde_json::from_slice(black_box(&bytes)).unwrap();
                    black_box(v);
                }
                let took = t.elapsed();
                tally::record(&value_id, iters, took);
                took
            });
        });
        let adapter_id = id(input, "adapter");
        g.bench_function("adapter_normalize", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(bodies::normalize(adapter, black_box(input)));
                }
                let took = t.elapsed();
                tally::record(&adapter_id, iters, took);
                took
            });
        });
        g.finish();
    }
}

fn report(inputs: &[Input]) {
    println!("\nnormalize vs serde_json::Value on the same bytes (target: ratio >= 0.50)");
    println!(
        "{:<10} {:<42} {:>9} {:>7} {:>12} {:>12} {:>7}",
        "adapter", "body", "bytes", "items", "Value MB/s", "adapter MB/s", "ratio"
    );
    let mut per_provider: Vec<(&str, f64, f64)> = Vec::new();
    for input in inputs {
        let (Some(v), Some(a)) = (
            tally::secs_per_iter(&id(input, "serde_json_value")),
            tally::secs_per_iter(&id(input, "adapter")),
        ) else {
            continue; // filtered out on the command line
        };
        let n = input.bytes().len() as f64;
        let items = bodies::normalize(bodies::adapter(input.provider), input);
        println!(
            "{:<10} {:<42} {:>9} {:>7} {:>12.1} {:>12.1} {:>7.2}",
            input.provider,
            input.name,
            input.bytes().len(),
            items,
            n / v / 1e6,
            n / a / 1e6,
            v / a
        );
        match per_provider
            .iter_mut()
            .find(|(p, _, _)| *p == input.provider)
        {
            Some(e) => {
                e.1 += v;
                e.2 += a;
            }
            None => per_provider.push((input.provider, v, a)),
        }
    }
    println!("\nper adapter, all its bodies once each (time ratio Value / adapter):");
    for (p, v, a) in per_provider {
        let verdict = if v / a >= 0.5 { "meets" } else { "BELOW" };
        println!("{p:<10} ratio {:.2}  {verdict} the 0.5x target", v / a);
    }
}

fn main() {
    let inputs = bodies::all_inputs();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    bench(&mut c, &inputs);
    c.final_summary();
    report(&inputs);
}
