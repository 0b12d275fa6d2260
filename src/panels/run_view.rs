//! The Run tab: a photo in, the network's guesses out, and any layer's feature maps as a channel grid.

use std::sync::Arc;

use convscope_cpu::Tensor;
use convscope_graph::NodeId;

use crate::colormap::Colormap;
use crate::inference::{Inference, SAMPLES, WeightsLabel};
use crate::model_view::ModelView;

/// How map values become colors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Each channel from its own min to max: shows every channel's pattern.
    PerChannel,
    /// One range for the whole layer: shows which channels are strong.
    PerLayer,
}

/// The maps panel's settings and texture cache.
pub struct MapsState {
    pub scaling: Scaling,
    pub colormap: Colormap,
    /// The channel shown large, if any.
    pub zoom: Option<usize>,
    cache: Option<MapCache>,
}

impl Default for MapsState {
    fn default() -> Self {
        Self { scaling: Scaling::PerChannel, colormap: Colormap::Viridis, zoom: None, cache: None }
    }
}

struct MapCache {
    key: (usize, NodeId, Scaling, Colormap),
    textures: Vec<egui::TextureHandle>,
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

pub fn run_view_ui(ui: &mut egui::Ui, view: &mut ModelView, inference: &mut Inference, maps: &mut MapsState) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Photo:");
        for (file, title) in SAMPLES {
            if ui.button(title).on_hover_text(format!("Run the sample photo {file}")).clicked() {
                inference.load_sample(ui.ctx(), file);
            }
        }
        // Natively Ctrl+O (⌘O) opens the dialog too; a browser only opens its picker from a click.
        let hover = if cfg!(target_arch = "wasm32") {
            "Choose a photo or a checkpoint from this computer (it never leaves it)"
        } else {
            "Choose a photo or a checkpoint from this computer (it never leaves it) — Ctrl+O"
        };
        let open = ui.button("Open file…").on_hover_text(hover).clicked();
        #[cfg(target_arch = "wasm32")]
        if open {
            crate::web::pick_image(ui.ctx(), &inference.inbox);
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let shortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
            if open || ui.input_mut(|i| i.consume_shortcut(&shortcut)) {
                crate::native_picker::pick_file(ui.ctx(), &inference.inbox);
            }
        }
        ui.weak(if cfg!(target_arch = "wasm32") {
            "or drop / paste a photo (PNG, JPEG, WebP, GIF, BMP) — or drop a checkpoint (.pth, .pt, .safetensors)"
        } else {
            "or drop a photo (PNG, JPEG, WebP, GIF, BMP) or a checkpoint (.pth, .pt, .safetensors) on the window"
        });
    });
    if let Some(message) = &inference.message {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    ui.separator();
    let Some((name, _)) = &inference.photo else {
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            ui.heading("Run the network on a photo");
            ui.label(
                "Pick a sample above, or open or drop your own photo: convscope preprocesses it as the model expects, runs it \
                      on this machine, and shows the top-5 guesses and the feature maps of every layer.",
            );
        });
        return;
    };
    let name = name.clone();
    let Some(entry) = view.entry() else { return };
    let (entry_id, variant) = (entry.id, view.variant);

    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(250.0);
            input_ui(ui, inference, &name, entry_id, &variant);
            ui.add_space(6.0);
            guesses_ui(ui, view, inference, entry_id, &variant);
        });
        ui.separator();
        ui.vertical(|ui| maps_ui(ui, view, inference, maps, entry_id, &variant));
    });
}

fn input_ui(ui: &mut egui::Ui, inference: &mut Inference, name: &str, id: &str, variant: &convscope_zoo::Variant) {
    let Some((key, _, prepared, texture)) = &mut inference.prepared else {
        ui.label(format!("{name}: preparing…"));
        return;
    };
    if key.id != id || key.variant != *variant {
        ui.label(format!("{name}: preparing for this model…"));
        return;
    }
    let (w, h) = prepared.cropped.dimensions();
    let texture = texture.get_or_insert_with(|| {
        let image = egui::ColorImage::from_rgb([w as usize, h as usize], prepared.cropped.as_raw());
        ui.ctx().load_texture("network_input", image, egui::TextureOptions::LINEAR)
    });
    ui.label(egui::RichText::new(name).strong());
    ui.add(egui::Image::new(&*texture).fit_to_exact_size(egui::vec2(224.0, 224.0)))
        .on_hover_text(format!("What the network sees: resized and centre-cropped to {w}×{h}, then normalized"));
    ui.weak(format!("network input {w}×{h}"));
}

fn guesses_ui(ui: &mut egui::Ui, view: &ModelView, inference: &Inference, id: &str, variant: &convscope_zoo::Variant) {
    if inference.loading_weights() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("fetching the pretrained weights…");
        });
    }
    if let Some((done, total, next)) = inference.progress() {
        let layer = next
            .and_then(|n| view.model.as_ref().ok().and_then(|m| m.graph.node(n)))
            .map_or(String::new(), |n| n.name.clone());
        ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).text(format!("layer {done}/{total} {layer}")));
        return;
    }
    let Some(result) = inference.result.as_ref().filter(|r| r.key.id == id && r.key.variant == *variant) else {
        return;
    };
    match &result.weights {
        WeightsLabel::Pretrained(source) => {
            ui.colored_label(egui::Color32::from_rgb(60, 179, 113), "pretrained (ImageNet-1k)").on_hover_text(*source);
        }
        WeightsLabel::File(name) => {
            ui.colored_label(egui::Color32::from_rgb(60, 179, 113), format!("weights from {name}"));
        }
        WeightsLabel::Untrained => {
            ui.colored_label(ui.visuals().warn_fg_color, "UNTRAINED: seeded He initialization")
                .on_hover_text("This model has no pretrained weights here; its guesses are meaningless, its maps show what random filters do.");
        }
        WeightsLabel::Unavailable(why) => {
            ui.colored_label(ui.visuals().warn_fg_color, "UNTRAINED (pretrained weights unavailable)")
                .on_hover_text(why);
        }
    }
    let classes = convscope_zoo::imagenet_classes();
    for (class, p) in &result.top {
        let label = classes.get(*class).copied().unwrap_or("?");
        ui.add(egui::ProgressBar::new(*p).text(format!("{:.1}%  {label}", p * 100.0)).desired_width(240.0))
            .on_hover_text(format!("class {class}"));
    }
    ui.weak(format!("{:.0} ms on the CPU", result.millis));
}

fn maps_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    inference: &Inference,
    maps: &mut MapsState,
    id: &str,
    variant: &convscope_zoo::Variant,
) {
    let Some(result) = inference.result.as_ref().filter(|r| r.key.id == id && r.key.variant == *variant) else {
        ui.weak("The feature maps appear once the run has finished.");
        return;
    };
    let Ok(model) = view.model.as_ref() else { return };
    if let Some(note) = &result.capture_note {
        ui.colored_label(ui.visuals().warn_fg_color, note);
        return;
    }
    let available: Vec<NodeId> = (0..model.graph.nodes.len())
        .map(NodeId)
        .filter(|n| result.outputs.activations.get(n.0).is_some_and(Option::is_some))
        .collect();
    let default = available
        .iter()
        .copied()
        .filter(|n| model.graph.node(*n).is_some_and(|node| !node.output.vector && node.output.c >= 8))
        .nth(available.len() / 6)
        .or_else(|| available.first().copied());
    let node = view.selected_node.filter(|n| available.contains(n)).or(default);
    let Some(node) = node else { return };
    let Some(graph_node) = model.graph.node(node) else { return };
    let Some(tensor) = result.outputs.activations.get(node.0).and_then(Option::as_ref) else { return };

    ui.horizontal_wrapped(|ui| {
        let position = available.iter().position(|n| *n == node).unwrap_or(0);
        if ui.small_button("Previous").on_hover_text("The layer before this one").clicked()
            && let Some(prev) = position.checked_sub(1).and_then(|p| available.get(p))
        {
            view.selected_node = Some(*prev);
            maps.zoom = None;
        }
        if ui.small_button("Next").on_hover_text("The layer after this one").clicked()
            && let Some(next) = available.get(position + 1)
        {
            view.selected_node = Some(*next);
            maps.zoom = None;
        }
        ui.label(egui::RichText::new(&graph_node.name).strong().monospace());
        ui.label(format!("{} → {}", graph_node.op.label(), graph_node.output));
    });
    if let Some(into) = result.engine.fused_into(node) {
        let conv = model.graph.node(into).map_or("", |n| n.name.as_str());
        ui.weak(format!("computed in one step with {conv} (conv + BN + activation fused)"));
    } else if !result.engine.absorbs(node).is_empty() {
        ui.weak("shown after the BN and activation fused into this convolution");
    }
    ui.horizontal(|ui| {
        ui.selectable_value(&mut maps.scaling, Scaling::PerChannel, "per-channel scale")
            .on_hover_text("Each channel from its own min to max");
        ui.selectable_value(&mut maps.scaling, Scaling::PerLayer, "per-layer scale")
            .on_hover_text("One range for all channels: strong channels stand out");
        let label = ui.label("colormap");
        egui::ComboBox::from_id_salt("colormap")
            .selected_text(maps.colormap.name())
            .show_ui(ui, |ui| {
                for c in Colormap::ALL {
                    ui.selectable_value(&mut maps.colormap, c, c.name());
                }
            })
            .response
            .labelled_by(label.id);
    });
    if tensor.shape.vector {
        vector_ui(ui, tensor);
        return;
    }
    let textures = textures(ui.ctx(), maps, tensor, node);
    let plane = tensor.shape.h * tensor.shape.w;
    if let Some(channel) = maps.zoom.filter(|c| *c < tensor.shape.c) {
        if ui.button("Back to all channels").clicked() {
            maps.zoom = None;
        }
        if let (Some(texture), Some(values)) = (textures.get(channel), tensor.channel(channel)) {
            let stats = channel_stats(values);
            ui.label(format!(
                "channel {channel}: min {:.3}, max {:.3}, mean {:.3}, zeros {:.0}%",
                stats.min,
                stats.max,
                stats.mean,
                stats.sparsity * 100.0
            ));
            let side = ui.available_width().min(ui.available_height() - 8.0).max(64.0);
            let response =
                ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(side, side)).sense(egui::Sense::hover()));
            hover_value(&response, tensor, channel, values);
        }
        return;
    }
    let count = tensor.shape.c;
    let columns = ((count as f32).sqrt().ceil() as usize).max(1);
    let cell = ((ui.available_width() - 4.0 * columns as f32) / columns as f32).clamp(24.0, 96.0);
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing = egui::vec2(4.0, 4.0);
            for (channel, texture) in textures.iter().enumerate() {
                let Some(values) = tensor.data.get(channel * plane..(channel + 1) * plane) else { continue };
                let response = ui.add(
                    egui::Image::new(texture).fit_to_exact_size(egui::vec2(cell, cell)).sense(egui::Sense::click()),
                );
                hover_value(&response, tensor, channel, values);
                if response.clicked() {
                    maps.zoom = Some(channel);
                }
            }
        });
    });
}

/// Tooltip with the value under the pointer and the channel's statistics.
fn hover_value(response: &egui::Response, tensor: &Tensor, channel: usize, values: &[f32]) {
    let Some(pos) = response.hover_pos() else { return };
    let rect = response.rect;
    let (w, h) = (tensor.shape.w, tensor.shape.h);
    let x = (((pos.x - rect.left()) / rect.width()) * w as f32).floor().clamp(0.0, (w - 1) as f32) as usize;
    let y = (((pos.y - rect.top()) / rect.height()) * h as f32).floor().clamp(0.0, (h - 1) as f32) as usize;
    let value = values.get(y * w + x).copied().unwrap_or_default();
    let stats = channel_stats(values);
    response.clone().on_hover_text(format!(
        "channel {channel} at ({x}, {y}): {value:.4}\nmin {:.3}  max {:.3}  mean {:.3}  zeros {:.0}%",
        stats.min,
        stats.max,
        stats.mean,
        stats.sparsity * 100.0
    ));
}

fn vector_ui(ui: &mut egui::Ui, tensor: &Tensor) {
    let stats = channel_stats(&tensor.data);
    ui.label(format!(
        "a vector of {} values: min {:.3}, max {:.3}, mean {:.3}, zeros {:.0}%",
        tensor.data.len(),
        stats.min,
        stats.max,
        stats.mean,
        stats.sparsity * 100.0
    ));
}

/// One texture per channel, cached for the current run, layer, scaling and colormap.
fn textures(ctx: &egui::Context, maps: &mut MapsState, tensor: &Tensor, node: NodeId) -> Vec<egui::TextureHandle> {
    let key = (Arc::as_ptr(&tensor.data) as usize, node, maps.scaling, maps.colormap);
    if let Some(cache) = maps.cache.as_ref().filter(|c| c.key == key) {
        return cache.textures.clone();
    }
    let (h, w) = (tensor.shape.h, tensor.shape.w);
    let layer = channel_stats(&tensor.data);
    let textures: Vec<egui::TextureHandle> = (0..tensor.shape.c)
        .filter_map(|c| {
            let values = tensor.channel(c)?;
            let (lo, hi) = match maps.scaling {
                Scaling::PerChannel => {
                    let s = channel_stats(values);
                    (s.min, s.max)
                }
                Scaling::PerLayer => (layer.min, layer.max),
            };
            let pixels = values.iter().map(|&v| maps.colormap.color(v, lo, hi)).collect();
            let image = egui::ColorImage { size: [w, h], source_size: egui::vec2(w as f32, h as f32), pixels };
            Some(ctx.load_texture(format!("map_{}_{c}", node.0), image, egui::TextureOptions::NEAREST))
        })
        .collect();
    maps.cache = Some(MapCache { key, textures: textures.clone() });
    textures
}
