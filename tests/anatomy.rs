//! egui_kittest tests of the block anatomy in the Build view: the selected layer's block drawn as a
//! layered diagram (ops as buttons with their output shapes, the skip, branches side by side), clicking
//! an op selects it, and snapshots of one block per family (tests/snapshots/anatomy_*.png).

#![allow(clippy::panic, clippy::expect_used)]

use convscope::Tab;
use convscope::model_view::build_steps;
use convscope_graph::NodeId;
use convscope_insight::anatomy::Anatomy;
use egui_kittest::kittest::Queryable as _;

mod common;
use common::app_on;

#[test]
fn the_build_view_shows_inside_the_selected_block() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=mobilenet_v2&tab=build&layer=features.3.conv.0.0");
    harness.run();
    // torchvision mobilenet_v2 features.3: expand 24 → 144, 3×3 depthwise, project to 24, plus the input.
    harness.get_by_label("Inside features.3 (InvertedResidual)");
    harness.get_by_label("from features.2.conv.3\n[24×56×56]");
    harness.get_by_label("Conv2d 1×1\n[144×56×56]");
    harness.get_by_label("Add\n[24×56×56]");
    // Sandler et al. 2018, Sec. 5.1 with this block's numbers: 56²·24·144 + 56²·144·(3² + 24).
    harness.get_by_label_contains("= 3136·24·144 + 3136·144·(3² + 24) = 25,740,288");
    harness.snapshot("anatomy_inverted_residual");
    harness.get_by_label("Conv2d 3×3 dw\n[144×56×56]").click();
    harness.run();
    let state = harness.state();
    let graph = &state.view.model.as_ref().expect("built").graph;
    let selected = state.view.selected_node.expect("a layer is selected");
    assert_eq!(graph.nodes[selected.0].name, "features.3.conv.1.0");
}

#[test]
fn one_block_per_family() {
    let mut results = egui_kittest::SnapshotResults::new();
    for (model, layer, title, snapshot) in [
        ("shufflenet_v2_x1_0", "stage2.1.branch2.0", "Inside stage2.1 (ShuffleV2Unit)", "anatomy_shufflenet_v2_unit"),
        (
            "ghostnet_100",
            "blocks.3.0.ghost1.primary_conv.0",
            "Inside blocks.3.0 (GhostBottleneck)",
            "anatomy_ghost_bottleneck",
        ),
        ("googlenet", "inception3a.branch1.conv", "Inside inception3a (Inception)", "anatomy_inception"),
        ("micronet_m1", "features.1.layers.5.shift_max", "Inside features.1 (DYMicroBlock)", "anatomy_micronet"),
    ] {
        let mut harness = app_on(Tab::Build);
        harness.state_mut().open_link(&format!("model={model}&tab=build&layer={layer}"));
        harness.run();
        assert!(harness.state().notice_text().is_none_or(|n| !n.contains("no layer")), "{model}: {layer} exists");
        if !title.is_empty() {
            harness.get_by_label(title);
        }
        harness.snapshot(snapshot);
        results.extend(harness.take_snapshot_results());
    }
}

/// Every node of every zoo model is in exactly one build step's anatomy, and every flow's shape is the
/// shape its producer makes and its consumer reads.
#[test]
fn every_node_is_in_exactly_one_block_anatomy() {
    for entry in convscope_zoo::registry() {
        let graph = entry.build_default().unwrap_or_else(|e| panic!("{}: {e}", entry.id));
        let cost = convscope_graph::GraphCost::of(&graph);
        let mut seen = vec![0usize; graph.nodes.len()];
        for step in build_steps(&graph, &cost) {
            let nodes: Vec<NodeId> = step.nodes.clone().map(NodeId).collect();
            let a = Anatomy::of(&graph, &cost, &step.name, &nodes);
            for p in a.parts.iter().filter(|p| !p.external) {
                seen[p.node.0] += 1;
            }
            for f in &a.flows {
                let (from, to) = (&a.parts[f.from], &a.parts[f.to]);
                assert_eq!(f.shape, graph.nodes[from.node.0].output, "{} {}", entry.id, step.name);
                let consumer = &graph.nodes[to.node.0];
                assert!(consumer.inputs.contains(&from.node), "{}: {} does not read {}", entry.id, to.name, from.name);
                assert!(to.rank > from.rank);
            }
        }
        assert!(seen.iter().skip(1).all(|&n| n == 1), "{}: nodes in {:?} anatomies", entry.id, seen);
    }
}

#[test]
fn with_a_run_an_op_shows_its_measured_map_on_hover() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=mobilenet_v2&tab=build&layer=features.3.conv.0.0");
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    common::run_to_end(&mut harness);
    harness.get_by_label("Conv2d 3×3 dw\n[144×56×56]").hover();
    for _ in 0..4 {
        harness.step();
    }
    harness.get_by_label("the run's map of this tensor (first channels)");
    harness.snapshot("anatomy_hover_map");
}

#[test]
fn a_new_block_flows_through_its_diagram_then_collapses_into_the_strip() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=ghostnet_100&tab=build");
    harness.get_by_label("Start over").click();
    harness.run();
    for _ in 0..4 {
        harness.get_by_label("Step").click();
        harness.run();
    }
    assert_eq!(harness.state().view.stepped_at, None, "the animation ends");
    harness.get_by_label("Step").click();
    harness.step();
    harness.step();
    // Mid-flow: the fifth block (blocks.3.0) is drawn with its tensors on their way.
    assert!(harness.state().view.stepped_at.is_some());
    harness.get_by_label("Inside blocks.3.0 (GhostBottleneck)");
    harness.snapshot("anatomy_stepping");
    harness.run();
    assert_eq!(harness.state().view.stepped_at, None);
    assert_eq!(harness.state().view.built_steps, 5);
}

#[test]
fn the_inspector_shows_the_selected_layers_block_on_other_tabs() {
    let mut harness = app_on(Tab::Layers);
    harness.state_mut().open_link("model=shufflenet_v2_x1_0&tab=layers&layer=stage2.1.branch2.3");
    harness.run();
    // torchvision shufflenet_v2_x1_0 stage2.1: split 116 → 58 + 58, 1×1, 3×3 dw, 1×1, concat, shuffle.
    harness.get_by_label_contains("Inside stage2.1");
    harness.get_by_label("Conv2d 3×3 dw\n[58×28×28]");
    harness.snapshot("inspector_anatomy");
    // Clicking an op in the Inspector's diagram selects it.
    harness.get_by_label("Conv2d 3×3 dw\n[58×28×28]").click();
    harness.run();
    let state = harness.state();
    let graph = &state.view.model.as_ref().expect("built").graph;
    assert_eq!(graph.nodes[state.view.selected_node.expect("selected").0].name, "stage2.1.branch2.3");
}
