// Feature maps to pixels on the GPU, so the views draw a GPU run's maps without reading them back:
// `ranges` finds every channel's (min, max) and, in the last slot, the whole map's; `grid` colours a
// range of channels into tiles of an RGBA8 storage texture that egui then draws. A value becomes a
// position t in [0, 1] within its channel's (or the layer's) range — symmetric around 0 for diverging
// maps — and t picks one of 256 colours of a table (src/colormap.rs `Colormap::table`).

struct Grid {
    channels: u32, // channels of the map
    h: u32,
    w: u32,
    first: u32,    // first channel in the grid
    count: u32,    // channels in the grid
    columns: u32,  // tiles per row
    tile_h: u32,   // tile size in texels (the map scaled to it, nearest neighbour)
    tile_w: u32,
    gap: u32,      // texels between tiles
    per_layer: u32, // 1: one range for every channel (the last slot of `ranges`)
    signed: u32,   // 1: t = 0.5 + 0.5·v / max|range| (diverging maps)
    width: u32,    // texture size
    height: u32,
    offset: u32,   // where the map starts in its buffer (a part of a concatenation)
}

@group(0) @binding(0) var<uniform> p: Grid;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ranges_out: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> ranges: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> table: array<u32, 256>;
@group(0) @binding(5) var target_texture: texture_storage_2d<rgba8unorm, write>;

var<workgroup> low: array<f32, 64>;
var<workgroup> high: array<f32, 64>;

fn reduce(li: u32) {
    workgroupBarrier();
    for (var half = 32u; half > 0u; half /= 2u) {
        if (li < half) {
            low[li] = min(low[li], low[li + half]);
            high[li] = max(high[li], high[li + half]);
        }
        workgroupBarrier();
    }
}

// One workgroup per channel; slot `channels` (the layer's range) is left to `layer_range`.
@compute @workgroup_size(64)
fn channel_ranges(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.x + wg.y * groups.x;
    let plane = p.h * p.w;
    var lo = 3.4e38;
    var hi = -3.4e38;
    if (c < p.channels) {
        for (var at = li; at < plane; at += 64u) {
            let v = x[p.offset + c * plane + at];
            lo = min(lo, v);
            hi = max(hi, v);
        }
    }
    low[li] = lo;
    high[li] = hi;
    reduce(li);
    if (li == 0u && c < p.channels) {
        ranges_out[c] = vec2<f32>(low[0], high[0]);
    }
}

// One workgroup: the range over every channel's range.
@compute @workgroup_size(64)
fn layer_range(@builtin(local_invocation_index) li: u32) {
    var lo = 3.4e38;
    var hi = -3.4e38;
    for (var c = li; c < p.channels; c += 64u) {
        lo = min(lo, ranges_out[c].x);
        hi = max(hi, ranges_out[c].y);
    }
    low[li] = lo;
    high[li] = hi;
    reduce(li);
    if (li == 0u) {
        ranges_out[p.channels] = vec2<f32>(low[0], high[0]);
    }
}

@compute @workgroup_size(8, 8)
fn grid(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.width || gid.y >= p.height) {
        return;
    }
    let step_x = p.tile_w + p.gap;
    let step_y = p.tile_h + p.gap;
    let col = gid.x / step_x;
    let row = gid.y / step_y;
    let tx = gid.x % step_x;
    let ty = gid.y % step_y;
    let slot = row * p.columns + col;
    var color = vec4<f32>(0.0);
    if (tx < p.tile_w && ty < p.tile_h && col < p.columns && slot < p.count) {
        let c = p.first + slot;
        let sx = min(tx * p.w / p.tile_w, p.w - 1u);
        let sy = min(ty * p.h / p.tile_h, p.h - 1u);
        let v = x[p.offset + (c * p.h + sy) * p.w + sx];
        var range = ranges[c];
        if (p.per_layer == 1u) {
            range = ranges[p.channels];
        }
        var t = 0.5;
        if (p.signed == 1u) {
            let m = max(max(abs(range.x), abs(range.y)), 1e-30);
            t = 0.5 + 0.5 * clamp(v / m, -1.0, 1.0);
        } else if (range.y > range.x) {
            t = clamp((v - range.x) / (range.y - range.x), 0.0, 1.0);
        }
        // egui keeps textures in gamma space (Rgba8Unorm), as the table's sRGB colours are.
        color = unpack4x8unorm(table[u32(t * 255.0 + 0.5)]);
    }
    textureStore(target_texture, vec2<i32>(i32(gid.x), i32(gid.y)), color);
}
