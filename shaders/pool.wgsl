// Pooling over CHW maps, as PyTorch computes it: max and average windows with per-side padding and ceil
// mode (the average's divisor clipped to the padded extent, or to the valid pixels without
// count_include_pad), and the global average (one workgroup per channel, a tree sum in workgroup memory).

struct Pool {
    channels: u32,
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    pad_top: u32,
    pad_left: u32,
    pad_bottom: u32,
    pad_right: u32,
    kind: u32, // 0 max, 1 average counting the padding, 2 average of the valid pixels
}

@group(0) @binding(0) var<uniform> p: Pool;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn window(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(gid, groups);
    if (i >= p.channels * p.out_h * p.out_w) {
        return;
    }
    let ox = i % p.out_w;
    let oy = (i / p.out_w) % p.out_h;
    let c = i / (p.out_w * p.out_h);
    let y0 = i32(oy * p.sh) - i32(p.pad_top);
    let x0 = i32(ox * p.sw) - i32(p.pad_left);
    let y1 = min(y0 + i32(p.kh), i32(p.in_h + p.pad_bottom));
    let x1 = min(x0 + i32(p.kw), i32(p.in_w + p.pad_right));
    let padded = max((y1 - y0) * (x1 - x0), 1);
    let ya = max(y0, 0);
    let yb = max(min(y1, i32(p.in_h)), 0);
    let xa = max(x0, 0);
    let xb = max(min(x1, i32(p.in_w)), 0);
    let plane = c * p.in_h * p.in_w;
    var m = -3.4e38;
    var s = 0.0;
    for (var yy = ya; yy < yb; yy++) {
        for (var xx = xa; xx < xb; xx++) {
            let v = x[plane + u32(yy) * p.in_w + u32(xx)];
            m = max(m, v);
            s += v;
        }
    }
    var value: f32;
    if (p.kind == 0u) {
        value = m;
    } else if (p.kind == 1u) {
        value = s / f32(padded);
    } else {
        value = s / f32(max((yb - ya) * (xb - xa), 1));
    }
    out[i] = value;
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn global_average(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.x + wg.y * groups.x;
    let plane = p.in_h * p.in_w;
    var s = 0.0;
    if (c < p.channels) {
        for (var at = li; at < plane; at += 64u) {
            s += x[c * plane + at];
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
    if (li == 0u && c < p.channels) {
        out[c] = partial[0] / f32(plane);
    }
}
