//! A layer's feature maps as a grid of channels, drawn from whichever engine ran: a CPU run's maps are
//! coloured here into an egui texture; a GPU run's are coloured on the GPU (`convscope_gpu::MapPainter`)
//! into a texture egui draws as it is — no read-back for the grid. Both use one layout ([`GridLayout`]),
//! so hovering, zooming and the statistics behave alike; for a GPU run the hovered or zoomed channel is
//! read back on its own.

use std::collections::HashMap;
use std::sync::Arc;

use convscope_engine::Tensor;
use convscope_gpu::{GpuMaps, GridSpec, MapPainter, PendingMapRead};
use convscope_graph::{NodeId, Shape};

use crate::colormap::Colormap;
use crate::inference::RunResult;

/// How map values become colors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Each channel from its own min to max: shows every channel's pattern.
    PerChannel,
    /// One range for the whole layer: shows which channels are strong.
    PerLayer,
}

/// The maps panel's settings, its texture and the channels a GPU run has read back.
pub struct MapsState {
    pub scaling: Scaling,
    pub colormap: Colormap,
    /// The channel shown large, if any.
    pub zoom: Option<usize>,
    grid: Option<GridTexture>,
    reads: Option<ChannelReads>,
    /// A layer's whole map asked for as a download: read back (a GPU result) only when asked.
    pub download: Option<(u64, convscope_graph::NodeId)>,
    pub download_notice: Option<String>,
    pub host: crate::host_maps::HostMaps,
}

impl Default for MapsState {
    fn default() -> Self {
        Self {
            scaling: Scaling::PerChannel,
            colormap: Colormap::Viridis,
            zoom: None,
            grid: None,
            reads: None,
            download: None,
            download_notice: None,
            host: crate::host_maps::HostMaps::default(),
        }
    }
}

impl MapsState {
    /// Drop textures that live on the GPU (its device is gone).
    pub fn forget_gpu_textures(&mut self) {
        self.grid = None;
        self.reads = None;
        self.download = None;
        self.host = crate::host_maps::HostMaps::default();
    }
}

/// Per-channel statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelStats {
    pub min: f32,
    pub max: f32,
    pub mean: f32,
    /// Fraction of exact zeros (what a ReLU switched off).
    pub sparsity: f32,
}

pub fn channel_stats(values: &[f32]) -> ChannelStats {
    let n = values.len().max(1) as f32;
    let (mut min, mut max, mut sum, mut zeros) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f32, 0usize);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        sum += v;
        zeros += usize::from(v == 0.0);
    }
    ChannelStats { min, max, mean: sum / n, sparsity: zeros as f32 / n }
}

fn stats_text(stats: &ChannelStats) -> String {
    format!("min {:.3}  max {:.3}  mean {:.3}  zeros {:.0}%", stats.min, stats.max, stats.mean, stats.sparsity * 100.0)
}

/// Where channels sit in a grid texture: `count` tiles from channel `first`, row by row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    pub first: usize,
    pub count: usize,
    pub columns: usize,
    /// Texels per tile `[h, w]`.
    pub tile: [usize; 2],
    pub gap: usize,
    /// The map's `[h, w]`.
    pub map: [usize; 2],
}

/// Tiles at most this many texels on a side (a grid of 96 channels of 112² stays about 1 000 wide).
const MAX_TILE: usize = 96;

impl GridLayout {
    /// Every channel of `shape` in a near-square grid, or one channel at its full size.
    pub fn new(shape: Shape, zoom: Option<usize>) -> Self {
        let map = [shape.h.max(1), shape.w.max(1)];
        if let Some(channel) = zoom {
            return Self { first: channel, count: 1, columns: 1, tile: map, gap: 0, map };
        }
        let count = shape.c;
        let columns = ((count as f64).sqrt().ceil() as usize).max(1);
        let scale = (MAX_TILE as f64 / map[0].max(map[1]) as f64).min(1.0);
        let tile =
            [((map[0] as f64 * scale).round() as usize).max(1), ((map[1] as f64 * scale).round() as usize).max(1)];
        let gap = (tile[0].max(tile[1]) / 8).clamp(1, 4);
        Self { first: 0, count, columns, tile, gap, map }
    }

    pub fn size(&self) -> [usize; 2] {
        let rows = self.count.div_ceil(self.columns.max(1));
        [
            (self.columns * (self.tile[1] + self.gap)).saturating_sub(self.gap).max(1),
            (rows * (self.tile[0] + self.gap)).saturating_sub(self.gap).max(1),
        ]
    }

    /// The channel and map pixel `(x, y)` under texel `(u, v)`, if it falls on a tile.
    pub fn hit(&self, u: f32, v: f32) -> Option<(usize, usize, usize)> {
        if u < 0.0 || v < 0.0 {
            return None;
        }
        let (u, v) = (u as usize, v as usize);
        let (step_x, step_y) = (self.tile[1] + self.gap, self.tile[0] + self.gap);
        let (col, row) = (u / step_x, v / step_y);
        let (tx, ty) = (u % step_x, v % step_y);
        let slot = row * self.columns + col;
        if col >= self.columns || tx >= self.tile[1] || ty >= self.tile[0] || slot >= self.count {
            return None;
        }
        let x = (tx * self.map[1] / self.tile[1]).min(self.map[1] - 1);
        let y = (ty * self.map[0] / self.tile[0]).min(self.map[0] - 1);
        Some((self.first + slot, x, y))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct GridKey {
    result: u64,
    node: NodeId,
    scaling: Scaling,
    colormap: Colormap,
    zoom: Option<usize>,
}

struct GridTexture {
    key: GridKey,
    texture: MapTexture,
    layout: GridLayout,
}

/// A grid texture: egui's own (a CPU run's maps), or one the GPU painted, registered with eframe's
/// renderer and freed from it when dropped.
enum MapTexture {
    Managed(egui::TextureHandle),
    Native {
        id: egui::TextureId,
        _texture: convscope_gpu::wgpu::Texture,
        renderer: Arc<egui::mutex::RwLock<eframe::egui_wgpu::Renderer>>,
    },
}

impl MapTexture {
    fn id(&self) -> egui::TextureId {
        match self {
            Self::Managed(handle) => handle.id(),
            Self::Native { id, .. } => *id,
        }
    }
}

impl Drop for MapTexture {
    fn drop(&mut self) {
        if let Self::Native { id, renderer, .. } = self {
            renderer.write().free_texture(id);
        }
    }
}

/// Channels of a GPU run's map read back for hovering and statistics, one at a time.
struct ChannelReads {
    result: u64,
    node: NodeId,
    channels: HashMap<usize, ChannelRead>,
}

enum ChannelRead {
    Pending(PendingMapRead),
    Ready(Vec<f32>),
    Failed(String),
}

/// Where a layer's values come from.
enum Source<'a> {
    Host(&'a Tensor),
    Device(&'a GpuMaps, Shape),
}

/// The grid of `node`'s maps in `result`, with zoom, hover values and statistics.
pub fn feature_maps_ui(
    ui: &mut egui::Ui,
    maps: &mut MapsState,
    result: &RunResult,
    node: NodeId,
    render_state: Option<&eframe::egui_wgpu::RenderState>,
) {
    let host = result.outputs.activations.get(node.0).and_then(Option::as_ref);
    let device = result.outputs.device.as_ref().and_then(|d| d.as_any().downcast_ref::<GpuMaps>());
    let source = match (host, device) {
        (Some(tensor), _) => Source::Host(tensor),
        (None, Some(gpu)) => match gpu.buffer(node) {
            Some((_, _, shape)) => Source::Device(gpu, shape),
            None => return,
        },
        (None, None) => return,
    };
    let shape = match &source {
        Source::Host(t) => t.shape,
        Source::Device(_, shape) => *shape,
    };
    if let Source::Device(gpu, _) = &source {
        poll_reads(ui.ctx(), maps, gpu, result.id, node);
    }
    if shape.vector {
        match channel_values(maps, &source, result.id, node, None) {
            Readout::Values(values) => {
                ui.label(format!("a vector of {} values: {}", values.len(), stats_text(&channel_stats(&values))))
            }
            other => ui.weak(format!("a vector of {} values: {}", shape.c, other.note())),
        };
        return;
    }
    let zoom = maps.zoom.filter(|c| *c < shape.c);
    let key = GridKey { result: result.id, node, scaling: maps.scaling, colormap: maps.colormap, zoom };
    if maps.grid.as_ref().is_none_or(|g| g.key != key) {
        let layout = GridLayout::new(shape, zoom);
        let texture = match &source {
            Source::Host(tensor) => Ok(MapTexture::Managed(paint_on_cpu(ui.ctx(), tensor, &layout, maps))),
            Source::Device(gpu, _) => paint_on_gpu(gpu, node, &layout, maps, render_state),
        };
        match texture {
            Ok(texture) => maps.grid = Some(GridTexture { key, texture, layout }),
            Err(e) => {
                maps.grid = None;
                ui.colored_label(ui.visuals().error_fg_color, format!("cannot draw these maps: {e}"));
                return;
            }
        }
    }
    let Some(grid) = &maps.grid else { return };
    let layout = grid.layout;
    let texture = grid.texture.id();
    let [width, height] = layout.size();

    if let Some(channel) = zoom {
        if ui.button("Back to all channels").clicked() {
            maps.zoom = None;
        }
        match channel_values(maps, &source, result.id, node, Some(channel)) {
            Readout::Values(values) => ui.label(format!("channel {channel}: {}", stats_text(&channel_stats(&values)))),
            other => ui.weak(format!("channel {channel}: {}", other.note())),
        };
        let room = ui.available_width().min(ui.clip_rect().right() - ui.cursor().left());
        let side = room.min(ui.available_height() - 8.0).max(64.0);
        let aspect = height as f32 / width as f32;
        let size = egui::vec2(side, side * aspect);
        let response = ui.add(egui::Image::new((texture, size)).sense(egui::Sense::hover()));
        hover_ui(&response, maps, &source, &layout, result.id, node);
        return;
    }
    // What is visible, even if a row above grew wider than the panel.
    let room = ui.available_width().min(ui.clip_rect().right() - ui.cursor().left());
    let scale = ((room - 12.0) / width as f32).clamp(0.1, 8.0);
    let size = egui::vec2(width as f32 * scale, height as f32 * scale);
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        let response = ui.add(egui::Image::new((texture, size)).sense(egui::Sense::click()));
        let clicked = response.clicked();
        if let Some(pos) = response.interact_pointer_pos().filter(|_| clicked) {
            let (u, v) = texel(&response, pos, &layout);
            if let Some((channel, _, _)) = layout.hit(u, v) {
                maps.zoom = Some(channel);
            }
        }
        hover_ui(&response, maps, &source, &layout, result.id, node);
    });
}

fn texel(response: &egui::Response, pos: egui::Pos2, layout: &GridLayout) -> (f32, f32) {
    let [w, h] = layout.size();
    let rect = response.rect;
    ((pos.x - rect.left()) / rect.width() * w as f32, (pos.y - rect.top()) / rect.height() * h as f32)
}

/// Tooltip with the value under the pointer and its channel's statistics.
fn hover_ui(
    response: &egui::Response,
    maps: &mut MapsState,
    source: &Source<'_>,
    layout: &GridLayout,
    result: u64,
    node: NodeId,
) {
    let Some(pos) = response.hover_pos() else { return };
    let (u, v) = texel(response, pos, layout);
    let Some((channel, x, y)) = layout.hit(u, v) else { return };
    let text = match channel_values(maps, source, result, node, Some(channel)) {
        Readout::Values(values) => {
            let value = values.get(y * layout.map[1] + x).copied().unwrap_or_default();
            format!("channel {channel} at ({x}, {y}): {value:.4}\n{}", stats_text(&channel_stats(&values)))
        }
        other => format!("channel {channel} at ({x}, {y}): {}", other.note()),
    };
    response.clone().on_hover_text(text);
}

/// Values of a channel: here, on their way from the GPU, or not to be had.
enum Readout {
    Values(Vec<f32>),
    Waiting,
    Failed(String),
}

impl Readout {
    /// What to say instead of values.
    fn note(&self) -> String {
        match self {
            Self::Values(_) => String::new(),
            Self::Waiting => "reading its values from the GPU…".to_owned(),
            Self::Failed(why) => format!("its values could not be read back ({why})"),
        }
    }
}

/// The values of `channel` (all of a vector when `None`): at hand for a CPU run, read back once for a
/// GPU run.
fn channel_values(
    maps: &mut MapsState,
    source: &Source<'_>,
    result: u64,
    node: NodeId,
    channel: Option<usize>,
) -> Readout {
    match source {
        Source::Host(tensor) => match channel {
            Some(c) => {
                tensor.channel(c).map_or(Readout::Failed("no such channel".into()), |v| Readout::Values(v.to_vec()))
            }
            None => Readout::Values(tensor.data.to_vec()),
        },
        Source::Device(gpu, shape) => {
            let reads = maps.reads.get_or_insert_with(|| ChannelReads { result, node, channels: HashMap::new() });
            if reads.result != result || reads.node != node {
                *reads = ChannelReads { result, node, channels: HashMap::new() };
            }
            let slot = channel.unwrap_or(usize::MAX);
            let read = reads.channels.entry(slot).or_insert_with(|| {
                let range = channel.map_or(0..shape.c, |c| c..c + 1);
                match gpu.read_channels(node, range) {
                    Some(pending) => ChannelRead::Pending(pending),
                    None => ChannelRead::Failed("not kept".into()),
                }
            });
            match read {
                ChannelRead::Ready(values) => Readout::Values(values.clone()),
                ChannelRead::Pending(_) => Readout::Waiting,
                ChannelRead::Failed(why) => Readout::Failed(why.clone()),
            }
        }
    }
}

/// Move finished read-backs into place; keep frames coming while some are on their way.
fn poll_reads(ctx: &egui::Context, maps: &mut MapsState, gpu: &GpuMaps, result: u64, node: NodeId) {
    let Some(reads) = maps.reads.as_mut().filter(|r| r.result == result && r.node == node) else { return };
    let mut waiting = false;
    for read in reads.channels.values_mut() {
        if let ChannelRead::Pending(pending) = read {
            match pending.try_take() {
                Some(Ok(tensor)) => *read = ChannelRead::Ready(tensor.data.to_vec()),
                Some(Err(e)) => *read = ChannelRead::Failed(e.to_string()),
                None => waiting = true,
            }
        }
    }
    if waiting {
        gpu.poll();
        ctx.request_repaint();
    }
}

/// The value range of each channel and of the whole map.
fn ranges(tensor: &Tensor) -> (Vec<(f32, f32)>, (f32, f32)) {
    let per_channel: Vec<(f32, f32)> = (0..tensor.shape.c)
        .map(|c| {
            let s = channel_stats(tensor.channel(c).unwrap_or(&[]));
            (s.min, s.max)
        })
        .collect();
    let layer = per_channel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &(a, b)| (lo.min(a), hi.max(b)));
    (per_channel, layer)
}

fn paint_on_cpu(ctx: &egui::Context, tensor: &Tensor, layout: &GridLayout, maps: &MapsState) -> egui::TextureHandle {
    let [width, height] = layout.size();
    let (per_channel, layer) = ranges(tensor);
    let background = egui::Color32::TRANSPARENT;
    let mut pixels = vec![background; width * height];
    for (at, pixel) in pixels.iter_mut().enumerate() {
        let Some((channel, x, y)) = layout.hit((at % width) as f32, (at / width) as f32) else { continue };
        let Some(values) = tensor.channel(channel) else { continue };
        let (lo, hi) = match maps.scaling {
            Scaling::PerChannel => per_channel.get(channel).copied().unwrap_or(layer),
            Scaling::PerLayer => layer,
        };
        let value = values.get(y * layout.map[1] + x).copied().unwrap_or_default();
        *pixel = maps.colormap.color(value, lo, hi);
    }
    let image =
        egui::ColorImage { size: [width, height], source_size: egui::vec2(width as f32, height as f32), pixels };
    ctx.load_texture("feature_map_grid", image, egui::TextureOptions::NEAREST)
}

fn paint_on_gpu(
    gpu: &GpuMaps,
    node: NodeId,
    layout: &GridLayout,
    maps: &MapsState,
    render_state: Option<&eframe::egui_wgpu::RenderState>,
) -> Result<MapTexture, String> {
    let render_state = render_state.ok_or("the GPU's maps need the GPU renderer")?;
    let spec = GridSpec {
        first: layout.first,
        count: layout.count,
        columns: layout.columns,
        tile: layout.tile,
        gap: layout.gap,
        per_layer: maps.scaling == Scaling::PerLayer,
        signed: maps.colormap == Colormap::Diverging,
        table: maps.colormap.table(),
    };
    let texture = MapPainter::paint(gpu, node, &spec).map_err(|e| e.to_string())?;
    let view = texture.create_view(&Default::default());
    let id = render_state.renderer.write().register_native_texture(
        &render_state.device,
        &view,
        convscope_gpu::wgpu::FilterMode::Nearest,
    );
    Ok(MapTexture::Native { id, _texture: texture, renderer: Arc::clone(&render_state.renderer) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_texel_of_a_tile_finds_its_channel_and_pixel() {
        let layout = GridLayout::new(Shape::map(10, 7, 5), None);
        assert_eq!(layout.columns, 4);
        let [w, h] = layout.size();
        let mut seen = vec![0usize; 10 * 7 * 5];
        for v in 0..h {
            for u in 0..w {
                if let Some((c, x, y)) = layout.hit(u as f32, v as f32) {
                    seen[(c * 7 + y) * 5 + x] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "each map pixel is one texel of its tile (tiles are native size)");
        let zoomed = GridLayout::new(Shape::map(10, 7, 5), Some(3));
        assert_eq!(zoomed.size(), [5, 7]);
        assert_eq!(zoomed.hit(4.0, 6.0), Some((3, 4, 6)));
        assert_eq!(zoomed.hit(5.0, 0.0), None);
    }

    #[test]
    fn large_maps_get_smaller_tiles() {
        let layout = GridLayout::new(Shape::map(32, 112, 112), None);
        assert_eq!(layout.tile, [MAX_TILE, MAX_TILE]);
        assert_eq!(layout.hit(0.0, 0.0), Some((0, 0, 0)));
        assert_eq!(layout.hit((MAX_TILE - 1) as f32, 0.0), Some((0, 110, 0)));
    }
}
