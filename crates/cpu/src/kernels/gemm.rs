//! The one call into the GEMM crate (`gemm`: a maintained, pure-Rust sgemm with AVX-512, AVX2/FMA,
//! NEON and wasm simd128 kernels).

use crate::EngineError;

/// The `gemm` crate repacks its left operand into register-block panels whenever the output is wider
/// than 8 register blocks (48 columns with AVX-512), even when that operand is already contiguous along
/// its rows. In the pointwise GEMMs of channels-last trunks the left operand is the column-major weight
/// matrix and the width is the map's pixel count, so on 7×7 maps (49 pixels) every call copied up to
/// 1.5 MB of weights that it then read once: Lite0's 192→1152 ran at 71–75 GMAC/s in HWC against 91–93 in
/// CHW, its 1152→192 at 82 against 93. With the bound at 40 blocks (240 columns: 7² and 14² maps) they
/// run at 88–94 and 104 GMAC/s channels-last, so the 7² layers
/// can run channels-last (`layout.rs` `WIDEST_HWC_GEMM`), and EfficientNet-Lite0 runs 3–4% faster on
/// one thread (16 blocks: 2%, 256: the same as 40; measured interleaved). Wider GEMMs — an
/// im2col over a large map, with hundreds of output channels — still pack, as the crate intends.
#[cfg(target_arch = "x86_64")]
const LHS_PACKING_THRESHOLD: usize = 40;

/// Set the crate's global packing bound once (it is process-wide; only this module calls the crate).
/// The web build keeps the crate's default: its simd128 kernels have other block sizes and were not
/// measured with another bound.
fn configure() {
    #[cfg(target_arch = "x86_64")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| gemm::set_lhs_packing_threshold_single_thread(LHS_PACKING_THRESHOLD));
    }
}

/// A matrix view: element `(i, j)` is at `i·row_stride + j·column_stride`. A CHW map seen as
/// `channels × pixels` has strides `(pixels, 1)`; the same map in HWC has `(1, channels)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides {
    pub row: usize,
    pub column: usize,
}

impl Strides {
    /// Row-major and contiguous, `columns` wide.
    pub fn row_major(columns: usize) -> Self {
        Self { row: columns, column: 1 }
    }

    /// Column-major and contiguous, `rows` tall (a CHW matrix's transpose: HWC).
    pub fn column_major(rows: usize) -> Self {
        Self { row: 1, column: rows }
    }

    /// Whether a `rows × columns` view with these strides stays inside `len` elements.
    fn fits(self, len: usize, rows: usize, columns: usize) -> bool {
        if rows == 0 || columns == 0 {
            return true;
        }
        let last = (rows - 1).checked_mul(self.row).zip((columns - 1).checked_mul(self.column));
        last.and_then(|(a, b)| a.checked_add(b)).is_some_and(|last| last < len)
    }
}

/// `c[m×n] = a[m×k] · b[k×n] (+ c if accumulate)`, all row-major and contiguous, on the calling thread
/// (the engine splits work over threads itself: by output channels or pixels, see `conv.rs`).
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> Result<(), EngineError> {
    sgemm_strided(m, k, n, a, Strides::row_major(k), b, Strides::row_major(n), c, Strides::row_major(n), accumulate)
}

/// [`sgemm`] with `a`, `b` and `c` in any layout: the pointwise convolutions of an HWC chain read and
/// write channels-last maps this way, with no transposes (and their weights column-major, `layout.rs`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_strided(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_strides: Strides,
    b: &[f32],
    b_strides: Strides,
    c: &mut [f32],
    c_strides: Strides,
    accumulate: bool,
) -> Result<(), EngineError> {
    if !(a_strides.fits(a.len(), m, k) && b_strides.fits(b.len(), k, n) && c_strides.fits(c.len(), m, n)) {
        return Err(EngineError::Internal(format!(
            "gemm {m}×{k}·{k}×{n} on buffers of {}, {}, {} ({b_strides:?}, {c_strides:?})",
            a.len(),
            b.len(),
            c.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    configure();
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    if let Some(v) = c.get_mut(i * c_strides.row + j * c_strides.column) {
                        *v = 0.0;
                    }
                }
            }
        }
        return Ok(());
    }
    let stride = |s: usize| isize::try_from(s).map_err(|_| EngineError::Internal("gemm stride overflow".into()));
    let (rsa, csa) = (stride(a_strides.row)?, stride(a_strides.column)?);
    let (rsb, csb) = (stride(b_strides.row)?, stride(b_strides.column)?);
    let (rsc, csc) = (stride(c_strides.row)?, stride(c_strides.column)?);
    // SAFETY: the views of `a` (m×k, row-major), `b` (k×n) and `c` (m×n) with these strides stay inside
    // their slices (checked above: the last element's offset is below the length; all strides are
    // non-negative), and `c` is the only mutable borrow. `gemm` computes dst = alpha·dst + beta·lhs·rhs,
    // reading dst only if asked.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            csc,
            rsc,
            accumulate,
            a.as_ptr(),
            csa,
            rsa,
            b.as_ptr(),
            csb,
            rsb,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout of `a`, `b` and `c` gives the plain product.
    #[test]
    fn strided_operands_give_the_plain_product() {
        let (m, k, n) = (5, 7, 9);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 / 4.0).collect();
        let want: Vec<f32> = (0..m * n).map(|p| (0..k).map(|r| a[p / n * k + r] * b[r * n + p % n]).sum()).collect();
        let mut b_t = vec![0.0; k * n];
        for r in 0..k {
            for j in 0..n {
                b_t[j * k + r] = b[r * n + j];
            }
        }
        let mut a_t = vec![0.0; m * k];
        for i in 0..m {
            for r in 0..k {
                a_t[r * m + i] = a[i * k + r];
            }
        }
        for (a, a_s) in [(&a, Strides::row_major(k)), (&a_t, Strides::column_major(m))] {
            for (b, bs) in [(&b, Strides::row_major(n)), (&b_t, Strides::column_major(k))] {
                for cs in [Strides::row_major(n), Strides::column_major(m)] {
                    let mut c = vec![f32::NAN; m * n];
                    sgemm_strided(m, k, n, a, a_s, b, bs, &mut c, cs, false).expect("gemm");
                    for i in 0..m {
                        for j in 0..n {
                            let got = c[i * cs.row + j * cs.column];
                            assert!((got - want[i * n + j]).abs() < 1e-4, "{a_s:?} {bs:?} {cs:?} ({i}, {j})");
                        }
                    }
                }
            }
        }
        let mut short = vec![0.0; m * n - 1];
        assert!(
            sgemm_strided(
                m,
                k,
                n,
                &a,
                Strides::row_major(k),
                &b,
                Strides::row_major(n),
                &mut short,
                Strides::column_major(m),
                false
            )
            .is_err()
        );
    }
}
