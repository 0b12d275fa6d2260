// Prepended to every kernel file of the engine (crates/gpu/src/shaders.rs `module_source`).
//
// ACT selects the activation fused into a kernel's store, as a pipeline constant so that each pipeline
// compiles only its own: 0 none, 1 ReLU, 2 ReLU6, 3 Hardsigmoid, 4 Hardswish, 5 Sigmoid, 6 SiLU — PyTorch's
// definitions (nn.Hardsigmoid is relu6(x + 3) / 6), which crates/graph's `Activation::apply` also follows.
override ACT: u32 = 0u;

fn activate(x: f32) -> f32 {
    switch ACT {
        case 1u: { return max(x, 0.0); }
        case 2u: { return clamp(x, 0.0, 6.0); }
        case 3u: { return clamp(x + 3.0, 0.0, 6.0) / 6.0; }
        case 4u: { return x * (clamp(x + 3.0, 0.0, 6.0) / 6.0); }
        case 5u: { return 1.0 / (1.0 + exp(-x)); }
        case 6u: { return x / (1.0 + exp(-x)); }
        default: { return x; }
    }
}

// ShuffleNet's channel shuffle of a `channels`-channel map in `groups` groups: output channel c is input
// channel (c % groups)·(channels / groups) + c / groups (the reshape–transpose–reshape of the reference).
fn shuffled_channel(c: u32, groups: u32, channels: u32) -> u32 {
    return (c % groups) * (channels / groups) + c / groups;
}

// Kernels over a flat range of items run 64 invocations per workgroup on a grid folded into x and y
// (a dispatch dimension holds at most 65 535 workgroups): this is the item an invocation computes.
fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}
