//! The one call into the GEMM crate (`gemm`: a maintained, pure-Rust sgemm with AVX-512, AVX2/FMA,
//! NEON and wasm simd128 kernels).

#![allow(clippy::indexing_slicing)] // column ranges are checked against the shapes first

use crate::EngineError;

/// `c[m×n] = a[m×k] · b[k×n] (+ c if accumulate)`, all row-major and contiguous, on the calling thread
/// (the engine splits work over threads itself: by output channels, see `conv.rs`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> Result<(), EngineError> {
    sgemm_columns(m, k, n, a, b, c, 0..n, accumulate)
}

/// Columns `cols` of [`sgemm`]'s product only: `c[:, cols] = a · b[:, cols]`, `b` and `c` being the
/// whole row-major `k×n` and `m×n` matrices. Lets a caller finish a block of columns (bias,
/// activation) while it is still in cache.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_columns(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    cols: std::ops::Range<usize>,
    accumulate: bool,
) -> Result<(), EngineError> {
    let fits = |len: usize, rows: usize, cols: usize| rows.checked_mul(cols).is_some_and(|need| len >= need);
    if !(fits(a.len(), m, k) && fits(b.len(), k, n) && fits(c.len(), m, n) && cols.start <= cols.end && cols.end <= n) {
        return Err(EngineError::Internal(format!(
            "gemm {m}×{k}·{k}×{n} (columns {cols:?}) on buffers of {}, {}, {}",
            a.len(),
            b.len(),
            c.len()
        )));
    }
    let width = cols.len();
    if m == 0 || width == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            c.chunks_exact_mut(n).take(m).for_each(|row| row[cols.clone()].fill(0.0));
        }
        return Ok(());
    }
    let stride = |cols: usize| isize::try_from(cols).map_err(|_| EngineError::Internal("gemm stride overflow".into()));
    let (rsa, rsb, rsc) = (stride(k)?, stride(n)?, stride(n)?);
    // Views starting at the first column; their last row ends inside the buffers (checked above).
    let (b, c) = (&b[cols.start..], &mut c[cols.start..]);
    // SAFETY: `a` holds m·k elements, `b` and `c` (from column `cols.start` on) hold (k − 1)·n + width
    // and (m − 1)·n + width elements (checked above: cols.end ≤ n), which is what row strides k, n, n
    // and column stride 1 address for m×k, k×width and m×width matrices; `c` is the only mutable borrow. `gemm` computes dst = alpha·dst + beta·lhs·rhs, reading dst only if asked.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            width,
            k,
            c.as_mut_ptr(),
            1,
            rsc,
            accumulate,
            a.as_ptr(),
            1,
            rsa,
            b.as_ptr(),
            1,
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
