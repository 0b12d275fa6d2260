//! WGSL sources from the repository's `shaders/` folder, embedded at compile time.
//!
//! Every file in `shaders/` is listed in [`ALL`]; the naga validation test (tests/shader_validation.rs)
//! checks that the list and the folder agree, so a new shader cannot be forgotten here. The engine's
//! kernel files are compiled with [`COMMON`] in front of them ([`module_source`]): the fused activation
//! and the grid helper they share.

/// Element-wise activations: entry points `relu`, `relu6`, `hard_sigmoid`, `hard_swish`, `sigmoid`, `silu`.
pub const ACTIVATION: &str = include_str!("../../../shaders/activation.wgsl");
/// What every engine kernel starts with: `activate` (pipeline constant `ACT`) and `flat_index`.
pub const COMMON: &str = include_str!("../../../shaders/common.wgsl");
pub const CONV: &str = include_str!("../../../shaders/conv.wgsl");
pub const DEPTHWISE: &str = include_str!("../../../shaders/depthwise.wgsl");
pub const ELEMENTWISE: &str = include_str!("../../../shaders/elementwise.wgsl");
pub const CHANNELS: &str = include_str!("../../../shaders/channels.wgsl");
pub const POOL: &str = include_str!("../../../shaders/pool.wgsl");
pub const LINEAR: &str = include_str!("../../../shaders/linear.wgsl");
pub const SOFTMAX: &str = include_str!("../../../shaders/softmax.wgsl");
pub const COLORMAP: &str = include_str!("../../../shaders/colormap.wgsl");

/// `(file name, source)` for every shader in `shaders/`.
pub const ALL: &[(&str, &str)] = &[
    ("activation.wgsl", ACTIVATION),
    ("channels.wgsl", CHANNELS),
    ("colormap.wgsl", COLORMAP),
    ("common.wgsl", COMMON),
    ("conv.wgsl", CONV),
    ("depthwise.wgsl", DEPTHWISE),
    ("elementwise.wgsl", ELEMENTWISE),
    ("linear.wgsl", LINEAR),
    ("pool.wgsl", POOL),
    ("softmax.wgsl", SOFTMAX),
];

/// Files compiled on their own; every other file is an engine kernel compiled after [`COMMON`].
pub const STANDALONE: &[&str] = &["activation.wgsl", "common.wgsl"];

/// The source a module is compiled from: kernel files get [`COMMON`] in front.
pub fn module_source(file: &str) -> Option<String> {
    let (_, source) = ALL.iter().find(|(name, _)| *name == file)?;
    Some(if STANDALONE.contains(&file) { (*source).to_owned() } else { format!("{COMMON}\n{source}") })
}
