//! The depthwise kernels on EfficientNet-Lite0's depthwise layers (224² input, one thread): the CHW
//! phase-plane kernel (`direct.rs`), `chw-simd` the stride-1 CHW kernel in intrinsics
//! (`depthwise_chw.rs`: AVX-512, or AVX2 with tools/no_avx512.c preloaded), and the channels-last one
//! (`depthwise_hwc.rs`: `hwc` is what the engine runs — AVX-512 intrinsics where the CPU has them —,
//! `hwc-avx2` what CPUs without AVX-512 run — AVX2 intrinsics for 3×3/5×5 layers of stride 1 or 2 —,
//! `hwc-portable` the autovectorized kernel). `cargo bench -p convscope-cpu --bench depthwise`.

#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

use std::hint::black_box;

use convscope_cpu::kernels::depthwise_hwc::Kernel;
use convscope_cpu::kernels::{depthwise_hwc, direct};
use convscope_graph::{Activation, Conv2d, Padding, Shape};
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let src = vec![1.0f32; 32 * 112 * 112];
    let mut dst = vec![0.0f32; 32 * 112 * 112];
    c.bench_function("copy 32×112²", |bench| bench.iter(|| dst.copy_from_slice(black_box(&src))));
    for (ch, size) in [(1152, 7), (672, 14), (144, 56)] {
        let shape = Shape::map(ch, size, size);
        let src = vec![1.0f32; ch * size * size];
        let mut dst = vec![0.0f32; ch * size * size];
        c.bench_function(&format!("to_hwc {ch}×{size}²"), |bench| {
            bench.iter(|| depthwise_hwc::to_hwc(black_box(&src), shape, &mut dst));
        });
        c.bench_function(&format!("to_chw {ch}×{size}²"), |bench| {
            bench.iter(|| depthwise_hwc::to_chw(black_box(&src), shape, &mut dst));
        });
    }
    // (channels, input size, kernel, stride): Lite0's depthwise layers, then MobileNetV2's other ones.
    let layers = [
        (32, 112, 3, 1),
        (96, 112, 3, 2),
        (144, 56, 3, 1),
        (144, 56, 5, 2),
        (240, 28, 5, 1),
        (240, 28, 3, 2),
        (480, 14, 3, 1),
        (480, 14, 5, 1),
        (672, 14, 5, 1),
        (672, 14, 5, 2),
        (1152, 7, 5, 1),
        (1152, 7, 3, 1),
        (192, 28, 3, 1),
        (384, 14, 3, 1),
        (576, 14, 3, 1),
        (960, 7, 3, 1),
    ];
    for (ch, size, k, s) in layers {
        let p = k / 2;
        let conv = Conv2d {
            kernel: [k, k],
            stride: [s, s],
            padding: Padding::uniform(p),
            groups: ch,
            ..Conv2d::new(ch, ch, 1, 1)
        };
        let input = Shape::map(ch, size, size);
        let o = (size + 2 * p - k) / s + 1;
        let output = Shape::map(ch, o, o);
        let x: Vec<f32> = (0..ch * size * size).map(|i| (i % 17) as f32 / 17.0).collect();
        let w: Vec<f32> = (0..ch * k * k).map(|i| (i % 13) as f32 / 13.0).collect();
        let b = vec![0.1f32; ch];
        let taps = depthwise_hwc::taps_major(&w, ch, k * k);
        let mut out = vec![0.0f32; ch * o * o];
        let mut scratch = Vec::new();
        let act = Some(Activation::Relu6);
        let name = format!("{ch}×{size}² k{k} s{s}");
        c.bench_function(&format!("chw {name}"), |bench| {
            bench.iter(|| {
                direct::direct(&conv, input, output, &w, Some(&b), act, black_box(&x), &mut out, &mut scratch)
            });
        });
        #[cfg(target_arch = "x86_64")]
        if convscope_cpu::kernels::depthwise_chw::handles(&conv, output) {
            c.bench_function(&format!("chw-simd {name}"), |bench| {
                bench.iter(|| {
                    let x = black_box(&x);
                    let planes = (0..ch).zip(out.chunks_exact_mut(o * o));
                    let kernel = convscope_cpu::kernels::depthwise_chw::depthwise;
                    kernel(&conv, input, output, &w, Some(&b), act, x, planes, 0..o, &mut scratch);
                });
            });
        }
        for (label, kernel) in
            [("hwc", Kernel::Fastest), ("hwc-avx2", Kernel::Avx2), ("hwc-portable", Kernel::Portable)]
        {
            c.bench_function(&format!("{label} {name}"), |bench| {
                bench.iter(|| {
                    let x = black_box(&x);
                    depthwise_hwc::depthwise_hwc(kernel, &conv, input, output, &taps, &b, act, x, &mut out, 0..o).ok()
                });
            });
        }
    }
}

criterion_group! {
    name = depthwise;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_millis(700));
    targets = benches
}
criterion_main!(depthwise);
