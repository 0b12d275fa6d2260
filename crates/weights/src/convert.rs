//! Key renaming for checkpoints whose names follow another implementation, and writing safetensors.

use crate::bind::Bound;
use crate::{Result, Values, WeightsError};

/// EfficientNet-PyTorch (lukemelas) names → timm names, for EfficientNet / EfficientNet-Lite with
/// `repeats` blocks per stage (Lite0: 1, 2, 2, 3, 3, 4, 1). `_blocks.N` is the N-th block overall;
/// in a block, `_expand_conv/_bn0` → `conv_pw/bn1`, `_depthwise_conv/_bn1` → `conv_dw/bn2`,
/// `_project_conv/_bn2` → `conv_pwl/bn3`; a first stage without expansion has `conv_dw/bn1` and
/// `conv_pw/bn2`. Outside the blocks: `_conv_stem/_bn0` → `conv_stem/bn1`, `_conv_head/_bn1` →
/// `conv_head/bn2`, `_fc` → `classifier`. Returns None for keys it does not know.
pub fn efficientnet_pytorch_to_timm(key: &str, repeats: &[usize]) -> Option<String> {
    if let Some(rest) = key.strip_prefix("_blocks.") {
        let (index, rest) = rest.split_once('.')?;
        let mut n: usize = index.parse().ok()?;
        let (stage, within) = repeats.iter().enumerate().find_map(|(s, &r)| {
            if n < r {
                Some((s, n))
            } else {
                n -= r;
                None
            }
        })?;
        let (module, leaf) = rest.split_once('.')?;
        let depthwise_separable = stage == 0;
        let renamed = match (module, depthwise_separable) {
            ("_depthwise_conv", false) => "conv_dw",
            ("_expand_conv", false) => "conv_pw",
            ("_project_conv", false) => "conv_pwl",
            ("_bn0", false) => "bn1",
            ("_bn1", false) => "bn2",
            ("_bn2", false) => "bn3",
            ("_depthwise_conv", true) => "conv_dw",
            ("_project_conv", true) => "conv_pw",
            ("_bn1", true) => "bn1",
            ("_bn2", true) => "bn2",
            _ => return None,
        };
        return Some(format!("blocks.{stage}.{within}.{renamed}.{leaf}"));
    }
    let (module, leaf) = key.split_once('.')?;
    let renamed = match module {
        "_conv_stem" => "conv_stem",
        "_bn0" => "bn1",
        "_conv_head" => "conv_head",
        "_bn1" => "bn2",
        "_fc" => "classifier",
        _ => return None,
    };
    Some(format!("{renamed}.{leaf}"))
}

/// Serialize bound tensors as safetensors: floats as f16 (`half`) or f32, index buffers as i64;
/// `metadata` goes into the header (source, license).
pub fn to_safetensors(bound: &Bound, half: bool, metadata: &[(&str, &str)]) -> Result<Vec<u8>> {
    let mut buffers: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (expected, tensor) in bound.expected.iter().zip(&bound.tensors) {
        let (dtype, bytes) = match &tensor.values {
            Values::F32(v) if half => {
                (safetensors::Dtype::F16, v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect())
            }
            Values::F32(v) => (safetensors::Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Values::I64(v) => (safetensors::Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        buffers.push((expected.key.clone(), dtype, expected.shape.clone(), bytes));
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| WeightsError::Malformed(format!("{name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let info = metadata.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    safetensors::serialize(views, Some(info)).map_err(|e| WeightsError::Malformed(format!("safetensors: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LITE0: [usize; 7] = [1, 2, 2, 3, 3, 4, 1];

    #[test]
    fn lite0_names_map_to_timm() {
        let map = |k: &str| efficientnet_pytorch_to_timm(k, &LITE0);
        assert_eq!(map("_conv_stem.weight").as_deref(), Some("conv_stem.weight"));
        assert_eq!(map("_bn0.running_var").as_deref(), Some("bn1.running_var"));
        assert_eq!(map("_blocks.0._depthwise_conv.weight").as_deref(), Some("blocks.0.0.conv_dw.weight"));
        assert_eq!(map("_blocks.0._project_conv.weight").as_deref(), Some("blocks.0.0.conv_pw.weight"));
        assert_eq!(map("_blocks.0._bn2.bias").as_deref(), Some("blocks.0.0.bn2.bias"));
        assert_eq!(map("_blocks.1._expand_conv.weight").as_deref(), Some("blocks.1.0.conv_pw.weight"));
        assert_eq!(map("_blocks.2._bn0.weight").as_deref(), Some("blocks.1.1.bn1.weight"));
        assert_eq!(map("_blocks.15._project_conv.weight").as_deref(), Some("blocks.6.0.conv_pwl.weight"));
        assert_eq!(map("_fc.bias").as_deref(), Some("classifier.bias"));
        assert_eq!(map("_blocks.16._bn0.weight"), None, "Lite0 has 16 blocks");
        assert_eq!(map("_swish.x"), None);
    }
}
