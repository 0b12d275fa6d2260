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

/// A worked example on real maps: `m` channels of a map resampled to `d × d`, filtered by a depthwise
/// `k × k` convolution (one fixed, illustrative filter per channel: blur, horizontal and vertical edges,
/// a Laplacian), mixed by a `1 × 1` pointwise convolution into `n` maps (fixed DCT-like weights), and the
/// standard `k × k` convolution whose kernel is the product of the two (`W[o][i] = P[o][i] · D[i]`),
/// which computes the same maps at `k²·m·n·d²` MACs instead of `k²·m·d² + m·n·d²`. Zero padding, stride 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub d: usize,
    /// `[m, d, d]`.
    pub input: Vec<f32>,
    /// `[m, k, k]`: the depthwise filters.
    pub depthwise_kernels: Vec<f32>,
    /// `[n, m]`: the pointwise weights.
    pub pointwise_weights: Vec<f32>,
    /// `[m, d, d]`: one output map per input channel.
    pub depthwise: Vec<f32>,
    /// `[n, d, d]`: the separable convolution's output.
    pub separable: Vec<f32>,
    /// `[n, d, d]`: the standard convolution with the product kernel.
    pub standard: Vec<f32>,
}

/// The name of depthwise filter `i` of the lesson.
pub fn filter_name(i: usize) -> &'static str {
    match i % 4 {
        0 => "blur",
        1 => "horizontal edges",
        2 => "vertical edges",
        _ => "Laplacian",
    }
}

fn filter(kind: usize, k: usize) -> Vec<f32> {
    let c = (k / 2) as f32;
    let area = (k * k) as f32;
    (0..k * k)
        .map(|t| {
            let (y, x) = ((t / k) as f32 - c, (t % k) as f32 - c);
            match kind % 4 {
                0 => 1.0 / area,
                1 => x / area.max(1.0),
                2 => y / area.max(1.0),
                _ if x == 0.0 && y == 0.0 => (area - 1.0) / area,
                _ => -1.0 / area,
            }
        })
        .collect()
}

impl Lesson {
    /// From a `[channels, h, w]` map (CHW): its first `m` channels, sampled at `d × d` points.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        map: &[f32],
        channels: usize,
        h: usize,
        w: usize,
        m: usize,
        n: usize,
        k: usize,
        d: usize,
    ) -> Result<Self> {
        if m == 0 || n == 0 || k == 0 || d == 0 || h == 0 || w == 0 {
            return invalid("the lesson's sizes must be positive");
        }
        if m > channels {
            return invalid(format!("M = {m} is more than the {channels} channels of the source map"));
        }
        if channels.checked_mul(h * w) != Some(map.len()) {
            return invalid(format!("{} values are not {channels} × {h} × {w}", map.len()));
        }
        if k.is_multiple_of(2) {
            return invalid(format!("D_K must be odd (a centred kernel), got {k}"));
        }
        let mut input = Vec::with_capacity(m * d * d);
        for c in 0..m {
            for y in 0..d {
                for x in 0..d {
                    let (sy, sx) = ((y * h + h / 2) / d, (x * w + w / 2) / d);
                    input.push(map.get(c * h * w + sy.min(h - 1) * w + sx.min(w - 1)).copied().unwrap_or(0.0));
                }
            }
        }
        let depthwise_kernels: Vec<f32> = (0..m).flat_map(|c| filter(c, k)).collect();
        let pointwise_weights: Vec<f32> = (0..n)
            .flat_map(|o| {
                (0..m).map(move |i| {
                    ((std::f64::consts::PI * o as f64 * (i as f64 + 0.5) / m as f64).cos() / (m as f64).sqrt()) as f32
                })
            })
            .collect();
        let pad = (k / 2) as isize;
        let at = |v: &[f32], c: usize, y: isize, x: isize| -> f32 {
            if y < 0 || x < 0 || y >= d as isize || x >= d as isize {
                0.0
            } else {
                v.get(c * d * d + y as usize * d + x as usize).copied().unwrap_or(0.0)
            }
        };
        let kernel = |c: usize, t: usize| depthwise_kernels.get(c * k * k + t).copied().unwrap_or(0.0);
        let window = |c: usize, y: usize, x: usize, weight: &dyn Fn(usize) -> f32| -> f32 {
            (0..k * k)
                .map(|t| {
                    weight(t) * at(&input, c, y as isize + (t / k) as isize - pad, x as isize + (t % k) as isize - pad)
                })
                .sum()
        };
        let mut depthwise = vec![0.0f32; m * d * d];
        for c in 0..m {
            for p in 0..d * d {
                if let Some(o) = depthwise.get_mut(c * d * d + p) {
                    *o = window(c, p / d, p % d, &|t| kernel(c, t));
                }
            }
        }
        let pw = |o: usize, i: usize| pointwise_weights.get(o * m + i).copied().unwrap_or(0.0);
        let mut separable = vec![0.0f32; n * d * d];
        let mut standard = vec![0.0f32; n * d * d];
        for o in 0..n {
            for p in 0..d * d {
                let mixed: f32 = (0..m).map(|i| pw(o, i) * depthwise.get(i * d * d + p).copied().unwrap_or(0.0)).sum();
                // The standard convolution: one k×k×m window per output, with the product kernel.
                let full: f32 = (0..m).map(|i| window(i, p / d, p % d, &|t| pw(o, i) * kernel(i, t))).sum();
                if let (Some(a), Some(b)) = (separable.get_mut(o * d * d + p), standard.get_mut(o * d * d + p)) {
                    *a = mixed;
                    *b = full;
                }
            }
        }
        Ok(Self { m, n, k, d, input, depthwise_kernels, pointwise_weights, depthwise, separable, standard })
    }

    /// The largest |standard − separable| over the largest |standard|: rounding only.
    pub fn difference(&self) -> f32 {
        let max = self.standard.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(f32::MIN_POSITIVE);
        self.standard.iter().zip(&self.separable).fold(0.0f32, |a, (s, p)| a.max((s - p).abs())) / max
    }
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
    fn the_lesson_computes_the_same_maps_both_ways() {
        // A 2-channel 5×5 ramp: channel 0 = x, channel 1 = y.
        let map: Vec<f32> =
            (0..2).flat_map(|c| (0..25).map(move |p| if c == 0 { (p % 5) as f32 } else { (p / 5) as f32 })).collect();
        let l = Lesson::new(&map, 2, 5, 5, 2, 3, 3, 5).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.input, map, "d = the map's size samples every pixel");
        // Blur of the x ramp at an interior pixel is the pixel itself; the horizontal-edge filter of the
        // y ramp is zero inside (no change along x).
        assert!((l.depthwise[2 * 5 + 2] - 2.0).abs() < 1e-6);
        assert!(l.depthwise[25 + 2 * 5 + 2].abs() < 1e-6);
        assert!(l.difference() < 1e-5, "standard and separable differ by {}", l.difference());
        // Pointwise output 0 is the DCT's average: (blur(x) + hedge(y)) / √2 inside.
        assert!((l.separable[2 * 5 + 2] - 2.0 / 2f32.sqrt()).abs() < 1e-5);
        assert!(Lesson::new(&map, 2, 5, 5, 3, 1, 3, 5).is_err(), "M above the source's channels");
        assert!(Lesson::new(&map, 2, 5, 5, 2, 1, 2, 5).is_err(), "even kernel");
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(costs(0, 1, 3, 4).is_err());
        assert!(costs(1, 1, 0, 4).is_err());
        assert!(costs(1, 1, 3, 0).is_err());
    }
}
