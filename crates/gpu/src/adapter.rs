//! What adapter we compute on, what it can do, and why we cannot use it when we cannot.

use wgpu::{Backend, DeviceType, DownlevelFlags};

/// A plain-data description of the adapter and device limits, for display and for tests.
///
/// The app shows it in the backend indicator; the e2e test reads it from the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name as the driver reports it, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    /// Browsers often report an empty description; the web front end then fills in vendor/architecture.
    pub name: String,
    /// wgpu backend, e.g. "Vulkan", "WebGPU", "GL".
    pub backend: String,
    /// "CPU (software)", "integrated GPU", "discrete GPU", ...
    pub device_type: String,
    /// Whether the adapter runs shaders on the CPU (lavapipe, SwiftShader, WARP): the engine then picks
    /// kernels without workgroup memory. Natively from the device type; the web front end sets it from
    /// `GPUAdapterInfo` (`isFallbackAdapter`, architecture "swiftshader"), which wgpu does not see.
    pub software: bool,
    /// Driver name and version where the backend reports them (native only).
    pub driver: String,
    /// The limits that matter for running convolutions, as granted to the device.
    pub limits: ComputeLimits,
}

/// The device limits that bound our kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeLimits {
    /// Largest storage buffer binding in bytes: bounds the largest activation or weight tensor per binding.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer in bytes.
    pub max_buffer_size: u64,
    /// Storage buffers one compute shader may bind.
    pub max_storage_buffers_per_shader_stage: u32,
    /// Invocations in one workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Workgroup shared memory in bytes.
    pub max_compute_workgroup_storage_size: u32,
}

impl ComputeLimits {
    pub fn from_wgpu(limits: &wgpu::Limits) -> Self {
        Self {
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
        }
    }
}

impl AdapterSummary {
    /// Describe `adapter` with the limits actually granted to `device`.
    pub fn new(adapter: &wgpu::Adapter, device: &wgpu::Device) -> Self {
        let info = adapter.get_info();
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            name: info.name.clone(),
            backend: backend_name(info.backend).to_owned(),
            device_type: device_type_name(info.device_type).to_owned(),
            software: info.device_type == DeviceType::Cpu,
            driver,
            limits: ComputeLimits::from_wgpu(&device.limits()),
        }
    }

    /// One line for a status bar: "llvmpipe (LLVM 15.0.6, 256 bits) · Vulkan".
    pub fn short(&self) -> String {
        let name = if self.name.is_empty() { "unnamed adapter" } else { self.name.as_str() };
        format!("{name} · {}", self.backend)
    }
}

/// Why a device cannot run our compute kernels.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComputeUnavailable {
    #[error("{backend} adapter {name:?} has no compute shaders (WebGL2 and old GL drivers lack them)")]
    NoComputeShaders { name: String, backend: String },

    #[error("{backend} adapter {name:?} allows {got} storage buffers per shader stage, kernels need {need}")]
    TooFewStorageBuffers { name: String, backend: String, got: u32, need: u32 },
}

/// Storage buffers the widest kernel binds (input, weights, bias, output) — a floor for the device.
pub const MIN_STORAGE_BUFFERS_PER_STAGE: u32 = 4;

/// Check that `adapter` can run the compute kernels in `shaders/`.
pub fn ensure_compute_capable(adapter: &wgpu::Adapter) -> Result<(), ComputeUnavailable> {
    let info = adapter.get_info();
    let name = info.name.clone();
    let backend = backend_name(info.backend).to_owned();
    if !adapter.get_downlevel_capabilities().flags.contains(DownlevelFlags::COMPUTE_SHADERS) {
        return Err(ComputeUnavailable::NoComputeShaders { name, backend });
    }
    let got = adapter.limits().max_storage_buffers_per_shader_stage;
    if got < MIN_STORAGE_BUFFERS_PER_STAGE {
        return Err(ComputeUnavailable::TooFewStorageBuffers {
            name,
            backend,
            got,
            need: MIN_STORAGE_BUFFERS_PER_STAGE,
        });
    }
    Ok(())
}

/// The limits to request from `adapter`: wgpu's defaults (or WebGL2's on GL) raised to what the adapter
/// offers for buffer sizes, because activations of large inputs (EfficientNet-B7 at 600²) exceed the 128 MiB
/// default binding size. `max_texture_dimension_2d` follows egui-wgpu's choice so eframe can render with the
/// same device.
pub fn compute_limits(adapter: &wgpu::Adapter) -> wgpu::Limits {
    let offered = adapter.limits();
    let base = if adapter.get_info().backend == Backend::Gl {
        wgpu::Limits::downlevel_webgl2_defaults()
    } else {
        wgpu::Limits::default()
    };
    wgpu::Limits {
        max_texture_dimension_2d: 8192,
        max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
        max_buffer_size: offered.max_buffer_size,
        ..base
    }
}

/// The optional features the engine uses where the adapter has them: timestamp queries, so each
/// layer's GPU time can be measured.
pub fn compute_features(adapter: &wgpu::Adapter) -> wgpu::Features {
    adapter.features() & wgpu::Features::TIMESTAMP_QUERY
}

/// Human name of a wgpu backend.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Noop => "no-op",
        Backend::Vulkan => "Vulkan",
        Backend::Metal => "Metal",
        Backend::Dx12 => "DirectX 12",
        Backend::Gl => "GL",
        Backend::BrowserWebGpu => "WebGPU",
    }
}

/// Human name of a wgpu device type.
pub fn device_type_name(device_type: DeviceType) -> &'static str {
    match device_type {
        DeviceType::Other => "other",
        DeviceType::IntegratedGpu => "integrated GPU",
        DeviceType::DiscreteGpu => "discrete GPU",
        DeviceType::VirtualGpu => "virtual GPU",
        DeviceType::Cpu => "CPU (software)",
    }
}
