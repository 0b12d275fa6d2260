//! Element-wise activations on the GPU (`shaders/activation.wgsl`) and their CPU definitions.

use wgpu::util::DeviceExt as _;

pub use convscope_graph::Activation;

use crate::{GpuContext, GpuError, readback, shaders};

/// Lanes per workgroup; must equal `@workgroup_size` in `shaders/activation.wgsl`.
const WORKGROUP_SIZE: u32 = 256;

/// Entry point name in `shaders/activation.wgsl`.
pub fn entry_point(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "relu",
        Activation::Relu6 => "relu6",
        Activation::HardSigmoid => "hard_sigmoid",
        Activation::HardSwish => "hard_swish",
        Activation::Sigmoid => "sigmoid",
        Activation::Silu => "silu",
    }
}

/// The CPU definition the kernels must match (torch.nn.ReLU, ReLU6, Hardsigmoid, Hardswish, Sigmoid, SiLU).
pub fn reference(activation: Activation, x: f32) -> f32 {
    activation.apply(x)
}

/// Compiled pipelines for every [`Activation`], sharing one bind group layout.
pub struct ActivationKernel {
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<(Activation, wgpu::ComputePipeline)>,
}

impl ActivationKernel {
    pub fn new(ctx: &GpuContext) -> Self {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("activation.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::ACTIVATION.into()),
        });
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("activation"),
            entries: &[
                storage(0, true),
                storage(1, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("activation"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = Activation::ALL
            .iter()
            .map(|&activation| {
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry_point(activation)),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry_point(activation)),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (activation, pipeline)
            })
            .collect();
        Self { layout, pipelines }
    }

    /// Apply `activation` to `input` on the GPU and read the result back.
    pub async fn run(&self, ctx: &GpuContext, activation: Activation, input: &[f32]) -> Result<Vec<f32>, GpuError> {
        ctx.ensure_alive()?;
        if input.is_empty() {
            return Ok(Vec::new());
        }
        let len = bounded_len(input.len(), ctx.summary.limits.max_storage_buffer_binding_size)?;
        let n_bytes = u64::from(len) * 4;
        let Some((_, pipeline)) = self.pipelines.iter().find(|(a, _)| *a == activation) else {
            unreachable!("ActivationKernel::new compiles every Activation");
        };

        let device = &ctx.device;
        let n_groups = len.div_ceil(WORKGROUP_SIZE);
        let max_per_dim = ctx.summary.limits.max_compute_workgroups_per_dimension.max(1);
        let groups_x = n_groups.min(max_per_dim);
        let groups_y = n_groups.div_ceil(groups_x);
        let params = [len, groups_x * WORKGROUP_SIZE];

        let input_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("activation input"),
            contents: bytemuck::cast_slice(input),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let output_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("activation output"),
            size: n_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let params_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("activation params"),
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("activation"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: input_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: output_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: params_buffer.as_entire_binding() },
            ],
        });

        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("activation") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(entry_point(activation)),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups_x, groups_y, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        readback::read_f32(device, &ctx.queue, &output_buffer, input.len()).await
    }
}

/// `len` f32 elements as a `u32` count, if their bytes fit one storage buffer binding of `max_bytes`.
fn bounded_len(len: usize, max_bytes: u64) -> Result<u32, GpuError> {
    let fits = u64::try_from(len).ok().and_then(|n| n.checked_mul(4)).is_some_and(|bytes| bytes <= max_bytes);
    match u32::try_from(len) {
        Ok(len) if fits => Ok(len),
        _ => Err(GpuError::TooLarge { len, max_bytes }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_bounded_by_the_binding_size() {
        assert_eq!(bounded_len(32, 128).ok(), Some(32));
        assert!(matches!(bounded_len(33, 128), Err(GpuError::TooLarge { len: 33, max_bytes: 128 })));
        assert!(bounded_len(usize::MAX, u64::MAX).is_err(), "byte count overflow is refused");
        assert!(bounded_len(1 << 33, u64::MAX).is_err(), "more elements than a u32 index can reach");
    }
}
