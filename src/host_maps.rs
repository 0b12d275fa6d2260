//! Whole maps of a result on the host, for the views that compute on them (channel similarity, Ghost
//! pairs, the shuffle's maps): a CPU result's maps as they are; a GPU result's read back once per node
//! (without blocking: the browser maps buffers between frames) and kept until the next result.

use std::collections::HashMap;

use convscope_engine::Tensor;
use convscope_gpu::{GpuMaps, PendingMapRead};
use convscope_graph::NodeId;

use crate::inference::RunResult;

enum Fetch {
    Pending(PendingMapRead),
    Ready(Tensor),
    Failed(String),
}

/// Where a node's map stands.
pub enum HostMap {
    /// The map (cheap to clone: shared data).
    Ready(Tensor),
    /// On its way back from the GPU: ask again next frame.
    Waiting,
    /// Not kept by the run (or the read-back failed): why.
    Missing(String),
}

#[derive(Default)]
pub struct HostMaps {
    result: u64,
    fetched: HashMap<NodeId, Fetch>,
}

impl HostMaps {
    /// `node`'s map in `result`, starting its read-back the first time a GPU result is asked for it.
    pub fn get(&mut self, result: &RunResult, node: NodeId) -> HostMap {
        if self.result != result.id {
            self.result = result.id;
            self.fetched.clear();
        }
        if let Some(map) = result.outputs.activations.get(node.0).and_then(Option::as_ref) {
            return HostMap::Ready(map.clone());
        }
        let Some(maps) = result.outputs.device.as_ref().and_then(|d| d.as_any().downcast_ref::<GpuMaps>()) else {
            return HostMap::Missing("this run did not keep that map (its maps are over the memory limit)".into());
        };
        let fetch = self.fetched.entry(node).or_insert_with(|| match maps.read(node) {
            Some(pending) => Fetch::Pending(pending),
            None => Fetch::Failed("this run did not keep that map".into()),
        });
        if let Fetch::Pending(pending) = fetch {
            maps.poll();
            match pending.try_take() {
                Some(Ok(tensor)) => *fetch = Fetch::Ready(tensor),
                Some(Err(e)) => *fetch = Fetch::Failed(format!("reading the map back failed: {e}")),
                None => return HostMap::Waiting,
            }
        }
        match fetch {
            Fetch::Ready(tensor) => HostMap::Ready(tensor.clone()),
            Fetch::Failed(why) => HostMap::Missing(why.clone()),
            Fetch::Pending(_) => HostMap::Waiting,
        }
    }
}

impl HostMaps {
    /// `node`'s map once it is on the host; until then a spinner (or why it is missing) and `None`.
    pub fn ready_ui(&mut self, ui: &mut egui::Ui, result: &RunResult, node: NodeId) -> Option<Tensor> {
        match self.get(result, node) {
            HostMap::Ready(map) => Some(map),
            HostMap::Waiting => {
                ui.spinner();
                ui.ctx().request_repaint();
                None
            }
            HostMap::Missing(why) => {
                ui.label(why);
                None
            }
        }
    }
}

/// A channel of a map as an egui image, coloured with viridis between the channel's own min and max.
pub fn channel_image(map: &Tensor, channel: usize) -> Option<egui::ColorImage> {
    let values = map.channel(channel)?;
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let pixels = values.iter().map(|&v| crate::colormap::Colormap::Viridis.color(v, lo, hi)).collect();
    Some(egui::ColorImage::new([map.shape.w, map.shape.h], pixels))
}

/// The first `count` channels of a map side by side (each on its own scale), for a tooltip.
pub fn strip_image(map: &Tensor, count: usize) -> Option<egui::ColorImage> {
    let (w, h) = (map.shape.w.max(1), map.shape.h.max(1));
    let n = count.min(map.shape.c).max(1);
    if map.shape.vector {
        return None;
    }
    let channels: Vec<egui::ColorImage> = (0..n).filter_map(|c| channel_image(map, c)).collect();
    let gap = 1;
    let width = n * w + (n - 1) * gap;
    let mut pixels = vec![egui::Color32::TRANSPARENT; width * h];
    for (k, image) in channels.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                if let (Some(dst), Some(src)) =
                    (pixels.get_mut(y * width + k * (w + gap) + x), image.pixels.get(y * w + x))
                {
                    *dst = *src;
                }
            }
        }
    }
    Some(egui::ColorImage::new([width, h], pixels))
}
