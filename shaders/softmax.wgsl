// Softmax over a vector, in one workgroup: the maximum, then the sum of exp(x − max), each a strided
// pass and a tree reduction in workgroup memory, then the quotients.

struct Softmax {
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Softmax;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn softmax(@builtin(local_invocation_index) li: u32) {
    var m = -3.4e38;
    for (var i = li; i < p.len; i += 256u) {
        m = max(m, x[i]);
    }
    partial[li] = m;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half /= 2u) {
        if (li < half) {
            partial[li] = max(partial[li], partial[li + half]);
        }
        workgroupBarrier();
    }
    let top = partial[0];
    workgroupBarrier();
    var s = 0.0;
    for (var i = li; i < p.len; i += 256u) {
        s += exp(x[i] - top);
    }
    partial[li] = s;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half /= 2u) {
        if (li < half) {
            partial[li] += partial[li + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    for (var i = li; i < p.len; i += 256u) {
        out[i] = exp(x[i] - top) / total;
    }
}
