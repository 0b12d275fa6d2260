//! Pointwise convolutions as GEMMs with CHW or HWC operands (EfficientNet-Lite0's shapes, one thread).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[allow(unsafe_code, clippy::too_many_arguments)]
fn call(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_cs: isize,
    dst_rs: isize,
    a: &[f32],
    b: &[f32],
    b_cs: isize,
    b_rs: isize,
) {
    assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    // SAFETY: sizes checked above; strides describe those buffers.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs,
            dst_rs,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

fn benches(c: &mut Criterion) {
    // (out, in, pixels)
    let shapes = [
        (96, 16, 12544),
        (24, 96, 3136),
        (144, 24, 3136),
        (240, 40, 784),
        (40, 240, 784),
        (480, 80, 196),
        (80, 480, 196),
        (672, 112, 196),
        (1152, 192, 49),
        (192, 1152, 49),
    ];
    for (m, k, n) in shapes {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut d = vec![0.0f32; m * n];
        let (mi, ni, ki) = (m as isize, n as isize, k as isize);
        c.bench_function(&format!("chw→chw {m}×{k}·{n}"), |bench| {
            bench.iter(|| call(m, n, k, &mut d, 1, ni, &a, black_box(&b), 1, ni))
        });
        c.bench_function(&format!("chw→hwc {m}×{k}·{n}"), |bench| {
            bench.iter(|| call(m, n, k, &mut d, mi, 1, &a, black_box(&b), 1, ni))
        });
        c.bench_function(&format!("hwc→chw {m}×{k}·{n}"), |bench| {
            bench.iter(|| call(m, n, k, &mut d, 1, ni, &a, black_box(&b), ki, 1))
        });
        c.bench_function(&format!("hwc→hwc {m}×{k}·{n}"), |bench| {
            bench.iter(|| call(m, n, k, &mut d, mi, 1, &a, black_box(&b), ki, 1))
        });
    }
}

criterion_group! {
    name = pointwise;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_millis(700));
    targets = benches
}
criterion_main!(pointwise);
