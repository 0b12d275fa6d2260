//! Pointwise convolutions writing channels-last (HWC) maps with a short inner dimension or few output
//! channels, or over 7² maps, computed with AVX-512 intrinsics where the CPU has AVX-512F
//! (`pointwise_hwc_avx512.rs`) and with AVX2+FMA ones where it has only those (`pointwise_hwc_avx2.rs`);
//! the others go to the GEMM crate (`gemm.rs`). This file holds what both share: which shapes they take,
//! the checked operands, the weight panels, the loops over tiles, and the tests.
//!
//! The GEMM crate blocks its registers along the output's unit-stride dimension — for an HWC output the
//! channels — and sums over the inner dimension in its microkernel, so two shapes of inverted-residual
//! trunks leave it well below its speed: the expansions with 16–24 inputs (a 16-deep sum is too short
//! to pay for writing the block back: Lite0's 16 → 96 over 112² ran at 59–66 GMAC/s with AVX-512, the
//! 24 → 144 over 56² at 85, against 100–114 for the deep ones), and the projections to 24 channels (a
//! 24-channel register block is half empty: 80–83 GMAC/s). Here a tile of pixels is summed in
//! registers — `V` vectors of output channels for `P` pixels, all sums started from the bias — reading
//! the column-major weights of the trunks (`layout.rs`) as vectors, each input value as a broadcast, and
//! ReLU/ReLU6 is applied before the one store, so the separate epilogue pass over the map is gone too.
//!
//! A third shape: the wide convolutions over 7² maps (49 pixels leave one over in the crate's blocks of
//! 4–6 and in this kernel's 48-pixel tiles), and with AVX2 every convolution over 14² maps or smaller.
//! There the weights are stored in panels of one register block's channels ([`to_panels`], chosen in
//! `layout.rs`), and [`pointwise_panels_uninit`] sums groups of 7 pixels (6 with AVX2, the last group
//! overlapping the one before) while it prefetches the next panel: in a whole run these layers' weights
//! come from L3, and without the prefetch they ran 1.3–1.9× slower than with the weights in L2.
//! Every entry stores every value of its output, so the engine hands the `_uninit` ones unzeroed buffers.
//!
//! With AVX2 (16 registers of 8 lanes, against 32 of 16) the tiles are 2 vectors × 6 pixels (12 sums,
//! two weight vectors and a broadcast: 3 × 4 measured 1.2–1.6× slower, 2 × 7 on 7² maps slower than the
//! crate), 3 × 4 for the last 17–24 channels (each input read once for all of them) or 1 × 12 for the
//! last 1–8 channels. The GEMM crate's AVX2 kernel is further below its speed on these shapes than its
//! AVX-512 one (Lite0 on one thread, AVX-512 hidden: 13.5 GMAC/s on the 16 → 96 over 112², 19–21 on
//! the 7² layers, against 33–40 on 14² maps); the same shapes go to this kernel (`pointwise_layout`
//! bench with tools/no_avx512.c preloaded: 1.1–1.4× the crate plus its epilogue).

#![allow(unsafe_code)] // std::arch intrinsics and unchecked loads behind the entry point's checks

use std::mem::MaybeUninit;

use convscope_graph::Activation;

use super::gemm::Strides;
use super::{pointwise_hwc_avx2 as avx2, pointwise_hwc_avx512 as avx512};

/// Pixels per tile: every block's pixel group (4, 6, 8, 12) divides it, so all of a tile's channel
/// blocks read the same `k × 48` inputs while they are in L1.
const TILE: usize = 48;

/// The instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
}

impl Isa {
    /// The widest this CPU has, if any.
    pub fn detect() -> Option<Isa> {
        [Isa::Avx512, Isa::Avx2].into_iter().find(|isa| isa.available())
    }

    /// Output channels per weight panel of [`pointwise_panels_uninit`] with these kernels: the channels
    /// of one register block, so a block's weights are one contiguous stream (a 16-channel AVX2 block
    /// reading 64 of every 192 bytes of 48-channel panels ran 1.6–1.7× slower with its weights in L3,
    /// as in a whole run, than from L2).
    pub fn panel(self) -> usize {
        match self {
            Isa::Avx512 => PANEL,
            Isa::Avx2 => 16,
        }
    }

    /// Whether [`pointwise_panels_uninit`] takes an `m`-channel output from `k` inputs over `n` pixels
    /// with these kernels: with AVX-512 the wide and deep convolutions over 7² maps and their parts
    /// (7 to 49 pixels in sevens), with AVX2 every one over 7 to 196 pixels in sevens (its 6-pixel
    /// groups overlap at the end; `pointwise_layout` bench with the weights in L3, AVX-512 hidden:
    /// 1.15–1.28× the crate plus its epilogue on Lite0's 14² shapes, 1.15 × the column-major tiles on
    /// the 80 × 480, where prefetching the next panel hides the weights' latency).
    fn takes_panels(self, k: usize, m: usize, n: usize) -> bool {
        match self {
            Isa::Avx512 => sevens(n) && !short_or_narrow(k, m),
            Isa::Avx2 => k > 0 && m > 0 && n > 0 && n.is_multiple_of(SEVEN) && n <= MAX_PANEL_MAP_AVX2,
        }
    }

    /// `f32` values in one vector register.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 => 8,
        }
    }

    /// Whether this CPU can run `self`.
    pub fn available(self) -> bool {
        match self {
            Isa::Avx512 => std::is_x86_feature_detected!("avx512f"),
            Isa::Avx2 => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
        }
    }
}

/// Whether [`pointwise`] computes an `m`-channel output from `k` inputs with this activation, on this
/// CPU: the shapes the GEMM crate is slow on (see the module docs; measured per layer in the
/// `pointwise_layout` bench) — at most 48 inputs, or at most 80 output channels — and ReLU, ReLU6 or
/// none. (With AVX2 the kernel also beat the crate plus its epilogue on the deeper shapes in that bench,
/// by 1.0–1.2×, but taking them made whole runs slower, MobileNetV2 by 5–10%, interleaved.)
pub fn handles(k: usize, m: usize, activation: Option<Activation>) -> bool {
    Isa::detect().is_some() && short_or_narrow(k, m) && activation_in_registers(activation)
}

/// At most 48 inputs or at most 80 output channels.
fn short_or_narrow(k: usize, m: usize) -> bool {
    k > 0 && m > 0 && (k <= 48 || m <= 80)
}

/// The activations the kernels apply before storing.
fn activation_in_registers(activation: Option<Activation>) -> bool {
    matches!(activation, None | Some(Activation::Relu | Activation::Relu6))
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
    /// none) padded to whole panels, so every vector of it loads unmasked.
    fn operands(&self, w: &'a [f32], panel: usize, b: &'a mut Vec<f32>, out: usize) -> Operands<'a> {
        let Self { m, k, n, x, x_strides, bias, activation } = *self;
        let w_len = if panel > 0 { m.div_ceil(panel) * panel * k } else { m * k };
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
        Operands { m, k, rs: x_strides.row, cs: x_strides.column, x, w, panel, b, activation }
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
    // Without either, `pointwise_uninit_with` refuses (callers ask `handles` first).
    pointwise_uninit_with(Isa::detect().unwrap_or(Isa::Avx2), p, weight, out);
}

/// [`pointwise_uninit`] with the kernels of `isa`.
pub fn pointwise_uninit_with(isa: Isa, p: &Pointwise, weight: &[f32], out: &mut [MaybeUninit<f32>]) {
    assert!(
        isa.available() && p.k > 0 && p.m > 0 && activation_in_registers(p.activation),
        "pointwise_hwc: a shape, activation or instruction set it does not handle"
    );
    let mut b = Vec::new();
    let ops = p.operands(weight, 0, &mut b, out.len());
    let (m, n) = (p.m, p.n);
    let mut t0 = 0;
    while t0 < n {
        let t1 = (t0 + TILE).min(n);
        let mut o0 = 0;
        while o0 < m {
            let left = m - o0;
            // SAFETY: the instruction set is present (asserted); the tile's pixels are below `n`, its
            // channels below `m` (the last vector masked), and `x`, `weight` and `out` hold `n` pixels
            // of `k` inputs and `m` outputs (checked by `operands`).
            o0 += unsafe {
                match isa {
                    Isa::Avx512 => match left {
                        49.. => avx512::tile::<4, 6>(&ops, out, t0..t1, o0),
                        33..=48 => avx512::tile::<3, 8>(&ops, out, t0..t1, o0),
                        17..=32 => avx512::tile::<2, 12>(&ops, out, t0..t1, o0),
                        _ => avx512::tile::<1, 12>(&ops, out, t0..t1, o0),
                    },
                    // Two vectors (16 channels) × 6 pixels; 3 × 4 measured 1.2–1.6× slower (the
                    // `pointwise_layout` bench, AVX-512 hidden), except for the last 17–24 channels: there
                    // it reads each input once where 2 × 6 then 1 × 12 read it twice (Lite0's projections
                    // to 24 channels over 56², weights in L3: 1.08–1.16× faster). One vector for the last
                    // 1–8.
                    Isa::Avx2 => match left {
                        17..=24 => avx2::tile::<3, 4>(&ops, out, t0..t1, o0),
                        9.. => avx2::tile::<2, 6>(&ops, out, t0..t1, o0),
                        _ => avx2::tile::<1, 12>(&ops, out, t0..t1, o0),
                    },
                }
            };
        }
        t0 = t1;
    }
}

/// The widest weight panel of [`pointwise_panels_uninit`] (AVX-512's), to which biases are padded.
pub const PANEL: usize = 48;

/// The panel width of this CPU's kernels ([`Isa::panel`]), for [`to_panels`].
pub fn panel_width() -> usize {
    Isa::detect().map_or(PANEL, Isa::panel)
}

/// Whether a pointwise convolution over `n` pixels with these sizes runs on [`pointwise_panels_uninit`]
/// on this CPU ([`Isa::takes_panels`]): with AVX-512 a wide and deep one (more than 48 inputs and 80
/// output channels) over a map of 7 to 49 pixels in sevens (Lite0's and MobileNetV2's last stages),
/// where 7 pixels × 3 vectors fill the registers with nothing left over; with AVX2 any one over 7 to
/// 196 pixels in sevens. Each block's weights are one contiguous panel, and the next panel is
/// prefetched while a block runs ([`Operands::next_panel`]), so weights coming from L3, as in a whole
/// run, stall the kernel little.
pub fn panels_pay(k: usize, m: usize, n: usize, activation: Option<Activation>) -> bool {
    Isa::detect().is_some_and(|isa| isa.takes_panels(k, m, n)) && activation_in_registers(activation)
}

/// Column-major `m × k` weights (element `(o, i)` at `i·m + o`) as panels of `width` output channels
/// (the kernels' [`Isa::panel`]): panel `b` holds `k` rows of `width` values, `(b·width + j, i)` at
/// `b·width·k + i·width + j`, zero past `m`.
pub fn to_panels(column_major: &[f32], m: usize, k: usize, width: usize) -> Vec<f32> {
    assert!(width > 0 && PANEL.is_multiple_of(width), "to_panels: width {width}");
    let blocks = m.div_ceil(width);
    let mut panels = vec![0.0; blocks * width * k];
    for (b, panel) in panels.chunks_exact_mut(width * k).enumerate() {
        let used = (m - b * width).min(width);
        for (i, row) in panel.chunks_exact_mut(width).enumerate() {
            let from = i * m + b * width;
            if let (Some(to), Some(from)) = (row.get_mut(..used), column_major.get(from..from + used)) {
                to.copy_from_slice(from);
            }
        }
    }
    panels
}

/// The largest map the AVX2 panel kernel takes: 14².
const MAX_PANEL_MAP_AVX2: usize = 196;

/// Pixels per group on maps of 7 to 49 pixels.
const SEVEN: usize = 7;

/// Maps of 7, 14, … 49 pixels.
fn sevens(n: usize) -> bool {
    n > 0 && n.is_multiple_of(SEVEN) && n <= SEVEN * SEVEN
}

/// [`pointwise_uninit`] with the weights in panels ([`to_panels`]) over `n` pixels, a multiple of 7 up to
/// 49 ([`panels_pay`]): per 48-channel panel, groups of 7 pixels × up to 3 vectors, every value of `out`
/// stored.
pub fn pointwise_panels_uninit(p: &Pointwise, panels: &[f32], out: &mut [MaybeUninit<f32>]) {
    // Without either, `pointwise_panels_uninit_with` refuses (callers ask `panels_pay` first).
    pointwise_panels_uninit_with(Isa::detect().unwrap_or(Isa::Avx2), p, panels, out);
}

/// [`pointwise_panels_uninit`] with the kernels of `isa`.
pub fn pointwise_panels_uninit_with(isa: Isa, p: &Pointwise, panels: &[f32], out: &mut [MaybeUninit<f32>]) {
    assert!(isa.takes_panels(p.k, p.m, p.n) && isa.available(), "pointwise_panels: a shape it does not handle");
    assert!(activation_in_registers(p.activation), "pointwise_panels: activation");
    let mut b = Vec::new();
    let ops = p.operands(panels, isa.panel(), &mut b, out.len());
    let mut o0 = 0;
    while o0 < p.m {
        // SAFETY: the instruction set is present (asserted); `n` is a multiple of 7, so the groups cover
        // the map exactly; the panel of `o0` holds `isa.panel()` channels × `k` (checked size), the last vector's
        // stores are masked to `m`; a block never crosses a panel (16 and 48 are multiples of 16, 8).
        o0 += unsafe {
            match (isa, p.m - o0) {
                (Isa::Avx512, 33..) => avx512::tile::<3, SEVEN>(&ops, out, 0..p.n, o0),
                (Isa::Avx512, 17..=32) => avx512::tile::<2, SEVEN>(&ops, out, 0..p.n, o0),
                (Isa::Avx512, _) => avx512::tile::<1, SEVEN>(&ops, out, 0..p.n, o0),
                (Isa::Avx2, 9..) => avx2::tile::<2, 6>(&ops, out, 0..p.n, o0),
                (Isa::Avx2, _) => avx2::tile::<1, SEVEN>(&ops, out, 0..p.n, o0),
            }
        };
    }
}

/// One call's sizes, input strides and operands: `x` as [`Pointwise`] gives it, the weights `w`
/// column-major or in panels, `b` the bias padded to whole panels ([`Pointwise::operands`]).
pub(super) struct Operands<'a> {
    pub m: usize,
    pub k: usize,
    pub rs: usize,
    pub cs: usize,
    pub x: &'a [f32],
    pub w: &'a [f32],
    /// The width of `w`'s panels ([`to_panels`]), or 0 if it is column-major.
    pub panel: usize,
    pub b: &'a [f32],
    pub activation: Option<Activation>,
}

impl Operands<'_> {
    /// The start of the weight panel after the one of `o0`, when a block of `block` channels is one whole
    /// panel and there is a next one: such a block prefetches it into L1 as it goes, each row once,
    /// spread over its pixel groups (row `i` in group `i mod groups`). Streamed in from L3 by a panel's
    /// first group alone, the weights stalled it: Lite0's 7² layers with AVX2 ran 1.3–1.4× slower with
    /// their weights in L3, as in a whole run, than from L2 (`pointwise_layout` bench, `-cold`); with
    /// the prefetch 1.03–1.13×.
    pub(super) fn next_panel(&self, o0: usize, block: usize) -> Option<*const f32> {
        let next = (o0 / block.max(1) + 1) * block;
        (self.panel == block && next < self.m).then(|| {
            // SAFETY: panel `next / block` starts inside `w` (`next < m`; `panel·k` values a panel).
            unsafe { self.w.as_ptr().add(next * self.k) }
        })
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

    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn pointwise_hwc_avx512_matches_the_definition() {
        assert!(Isa::Avx512.available(), "built on a machine with AVX-512, run on one without");
        pointwise_matches_the_definition(Isa::Avx512);
    }

    #[test]
    fn pointwise_hwc_avx2_matches_the_definition() {
        assert!(Isa::Avx2.available(), "an x86-64 CPU without AVX2 and FMA");
        pointwise_matches_the_definition(Isa::Avx2);
    }

    /// Every block width (1–4 vectors, whole and masked), pixel counts below, at and past a group and
    /// a tile, CHW and HWC inputs, with and without bias, from NaN-filled outputs, against the plain sum.
    fn pointwise_matches_the_definition(isa: Isa) {
        for (case, &(m, k, n)) in [
            (96, 16, 130),
            (144, 24, 49),
            (24, 96, 53),
            (24, 144, 5),
            (16, 32, 12),
            (40, 8, 97),
            (200, 3, 7),
            (7, 50, 1),
            (32, 24, 50),
            (80, 16, 13),
            (12, 40, 6),
            (20, 40, 30),
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
                        let mut got = vec![MaybeUninit::new(f32::NAN); n * m];
                        let b = with_bias.then_some(&bias[..]);
                        let p = Pointwise { m, k, n, x, x_strides: strides, bias: b, activation };
                        pointwise_uninit_with(isa, &p, &w, &mut got);
                        for (at, (g, want)) in got.iter().zip(&want).enumerate() {
                            // SAFETY: initialized with NaN above.
                            let g = unsafe { g.assume_init() };
                            assert!(
                                (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "{isa:?}, case {case} ({m}×{k}·{n}), {activation:?}, bias {with_bias}, {strides:?}, \
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

    #[test]
    #[cfg_attr(not(host_avx512), ignore = "not run: no AVX-512 on this machine")]
    fn pointwise_panels_avx512_matches_the_definition() {
        assert!(Isa::Avx512.available(), "built on a machine with AVX-512, run on one without");
        panels_match_the_definition(Isa::Avx512);
    }

    #[test]
    fn pointwise_panels_avx2_matches_the_definition() {
        assert!(Isa::Avx2.available(), "an x86-64 CPU without AVX2 and FMA");
        panels_match_the_definition(Isa::Avx2);
    }

    /// The panel kernel on the shapes `isa` takes of these: 7² maps and their parts (7 to 49 pixels),
    /// 14² maps and short or narrow ones (AVX2), every panel width (whole, 32, 16 and fewer channels left,
    /// masked), CHW and HWC inputs, from NaN-filled outputs, against the plain sum.
    fn panels_match_the_definition(isa: Isa) {
        let cases = [
            (200, 64, 49),
            (130, 90, 28),
            (100, 70, 21),
            (96, 49, 7),
            (1152, 50, 49),
            (90, 100, 14),
            (80, 480, 196),
            (112, 672, 196),
            (24, 16, 63),
            (20, 30, 7),
        ];
        let taken = cases.iter().filter(|&&(m, k, n)| isa.takes_panels(k, m, n)).count();
        assert_eq!(taken, if isa == Isa::Avx2 { 10 } else { 6 }, "{isa:?}");
        for (case, &(m, k, n)) in cases.iter().enumerate().filter(|&(_, &(m, k, n))| isa.takes_panels(k, m, n)) {
            let (w, bias, x_chw, x_hwc) = operands(m, k, n, case);
            let panels = to_panels(&w, m, k, isa.panel());
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
                    pointwise_panels_uninit_with(isa, &p, &panels, &mut got);
                    for (at, (g, want)) in got.iter().zip(&want).enumerate() {
                        // SAFETY: initialized with NaN above.
                        let g = unsafe { g.assume_init() };
                        assert!(
                            (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
                            "{isa:?}, case {case} ({m}×{k}·{n}), {activation:?}, {strides:?}, pixel {}, channel {}: {g} vs {want}",
                            at / m,
                            at % m
                        );
                    }
                }
            }
        }
    }
}
