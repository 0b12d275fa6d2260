//! Helpers shared by the model files: channel rounding and the reference implementations' layer idioms.

use convscope_graph::{Activation, BuildError, Conv2d, GraphBuilder, NodeId};

pub type Result<T> = std::result::Result<T, BuildError>;

/// torchvision/timm `_make_divisible(v, divisor)`: round to the nearest multiple of `divisor`, at least
/// `divisor`, and never more than 10% below `v` (from the TF MobileNet code).
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let rounded = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (rounded as f64) < 0.9 * v { rounded.saturating_add(divisor) } else { rounded }
}

/// torchvision's `Conv2dNormActivation` at module path `prefix`: `prefix.0` conv, `prefix.1` BN,
/// `prefix.2` activation.
pub fn tv_conv_bn_act(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    conv: Conv2d,
    activation: Option<Activation>,
) -> Result<NodeId> {
    b.conv_bn_act([&format!("{prefix}.0"), &format!("{prefix}.1"), &format!("{prefix}.2")], x, conv, activation)
}

/// [`tv_conv_bn_act`] with BN eps `eps` (torchvision's MobileNetV3 and EfficientNetV2 use 1e-3).
pub fn tv_conv_bn_act_eps(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    conv: Conv2d,
    activation: Option<Activation>,
    eps: f32,
) -> Result<NodeId> {
    let y = b.conv(&format!("{prefix}.0"), x, conv)?;
    let y = b.bn_eps(&format!("{prefix}.1"), y, eps)?;
    match activation {
        Some(act) => b.act(&format!("{prefix}.2"), y, act),
        None => Ok(y),
    }
}

/// torchvision's `BasicConv2d` (GoogLeNet, Inception V3): conv without bias, BN with eps 0.001, ReLU;
/// named `prefix.conv`, `prefix.bn`, `prefix.relu`.
pub fn basic_conv(b: &mut GraphBuilder, prefix: &str, x: NodeId, conv: Conv2d) -> Result<NodeId> {
    let y = b.conv(&format!("{prefix}.conv"), x, conv)?;
    let y = b.bn_eps(&format!("{prefix}.bn"), y, 1e-3)?;
    b.act(&format!("{prefix}.relu"), y, Activation::Relu)
}

/// Squeeze-and-excite on `x` with `channels` channels: global pool, 1×1 conv (bias) down to `squeeze`,
/// `inner` activation, 1×1 conv (bias) back up, `gate`, multiply. `names = [reduce, expand]` are the two
/// convolutions' module paths; the other nodes are named after `prefix`.
pub fn squeeze_excite(
    b: &mut GraphBuilder,
    prefix: &str,
    names: [&str; 2],
    x: NodeId,
    squeeze: usize,
    inner: Activation,
    gate: Activation,
) -> Result<NodeId> {
    let channels = b.shape(x).c;
    b.block("SqueezeExcite", prefix, |b| {
        let pooled = b.global_avg_pool(&format!("{prefix}.avgpool"), x)?;
        let s = b.conv(names[0], pooled, Conv2d::new(channels, squeeze, 1, 1).bias(true))?;
        let s = b.act(&format!("{prefix}.act"), s, inner)?;
        let s = b.conv(names[1], s, Conv2d::new(squeeze, channels, 1, 1).bias(true))?;
        let s = b.act(&format!("{prefix}.gate"), s, gate)?;
        b.mul(&format!("{prefix}.scale"), x, s)
    })
}

/// Global average pool (named `pool_name`) followed by a flatten named "flatten".
pub fn pool_flatten(b: &mut GraphBuilder, x: NodeId, pool_name: &str) -> Result<NodeId> {
    let x = b.global_avg_pool(pool_name, x)?;
    b.flatten("flatten", x)
}

#[cfg(test)]
mod tests {
    use super::make_divisible;

    #[test]
    fn make_divisible_matches_torchvision() {
        // Values from torchvision.models._utils._make_divisible (torchvision 0.29.2).
        assert_eq!(make_divisible(32.0 * 0.75, 8), 24);
        assert_eq!(make_divisible(16.0 * 0.5, 8), 8);
        assert_eq!(make_divisible(24.0 * 0.35, 8), 8);
        assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
        assert_eq!(make_divisible(72.0 * 0.25, 4), 20); // timm ghostnet SE: 72 · 0.25 = 18 → 20
        assert_eq!(make_divisible(34.0, 8), 32);
        assert_eq!(make_divisible(37.0, 8), 40);
        assert_eq!(make_divisible(3.0, 8), 8);
    }
}
