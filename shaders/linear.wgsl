// Fully connected layers on a vector: y[o] = Σ_i w[o][i]·x[i] + b[o], weights row-major [out][in].
// A workgroup of 64 invocations per output: each sums a strided share of the row, then a tree sum in
// workgroup memory (the classifier's 1000 × 1280 product is 1000 workgroups; an SE block's few outputs
// still spread their long rows over 64 invocations).

override HAS_BIAS: bool = false;

// Weights larger than one storage binding are split by rows over several dispatches: this one computes
// `outputs` rows from output `out_offset` on (its weights and bias are those rows only).
struct Linear {
    inputs: u32,
    outputs: u32,
    out_offset: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Linear;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn linear(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let o = wg.x + wg.y * groups.x;
    var s = 0.0;
    if (o < p.outputs) {
        let row = o * p.inputs;
        for (var i = li; i < p.inputs; i += 64u) {
            s = fma(w[row + i], x[i], s);
        }
    }
    partial[li] = s;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half /= 2u) {
        if (li < half) {
            partial[li] += partial[li + half];
        }
        workgroupBarrier();
    }
    if (li == 0u && o < p.outputs) {
        var b = 0.0;
        if (HAS_BIAS) {
            b = bias[o];
        }
        y[p.out_offset + o] = activate(partial[0] + b);
    }
}
