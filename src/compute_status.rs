//! Which compute backend the app uses, and why.
//!
//! The app computes on the very wgpu device eframe renders with. When that device cannot run compute
//! (eframe fell back to WebGL2, or there is no wgpu renderer at all) or is lost later, the app falls back
//! to the CPU and says why.

use convscope_gpu::{AdapterSummary, GpuContext};

/// What the user is told about compute, as plain data (the UI and the tests use this, never wgpu types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComputeStatus {
    /// Kernels run on this adapter through wgpu (WebGPU in the browser; Vulkan/Metal/DX12 natively).
    Gpu(AdapterSummary),
    /// Kernels run on the CPU, for this reason.
    CpuFallback { reason: String },
}

impl ComputeStatus {
    /// Stable machine-readable name for the page (`data-backend`) and tests: `"webgpu"` in a browser
    /// (`"gpu"` natively) or `"cpu"`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Gpu(_) if cfg!(target_arch = "wasm32") => "webgpu",
            Self::Gpu(_) => "gpu",
            Self::CpuFallback { .. } => "cpu",
        }
    }

    /// Short text for the top-bar badge.
    pub fn badge_text(&self) -> String {
        match self {
            Self::Gpu(summary) => format!("GPU compute: {}", summary.short()),
            Self::CpuFallback { .. } => "CPU fallback".to_owned(),
        }
    }
}

/// What the web page found out before eframe started, used to explain a fallback precisely.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WebGpuProbe {
    /// Not a browser (native app, tests).
    #[default]
    NotApplicable,
    /// `navigator.gpu` is missing: the browser has no WebGPU or it is disabled.
    NoNavigatorGpu,
    /// `navigator.gpu.requestAdapter()` resolved to null.
    NoAdapter,
    /// The browser offered this adapter ("vendor architecture description"); `software` when it runs
    /// shaders on the CPU (`isFallbackAdapter`, or SwiftShader by name).
    Adapter { description: String, software: bool },
}

/// Decide the compute backend from eframe's render state.
///
/// Returns the status to show and, when the GPU is usable, the context kernels run on.
pub fn probe(
    render_state: Option<&eframe::egui_wgpu::RenderState>,
    web: &WebGpuProbe,
) -> (ComputeStatus, Option<GpuContext>) {
    let Some(render_state) = render_state else {
        let reason = "the app is not rendering with wgpu, so there is no device to compute on".to_owned();
        return (ComputeStatus::CpuFallback { reason }, None);
    };
    let adapter = &render_state.adapter;
    match GpuContext::from_existing(adapter, render_state.device.clone(), render_state.queue.clone()) {
        Ok(ctx) => {
            let mut summary = ctx.summary.clone();
            // Browsers often hide the adapter description from wgpu; use what the page saw instead.
            if let WebGpuProbe::Adapter { description, software } = web {
                if summary.name.is_empty() {
                    summary.name.clone_from(description);
                }
                summary.software |= *software;
            }
            let mut ctx = ctx;
            ctx.summary = summary.clone();
            (ComputeStatus::Gpu(summary), Some(ctx))
        }
        Err(err) => {
            let reason = match web {
                WebGpuProbe::NoNavigatorGpu => {
                    "this browser exposes no WebGPU (navigator.gpu is missing), so the UI is drawn with \
                     WebGL2, which has no compute shaders"
                        .to_owned()
                }
                WebGpuProbe::NoAdapter => "navigator.gpu.requestAdapter() returned no adapter, so the UI is \
                                           drawn with WebGL2, which has no compute shaders"
                    .to_owned(),
                WebGpuProbe::Adapter { .. } | WebGpuProbe::NotApplicable => err.to_string(),
            };
            (ComputeStatus::CpuFallback { reason }, None)
        }
    }
}
