//! A GPU run's feature maps coloured on the GPU (`shaders/colormap.wgsl`) into a texture the app hands
//! to egui: channel ranges, then a grid of tiles, in one submission and without a read-back.

use convscope_graph::NodeId;
use wgpu::util::DeviceExt as _;

use crate::pipelines::PipelineKey;
use crate::{GpuError, GpuMaps};

/// Where channels go in the texture and how values become colours. The app lays out CPU maps the same
/// way, so the two engines' grids look and behave alike.
#[derive(Clone, Debug, PartialEq)]
pub struct GridSpec {
    /// Channels `first..first + count` of the map, row by row.
    pub first: usize,
    pub count: usize,
    pub columns: usize,
    /// Texels per tile (the map is scaled to it, nearest neighbour).
    pub tile: [usize; 2],
    /// Texels between tiles.
    pub gap: usize,
    /// One range for all channels instead of one per channel.
    pub per_layer: bool,
    /// A diverging map: symmetric around zero.
    pub signed: bool,
    /// 256 colours, `r | g << 8 | b << 16 | a << 24`.
    pub table: [u32; 256],
}

impl GridSpec {
    /// The texture's `[width, height]`.
    pub fn size(&self) -> [usize; 2] {
        let rows = self.count.div_ceil(self.columns.max(1));
        let width = self.columns * (self.tile[1] + self.gap);
        let height = rows * (self.tile[0] + self.gap);
        [width.saturating_sub(self.gap).max(1), height.saturating_sub(self.gap).max(1)]
    }
}

/// Paints grids of maps kept on the GPU.
pub struct MapPainter;

impl MapPainter {
    /// An `Rgba8Unorm` texture (TEXTURE_BINDING) holding `spec`'s grid of `node`'s map.
    pub fn paint(maps: &GpuMaps, node: NodeId, spec: &GridSpec) -> Result<wgpu::Texture, GpuError> {
        let ctx = maps.context();
        ctx.ensure_alive()?;
        let (buffer, offset, shape) =
            maps.buffer(node).ok_or_else(|| GpuError::Kernel(format!("node {} was not kept", node.0)))?;
        let [width, height] = spec.size();
        let max = ctx.device.limits().max_texture_dimension_2d as usize;
        if width > max || height > max {
            return Err(GpuError::Kernel(format!(
                "a {width}×{height} grid exceeds this device's {max}-texel textures"
            )));
        }
        let device = &ctx.device;
        let w = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let words: Vec<u32> = vec![
            w(shape.c),
            w(shape.h),
            w(shape.w),
            w(spec.first),
            w(spec.count.min(shape.c.saturating_sub(spec.first))),
            w(spec.columns.max(1)),
            w(spec.tile[0].max(1)),
            w(spec.tile[1].max(1)),
            w(spec.gap),
            u32::from(spec.per_layer),
            u32::from(spec.signed),
            w(width),
            w(height),
            w(offset),
            0,
            0,
        ];
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("grid parameters"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let ranges = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("channel ranges"),
            size: (shape.c as u64 + 1) * 8,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let table = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("colour table"),
            contents: bytemuck::cast_slice(&spec.table),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("feature map grid"),
            size: wgpu::Extent3d { width: w(width), height: w(height), depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            // COPY_SRC: the grid can be read back (tests compare grids texel by texel).
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let mut cache = ctx.pipelines.lock().map_err(|_| GpuError::Kernel("pipeline cache poisoned".into()))?;
        let channel_ranges = cache.get(device, &PipelineKey::new("colormap.wgsl", "channel_ranges"))?;
        let layer_range = cache.get(device, &PipelineKey::new("colormap.wgsl", "layer_range"))?;
        let grid = cache.get(device, &PipelineKey::new("colormap.wgsl", "grid"))?;
        drop(cache);
        let group = |pipeline: &wgpu::ComputePipeline, entries: &[(u32, wgpu::BindingResource<'_>)]| {
            let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
                .iter()
                .map(|(binding, resource)| wgpu::BindGroupEntry { binding: *binding, resource: resource.clone() })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let ranges_group = group(
            &channel_ranges,
            &[(0, params.as_entire_binding()), (1, buffer.as_entire_binding()), (2, ranges.as_entire_binding())],
        );
        let layer_group = group(&layer_range, &[(0, params.as_entire_binding()), (2, ranges.as_entire_binding())]);
        let grid_group = group(
            &grid,
            &[
                (0, params.as_entire_binding()),
                (1, buffer.as_entire_binding()),
                (3, ranges.as_entire_binding()),
                (4, table.as_entire_binding()),
                (5, wgpu::BindingResource::TextureView(&view)),
            ],
        );
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("map grid") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("map grid"), timestamp_writes: None });
            let [x, y, _] = crate::engine::fold_workgroups(shape.c as u64);
            pass.set_pipeline(&channel_ranges);
            pass.set_bind_group(0, &ranges_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
            pass.set_pipeline(&layer_range);
            pass.set_bind_group(0, &layer_group, &[]);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&grid);
            pass.set_bind_group(0, &grid_group, &[]);
            pass.dispatch_workgroups(w(width).div_ceil(8), w(height).div_ceil(8), 1);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(texture)
    }
}
