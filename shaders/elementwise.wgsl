// Element-wise ops over whole maps: residual sums and squeeze-and-excite products (the second operand
// either the same shape or one value per channel, broadcast over its plane), a batch norm on its own as a
// per-channel affine map, and a stand-alone activation (ACT). One invocation per element.

struct Elementwise {
    len: u32,
    plane: u32, // values per channel of the first operand
    b_len: u32, // values of the second operand: len, or one per channel
    channels: u32,
}

@group(0) @binding(0) var<uniform> p: Elementwise;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn second(i: u32) -> f32 {
    if (p.b_len == p.len) {
        return b[i];
    }
    return b[i / p.plane];
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        out[i] = activate(a[i] + second(i));
    }
}

@compute @workgroup_size(64)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        out[i] = activate(a[i] * second(i));
    }
}

// b holds the scales of every channel, then the shifts.
@compute @workgroup_size(64)
fn affine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        let c = i / p.plane;
        out[i] = activate(fma(a[i], b[c], b[p.channels + c]));
    }
}

@compute @workgroup_size(64)
fn activation(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        out[i] = activate(a[i]);
    }
}
