// Ops that move or mix whole channels (CHW, `plane` values each): a range copy (concat and channel
// slices), ShuffleNet's channel shuffle as an index remap, CondenseNet's index select, ChannelNet's
// channel-wise convolution, MicroNet's dynamic Shift-Max and AlexNet's local response normalization.
// One invocation per output value; the CPU definitions are crates/cpu/src/kernels/channels.rs.

struct Channels {
    len: u32, // output values
    plane: u32,
    channels: u32, // input channels
    groups: u32,
    src_offset: u32,
    dst_offset: u32,
    kernel: u32,
    stride: u32,
    pad: u32,
    depth: u32,
    branches: u32,
    size: u32,
    alpha: f32,
    beta: f32,
    k: f32,
    scale: f32,
    init_a: vec2<f32>,
    init_b: vec2<f32>,
    base: u32, // shuffle: the first output channel computed (a slice of the shuffled map)
}

@group(0) @binding(0) var<uniform> p: Channels;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        out[p.dst_offset + i] = x[p.src_offset + i];
    }
}

// The shuffle's groups (a constant: its divisions compile to multiplications).
override SHUFFLE_GROUPS: u32 = 1u;

// Output channels base.. of the shuffle of the `channels`-channel map at src_offset, written from
// dst_offset: the shuffle itself (base 0), or, when the shuffle is fused into its readers, the part of it
// a concatenation or a copied slice takes. A grid of (pixels / 64, output channels): no index divides.
@compute @workgroup_size(64)
fn shuffle(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = gid.x;
    let c = gid.y;
    if (at < p.plane) {
        let source = shuffled_channel(c + p.base, SHUFFLE_GROUPS, p.channels);
        out[p.dst_offset + c * p.plane + at] = x[p.src_offset + source * p.plane + at];
    }
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i < p.len) {
        out[i] = x[index[i / p.plane] * p.plane + i % p.plane];
    }
}

// Output channel f·depth + d = Σ_j aux[f·kernel + j] · x[d·stride + j − pad] (zero outside).
@compute @workgroup_size(64)
fn channel_conv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let oc = i / p.plane;
    let f = oc / p.depth;
    let d = oc % p.depth;
    var sum = 0.0;
    for (var j = 0u; j < p.kernel; j++) {
        let ic = i32(d * p.stride + j) - i32(p.pad);
        if (ic >= 0 && ic < i32(p.channels)) {
            sum = fma(aux[f * p.kernel + j], x[u32(ic) * p.plane + i % p.plane], sum);
        }
    }
    out[i] = sum;
}

// x̃ is x with the groups rotated by one and the channels within a group rotated by one; aux holds the
// coefficients (a₁ b₁ [a₂ b₂], `channels` values each), mapped to (v − 0.5)·scale + init.
@compute @workgroup_size(64)
fn shift_max(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let c = i / p.plane;
    let per = p.channels / p.groups;
    let source = ((c / per + 1u) % p.groups) * per + (c % per + 1u) % per;
    let v = x[i];
    let t = x[source * p.plane + i % p.plane];
    let a1 = (aux[c] - 0.5) * p.scale + p.init_a.x;
    let b1 = (aux[p.channels + c] - 0.5) * p.scale + p.init_b.x;
    var y = v * a1 + t * b1;
    if (p.branches == 2u) {
        let a2 = (aux[2u * p.channels + c] - 0.5) * p.scale + p.init_a.y;
        let b2 = (aux[3u * p.channels + c] - 0.5) * p.scale + p.init_b.y;
        y = max(y, v * a2 + t * b2);
    }
    out[i] = y;
}

// x / (k + alpha / size · Σ x² over channels [c − size/2, c + (size − 1)/2])^beta.
@compute @workgroup_size(64)
fn lrn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let c = i / p.plane;
    let at = i % p.plane;
    let lo = u32(max(i32(c) - i32(p.size / 2u), 0));
    let hi = min(c + (p.size - 1u) / 2u, p.channels - 1u);
    var sum = 0.0;
    for (var cc = lo; cc <= hi; cc++) {
        let v = x[cc * p.plane + at];
        sum = fma(v, v, sum);
    }
    out[i] = x[i] / pow(p.k + p.alpha * sum / f32(p.size), p.beta);
}
