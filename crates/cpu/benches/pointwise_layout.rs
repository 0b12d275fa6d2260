//! Pointwise convolutions as GEMMs with CHW or HWC operands (EfficientNet-Lite0's shapes, one thread),
//! through the engine's own `sgemm_strided`; `-wT` with the weights column-major (what the engine does
//! for GEMMs writing HWC). `epilogue` adds what the engine does after such a GEMM (bias and ReLU6 over
//! the HWC output), `own` is the register-tile kernel that does it all in registers (AVX-512, or AVX2
//! where the CPU lacks AVX-512: preload tools/no_avx512.c to bench that one) and `panels` the same
//! kernel with its weights in panels (`kernels/pointwise_hwc.rs`), on the shapes it takes. `-cold`: the
//! same with the weights cycled through 64 MB of copies, so they come from L3 or memory as in a whole
//! run rather than from L2. `cargo bench -p convscope-cpu --bench pointwise_layout`.

#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

use std::hint::black_box;

use convscope_cpu::kernels::elementwise::bias_activate_channels_last;
use convscope_cpu::kernels::gemm::{Strides, sgemm_strided};
use convscope_graph::Activation;
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    // (out, in, pixels)
    let shapes = [
        (96, 16, 12544),
        (24, 96, 3136),
        (24, 144, 3136),
        (144, 24, 3136),
        (240, 40, 784),
        (40, 240, 784),
        (480, 80, 196),
        (80, 480, 196),
        (672, 112, 196),
        (112, 672, 196),
        (1152, 192, 49),
        (192, 1152, 49),
        (320, 1152, 49),
        (1280, 320, 49),
    ];
    for (m, k, n) in shapes {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut d = vec![0.0f32; m * n];
        let (chw_b, hwc_b) = (Strides::row_major(n), Strides::column_major(k));
        let (chw_d, hwc_d) = (Strides::row_major(n), Strides::column_major(m));
        let (a_rows, a_cols) = (Strides::row_major(k), Strides::column_major(m));
        for (name, a_s, bs, ds) in [
            ("chw→chw", a_rows, chw_b, chw_d),
            ("chw→hwc", a_rows, chw_b, hwc_d),
            ("hwc→chw", a_rows, hwc_b, chw_d),
            ("hwc→hwc", a_rows, hwc_b, hwc_d),
            ("hwc→hwc-wT", a_cols, hwc_b, hwc_d),
            ("chw→chw-wT", a_cols, chw_b, chw_d),
            ("hwc→chw-wT", a_cols, hwc_b, chw_d),
            ("chw→hwc-wT", a_cols, chw_b, hwc_d),
        ] {
            c.bench_function(&format!("{name} {m}×{k}·{n}"), |bench| {
                bench.iter(|| sgemm_strided(m, k, n, &a, a_s, black_box(&b), bs, &mut d, ds, false))
            });
        }
        let bias = vec![0.125f32; m];
        let relu6 = Some(Activation::Relu6);
        for (name, bs) in [("hwc→hwc", hwc_b), ("chw→hwc", chw_b)] {
            c.bench_function(&format!("{name}-wT-epilogue {m}×{k}·{n}"), |bench| {
                bench.iter(|| {
                    sgemm_strided(m, k, n, &a, a_cols, black_box(&b), bs, &mut d, hwc_d, false)?;
                    bias_activate_channels_last(&mut d, &bias, relu6);
                    Ok::<_, convscope_cpu::EngineError>(())
                })
            });
            let copies = vec![a.clone(); (64 << 20) / (4 * a.len())];
            let mut cold = copies.iter().cycle();
            c.bench_function(&format!("{name}-wT-epilogue-cold {m}×{k}·{n}"), |bench| {
                bench.iter(|| {
                    cold.next().map(|a| {
                        sgemm_strided(m, k, n, a, a_cols, black_box(&b), bs, &mut d, hwc_d, false)?;
                        bias_activate_channels_last(&mut d, &bias, relu6);
                        Ok::<_, convscope_cpu::EngineError>(())
                    })
                })
            });
            #[cfg(target_arch = "x86_64")]
            {
                use convscope_cpu::kernels::pointwise_hwc as own;
                let p = own::Pointwise { m, k, n, x: &b, x_strides: bs, bias: Some(&bias), activation: relu6 };
                if own::panels_pay(k, m, n, relu6) {
                    let panels = own::to_panels(&a, m, k, own::panel_width());
                    let mut out = vec![std::mem::MaybeUninit::new(0.0f32); n * m];
                    c.bench_function(&format!("{name}-panels {m}×{k}·{n}"), |bench| {
                        bench.iter(|| own::pointwise_panels_uninit(black_box(&p), &panels, &mut out))
                    });
                    let copies = vec![panels.clone(); (64 << 20) / (4 * panels.len())];
                    let mut cold = copies.iter().cycle();
                    c.bench_function(&format!("{name}-panels-cold {m}×{k}·{n}"), |bench| {
                        bench.iter(|| cold.next().map(|w| own::pointwise_panels_uninit(black_box(&p), w, &mut out)))
                    });
                }
                if own::handles(k, m, relu6) {
                    c.bench_function(&format!("{name}-own {m}×{k}·{n}"), |bench| {
                        bench.iter(|| own::pointwise(black_box(&p), &a, &mut d))
                    });
                    let copies = vec![a.clone(); (64 << 20) / (4 * a.len())];
                    let mut cold = copies.iter().cycle();
                    c.bench_function(&format!("{name}-own-cold {m}×{k}·{n}"), |bench| {
                        bench.iter(|| cold.next().map(|w| own::pointwise(black_box(&p), w, &mut d)))
                    });
                }
            }
        }
    }
}

criterion_group! {
    name = pointwise;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_millis(700));
    targets = benches
}
criterion_main!(pointwise);
