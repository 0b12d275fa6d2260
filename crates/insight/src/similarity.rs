//! How alike a layer's channels are: the cosine similarity of every pair of channel maps, the most
//! similar pairs, and the share of channels that have a near twin — the redundancy GhostNet (Han et al.
//! 2020, Figure 1) starts from.

use crate::{Result, invalid};

/// The `c × c` cosine similarities of the channels of a `[c, h, w]` map (row-major CHW).
#[derive(Clone, Debug, PartialEq)]
pub struct Similarity {
    pub channels: usize,
    /// `matrix[i * channels + j]`: `cos(x_i, x_j)`; 1 on the diagonal; 0 where either map is all zero
    /// (a dead channel is like no other).
    pub matrix: Vec<f32>,
    /// Channels whose map is all zero.
    pub dead: Vec<usize>,
}

/// A pair of distinct channels `a < b` and their cosine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub cosine: f32,
}

/// The cosine similarity of two maps (0 when either is all zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { (ab / (aa.sqrt() * bb.sqrt())) as f32 }
}

impl Similarity {
    /// From a map of `channels` channels of `plane` values each.
    pub fn of_map(data: &[f32], channels: usize, plane: usize) -> Result<Self> {
        if channels == 0 || plane == 0 {
            return invalid("the map has no values");
        }
        if channels.checked_mul(plane) != Some(data.len()) {
            return invalid(format!("{} values are not {channels} channels of {plane}", data.len()));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return invalid("the map holds NaN or infinite values");
        }
        let maps: Vec<&[f32]> = data.chunks_exact(plane).collect();
        // Normalize once: the matrix is then dot products of unit vectors.
        let norms: Vec<f64> =
            maps.iter().map(|m| m.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt()).collect();
        let unit: Vec<Vec<f64>> = maps
            .iter()
            .zip(&norms)
            .map(|(m, &n)| m.iter().map(|&v| if n > 0.0 { f64::from(v) / n } else { 0.0 }).collect())
            .collect();
        let mut matrix = vec![0.0f32; channels * channels];
        for i in 0..channels {
            for j in i..channels {
                let c = match (unit.get(i), unit.get(j)) {
                    _ if i == j => 1.0,
                    (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>().clamp(-1.0, 1.0) as f32,
                    _ => 0.0,
                };
                if let Some(cell) = matrix.get_mut(i * channels + j) {
                    *cell = c;
                }
                if let Some(cell) = matrix.get_mut(j * channels + i) {
                    *cell = c;
                }
            }
        }
        let dead = norms.iter().enumerate().filter(|(_, n)| **n == 0.0).map(|(i, _)| i).collect();
        Ok(Self { channels, matrix, dead })
    }

    pub fn get(&self, a: usize, b: usize) -> f32 {
        self.matrix.get(a * self.channels + b).copied().unwrap_or(0.0)
    }

    /// The `k` most similar pairs of distinct channels, most similar first (ties: lower indices first).
    pub fn top_pairs(&self, k: usize) -> Vec<Pair> {
        let mut pairs: Vec<Pair> = (0..self.channels)
            .flat_map(|a| (a + 1..self.channels).map(move |b| (a, b)))
            .map(|(a, b)| Pair { a, b, cosine: self.get(a, b) })
            .collect();
        pairs.sort_by(|x, y| y.cosine.total_cmp(&x.cosine).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
        pairs.truncate(k);
        pairs
    }

    /// Per channel, its most similar other channel and their cosine (`None` with one channel).
    pub fn twins(&self) -> Vec<Option<(usize, f32)>> {
        (0..self.channels)
            .map(|a| {
                (0..self.channels)
                    .filter(|&b| b != a)
                    .map(|b| (b, self.get(a, b)))
                    .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
            })
            .collect()
    }

    /// The share of channels with another channel at cosine ≥ `threshold`.
    pub fn redundancy(&self, threshold: f32) -> f64 {
        let with_twin = self.twins().iter().filter(|t| t.is_some_and(|(_, c)| c >= threshold)).count();
        with_twin as f64 / self.channels.max(1) as f64
    }

    /// The channels in an order that puts similar ones together: greedy nearest neighbour from channel
    /// 0 (the heat map's "sorted" view).
    pub fn similar_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.channels);
        let mut left: Vec<usize> = (0..self.channels).collect();
        let mut current = 0;
        while !left.is_empty() {
            left.retain(|&c| c != current);
            order.push(current);
            let next = left.iter().copied().max_by(|&x, &y| self.get(current, x).total_cmp(&self.get(current, y)));
            match next {
                Some(n) => current = n,
                None => break,
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosines_of_known_maps() {
        // Channel 1 = 2 × channel 0 (cosine 1), channel 2 = −channel 0 (−1), channel 3 orthogonal to
        // channel 0 (0), channel 4 all zero (dead: 0 to everything but itself).
        let data = [
            1.0, 2.0, 0.0, 0.0, //
            2.0, 4.0, 0.0, 0.0, //
            -1.0, -2.0, 0.0, 0.0, //
            0.0, 0.0, 3.0, 0.0, //
            0.0, 0.0, 0.0, 0.0,
        ];
        let s = Similarity::of_map(&data, 5, 4).unwrap_or_else(|e| panic!("{e}"));
        assert!((s.get(0, 1) - 1.0).abs() < 1e-6);
        assert!((s.get(0, 2) + 1.0).abs() < 1e-6);
        assert_eq!(s.get(0, 3), 0.0);
        assert_eq!(s.get(4, 0), 0.0);
        assert_eq!(s.get(4, 4), 1.0);
        assert_eq!(s.dead, vec![4]);
        let top = s.top_pairs(1);
        assert_eq!((top[0].a, top[0].b), (0, 1));
        // Channels 0 and 1 are each other's twin at 1.0; 2, 3, 4 have none above 0.5.
        assert!((s.redundancy(0.9) - 2.0 / 5.0).abs() < 1e-12);
        assert_eq!(s.similar_order()[..2], [0, 1]);
        // Symmetric, with a unit diagonal.
        for i in 0..5 {
            for j in 0..5 {
                assert_eq!(s.get(i, j), s.get(j, i));
            }
        }
    }

    #[test]
    fn bad_maps_are_refused() {
        assert!(Similarity::of_map(&[1.0, 2.0, 3.0], 2, 2).is_err());
        assert!(Similarity::of_map(&[], 0, 4).is_err());
        assert!(Similarity::of_map(&[f32::NAN, 1.0], 2, 1).is_err());
    }
}
