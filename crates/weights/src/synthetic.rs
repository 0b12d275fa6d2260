//! Seeded initialization for models without a checkpoint ("untrained"), reproducible in Python.
//!
//! Every element is a pure function of `(seed, tensor key, element index)` — not of the order tensors are
//! drawn in — so `tools/parity.py` draws bit-identical weights with numpy and PyTorch runs the very same
//! network. Element `i` of tensor `key`: `x = fnv1a64(key) ^ seed`, `z = splitmix64(x + (i + 1) · φ64)`,
//! `u = 2 · (z >> 11) · 2⁻⁵³ − 1 ∈ [−1, 1)`, computed in f64 and rounded to f32 once. Conv and linear
//! weights are He-uniform, `u · √(6 / fan_in)`; biases `0.1 u`; BN weight `1 + 0.1 u`, bias `0.1 u`,
//! running mean `0.1 u`, running variance `1.5 + 0.5 u`; index buffers `z mod channels`.

use convscope_graph::Graph;

use crate::bind::{Bound, Role, expected};
use crate::{DType, TensorData, Values};

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

pub fn splitmix64(x: u64) -> u64 {
    let z = x.wrapping_add(GOLDEN);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn draw(base: u64, i: usize) -> u64 {
    splitmix64(base.wrapping_add((i as u64).wrapping_mul(GOLDEN)))
}

fn unit(z: u64) -> f64 {
    2.0 * ((z >> 11) as f64) * (1.0 / (1u64 << 53) as f64) - 1.0
}

/// `numel` values uniform in [−1, 1) for `key` (the parity fixtures' input image is `unit(seed, "input", …)`).
pub fn unit_values(seed: u64, key: &str, numel: usize) -> Vec<f32> {
    let base = fnv1a64(key.as_bytes()) ^ seed;
    (0..numel).map(|i| unit(draw(base, i)) as f32).collect()
}

/// The tensor `key` of `role` and `shape` under `seed`.
pub fn tensor(seed: u64, key: &str, shape: &[usize], role: Role) -> TensorData {
    let base = fnv1a64(key.as_bytes()) ^ seed;
    let numel: usize = shape.iter().product();
    let floats =
        |f: &dyn Fn(f64) -> f64| -> Values { Values::F32((0..numel).map(|i| f(unit(draw(base, i))) as f32).collect()) };
    let values = match role {
        Role::Weight { fan_in } => {
            let bound = (6.0 / fan_in.max(1) as f64).sqrt();
            floats(&|u| u * bound)
        }
        Role::Bias | Role::BnBias | Role::BnMean => floats(&|u| 0.1 * u),
        Role::BnWeight => floats(&|u| 1.0 + 0.1 * u),
        Role::BnVar => floats(&|u| 1.5 + 0.5 * u),
        Role::Index { of } => Values::I64((0..numel).map(|i| (draw(base, i) % of.max(1) as u64) as i64).collect()),
    };
    let stored = if matches!(values, Values::I64(_)) { DType::I64 } else { DType::F32 };
    TensorData { shape: shape.to_vec(), stored, values }
}

/// Seeded weights for every tensor `graph` needs.
pub fn init(graph: &Graph, seed: u64) -> Bound {
    let expected = expected(graph);
    let tensors = expected.iter().map(|e| tensor(seed, &e.key, &e.shape, e.role)).collect();
    Bound { expected, tensors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pure_functions_of_key_and_index() {
        let a = tensor(7, "features.0.0.weight", &[4, 3, 3, 3], Role::Weight { fan_in: 27 });
        let b = tensor(7, "features.0.0.weight", &[4, 3, 3, 3], Role::Weight { fan_in: 27 });
        assert_eq!(a, b);
        let other = tensor(8, "features.0.0.weight", &[4, 3, 3, 3], Role::Weight { fan_in: 27 });
        assert_ne!(a, other);
        let bound = (6.0f64 / 27.0).sqrt() as f32;
        assert!(a.as_f32().is_some_and(|v| v.iter().all(|x| x.abs() <= bound)));
    }

    #[test]
    fn known_values_match_the_python_generator() {
        // splitmix64(0) and fnv1a64("") are the published test vectors of both functions.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
