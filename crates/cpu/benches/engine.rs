//! One inference at 224², batch 1, of the models the issue names (EfficientNet-Lite0, MobileNetV2), on
//! seeded weights (speed does not depend on the values), on one thread (the figure compared with
//! onnxruntime and tract; tools/bench_peers.py runs all three in one go) and on every core.
//! `cargo bench -p convscope-cpu`.

#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

use std::hint::black_box;

use convscope_cpu::{Capture, Engine, Tensor};
use convscope_graph::Shape;
use convscope_weights::synthetic;
use criterion::{Criterion, criterion_group, criterion_main};

fn model(c: &mut Criterion, id: &str) {
    let Some(entry) = convscope_zoo::find(id) else { return };
    let Ok(graph) = entry.build_default() else { return };
    let Ok(engine) = Engine::new(&graph, &synthetic::init(&graph, 1)) else { return };
    let single = engine.clone().with_threads(1);
    let shape: Shape = graph.input_shape();
    let Ok(input) = Tensor::new(shape, synthetic::unit_values(1, "input", 3 * shape.h * shape.w)) else { return };
    c.bench_function(&format!("{id} 224² cpu 1 thread"), |b| {
        b.iter(|| black_box(single.run(input.clone(), Capture::Output).ok()));
    });
    c.bench_function(&format!("{id} 224² cpu all cores"), |b| {
        b.iter(|| black_box(engine.run(input.clone(), Capture::Output).ok()));
    });
}

fn benches(c: &mut Criterion) {
    model(c, "efficientnet_lite0");
    model(c, "mobilenet_v2");
}

criterion_group! {
    name = engine;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(engine);
