//! The device and queue our kernels run on, with what we know about them.

use std::sync::{Arc, Mutex};

use crate::{AdapterSummary, GpuError, adapter};

/// A device and queue known to run our compute kernels.
///
/// In the app this wraps the very device eframe renders with, so feature maps computed here can later be
/// shown without a copy through the CPU. Tests and the CLI make a headless one with [`Self::request_headless`].
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub summary: AdapterSummary,
    lost: Arc<Mutex<Option<String>>>,
    /// Compiled kernels, shared by every engine on this device.
    pub(crate) pipelines: Arc<Mutex<crate::pipelines::PipelineCache>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext").field("summary", &self.summary).finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Wrap a device someone else created (eframe's), after checking the adapter can run compute.
    pub fn from_existing(adapter: &wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Result<Self, GpuError> {
        adapter::ensure_compute_capable(adapter)?;
        let summary = AdapterSummary::new(adapter, &device);
        let lost = Arc::new(Mutex::new(None));
        let lost_in_callback = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            // Also a destroyed device: the app destroys it only when asked to (a test of the fallback).
            if reason == wgpu::DeviceLostReason::Destroyed {
                log::warn!("GPU device destroyed: {message}");
            } else {
                log::error!("GPU device lost: {message}");
            }
            if let Ok(mut slot) = lost_in_callback.lock() {
                *slot = Some(match (reason, message.is_empty()) {
                    (wgpu::DeviceLostReason::Destroyed, _) => "the device was destroyed".to_owned(),
                    (_, true) => "no reason given".to_owned(),
                    (_, false) => message,
                });
            }
        });
        Ok(Self { device, queue, summary, lost, pipelines: Arc::default() })
    }

    /// Create a device of our own, honouring `WGPU_BACKEND` and friends: for tests, the CLI and benchmarks.
    pub async fn request_headless() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::from_env().unwrap_or(wgpu::PowerPreference::HighPerformance),
                ..Default::default()
            })
            .await
            .map_err(|err| GpuError::NoAdapter(err.to_string()))?;
        adapter::ensure_compute_capable(&adapter)?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("convscope compute"),
                required_limits: adapter::compute_limits(&adapter),
                required_features: adapter::compute_features(&adapter),
                ..Default::default()
            })
            .await
            .map_err(|err| GpuError::RequestDevice { adapter: adapter.get_info().name, reason: err.to_string() })?;
        Self::from_existing(&adapter, device, queue)
    }

    /// `Some(reason)` once the device has been lost; every later call on it fails.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|slot| slot.clone())
    }

    /// Destroy the device, as a driver reset would lose it: the app then computes on the CPU.
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// Fail early with [`GpuError::DeviceLost`] instead of submitting to a dead device.
    pub fn ensure_alive(&self) -> Result<(), GpuError> {
        match self.lost_reason() {
            Some(reason) => Err(GpuError::DeviceLost(reason)),
            None => Ok(()),
        }
    }
}
