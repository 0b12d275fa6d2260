//! The one call into the GEMM crate (matrixmultiply: a maintained, pure-Rust sgemm with AVX2/FMA and
//! NEON kernels, threads natively and wasm simd128 on the web build).

use crate::EngineError;

/// `c[m×n] = a[m×k] · b[k×n] (+ c if accumulate)`, all row-major and contiguous.
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> Result<(), EngineError> {
    let fits = |len: usize, rows: usize, cols: usize| rows.checked_mul(cols).is_some_and(|need| len >= need);
    if !(fits(a.len(), m, k) && fits(b.len(), k, n) && fits(c.len(), m, n)) {
        return Err(EngineError::Internal(format!(
            "gemm {m}×{k}·{k}×{n} on buffers of {}, {}, {}",
            a.len(),
            b.len(),
            c.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let strides = |cols: usize| isize::try_from(cols).map_err(|_| EngineError::Internal("gemm stride overflow".into()));
    let (rsa, rsb, rsc) = (strides(k)?, strides(n)?, strides(n)?);
    // SAFETY: `a`, `b` and `c` hold at least m·k, k·n and m·n elements (checked above), the strides
    // describe contiguous row-major matrices of those sizes, and `c` is the only mutable borrow.
    #[allow(unsafe_code)]
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            1,
            b.as_ptr(),
            rsb,
            1,
            if accumulate { 1.0 } else { 0.0 },
            c.as_mut_ptr(),
            rsc,
            1,
        );
    }
    Ok(())
}
