//! EfficientNet-Lite0's stem (3 → 32 channels, 3×3, stride 2, TensorFlow "same" padding, 224² → 112²,
//! ReLU6), one thread: `direct` is the stem kernel (`kernels/stem.rs`, AVX-512 or, with
//! tools/no_avx512.c preloaded, AVX2), `im2col+gemm` what CPUs without either run, with its bias and
//! activation pass. `cargo bench -p convscope-cpu --bench stem`.

#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

use std::hint::black_box;

use convscope_cpu::kernels::conv::im2col;
use convscope_cpu::kernels::elementwise::bias_activate;
use convscope_cpu::kernels::gemm::{Strides, sgemm_strided};
use convscope_graph::{Activation, Conv2d, Padding, Shape};
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let padding = Padding { top: 0, bottom: 1, left: 0, right: 1 };
    let conv = Conv2d { kernel: [3, 3], stride: [2, 2], padding, ..Conv2d::new(3, 32, 1, 1) };
    let (input, output) = (Shape::map(3, 224, 224), Shape::map(32, 112, 112));
    let x: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 251) as f32 / 251.0).collect();
    let w: Vec<f32> = (0..32 * 27).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect();
    let b = vec![0.1f32; 32];
    let act = Some(Activation::Relu6);
    let mut out = vec![0.0f32; 32 * 112 * 112];
    let mut scratch = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if convscope_cpu::kernels::stem::handles(&conv, output) {
        c.bench_function("direct 3→32 224²", |bench| {
            bench.iter(|| {
                convscope_cpu::kernels::stem::stem(
                    &conv,
                    input,
                    output,
                    &w,
                    Some(&b),
                    act,
                    black_box(&x),
                    &mut out,
                    0..32,
                    &mut scratch,
                )
            })
        });
    }
    let hw = output.h * output.w;
    c.bench_function("im2col+gemm 3→32 224²", |bench| {
        bench.iter(|| {
            im2col(black_box(&x), input, &conv, 0..3, &mut scratch);
            let (a_s, b_s, d_s) = (Strides::row_major(27), Strides::row_major(hw), Strides::row_major(hw));
            sgemm_strided(32, 27, hw, &w, a_s, &scratch, b_s, &mut out, d_s, false)?;
            for (plane, &bias) in out.chunks_exact_mut(hw).zip(&b) {
                bias_activate(plane, bias, act);
            }
            Ok::<_, convscope_cpu::EngineError>(())
        })
    });
}

criterion_group! {
    name = stem;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_millis(700));
    targets = benches
}
criterion_main!(stem);
