use crate::model_view::ModelView;

/// Model picker (grouped by family) and the variant controls the model supports.
pub fn model_picker_ui(ui: &mut egui::Ui, view: &mut ModelView) {
    let label = ui.label("Model:");
    let current = view.entry().map_or("—", |e| e.title);
    let mut picked = None;
    egui::ComboBox::from_id_salt("model_picker")
        .selected_text(current)
        .height(600.0)
        .show_ui(ui, |ui| {
            let mut family = "";
            for (index, entry) in view.entries.iter().enumerate() {
                if entry.family != family {
                    family = entry.family;
                    ui.label(egui::RichText::new(family).small().weak());
                }
                if ui.selectable_label(index == view.selected, entry.title).on_hover_text(entry.id).clicked() {
                    picked = Some(index);
                }
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text("Pick a network from the zoo");
    if let Some(index) = picked {
        view.select(index);
    }

    let Some(entry) = view.entry() else { return };
    let (has_width, default, group_choices, is_block) = (entry.width, entry.default, entry.groups, entry.block);
    let (paper_expansion, paper_ghost, compound) = (entry.expansion, entry.ghost, entry.compound);
    let mut changed = false;
    if is_block && let Some(channels) = &mut view.variant.channels {
        for (i, name) in ["in", "out"].into_iter().enumerate() {
            let label = ui.label(name);
            if let Some(c) = channels.get_mut(i) {
                changed |= ui
                    .add(egui::DragValue::new(c).range(1..=4096).speed(1.0))
                    .labelled_by(label.id)
                    .on_hover_text(format!("{name}put channels of the block"))
                    .changed();
            }
        }
    }
    if !group_choices.is_empty() {
        let label = ui.label("groups g");
        let current = view.variant.groups.unwrap_or(0);
        egui::ComboBox::from_id_salt("groups_picker")
            .selected_text(current.to_string())
            .width(40.0)
            .show_ui(ui, |ui| {
                for &g in group_choices {
                    if ui.selectable_label(current == g, g.to_string()).clicked() {
                        view.variant.groups = Some(g);
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Groups of the grouped 1×1 convolutions");
    }
    if compound {
        let label = ui.label("φ");
        let mut phi = view.phi.unwrap_or(0.0);
        if ui
            .add(egui::DragValue::new(&mut phi).range(-2.0..=8.0).speed(0.05).fixed_decimals(2))
            .labelled_by(label.id)
            .on_hover_text(
                "Compound scaling from B0 (Tan & Le 2019, Eq. 3): width 1.1^φ, depth 1.2^φ, input 224·1.15^φ; \
                 each step about doubles the FLOPs. The released B1–B7 use hand-rounded values instead.",
            )
            .changed()
        {
            let (width, depth, resolution) = convscope_zoo::compound_scaling(phi);
            view.phi = Some(phi);
            view.variant.width = width;
            view.variant.depth = Some(depth);
            view.variant.resolution = resolution;
            changed = true;
        }
    }
    if has_width {
        let label = ui.label("width α");
        changed |= ui
            .add(egui::DragValue::new(&mut view.variant.width).range(0.1..=4.0).speed(0.01).fixed_decimals(2))
            .labelled_by(label.id)
            .on_hover_text("Width multiplier: every layer's channels × α (rounded as the reference code does)")
            .changed();
    }
    let label = ui.label("input");
    changed |= ui
        .add(egui::DragValue::new(&mut view.variant.resolution).range(1..=4096).speed(1.0).suffix(" px"))
        .labelled_by(label.id)
        .on_hover_text("Input resolution ρ (square)")
        .changed();
    if let Some(paper_t) = paper_expansion {
        let label = ui.label("t");
        let mut t = view.variant.expansion.unwrap_or(paper_t);
        if ui
            .add(egui::DragValue::new(&mut t).range(1..=16))
            .labelled_by(label.id)
            .on_hover_text(format!("Expansion ratio of the expanding blocks (the paper's: {paper_t})"))
            .changed()
        {
            view.variant.expansion = (t != paper_t).then_some(t);
            changed = true;
        }
    }
    if let Some(paper_ghost) = paper_ghost {
        let mut ghost = view.variant.ghost.unwrap_or(paper_ghost);
        for (i, (name, hint)) in
            [("s", "Ghost ratio s: 1/s of the maps are intrinsic"), ("d", "Cheap operation kernel d (odd)")]
                .into_iter()
                .enumerate()
        {
            let label = ui.label(name);
            if let Some(value) = ghost.get_mut(i)
                && ui.add(egui::DragValue::new(value).range(1..=9)).labelled_by(label.id).on_hover_text(hint).changed()
            {
                changed = true;
            }
        }
        if changed {
            view.variant.ghost = (ghost != paper_ghost).then_some(ghost);
        }
    }
    changed |= ui
        .checkbox(&mut view.variant.mitchell, "Mitchell ×")
        .on_hover_text(
            "Compute every multiplying convolution with Mitchell's logarithmic multiplication: each product \
             becomes an addition of approximate logarithms and shifts (see the arithmetic counts in Layers)",
        )
        .changed();
    if view.variant != default && ui.small_button("reset").on_hover_text("Back to the published variant").clicked() {
        view.variant = default;
        view.phi = None;
        changed = true;
    }
    if changed {
        view.rebuild();
    }
}
