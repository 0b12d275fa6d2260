//! The one call into the GEMM crate (`gemm`: a maintained, pure-Rust sgemm with AVX-512, AVX2/FMA,
//! NEON and wasm simd128 kernels).

use crate::EngineError;

/// `c[m×n] = a[m×k] · b[k×n] (+ c if accumulate)`, all row-major and contiguous, on the calling thread
/// (the engine splits work over threads itself: by output channels, see `conv.rs`).
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
    if k == 0 {
        if !accumulate {
            c.iter_mut().take(m * n).for_each(|v| *v = 0.0);
        }
        return Ok(());
    }
    let stride = |cols: usize| isize::try_from(cols).map_err(|_| EngineError::Internal("gemm stride overflow".into()));
    let (rsa, rsb, rsc) = (stride(k)?, stride(n)?, stride(n)?);
    // SAFETY: `a`, `b` and `c` hold at least m·k, k·n and m·n elements (checked above), the row strides
    // k, n, n with column stride 1 describe contiguous row-major matrices of those sizes, and `c` is the
    // only mutable borrow. `gemm` computes dst = alpha·dst + beta·lhs·rhs, reading dst only if asked.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
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
