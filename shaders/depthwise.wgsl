// Depthwise convolutions over CHW maps, computed directly: an invocation computes a strip of 4
// neighbouring output pixels of one channel, with the kernel's taps (pipeline constants, so the loops
// unroll) read once per strip for all four. Bias and activation before the store.

override KH: u32 = 3u;
override KW: u32 = 3u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override DH: u32 = 1u;
override DW: u32 = 1u;
override HAS_BIAS: bool = false;
// Non-zero: the input is read through a channel shuffle in this many groups (as in conv.wgsl).
override SHUFFLE_GROUPS: u32 = 0u;

struct Depthwise {
    channels: u32,
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    pad_top: u32,
    pad_left: u32,
    strips: u32, // strips of 4 pixels per output row
    x_offset: u32, // where the input map starts in its buffer (a channel slice of a larger map)
    y_offset: u32, // where the output map starts in its buffer (its place in a concatenation)
    shuffle_channels: u32,
    shuffle_base: u32,
}

@group(0) @binding(0) var<uniform> p: Depthwise;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// x[line + ix], or 0 outside the row (the padding), without a branch.
fn tap(line: u32, ix: i32) -> f32 {
    let inside = ix >= 0 && ix < i32(p.in_w);
    return select(0.0, x[line + u32(clamp(ix, 0, i32(p.in_w) - 1))], inside);
}

// The four sums are one vec4 and the four pixels' taps are loaded into one (no array indexed at run
// time: software Vulkan keeps such arrays in memory per invocation, 100× slower on lavapipe).
@compute @workgroup_size(64)
fn depthwise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let item = flat_index(gid, groups);
    if (item >= p.channels * p.out_h * p.strips) {
        return;
    }
    let strip = item % p.strips;
    let row = item / p.strips;
    let oy = row % p.out_h;
    let c = row / p.out_h;
    let ox0 = strip * 4u;
    var source = c;
    if (SHUFFLE_GROUPS > 0u) {
        source = shuffled_channel(c + p.shuffle_base, SHUFFLE_GROUPS, p.shuffle_channels);
    }
    let plane = p.x_offset + source * p.in_h * p.in_w;
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < KH; ky++) {
        let iy = i32(oy * SH + ky * DH) - i32(p.pad_top);
        if (iy < 0 || iy >= i32(p.in_h)) {
            continue;
        }
        let line = plane + u32(iy) * p.in_w;
        for (var kx = 0u; kx < KW; kx++) {
            let weight = w[(c * KH + ky) * KW + kx];
            let ix = i32(ox0 * SW + kx * DW) - i32(p.pad_left);
            let s = i32(SW);
            let v = vec4<f32>(tap(line, ix), tap(line, ix + s), tap(line, ix + 2 * s), tap(line, ix + 3 * s));
            acc = fma(vec4<f32>(weight), v, acc);
        }
    }
    var b = 0.0;
    if (HAS_BIAS) {
        b = bias[c];
    }
    let out = p.y_offset + (c * p.out_h + oy) * p.out_w + ox0;
    if (ox0 < p.out_w) { y[out] = activate(acc.x + b); }
    if (ox0 + 1u < p.out_w) { y[out + 1u] = activate(acc.y + b); }
    if (ox0 + 2u < p.out_w) { y[out + 2u] = activate(acc.z + b); }
    if (ox0 + 3u < p.out_w) { y[out + 3u] = activate(acc.w + b); }
}
