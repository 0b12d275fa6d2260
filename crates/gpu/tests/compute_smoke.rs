//! Runs `shaders/activation.wgsl` through wgpu on whatever adapter exists (lavapipe on CI) and compares
//! with the CPU definitions, which are PyTorch's (torch.nn.ReLU6, Hardswish, ...).
//!
//! Without an adapter the test skips with a message, except under `CI=true` or `CONVSCOPE_REQUIRE_GPU=1`
//! (set by `cargo xtask test`), where the setup step has installed lavapipe and a skip would hide a broken
//! GPU path: there it fails.

use convscope_gpu::{Activation, ActivationKernel, GpuContext};

fn gpu_or_skip() -> Option<GpuContext> {
    match pollster::block_on(GpuContext::request_headless()) {
        Ok(ctx) => {
            eprintln!("compute smoke test on: {} ({})", ctx.summary.short(), ctx.summary.device_type);
            Some(ctx)
        }
        Err(err) => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
                || std::env::var("CONVSCOPE_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "a GPU adapter is required here but none is usable ({err}); install lavapipe");
            eprintln!("SKIPPED: no usable GPU adapter ({err}). Install mesa-vulkan-drivers for lavapipe.");
            None
        }
    }
}

/// Inputs spanning every branch of every activation: the ReLU6 and h-swish knees at -3, 0, 3, 6.
fn probe_inputs(len: usize) -> Vec<f32> {
    (0..len).map(|i| -8.0 + 16.0 * (i as f32) / (len as f32)).collect()
}

#[test]
fn activations_match_cpu_definitions() {
    let Some(ctx) = gpu_or_skip() else { return };
    let kernel = ActivationKernel::new(&ctx);
    // 70_001 elements: not a multiple of 256, and more than one workgroup row.
    let input = probe_inputs(70_001);
    for activation in Activation::ALL {
        let gpu = pollster::block_on(kernel.run(&ctx, activation, &input)).expect("kernel runs");
        assert_eq!(gpu.len(), input.len());
        // Tolerance: ReLU/ReLU6/h-* are exact in f32 arithmetic; sigmoid/SiLU use exp(), whose WGSL
        // precision is 3 + 2·|x| ULP, so allow 1e-5 absolute on outputs of magnitude ≤ 8.
        let tolerance = match activation {
            Activation::Sigmoid | Activation::Silu => 1e-5,
            _ => 1e-6,
        };
        for (i, (&x, &y)) in input.iter().zip(&gpu).enumerate() {
            let expected = convscope_gpu::activation::reference(activation, x);
            assert!((y - expected).abs() <= tolerance, "{activation:?}[{i}]: f({x}) = {y} on GPU, {expected} on CPU");
        }
    }
}

#[test]
fn known_values_of_pytorch_activations() {
    // Values from PyTorch 2.x: torch.nn.functional.relu6(tensor([-1., 2., 7.])) = [0, 2, 6];
    // hardswish(tensor([-3., 0., 1., 3.])) = [0, 0, 0.6667, 3]; hardsigmoid(tensor([-3., 0., 3.])) = [0, 0.5, 1].
    let Some(ctx) = gpu_or_skip() else { return };
    let kernel = ActivationKernel::new(&ctx);
    let run = |activation, input: &[f32]| pollster::block_on(kernel.run(&ctx, activation, input)).expect("runs");
    assert_eq!(run(Activation::Relu6, &[-1.0, 2.0, 7.0]), [0.0f32, 2.0, 6.0]);
    let hswish = run(Activation::HardSwish, &[-3.0, 0.0, 1.0, 3.0]);
    for (got, want) in hswish.iter().zip([0.0, 0.0, 2.0 / 3.0, 3.0]) {
        assert!((got - want).abs() < 1e-6, "hardswish: {hswish:?}");
    }
    assert_eq!(run(Activation::HardSigmoid, &[-3.0, 0.0, 3.0]), [0.0f32, 0.5, 1.0]);
}

#[test]
fn empty_input_and_granted_limits() {
    let Some(ctx) = gpu_or_skip() else { return };
    let kernel = ActivationKernel::new(&ctx);
    let empty: Vec<f32> = pollster::block_on(kernel.run(&ctx, Activation::Relu, &[])).expect("empty is fine");
    assert!(empty.is_empty());
    // compute_limits() asks for at least wgpu's default 128 MiB binding; lavapipe offers more.
    assert!(ctx.summary.limits.max_storage_buffer_binding_size >= 128 << 20, "{:?}", ctx.summary.limits);
}
