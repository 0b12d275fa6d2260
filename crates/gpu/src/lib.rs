//! wgpu compute for convscope.
//!
//! This crate is the only place that knows wgpu *compute* (the app knows egui, and uses wgpu only to hand
//! eframe's device over). It answers three questions:
//!
//! - which adapter do we compute on, and why not if we can't ([`adapter`]);
//! - how do we get a [`GpuContext`]: from the device eframe renders with, or a headless one for tests/CLI
//!   ([`context`]);
//! - how does a kernel from `shaders/` run and read back ([`activation`], [`readback`]);
//! - how does a whole network run ([`engine`]: the GPU engine, one compute kernel family per file of
//!   `shaders/`, behind the same run interface as the CPU engine).

pub mod activation;
pub mod adapter;
pub mod colormap;
pub mod context;
pub mod engine;
mod error;
pub mod pipelines;
mod readback;
pub mod shaders;

pub use activation::{Activation, ActivationKernel};
pub use adapter::{AdapterSummary, ComputeUnavailable, compute_limits, ensure_compute_capable};
pub use colormap::{GridSpec, MapPainter};
pub use context::GpuContext;
pub use engine::{ConvKernels, EngineOptions, GpuEngine, GpuMaps, GpuRun, PendingMapRead};
pub use error::GpuError;
pub use readback::PendingRead;
pub use wgpu;
