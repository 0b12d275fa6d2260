//! Pointwise convolutions writing channels-last (HWC) maps with a short inner dimension or few output
//! channels, computed with AVX-512 intrinsics where the CPU has AVX-512F; the others go to the GEMM
//! crate (`gemm.rs`).
//!
//! The GEMM crate blocks its registers along the output's unit-stride dimension — for an HWC output the
//! channels — and sums over the inner dimension in its microkernel, so two shapes of inverted-residual
//! trunks leave it well below its speed: the expansions with 16–24 inputs (a 16-deep sum is too short
//! to pay for writing the block back: Lite0's 16 → 96 over 112² ran at 59–66 GMAC/s, the 24 → 144 over
//! 56² at 85, against 100–114 for the deep ones), and the projections to 24 channels (a 24-channel
//! register block is half empty: 80–83 GMAC/s). Here a tile of pixels is summed in registers —
//! `V` vectors of 16 output channels for `P` pixels, 24 sums started from the bias — reading the
//! column-major weights of the trunks (`layout.rs`) as vectors, each input value as a broadcast, and
//! ReLU/ReLU6 is applied before the one store, so the separate epilogue pass over the map is gone too.
//!
//! A third shape: the wide convolutions over 7² maps (49 pixels leave one over in the crate's blocks of
//! 4–6 and in this kernel's 48-pixel tiles). There the weights are stored in 48-channel panels
//! ([`to_panels`], chosen in `layout.rs`) and [`pointwise_panels_uninit`] sums groups of 7 pixels.
//! Every entry stores every value of its output, so the engine hands the `_uninit` ones unzeroed buffers.

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks

use std::arch::x86_64::{
    __mmask16, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps,
};

use std::mem::MaybeUninit;

use convscope_graph::Activation;

use super::depthwise_hwc_avx512::relu_in_registers;
use super::gemm::Strides;

/// Output channels in a vector.
const LANES: usize = 16;
/// Pixels per tile: every block's pixel group (6, 8, 12) divides it, so all of a tile's channel blocks
/// read the same `k × 48` inputs while they are in L1.
const TILE: usize = 48;

/// Whether [`pointwise`] computes an `m`-channel output from `k` inputs with this activation, on this
/// CPU: the shapes the GEMM crate is slow on (see the module docs; measured per layer in the
/// `pointwise_layout` bench) — at most 32 inputs, or at most 48 output channels — and ReLU, ReLU6 or
/// none.
pub fn handles(k: usize, m: usize, activation: Option<Activation>) -> bool {
    k > 0
        && m > 0
        && (k <= 48 || m <= 80)
        && matches!(activation, None | Some(Activation::Relu | Activation::Relu6))
        && std::is_x86_feature_detected!("avx512f")
}

/// One pointwise convolution's sizes and operands besides its weights: `out = act(w · x + bias)` for `n`
/// pixels, where `x` is `k × n` with `x_strides` (CHW: `(hw, 1)` from the first pixel; HWC: `(1, k)`) and
/// the output is HWC, `n × m`.
#[derive(Clone, Copy, Debug)]
pub struct Pointwise<'a> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub x: &'a [f32],
    pub x_strides: Strides,
    pub bias: Option<&'a [f32]>,
    pub activation: Option<Activation>,
}

impl<'a> Pointwise<'a> {
    /// The kernel's operands with weights `w` (`panels` or column-major, `w_len` values expected), after
    /// checking every size against what the loops will index; `b` receives the bias (zero where there is
    /// none) padded to whole panels, so the last vector loads unmasked.
    fn operands(&self, w: &'a [f32], panels: bool, b: &'a mut Vec<f32>, out: usize) -> Operands<'a> {
        let Self { m, k, n, x, x_strides, bias, activation } = *self;
        let w_len = if panels { m.div_ceil(PANEL) * PANEL * k } else { m * k };
        assert_eq!(w.len(), w_len, "pointwise_hwc: weight size");
        assert_eq!(out, n * m, "pointwise_hwc: output size");
        assert!(bias.is_none_or(|b| b.len() == m), "pointwise_hwc: bias size");
        if n > 0 {
            let last = (k - 1) * x_strides.row + (n - 1) * x_strides.column;
            assert!(last < x.len(), "pointwise_hwc: input too short for {k}×{n} with {x_strides:?}");
        }
        b.clear();
        b.resize(m.next_multiple_of(PANEL), 0.0);
        if let Some(bias) = bias {
            b.iter_mut().zip(bias).for_each(|(to, &from)| *to = from);
        }
        Operands { m, k, rs: x_strides.row, cs: x_strides.column, x, w, panels, b, activation }
    }
}

/// The product `p` with the column-major `m × k` weights (element `(o, i)` at `i·m + o`).
pub fn pointwise(p: &Pointwise, weight: &[f32], out: &mut [f32]) {
    // SAFETY: `pointwise_uninit` stores only values.
    pointwise_uninit(p, weight, unsafe { as_uninit(out) });
}

/// `out` as maybe-uninitialized values, for the `_uninit` entries, which store every value.
///
/// # Safety
///
/// Nothing may store an uninitialized value through the result (that would leave `out` holding one).
pub(crate) unsafe fn as_uninit(out: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`; the caller keeps the values initialized.
    unsafe { &mut *(std::ptr::from_mut(out) as *mut [MaybeUninit<f32>]) }
}

/// [`pointwise`] into a buffer that need not be initialized: every one of its `n × m` values is stored
/// (each pixel group stores all its channel vectors, the last one masked to `m`; the groups cover every
/// pixel — tested from NaN-filled buffers).
pub fn pointwise_uninit(p: &Pointwise, weight: &[f32], out: &mut [MaybeUninit<f32>]) {
    assert!(handles(p.k, p.m, p.activation), "pointwise_hwc: a shape or activation it does not handle");
    let mut b = Vec::new();
    let ops = p.operands(weight, false, &mut b, out.len());
    let (m, n) = (p.m, p.n);
    let mut t0 = 0;
    while t0 < n {
        let t1 = (t0 + TILE).min(n);
        let mut o0 = 0;
        while o0 < m {
            let left = m - o0;
            // SAFETY: AVX-512F is present (`handles`); the tile's pixels are below `n`, its channels
            // below `m` (the last vector masked), and `x`, `weight` and `out` hold `n` pixels of `k`
            // inputs and `m` outputs (checked by `operands`).
            unsafe {
                match left {
                    49.. => tile::<4, 6>(&ops, out, t0..t1, o0),
                    33..=48 => tile::<3, 8>(&ops, out, t0..t1, o0),
                    17..=32 => tile::<2, 12>(&ops, out, t0..t1, o0),
                    _ => tile::<1, 12>(&ops, out, t0..t1, o0),
                }
            }
            o0 += 4 * LANES;
        }
        t0 = t1;
    }
}

/// Output channels per weight panel of [`pointwise_panels_uninit`].
pub const PANEL: usize = 48;

/// Whether a pointwise convolution over `n` pixels with these sizes runs on [`pointwise_panels_uninit`]:
/// one the GEMM crate computes otherwise ([`handles`] says no) over a map of 7 to 49 pixels in sevens
/// (Lite0's and MobileNetV2's last stages), where 7 pixels × 3 vectors fill the registers with nothing
/// left over, and the weights of each 48-channel block are one contiguous panel however cold.
pub fn panels_pay(k: usize, m: usize, n: usize, activation: Option<Activation>) -> bool {
    sevens(n)
        && !handles(k, m, activation)
        && matches!(activation, None | Some(Activation::Relu | Activation::Relu6))
        && std::is_x86_feature_detected!("avx512f")
}

/// Column-major `m × k` weights (element `(o, i)` at `i·m + o`) as panels of [`PANEL`] output channels:
/// panel `b` holds `k` rows of 48 values, `(b·48 + j, i)` at `b·48·k + i·48 + j`, zero past `m`.
pub fn to_panels(column_major: &[f32], m: usize, k: usize) -> Vec<f32> {
    let blocks = m.div_ceil(PANEL);
    let mut panels = vec![0.0; blocks * PANEL * k];
    for (b, panel) in panels.chunks_exact_mut(PANEL * k).enumerate() {
        let width = (m - b * PANEL).min(PANEL);
        for (i, row) in panel.chunks_exact_mut(PANEL).enumerate() {
            let from = i * m + b * PANEL;
            if let (Some(to), Some(from)) = (row.get_mut(..width), column_major.get(from..from + width)) {
                to.copy_from_slice(from);
            }
        }
    }
    panels
}

/// Pixels per group on maps of 7 to 49 pixels.
const SEVEN: usize = 7;

/// Maps of 7, 14, … 49 pixels.
fn sevens(n: usize) -> bool {
    n > 0 && n.is_multiple_of(SEVEN) && n <= SEVEN * SEVEN
}

/// [`pointwise_uninit`] with the weights in panels ([`to_panels`]) over `n` pixels, a multiple of 7 up to
/// 49 ([`panels_pay`]): per 48-channel panel, groups of 7 pixels × 3 vectors (21 sums), every value of
/// `out` stored.
pub fn pointwise_panels_uninit(p: &Pointwise, panels: &[f32], out: &mut [MaybeUninit<f32>]) {
    assert!(
        p.k > 0 && p.m > 0 && sevens(p.n) && std::is_x86_feature_detected!("avx512f"),
        "pointwise_panels: a shape it does not handle"
    );
    assert!(matches!(p.activation, None | Some(Activation::Relu | Activation::Relu6)), "pointwise_panels: activation");
    let mut b = Vec::new();
    let ops = p.operands(panels, true, &mut b, out.len());
    let mut o0 = 0;
    while o0 < p.m {
        // SAFETY: AVX-512F is present (asserted); `n` is a multiple of 7, so the groups cover the map
        // exactly; the panel of `o0` holds 48 channels × `k` (checked size), the last vector's stores
        // are masked to `m`.
        unsafe {
            match p.m - o0 {
                33.. => tile::<3, SEVEN>(&ops, out, 0..p.n, o0),
                17..=32 => tile::<2, SEVEN>(&ops, out, 0..p.n, o0),
                _ => tile::<1, SEVEN>(&ops, out, 0..p.n, o0),
            }
        }
        o0 += PANEL;
    }
}

/// One call's sizes, input strides and operands: `x` as [`Pointwise`] gives it, the weights `w`
/// column-major or in panels, `b` the bias padded to whole panels ([`Pointwise::operands`]).
struct Operands<'a> {
    m: usize,
    k: usize,
    rs: usize,
    cs: usize,
    x: &'a [f32],
    w: &'a [f32],
    /// `w` is in panels ([`to_panels`]) rather than column-major.
    panels: bool,
    b: &'a [f32],
    activation: Option<Activation>,
}

/// Pixels `pixels` of output channels `o0 .. o0 + 16·V` (fewer if `m` ends first), in groups of `P`
/// pixels; a last group shorter than `P` ends at the tile's end, overlapping the one before (same
/// values), or, if the whole map is narrower than `P`, goes pixel by pixel.
///
/// # Safety
///
/// AVX-512F; `pixels.end ≤ n` and `o0 < m` for the sizes [`pointwise`] checked `x`, `w` and `out`
/// against; `b` holds `m` rounded up to whole vectors.
#[target_feature(enable = "avx512f")]
unsafe fn tile<const V: usize, const P: usize>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    pixels: std::ops::Range<usize>,
    o0: usize,
) {
    let lanes = (g.m - o0).min(V * LANES) - (V - 1) * LANES;
    let mask: __mmask16 = if lanes >= LANES { 0xffff } else { (1u16 << lanes) - 1 };
    let mut p = pixels.start;
    while p + P <= pixels.end {
        // SAFETY: the caller's bounds; `p + P ≤ pixels.end`.
        unsafe { group::<V, P>(g, out, p, o0, mask) };
        p += P;
    }
    if p < pixels.end {
        if pixels.end >= P {
            // SAFETY: as above; `pixels.end − P ≥ 0`.
            unsafe { group::<V, P>(g, out, pixels.end - P, o0, mask) };
        } else {
            for p in p..pixels.end {
                // SAFETY: as above, one pixel.
                unsafe { group::<V, 1>(g, out, p, o0, mask) };
            }
        }
    }
}

/// `P` pixels from `p` of `V` vectors of output channels from `o0`, the last vector's lanes `mask`:
/// summed over all `k` inputs in registers, biased, activated, stored.
///
/// # Safety
///
/// As [`tile`], with `p + P ≤ n`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn group<const V: usize, const P: usize>(
    g: &Operands,
    out: &mut [MaybeUninit<f32>],
    p: usize,
    o0: usize,
    mask: __mmask16,
) {
    // The sums start from the bias: one load per vector instead of an add per sum (the kernel bench on a
    // Zen 4: 1–4% faster on Lite0's shapes).
    let mut bias = [_mm512_setzero_ps(); V];
    for (v, b) in bias.iter_mut().enumerate() {
        // SAFETY: `b` is padded to whole vectors past `o0 + 16v`.
        *b = unsafe { _mm512_loadu_ps(g.b.as_ptr().add(o0 + v * LANES)) };
    }
    let mut sum = [bias; P];
    // Weights `(o0 + 16v + lane, i)` at `base + i·row + 16v`.
    let (base, row_stride) = if g.panels { (o0 / PANEL * PANEL * g.k, PANEL) } else { (o0, g.m) };
    let (xp, wp) = (g.x.as_ptr(), g.w.as_ptr());
    for i in 0..g.k {
        let mut wv = [_mm512_setzero_ps(); V];
        for (v, wv) in wv.iter_mut().enumerate() {
            // SAFETY: weights `(o0 + 16v .. , i)` are at `i·m + o0 + 16v` (column-major, `m·k` long)
            // or `o0/48·48·k + i·48 + 16v` (panels, 48·k per panel), inside `w` for every unmasked
            // lane: the last vector's lanes past `m` are masked off.
            let at = unsafe { wp.add(base + i * row_stride + v * LANES) };
            *wv = if v + 1 == V { unsafe { _mm512_maskz_loadu_ps(mask, at) } } else { unsafe { _mm512_loadu_ps(at) } };
        }
        let row = i * g.rs + p * g.cs;
        for (j, s) in sum.iter_mut().enumerate() {
            // SAFETY: input `(i, p + j)` with `p + j < n` is inside `x` (checked by `pointwise`).
            let xv = _mm512_set1_ps(unsafe { *xp.add(row + j * g.cs) });
            for (s, &w) in s.iter_mut().zip(&wv) {
                *s = _mm512_fmadd_ps(w, xv, *s);
            }
        }
    }
    let dst = out.as_mut_ptr().cast::<f32>();
    for (j, s) in sum.iter().enumerate() {
        for (v, &s) in s.iter().enumerate() {
            // SAFETY: the output `(p + j, o0 + 16v ..)` is inside `out` for every unmasked lane.
            unsafe {
                let r = relu_in_registers(s, g.activation);
                let at = dst.add((p + j) * g.m + o0 + v * LANES);
                if v + 1 == V {
                    _mm512_mask_storeu_ps(at, mask, r);
                } else {
                    _mm512_storeu_ps(at, r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test operands of case `case`: column-major `m × k` weights, a bias, and one input as CHW and HWC.
    fn operands(m: usize, k: usize, n: usize, case: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let value = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 997) as f32 / 498.5 - 1.0;
        let w: Vec<f32> = (0..m * k).map(|i| value(i, case)).collect();
        let bias: Vec<f32> = (0..m).map(|i| value(i, case + 40)).collect();
        let x_chw: Vec<f32> = (0..k * n).map(|i| value(i, case + 80)).collect();
        let mut x_hwc = vec![0.0; k * n];
        for i in 0..k {
            for p in 0..n {
                x_hwc[p * k + i] = x_chw[i * n + p];
            }
        }
        (w, bias, x_chw, x_hwc)
    }

    /// Every block width (1–4 vectors, whole and masked), pixel counts below, at and past a group and
    /// a tile, CHW and HWC inputs, with and without bias, against the plain sum.
    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn pointwise_hwc_matches_the_definition() {
        assert!(std::is_x86_feature_detected!("avx512f"), "built on a machine with AVX-512, run on one without");
        for (case, &(m, k, n)) in [
            (96, 16, 130),
            (144, 24, 49),
            (24, 96, 53),
            (24, 144, 5),
            (16, 32, 12),
            (40, 8, 97),
            (200, 3, 7),
            (7, 50, 1),
        ]
        .iter()
        .enumerate()
        {
            let (w, bias, x_chw, x_hwc) = operands(m, k, n, case); // w column-major: (o, i) at i·m + o
            for activation in [None, Some(Activation::Relu), Some(Activation::Relu6)] {
                for with_bias in [false, true] {
                    let want: Vec<f32> = (0..n * m)
                        .map(|at| {
                            let (p, o) = (at / m, at % m);
                            let sum: f32 = (0..k).map(|i| w[i * m + o] * x_chw[i * n + p]).sum::<f32>()
                                + if with_bias { bias[o] } else { 0.0 };
                            activation.map_or(sum, |a| a.apply(sum))
                        })
                        .collect();
                    for (x, strides) in [(&x_chw, Strides::row_major(n)), (&x_hwc, Strides::column_major(k))] {
                        let mut got = vec![f32::NAN; n * m];
                        let b = with_bias.then_some(&bias[..]);
                        let p = Pointwise { m, k, n, x, x_strides: strides, bias: b, activation };
                        pointwise(&p, &w, &mut got);
                        for (at, (g, want)) in got.iter().zip(&want).enumerate() {
                            assert!(
                                (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "case {case} ({m}×{k}·{n}), {activation:?}, bias {with_bias}, {strides:?}, \
                                 pixel {}, channel {}: {g} vs {want}",
                                at / m,
                                at % m
                            );
                        }
                    }
                }
            }
        }
    }

    /// The panel kernel on 7² maps and their parts (7 to 49 pixels), every panel width (whole, 32 and
    /// 16 channels left, masked), CHW and HWC inputs, from NaN-filled outputs, against the plain sum.
    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn pointwise_panels_matches_the_definition() {
        assert!(std::is_x86_feature_detected!("avx512f"), "built on a machine with AVX-512, run on one without");
        for (case, &(m, k, n)) in
            [(200, 64, 49), (130, 90, 28), (100, 70, 21), (96, 49, 7), (1152, 50, 49)].iter().enumerate()
        {
            assert!(panels_pay(k, m, n, Some(Activation::Relu6)), "case {case}");
            let (w, bias, x_chw, x_hwc) = operands(m, k, n, case);
            let panels = to_panels(&w, m, k);
            for activation in [None, Some(Activation::Relu6)] {
                let want: Vec<f32> = (0..n * m)
                    .map(|at| {
                        let (p, o) = (at / m, at % m);
                        let sum: f32 = (0..k).map(|i| w[i * m + o] * x_chw[i * n + p]).sum::<f32>() + bias[o];
                        activation.map_or(sum, |a| a.apply(sum))
                    })
                    .collect();
                for (x, strides) in [(&x_chw, Strides::row_major(n)), (&x_hwc, Strides::column_major(k))] {
                    let mut got = vec![MaybeUninit::new(f32::NAN); n * m];
                    let p = Pointwise { m, k, n, x, x_strides: strides, bias: Some(&bias), activation };
                    pointwise_panels_uninit(&p, &panels, &mut got);
                    for (at, (g, want)) in got.iter().zip(&want).enumerate() {
                        // SAFETY: initialized with NaN above.
                        let g = unsafe { g.assume_init() };
                        assert!(
                            (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                            "case {case} ({m}×{k}·{n}), {activation:?}, {strides:?}, pixel {}, channel {}: {g} vs {want}",
                            at / m,
                            at % m
                        );
                    }
                }
            }
        }
    }
}
