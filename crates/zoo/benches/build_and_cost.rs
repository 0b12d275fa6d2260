//! Building and costing graphs: EfficientNet-B7 at 600² (issue target: < 5 ms natively) and the whole zoo
//! at default settings. Run with `cargo bench -p convscope-zoo`.

use std::hint::black_box;

use convscope_graph::GraphCost;
use criterion::{Criterion, criterion_group, criterion_main};

fn efficientnet_b7(c: &mut Criterion) {
    let Some(entry) = convscope_zoo::find("efficientnet_b7") else { return };
    let variant = convscope_zoo::Variant { resolution: 600, ..entry.default };
    c.bench_function("efficientnet_b7@600 build + cost", |b| {
        b.iter(|| {
            let graph = entry.build(black_box(&variant)).ok();
            black_box(graph.map(|g| GraphCost::of(&g).total))
        });
    });
}

fn whole_zoo(c: &mut Criterion) {
    let entries = convscope_zoo::registry();
    c.bench_function("whole zoo build + cost", |b| {
        b.iter(|| {
            for entry in &entries {
                let graph = entry.build_default().ok();
                black_box(graph.map(|g| GraphCost::of(&g).total));
            }
        });
    });
}

criterion_group!(benches, efficientnet_b7, whole_zoo);
criterion_main!(benches);
