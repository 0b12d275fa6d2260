//! Compiled compute pipelines, cached per device by kernel and pipeline constants. Shapes are uniforms,
//! so one pipeline serves every layer of a kind (Lite0 needs about a dozen).

use std::collections::HashMap;

use crate::{GpuError, shaders};

/// A kernel of `shaders/` with its pipeline constants (kernel size, strides, fused activation, …).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    pub file: &'static str,
    pub entry: &'static str,
    pub constants: Vec<(&'static str, u32)>,
}

impl PipelineKey {
    pub fn new(file: &'static str, entry: &'static str) -> Self {
        Self { file, entry, constants: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: u32) -> Self {
        self.constants.push((name, value));
        self
    }
}

#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<PipelineKey, wgpu::ComputePipeline>,
}

impl PipelineCache {
    /// The pipeline for `key`, compiled on first use.
    pub fn get(&mut self, device: &wgpu::Device, key: &PipelineKey) -> Result<wgpu::ComputePipeline, GpuError> {
        if let Some(pipeline) = self.pipelines.get(key) {
            return Ok(pipeline.clone());
        }
        if !self.modules.contains_key(key.file) {
            let source = shaders::module_source(key.file)
                .ok_or_else(|| GpuError::Kernel(format!("no shader {} in shaders/", key.file)))?;
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(key.file),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            self.modules.insert(key.file, module);
        }
        let module = self.modules.get(key.file).ok_or_else(|| GpuError::Kernel("module cache".into()))?;
        let constants: Vec<(&str, f64)> = key.constants.iter().map(|(name, v)| (*name, f64::from(*v))).collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(key.entry),
            layout: None,
            module,
            entry_point: Some(key.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // Every kernel writes its workgroup memory before reading it.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        self.pipelines.insert(key.clone(), pipeline.clone());
        Ok(pipeline)
    }

    pub fn len(&self) -> usize {
        self.pipelines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }
}

/// Compile every file of `shaders/` on `device` and return the compiler's errors, `file: message` —
/// on the web, the browser's own WGSL compiler (Tint in Chromium), which is stricter in places than
/// naga, the validator the native tests use. Errors are captured, never reported as uncaptured.
pub async fn compile_all(device: &wgpu::Device) -> Vec<String> {
    let mut errors = Vec::new();
    for (file, _) in shaders::ALL {
        if *file == "common.wgsl" {
            continue;
        }
        let Some(source) = shaders::module_source(file) else { continue };
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let info = module.get_compilation_info().await;
        let scoped = scope.pop().await;
        errors.extend(
            info.messages
                .iter()
                .filter(|m| m.message_type == wgpu::CompilationMessageType::Error)
                .map(|m| format!("{file}: {}", m.message)),
        );
        if info.messages.iter().all(|m| m.message_type != wgpu::CompilationMessageType::Error)
            && let Some(error) = scoped
        {
            errors.push(format!("{file}: {error}"));
        }
    }
    errors
}
