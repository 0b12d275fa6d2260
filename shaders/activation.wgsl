// Element-wise activations used by the seed networks (ReLU, ReLU6, h-swish, h-sigmoid, sigmoid, SiLU).
//
// One entry point per activation, all sharing one layout:
//   binding 0: input  array<f32>, read-only
//   binding 1: output array<f32>
//   binding 2: uniform Params { len, row_stride }
// The dispatch is 2-D so tensors larger than 65 535 workgroups × 256 lanes still fit:
// element index = global_id.x + global_id.y * row_stride, where row_stride = groups_x * 256.
// The CPU definitions these must match live in crates/gpu/src/activation.rs (`Activation::apply`).

struct Params {
    len: u32,
    row_stride: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn element_index(gid: vec3<u32>) -> u32 {
    return gid.x + gid.y * params.row_stride;
}

fn hard_sigmoid_of(x: f32) -> f32 {
    // PyTorch's nn.Hardsigmoid: relu6(x + 3) / 6.
    return clamp(x + 3.0, 0.0, 6.0) / 6.0;
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    output[i] = max(input[i], 0.0);
}

@compute @workgroup_size(256)
fn relu6(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    output[i] = clamp(input[i], 0.0, 6.0);
}

@compute @workgroup_size(256)
fn hard_sigmoid(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    output[i] = hard_sigmoid_of(input[i]);
}

@compute @workgroup_size(256)
fn hard_swish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    let x = input[i];
    output[i] = x * hard_sigmoid_of(x);
}

@compute @workgroup_size(256)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    output[i] = 1.0 / (1.0 + exp(-input[i]));
}

@compute @workgroup_size(256)
fn silu(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = element_index(gid);
    if (i >= params.len) { return; }
    let x = input[i];
    output[i] = x / (1.0 + exp(-x));
}
