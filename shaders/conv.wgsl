// Convolutions as an implicit GEMM over CHW maps: dense k×k, pointwise, grouped (one GEMM per group in
// the dispatch's z dimension), and the two non-multiplying arithmetics of the zoo.
//
// Per group g the output is C[m][n] = Σ_k A[m][k] · B[k][n] with m an output channel of the group,
// n = oy·out_w + ox a pixel and k = (ci, ky, kx): A is the weight tensor itself ([out, in/groups, kh, kw]
// is row-major [m][k]), B the im2col of the input, gathered on the fly into workgroup memory (zeros
// outside the map: the padding). A workgroup of 8×8 invocations computes a 32×32 tile, each invocation
// 4×4 outputs m = m0 + ly + 8i, n = n0 + lx + 8j (neighbouring invocations read neighbouring values of
// the tiles and write neighbouring pixels). The bias and activation are applied before the one store.
//
// ARITH 1 is AdderNet (Chen et al. 2020): −Σ|x − w| over the same window, padding included as in its
// unfold-based reference. ARITH 2 is Mitchell's logarithmic multiplication (crates/cpu kernels/conv.rs
// `mitchell`): |a|·|b| ≈ the float whose bits are bits(|a|) + bits(|b|) − bits(1.0).

override KH: u32 = 1u;
override KW: u32 = 1u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override DH: u32 = 1u;
override DW: u32 = 1u;
override ARITH: u32 = 0u;
override HAS_BIAS: bool = false;
// Non-zero: the input is read through a channel shuffle in this many groups, fused into this convolution:
// input channel c is channel shuffled_channel(c + shuffle_base, SHUFFLE_GROUPS, shuffle_channels) of the
// map at x_offset. A constant, so that its divisions compile to multiplications.
override SHUFFLE_GROUPS: u32 = 0u;

struct Conv {
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    cin_g: u32,
    cout_g: u32,
    pad_top: u32,
    pad_left: u32,
    groups: u32,
    x_offset: u32, // where the input map starts in its buffer (a channel slice of a larger map)
    y_offset: u32, // where the output map starts in its buffer (its place in a concatenation)
    shuffle_channels: u32,
    shuffle_base: u32,
}

// The channel of the bound map that holds input channel c.
fn input_channel(c: u32) -> u32 {
    if (SHUFFLE_GROUPS > 0u) {
        return shuffled_channel(c + p.shuffle_base, SHUFFLE_GROUPS, p.shuffle_channels);
    }
    return c;
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TILE_M: u32 = 32u;
const TILE_N: u32 = 32u;
const TILE_K: u32 = 16u;

var<workgroup> a_tile: array<f32, 512>; // [TILE_M][TILE_K]
var<workgroup> b_tile: array<f32, 512>; // [TILE_K][TILE_N]

fn input_at(g: u32, k: u32, n: u32) -> f32 {
    let taps = KH * KW;
    let ci = input_channel(g * p.cin_g + k / taps);
    let tap = k % taps;
    let oy = n / p.out_w;
    let ox = n % p.out_w;
    let iy = i32(oy * SH + (tap / KW) * DH) - i32(p.pad_top);
    let ix = i32(ox * SW + (tap % KW) * DW) - i32(p.pad_left);
    if (iy < 0 || ix < 0 || iy >= i32(p.in_h) || ix >= i32(p.in_w)) {
        return 0.0;
    }
    return x[p.x_offset + (ci * p.in_h + u32(iy)) * p.in_w + u32(ix)];
}

fn mitchell(a: f32, b: f32) -> f32 {
    let ma = bitcast<u32>(a) & 0x7fffffffu;
    let mb = bitcast<u32>(b) & 0x7fffffffu;
    let ea = ma >> 23u;
    let eb = mb >> 23u;
    // Zeros, subnormals and non-finite operands give 0.
    if (ea == 0u || eb == 0u || ea == 255u || eb == 255u) {
        return 0.0;
    }
    let sum = ma + mb;
    if (sum <= 0x3f800000u) {
        return 0.0;
    }
    let magnitude = bitcast<f32>(min(sum - 0x3f800000u, 0x7f800000u));
    if ((a < 0.0) != (b < 0.0)) {
        return -magnitude;
    }
    return magnitude;
}

// One weight times four pixels' values, added to their sums.
fn combine(sum: vec4<f32>, weight: f32, value: vec4<f32>) -> vec4<f32> {
    switch ARITH {
        case 1u: { return sum - abs(value - vec4<f32>(weight)); }
        case 2u: {
            return sum + vec4<f32>(
                mitchell(weight, value.x),
                mitchell(weight, value.y),
                mitchell(weight, value.z),
                mitchell(weight, value.w),
            );
        }
        default: { return fma(vec4<f32>(weight), value, sum); }
    }
}

// Row m (an output channel of group g) of the tile: bias, activation, store the pixels that exist.
fn store(g: u32, m: u32, n: u32, n_total: u32, sums: vec4<f32>) {
    if (m >= p.cout_g) {
        return;
    }
    let oc = g * p.cout_g + m;
    var b = 0.0;
    if (HAS_BIAS) {
        b = bias[oc];
    }
    let row = p.y_offset + oc * n_total;
    if (n < n_total) { y[row + n] = activate(sums.x + b); }
    if (n + 8u < n_total) { y[row + n + 8u] = activate(sums.y + b); }
    if (n + 16u < n_total) { y[row + n + 16u] = activate(sums.z + b); }
    if (n + 24u < n_total) { y[row + n + 24u] = activate(sums.w + b); }
}

// The sums live in four vec4 (no array indexed at run time: software Vulkan keeps such arrays in memory,
// per invocation, which made this kernel 100× slower on lavapipe).
@compute @workgroup_size(8, 8)
fn conv(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let k_total = p.cin_g * KH * KW;
    let n_total = p.out_h * p.out_w;
    let n0 = wg.x * TILE_N;
    let m0 = wg.y * TILE_M;
    let g = wg.z;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < k_total; k0 += TILE_K) {
        for (var e = li; e < TILE_M * TILE_K; e += 64u) {
            let m = m0 + e / TILE_K;
            let k = k0 + e % TILE_K;
            var v = 0.0;
            if (m < p.cout_g && k < k_total) {
                v = w[(g * p.cout_g + m) * k_total + k];
            }
            a_tile[e] = v;
        }
        for (var e = li; e < TILE_K * TILE_N; e += 64u) {
            let k = k0 + e / TILE_N;
            let n = n0 + e % TILE_N;
            var v = 0.0;
            if (k < k_total && n < n_total) {
                v = input_at(g, k, n);
            }
            b_tile[e] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let at = kk * TILE_N + lid.x;
            let b = vec4<f32>(b_tile[at], b_tile[at + 8u], b_tile[at + 16u], b_tile[at + 24u]);
            acc0 = combine(acc0, a_tile[lid.y * TILE_K + kk], b);
            acc1 = combine(acc1, a_tile[(lid.y + 8u) * TILE_K + kk], b);
            acc2 = combine(acc2, a_tile[(lid.y + 16u) * TILE_K + kk], b);
            acc3 = combine(acc3, a_tile[(lid.y + 24u) * TILE_K + kk], b);
        }
        workgroupBarrier();
    }
    let n = n0 + lid.x;
    store(g, m0 + lid.y, n, n_total, acc0);
    store(g, m0 + lid.y + 8u, n, n_total, acc1);
    store(g, m0 + lid.y + 16u, n, n_total, acc2);
    store(g, m0 + lid.y + 24u, n, n_total, acc3);
}

// The same convolution without workgroup memory, for adapters that run shaders on the CPU (SwiftShader,
// lavapipe): there every invocation is a SIMD lane, a barrier switches between coroutines, and a
// workgroup-memory read costs as much as a cached global one, so staging tiles only adds work. An
// invocation sums 4 output channels × 4 neighbouring pixels (16 sums in four vec4) over the whole
// window, reading 4 weights and 4 input values for every 16 multiply-adds; the inner loops run over
// (input channel, ky, kx) so no index needs a division.
@compute @workgroup_size(64)
fn conv_registers(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    // The output channels come from the workgroup id, so every invocation of a workgroup reads the same
    // weights: a CPU-run shader loads them once for all its SIMD lanes.
    let n_total = p.out_h * p.out_w;
    let n_block = wg.x * 64u + li;
    if (n_block * 4u >= n_total) {
        return;
    }
    let n0 = n_block * 4u;
    let m0 = wg.y * 4u;
    let g = wg.z;
    let n = vec4<u32>(n0, n0 + 1u, n0 + 2u, n0 + 3u);
    let oy = n / vec4<u32>(p.out_w);
    let ox = n % vec4<u32>(p.out_w);
    let y0 = vec4<i32>(oy * SH) - vec4<i32>(i32(p.pad_top));
    let x0 = vec4<i32>(ox * SW) - vec4<i32>(i32(p.pad_left));
    let k_total = p.cin_g * KH * KW;
    let last = p.cout_g - 1u;
    let w0 = (g * p.cout_g + min(m0, last)) * k_total;
    let w1 = (g * p.cout_g + min(m0 + 1u, last)) * k_total;
    let w2 = (g * p.cout_g + min(m0 + 2u, last)) * k_total;
    let w3 = (g * p.cout_g + min(m0 + 3u, last)) * k_total;
    let h = i32(p.in_h);
    let wd = i32(p.in_w);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var k = 0u;
    for (var ci = 0u; ci < p.cin_g; ci++) {
        let plane = p.x_offset + input_channel(g * p.cin_g + ci) * p.in_h * p.in_w;
        for (var ky = 0u; ky < KH; ky++) {
            let iy = y0 + vec4<i32>(i32(ky * DH));
            let row_ok = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(h));
            let row = vec4<u32>(plane) + vec4<u32>(clamp(iy, vec4<i32>(0), vec4<i32>(h - 1))) * p.in_w;
            for (var kx = 0u; kx < KW; kx++) {
                let ix = x0 + vec4<i32>(i32(kx * DW));
                let ok = row_ok & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(wd));
                let at = row + vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(wd - 1)));
                let v = select(vec4<f32>(0.0), vec4<f32>(x[at.x], x[at.y], x[at.z], x[at.w]), ok);
                acc0 = combine(acc0, w[w0 + k], v);
                acc1 = combine(acc1, w[w1 + k], v);
                acc2 = combine(acc2, w[w2 + k], v);
                acc3 = combine(acc3, w[w3 + k], v);
                k += 1u;
            }
        }
    }
    // Pixels n0.. of a row are contiguous in the output, but the 4-block may run past the map's end.
    store_block(g, m0, n0, n_total, acc0);
    store_block(g, m0 + 1u, n0, n_total, acc1);
    store_block(g, m0 + 2u, n0, n_total, acc2);
    store_block(g, m0 + 3u, n0, n_total, acc3);
}

fn store_block(g: u32, m: u32, n: u32, n_total: u32, sums: vec4<f32>) {
    if (m >= p.cout_g) {
        return;
    }
    let oc = g * p.cout_g + m;
    var b = 0.0;
    if (HAS_BIAS) {
        b = bias[oc];
    }
    let row = p.y_offset + oc * n_total;
    if (n < n_total) { y[row + n] = activate(sums.x + b); }
    if (n + 1u < n_total) { y[row + n + 1u] = activate(sums.y + b); }
    if (n + 2u < n_total) { y[row + n + 2u] = activate(sums.z + b); }
    if (n + 3u < n_total) { y[row + n + 3u] = activate(sums.w + b); }
}
