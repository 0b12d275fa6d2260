use std::collections::HashSet;

use convscope_graph::FlopConvention;
use egui::RichText;
use egui_extras::{Column, TableBuilder};

use crate::model_view::ModelView;

/// Which column the table is sorted by; `None` keeps the network's order with block subtotals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Params,
    Macs,
    Flops,
    Memory,
    Time,
}

/// The measured time of every node's step in the latest run of this model, and which engine ran it.
pub struct LayerTimes<'a> {
    pub step_ms: &'a [Option<f64>],
    pub engine: &'static str,
}

#[derive(Default)]
pub struct TableState {
    pub sort: Option<(SortColumn, bool)>,
    /// Top-level blocks whose layers are hidden.
    pub collapsed: HashSet<String>,
    /// The last download's outcome, shown next to the buttons.
    pub message: Option<String>,
}

enum Row {
    Block(usize),
    Layer(usize),
}

const CONVENTIONS: [(&str, FlopConvention); 3] = [
    ("2 × MACs (conv + linear)", FlopConvention::TWO_PER_MAC),
    ("MACs (FLOPs = multiply-adds)", FlopConvention::MACS),
    ("everything (2 × MACs + BN, act., element-wise, pool)", FlopConvention::ALL),
];

/// The per-layer table: sortable columns, collapsible block subtotals, a FLOP convention switch,
/// CSV / JSON / Markdown downloads, and — once the model ran on a photo — each layer's measured time.
pub fn layer_table_ui(ui: &mut egui::Ui, view: &mut ModelView, state: &mut TableState, times: Option<LayerTimes<'_>>) {
    let Ok(model) = &view.model else {
        if let Err(err) = &view.model {
            ui.colored_label(ui.visuals().error_fg_color, format!("Cannot build this variant: {err}"));
        }
        return;
    };
    let report = &model.report;
    let mut new_convention = None;
    ui.horizontal(|ui| {
        let label = ui.label("FLOPs count");
        let current = CONVENTIONS.iter().find(|(_, c)| *c == view.convention).map_or("custom", |(name, _)| name);
        egui::ComboBox::from_id_salt("flop_convention")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (name, convention) in CONVENTIONS {
                    if ui.selectable_label(convention == view.convention, name).clicked() {
                        new_convention = Some(convention);
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.separator();
        let stem = view.entry().map_or("model", |e| e.id).to_owned();
        let stem = format!("{stem}_{}px", view.variant.resolution);
        if ui.button("Save CSV").on_hover_text("Download the table as CSV").clicked() {
            state.message = Some(super::download::offer(&format!("{stem}_layers.csv"), "text/csv", &report.to_csv()));
        }
        if ui.button("Save JSON").on_hover_text("Download totals, blocks and layers as JSON").clicked() {
            state.message =
                Some(super::download::offer(&format!("{stem}_layers.json"), "application/json", &report.to_json()));
        }
        if ui.button("Save Markdown").clicked() {
            state.message =
                Some(super::download::offer(&format!("{stem}_layers.md"), "text/markdown", &report.to_markdown()));
        }
        if ui.button("Copy CSV").clicked() {
            ui.ctx().copy_text(report.to_csv());
            state.message = Some("CSV copied to the clipboard".to_owned());
        }
        if let Some(message) = &state.message {
            ui.weak(message);
        }
    });
    let t = &report.totals;
    ui.label(format!(
        "Total: {} params ({} without BN affine) · {} MACs · {} FLOPs · peak activations {} B",
        convscope_graph::report::group(t.params),
        convscope_graph::report::group(t.params_without_bn),
        convscope_graph::report::group(t.macs),
        convscope_graph::report::group(t.flops),
        convscope_graph::report::group(t.peak_activation_bytes),
    ));
    if let Some(plain) = &model.baseline {
        let ratio = |a: u64, b: u64| if b == 0 { "—".to_owned() } else { format!("{:.3}×", a as f64 / b as f64) };
        ui.label(format!(
            "Against a plain 3×3 conv with the same channels and input: {} the parameters, {} the MACs",
            ratio(t.params, plain.params),
            ratio(t.macs, plain.macs),
        ));
    }
    ui.label(format!(
        "Arithmetic of convolutions and linear layers: {} multiplications · {} additions · {} shifts",
        convscope_graph::report::group(t.muls),
        convscope_graph::report::group(t.adds),
        convscope_graph::report::group(t.shifts),
    ));

    let time_of = |layer: usize| times.as_ref().and_then(|t| t.step_ms.get(layer + 1).copied().flatten());
    let rows = table_rows(report, state, &time_of);
    let text_height = egui::TextStyle::Body.resolve(ui.style()).size + 6.0;
    let mut clicked_layer = None;
    let mut toggled_block = None;
    let mut sort_clicked = None;
    egui::ScrollArea::horizontal().id_salt("layer_table_h").show(ui, |ui| {
        TableBuilder::new(ui)
            .id_salt(("layer_table", &report.model))
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            // Sized so that every column fits the central area at 1280×800 (long names are elided, with
            // the whole name on hover); each can be widened by dragging.
            .column(Column::initial(150.0).at_least(90.0).clip(true))
            .column(Column::initial(108.0).at_least(70.0).clip(true))
            .column(Column::initial(98.0).at_least(70.0).clip(true))
            .columns(Column::initial(80.0).at_least(56.0), 4)
            .columns(Column::initial(66.0).at_least(50.0), usize::from(times.is_some()))
            .header(22.0, |mut header| {
                header.col(|ui| {
                    ui.strong("layer");
                });
                header.col(|ui| {
                    ui.strong("op");
                });
                header.col(|ui| {
                    ui.strong("output");
                });
                let time_header = times.as_ref().map(|t| format!("ms ({})", t.engine));
                let columns = [
                    (SortColumn::Params, "params"),
                    (SortColumn::Macs, "MACs"),
                    (SortColumn::Flops, "FLOPs"),
                    (SortColumn::Memory, "traffic B"),
                ]
                .into_iter()
                .chain(time_header.as_deref().map(|h| (SortColumn::Time, h)));
                for (column, name) in columns {
                    header.col(|ui| {
                        let arrow = match state.sort {
                            Some((c, true)) if c == column => " ↑",
                            Some((c, false)) if c == column => " ↓",
                            _ => "",
                        };
                        if ui
                            .button(RichText::new(format!("{name}{arrow}")).strong())
                            .on_hover_text("Sort (click again to reverse, a third time for network order)")
                            .clicked()
                        {
                            sort_clicked = Some(column);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(text_height, rows.len(), |mut row| {
                    let Some(kind) = rows.get(row.index()) else { return };
                    match *kind {
                        Row::Block(i) => {
                            let Some(block) = report.blocks.get(i) else { return };
                            let open = !state.collapsed.contains(&block.name);
                            row.col(|ui| {
                                let icon = if open { "−" } else { "+" };
                                ui.add(
                                    egui::Label::new(RichText::new(format!("{icon} {}", block.name)).strong())
                                        .truncate(),
                                )
                                .on_hover_text(&block.name);
                            });
                            row.col(|ui| {
                                ui.label(RichText::new(&block.kind).italics());
                            });
                            row.col(|_| {});
                            for value in [block.params, block.macs, block.flops] {
                                row.col(|ui| number(ui, value, true));
                            }
                            row.col(|_| {});
                            if times.is_some() {
                                let total: f64 = report
                                    .layers
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, l)| l.block.split(" / ").next() == Some(block.name.as_str()))
                                    .filter_map(|(j, _)| time_of(j))
                                    .sum();
                                row.col(|ui| millis(ui, Some(total), true));
                            }
                            if row.response().clicked() {
                                toggled_block = Some(block.name.clone());
                            }
                        }
                        Row::Layer(i) => {
                            let Some(layer) = report.layers.get(i) else { return };
                            row.set_selected(view.selected_node.is_some_and(|n| n.0 == i + 1));
                            row.col(|ui| {
                                ui.add(egui::Label::new(RichText::new(&layer.name).monospace()).truncate())
                                    .on_hover_text(&layer.name);
                            });
                            row.col(|ui| {
                                ui.add(egui::Label::new(&layer.op).truncate()).on_hover_text(&layer.op);
                            });
                            row.col(|ui| {
                                ui.label(RichText::new(&layer.output_shape).monospace());
                            });
                            for value in [layer.params, layer.macs, layer.flops, layer.memory_bytes] {
                                row.col(|ui| number(ui, value, false));
                            }
                            if times.is_some() {
                                row.col(|ui| millis(ui, time_of(i), false));
                            }
                            if row.response().clicked() {
                                clicked_layer = Some(i + 1);
                            }
                        }
                    }
                });
            });
    });

    if let Some(convention) = new_convention {
        view.set_convention(convention);
    }
    if let Some(node) = clicked_layer {
        view.selected_node = Some(convscope_graph::NodeId(node));
    }
    if let Some(name) = toggled_block
        && !state.collapsed.remove(&name)
    {
        state.collapsed.insert(name);
    }
    if let Some(column) = sort_clicked {
        state.sort = match state.sort {
            Some((c, false)) if c == column => Some((column, true)),
            Some((c, true)) if c == column => None,
            _ => Some((column, false)),
        };
    }
}

fn millis(ui: &mut egui::Ui, value: Option<f64>, strong: bool) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        let text = RichText::new(value.map_or_else(|| "·".to_owned(), |ms| format!("{ms:.3}"))).monospace();
        let response = ui.label(if strong { text.strong() } else { text });
        if value.is_none() {
            response.on_hover_text("computed with the layer before it (fused), or no work of its own");
        }
    });
}

fn number(ui: &mut egui::Ui, value: u64, strong: bool) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        let text = RichText::new(convscope_graph::report::group(value)).monospace();
        ui.label(if strong { text.strong() } else { text });
    });
}

/// Network order with a subtotal row before each top-level block (its layers hidden when collapsed), or
/// a flat list sorted by the chosen column.
fn table_rows(
    report: &convscope_graph::Report,
    state: &TableState,
    time_of: &dyn Fn(usize) -> Option<f64>,
) -> Vec<Row> {
    if let Some((column, ascending)) = state.sort {
        let key = |i: &usize| {
            report.layers.get(*i).map_or(0, |l| match column {
                SortColumn::Params => l.params,
                SortColumn::Macs => l.macs,
                SortColumn::Flops => l.flops,
                SortColumn::Memory => l.memory_bytes,
                // Nanoseconds, to sort by.
                SortColumn::Time => time_of(*i).map_or(0, |ms| (ms * 1e6) as u64),
            })
        };
        let mut order: Vec<usize> = (0..report.layers.len()).collect();
        order.sort_by_key(key);
        if !ascending {
            order.reverse();
        }
        return order.into_iter().map(Row::Layer).collect();
    }
    let mut rows = Vec::with_capacity(report.layers.len() + report.blocks.len());
    let mut current_top: Option<&str> = None;
    for (i, layer) in report.layers.iter().enumerate() {
        let top = layer.block.split(" / ").next().filter(|s| !s.is_empty());
        if top != current_top {
            current_top = top;
            if let Some(top) = top
                && let Some(b) = report.blocks.iter().position(|b| b.depth == 0 && b.name == top)
            {
                rows.push(Row::Block(b));
            }
        }
        if top.is_none_or(|t| !state.collapsed.contains(t)) {
            rows.push(Row::Layer(i));
        }
    }
    rows
}
