//! wgpu compute for convscope.
//!
//! This crate is the only place that knows wgpu *compute* (the app knows egui, and uses wgpu only to hand
//! eframe's device over). It answers three questions:
//!
//! - which adapter do we compute on, and why not if we can't ([`adapter`]);
//! - how do we get a [`GpuContext`]: from the device eframe renders with, or a headless one for tests/CLI
//!   ([`context`]);
//! - how does a kernel from `shaders/` run and read back ([`activation`], [`readback`]).

pub mod activation;
pub mod adapter;
pub mod context;
mod error;
mod readback;
pub mod shaders;

pub use activation::{Activation, ActivationKernel};
pub use adapter::{AdapterSummary, ComputeUnavailable, compute_limits, ensure_compute_capable};
pub use context::GpuContext;
pub use error::GpuError;
pub use wgpu;
