//! The Run tab: a photo in, the network's guesses out (from the GPU or the CPU engine, which can be
//! compared), where the time went per layer, and any layer's feature maps as a channel grid.

use convscope_engine::{Backend, Timing};
use convscope_graph::NodeId;

use super::feature_maps::{MapsState, Scaling, feature_maps_ui};
use crate::colormap::Colormap;
use crate::inference::{Inference, MessageKind, RunResult, SAMPLES, WeightsLabel};
use crate::model_view::ModelView;

/// Width of the photo, guesses and timing column; the maps take the rest.
const LEFT_COLUMN: f32 = 260.0;

pub fn run_view_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    inference: &mut Inference,
    maps: &mut MapsState,
    render_state: Option<&eframe::egui_wgpu::RenderState>,
) {
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
    engine_switch_ui(ui, inference);
    if let Some(message) = &inference.message {
        let colour = match message.kind {
            MessageKind::Error => ui.visuals().error_fg_color,
            MessageKind::Warning => ui.visuals().warn_fg_color,
            MessageKind::Info => ui.visuals().text_color(),
        };
        ui.colored_label(colour, &message.text);
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
            ui.set_width(LEFT_COLUMN);
            ui.set_max_width(LEFT_COLUMN);
            egui::ScrollArea::vertical().id_salt("run_left_column").auto_shrink([true, false]).show(ui, |ui| {
                input_ui(ui, inference, &name, entry_id, &variant);
                ui.add_space(6.0);
                guesses_ui(ui, view, inference, entry_id, &variant);
                compare_ui(ui, inference, entry_id, &variant);
            });
        });
        ui.separator();
        ui.vertical(|ui| maps_ui(ui, view, inference, maps, entry_id, &variant, render_state));
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

fn guesses_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    inference: &mut Inference,
    id: &str,
    variant: &convscope_zoo::Variant,
) {
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
    ui.weak(format!("{:.0} ms on {}", result.millis, result.engine_name)).on_hover_text(timing_text(result));
    if let Some(why) = &result.fallback {
        ui.colored_label(ui.visuals().warn_fg_color, format!("computed on the CPU: {why}"));
    }
    ui.add_space(6.0);
    if super::layer_time::time_chart_ui(ui, view, result) {
        inference.profile_layers();
    }
}

fn timing_text(result: &RunResult) -> String {
    let how = match result.outputs.timing {
        Timing::Wall => "the CPU's busy time, stepped between frames",
        Timing::Timestamps => "GPU timestamps around every layer's compute pass",
        Timing::Submissions => "each layer submitted alone and waited for",
        Timing::Total => "from submitting the work to reading the result back (this adapter has no timestamps)",
    };
    format!("compute time: {how}; {:.0} ms from start to result, frames included", result.wall_ms)
}

/// The engine switch: the GPU engine (default where there is one) or the CPU engine.
fn engine_switch_ui(ui: &mut egui::Ui, inference: &mut Inference) {
    ui.horizontal(|ui| {
        let current = inference.effective_backend();
        let label = ui.label("Engine:");
        let gpu = inference.gpu.is_some();
        let gpu_button = ui
            .add_enabled(gpu, egui::Button::selectable(current == Backend::Gpu, "WebGPU"))
            .on_hover_text("Compute shaders on the GPU the page is drawn with")
            .on_disabled_hover_text("No usable WebGPU device here (see the badge at the top right)")
            .labelled_by(label.id);
        if gpu_button.clicked() {
            inference.choose_backend(Backend::Gpu);
        }
        let cpu_button = ui
            .selectable_label(current == Backend::Cpu, "CPU")
            .on_hover_text("The CPU engine (the reference the GPU is tested against)")
            .labelled_by(label.id);
        if cpu_button.clicked() {
            inference.choose_backend(Backend::Cpu);
        }
    });
}

/// The two engines' results on the same photo side by side, with the largest logit difference.
fn compare_ui(ui: &mut egui::Ui, inference: &Inference, id: &str, variant: &convscope_zoo::Variant) {
    let (Some(a), Some(b)) = (inference.result.as_ref(), inference.other.as_ref()) else { return };
    if a.key.id != id || a.key.variant != *variant || a.key != b.key || a.photo != b.photo {
        return;
    }
    ui.add_space(6.0);
    ui.label(egui::RichText::new("Both engines on this photo").strong());
    let (gpu, cpu) = if a.backend() == Backend::Gpu { (a, b) } else { (b, a) };
    let diff = gpu
        .outputs
        .output
        .data
        .iter()
        .zip(cpu.outputs.output.data.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let largest = cpu.outputs.output.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let classes = convscope_zoo::imagenet_classes();
    egui::Grid::new("engine_comparison").striped(true).show(ui, |ui| {
        ui.strong("");
        ui.strong(gpu.backend().label());
        ui.strong(cpu.backend().label());
        ui.end_row();
        for rank in 0..gpu.top.len().max(cpu.top.len()) {
            ui.label(format!("{}.", rank + 1));
            for r in [gpu, cpu] {
                match r.top.get(rank) {
                    Some((class, p)) => {
                        ui.label(format!("{:.1}% {}", p * 100.0, classes.get(*class).copied().unwrap_or("?")))
                    }
                    None => ui.label(""),
                };
            }
            ui.end_row();
        }
        ui.label("time");
        ui.label(format!("{:.0} ms", gpu.millis));
        ui.label(format!("{:.0} ms", cpu.millis));
        ui.end_row();
    });
    ui.label(format!(
        "largest |logit difference|: {diff:.2e} ({:.1e} of the largest logit)",
        diff / largest.max(1e-12)
    ))
    .on_hover_text("The same network and weights on both engines: only the order of the sums differs.");
}

fn maps_ui(
    ui: &mut egui::Ui,
    view: &mut ModelView,
    inference: &Inference,
    maps: &mut MapsState,
    id: &str,
    variant: &convscope_zoo::Variant,
    render_state: Option<&eframe::egui_wgpu::RenderState>,
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
    let kept = |n: NodeId| {
        result.outputs.activations.get(n.0).is_some_and(Option::is_some)
            || result.outputs.device.as_ref().is_some_and(|d| d.has(n))
    };
    let available: Vec<NodeId> = (0..model.graph.nodes.len()).map(NodeId).filter(|n| kept(*n)).collect();
    let default = available
        .iter()
        .copied()
        .filter(|n| model.graph.node(*n).is_some_and(|node| !node.output.vector && node.output.c >= 8))
        .nth(available.len() / 6)
        .or_else(|| available.first().copied());
    let node = view.selected_node.filter(|n| available.contains(n)).or(default);
    let Some(node) = node else { return };
    let Some(graph_node) = model.graph.node(node) else { return };

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
        if ui
            .small_button("Download .npy")
            .on_hover_text(
                "This layer's maps as a float32 NumPy array [1, C, H, W] (a GPU run reads back just this layer)",
            )
            .clicked()
        {
            maps.download = Some((result.id, node));
        }
        if let Some(n) = &maps.download_notice {
            ui.weak(n);
        }
    });
    // A download asked for: the map on the host (read back from the GPU only now), then the file.
    if let Some((_, wanted)) = maps.download.filter(|(id, _)| *id == result.id) {
        match maps.host.get(result, wanted) {
            crate::host_maps::HostMap::Ready(t) => {
                let shape = if t.shape.vector { vec![1, t.shape.c] } else { vec![1, t.shape.c, t.shape.h, t.shape.w] };
                let name = model.graph.node(wanted).map_or("map".to_owned(), |n| n.name.replace('/', "_"));
                maps.download_notice = Some(super::download::offer_bytes(
                    &format!("{name}.npy"),
                    "application/octet-stream",
                    &convscope_engine::npy(&shape, &t.data),
                ));
                maps.download = None;
            }
            crate::host_maps::HostMap::Waiting => ui.ctx().request_repaint(),
            crate::host_maps::HostMap::Missing(why) => {
                maps.download_notice = Some(why);
                maps.download = None;
            }
        }
    }
    if let Some(into) = result.engine.fused_into(node) {
        let conv = model.graph.node(into).map_or("", |n| n.name.as_str());
        ui.weak(format!("computed in one step with {conv} (conv + BN + activation fused)"));
    } else if !result.engine.absorbs(node).is_empty() {
        ui.weak("shown after the BN and activation fused into this convolution");
    }
    ui.horizontal_wrapped(|ui| {
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
        if result.backend() == Backend::Gpu {
            ui.weak("drawn from the GPU's buffers");
        }
    });
    feature_maps_ui(ui, maps, result, node, render_state);
}
