//! WGSL sources from the repository's `shaders/` folder, embedded at compile time.
//!
//! Every file in `shaders/` is listed in [`ALL`]; the naga validation test (tests/shader_validation.rs)
//! checks that the list and the folder agree, so a new shader cannot be forgotten here.

/// Element-wise activations: entry points `relu`, `relu6`, `hard_sigmoid`, `hard_swish`, `sigmoid`, `silu`.
pub const ACTIVATION: &str = include_str!("../../../shaders/activation.wgsl");

/// `(file name, source)` for every shader in `shaders/`.
pub const ALL: &[(&str, &str)] = &[("activation.wgsl", ACTIVATION)];
