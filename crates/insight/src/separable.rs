//! Standard against depthwise-separable convolution (Howard et al. 2017, "MobileNets", Section 3.1):
//! an `M → N` convolution with a `D_K × D_K` kernel on a `D_F × D_F` map (stride 1, padding that keeps
//! the size, no bias), and its factorization into a depthwise `D_K × D_K` and a pointwise `1 × 1` step.

use crate::{Result, invalid};

/// Parameters and multiply-accumulates of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub params: u64,
    pub macs: u64,
}

/// The four costs and their ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Separable {
    /// `D_K²·M·N` parameters, `D_K²·M·N·D_F²` MACs (Eq. 2).
    pub standard: Cost,
    /// `D_K²·M`, `D_K²·M·D_F²` (Eq. 3).
    pub depthwise: Cost,
    /// `M·N`, `M·N·D_F²`.
    pub pointwise: Cost,
    /// depthwise + pointwise (Eq. 4).
    pub separable: Cost,
    /// separable / standard MACs, which equals `1/N + 1/D_K²` (Eq. 5).
    pub ratio: f64,
}

pub fn costs(m: usize, n: usize, kernel: usize, resolution: usize) -> Result<Separable> {
    if m == 0 || n == 0 || kernel == 0 || resolution == 0 {
        return invalid(format!(
            "channels, kernel and resolution must be positive (got M = {m}, N = {n}, D_K = {kernel}, D_F = {resolution})"
        ));
    }
    let (m, n, k2, f2) = (m as u64, n as u64, (kernel * kernel) as u64, (resolution * resolution) as u64);
    let standard = Cost { params: k2 * m * n, macs: k2 * m * n * f2 };
    let depthwise = Cost { params: k2 * m, macs: k2 * m * f2 };
    let pointwise = Cost { params: m * n, macs: m * n * f2 };
    let separable = Cost { params: depthwise.params + pointwise.params, macs: depthwise.macs + pointwise.macs };
    Ok(Separable { standard, depthwise, pointwise, separable, ratio: separable.macs as f64 / standard.macs as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_the_papers_formula() {
        // Howard et al. 2017, Eq. 5: 1/N + 1/D_K²; with 3×3 kernels "8 to 9 times less computation".
        for (m, n, k, f) in [(32, 64, 3, 112), (512, 512, 3, 14), (3, 7, 5, 9), (1, 1, 1, 1)] {
            let c = costs(m, n, k, f).unwrap_or_else(|e| panic!("{e}"));
            let formula = 1.0 / n as f64 + 1.0 / (k * k) as f64;
            assert!((c.ratio - formula).abs() < 1e-12, "{m} {n} {k} {f}: {} vs {formula}", c.ratio);
        }
        let c = costs(512, 512, 3, 14).unwrap_or_else(|e| panic!("{e}"));
        assert!((8.0..9.0).contains(&(1.0 / c.ratio)));
        // MobileNet V1's 14×14 512→512 layer (Table 1): 3·3·512 + 512·512 = 266 752 parameters,
        // 4 608 + 262 144 MACs per pixel × 196 = 52 283 392 MACs.
        assert_eq!(c.separable, Cost { params: 266_752, macs: 52_283_392 });
        assert_eq!(c.standard, Cost { params: 2_359_296, macs: 462_422_016 });
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(costs(0, 1, 3, 4).is_err());
        assert!(costs(1, 1, 0, 4).is_err());
        assert!(costs(1, 1, 3, 0).is_err());
    }
}
