//! egui_kittest tests of the insight views — the Ghost lab, the shuffle explorer and the
//! depthwise-separable lesson — on real runs of the engine, reached by tab and by link, with rendered
//! snapshots (tests/snapshots/*.png; `UPDATE_SNAPSHOTS=1` rewrites them after a deliberate UI change).

#![allow(clippy::panic, clippy::expect_used)]

use convscope::Tab;
use egui_kittest::kittest::Queryable as _;

mod common;
use common::{app_on, run_to_end};

#[test]
fn the_ghost_lab_compares_channels_and_pairs_ghosts_on_a_photo() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=ghostnet_100&tab=ghost");
    assert_eq!(harness.state().tab, Tab::Ghost);
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    run_to_end(&mut harness);
    for _ in 0..5 {
        harness.run();
    }
    // No pretrained GhostNet here: the lab says the maps come from random filters, and offers the
    // pretrained model (clicked at the end).
    harness.get_by_label_contains("UNTRAINED");
    // The default layer is the first Ghost module's intrinsic maps (timm ghostnet_100 names).
    harness.get_by_label_contains("of blocks.0.0.ghost1.primary_conv.2");
    harness.get_by_label_contains("of the channels have a twin at cosine");
    harness.get_by_label("Ghost modules (32)");
    // Each ghost beside its source: with s = 2, ghost j is made from intrinsic j.
    harness.get_by_label("intrinsic 7");
    harness.get_by_label("ghost 7");
    // GhostNet's first module, 16 → 16 with s = 2, d = 3: 200 parameters against the plain 256.
    harness.get_by_label("Ghost module");
    harness.get_by_label("200");
    harness.get_by_label("256");
    harness.snapshot("ghost_lab");
    harness.get_by_label("use the pretrained EfficientNet-Lite0").click();
    harness.step();
    harness.step();
    assert_eq!(harness.state().view.entry().map(|e| e.id), Some("efficientnet_lite0"));
}

#[test]
fn a_link_opens_the_ghost_lab_on_a_layer() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=mobilenet_v2&tab=ghost&layer=features.3.conv.0.2");
    let state = harness.state();
    assert_eq!(state.tab, Tab::Ghost);
    let node = state.view.selected_node.expect("the layer is selected");
    let graph = &state.view.model.as_ref().expect("built").graph;
    assert_eq!(graph.nodes[node.0].name, "features.3.conv.0.2");
    assert_eq!(state.link(), "model=mobilenet_v2&tab=ghost&layer=features.3.conv.0.2");
    harness.state_mut().open_link("model=mobilenet_v2&tab=ghost&layer=nowhere");
    harness.run();
    harness.get_by_label_contains("no layer \"nowhere\" in this model");
    // A sample photo opens the Run view, unless the link names a view.
    harness.state_mut().open_link("model=ghostnet_100&tab=ghost&sample=coffee.png");
    assert_eq!(harness.state().tab, Tab::Ghost);
    harness.state_mut().open_link("model=ghostnet_100&sample=chelsea.png");
    assert_eq!(harness.state().tab, Tab::Run);
}

#[test]
fn the_shuffle_explorer_shows_the_permutation_and_the_connectivity() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=shufflenet_v2_x1_0&tab=shuffle");
    harness.run();
    // torchvision shufflenet_v2_x1_0: the first shuffle mixes 116 channels in 2 groups.
    harness.get_by_label("without the shuffle: 50% connected");
    harness.get_by_label("with the shuffle: 100% connected");
    // The unit holding the shuffle, traced through the graph: stage2.1 splits 116 channels, passes 58
    // through and mixes the other 58 — 58·(1 + 58) / 116² of the pairs, with or without the shuffle.
    let graph = &harness.state().view.model.as_ref().expect("built").graph;
    let shuffle = graph.find("stage2.1.shuffle").expect("the unit's shuffle");
    harness.state_mut().shuffle_lab.node = Some(shuffle);
    harness.run();
    harness.get_by_label_contains("The unit stage2.1");
    harness.get_by_label("as built: 25% connected");
    harness.get_by_label("without its shuffles: 25% connected");
    // Zhang et al. 2018, Figure 1 at C = 12, g = 3, with input channel 0 traced.
    harness.state_mut().shuffle_lab.channels = 12;
    harness.state_mut().shuffle_lab.groups = 3;
    harness.run();
    harness.get_by_label("without the shuffle: 33% connected");
    harness.get_by_label_contains("output i ← input [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]");
    harness.get_by_label_contains("the shuffle moves them to [0, 3, 6, 9]; they reach 12 of the 12 outputs");
    harness.snapshot("shuffle_lab");
    harness.state_mut().shuffle_lab.channels = 10;
    harness.run();
    harness.get_by_label_contains("3 groups do not divide 10 channels");
}

#[test]
fn the_separable_lesson_computes_mobilenets_costs() {
    let mut harness = app_on(Tab::Separable);
    // Howard et al. 2017, Eq. 5 for 512 → 512, 3×3, 14×14: 1/512 + 1/9.
    harness.get_by_label_contains("separable / standard = 0.1131");
    harness.get_by_label("462,422,016");
    // MobileNet V1 built by the zoo at α = 1, ρ = 224 (the paper's Table 6: 569M MACs, 4.2M params).
    harness.get_by_label_contains("MobileNet V1 α = 1.00, 224²: 4,231,976 parameters");
    // IGCV2, a labelled reconstruction against the three published totals (ShuffleNet V2, Table 8).
    harness.get_by_label_contains("RECONSTRUCTION: the paper's networks are MobileNet V1-shaped");
    harness.get_by_label("IGCV2-0.25");
    harness.get_by_label("568M");
    harness.snapshot("separable_lab");
}

#[test]
fn the_swap_lab_puts_ghost_modules_into_resnet50() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=resnet50&tab=swap");
    assert_eq!(harness.state().tab, Tab::Swap);
    harness.run();
    // torchvision resnet50: 53 convolutions, all but the 7×7 stem replaced; Han et al. 2020, Table 5.
    harness.get_by_label("52 convolutions replaced");
    harness.get_by_label_contains("Ghost-ResNet-50 (s = 2) 2.2B FLOPs");
    harness.get_by_label_contains("Here: 2.15B MACs, 13.95M parameters");
    harness.snapshot("swap_lab");
    harness.state_mut().swap_lab.module = convscope::SwapModule::CompConv;
    harness.run();
    harness.get_by_label_contains("CompConv is a RECONSTRUCTION");
    harness.get_by_label("with CompConv128");
    // A depth too large for a thin layer names the layer and the constraint.
    harness.state_mut().swap_lab.depth = Some(5);
    harness.run();
    harness.get_by_label_contains("layer1.0.conv3: CompConv of depth 5 copies 75 input channels");
    // The lab follows the model picker to a network it offers.
    harness.state_mut().open_link("model=vgg16&tab=swap");
    harness.run();
    harness.get_by_label("12 convolutions replaced");
}

#[test]
fn the_separable_lesson_runs_step_by_step_on_the_photo() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=mobilenet_v2&tab=dsc");
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    run_to_end(&mut harness);
    harness.state_mut().separable_lab.lesson.position = 500;
    harness.run();
    // 3 input maps, 4 outputs, 3×3: per pixel 3·3·3·4 = 108 MACs standard, 27 + 12 separable.
    harness.get_by_label("so far: standard 54,000 MACs, separable 19,500 (depthwise 13,500 + pointwise 6,000)");
    harness.get_by_label_contains("pointwise and standard agree to");
    harness.get_by_label_contains("the same maps, 2.8× the work for the standard one");
    // The first layer's maps: MobileNetV2's 32-channel stem, up to 16 of them.
    harness.state_mut().separable_lab.lesson.from_layer = true;
    harness.state_mut().separable_lab.lesson.m = 16;
    harness.state_mut().separable_lab.lesson.n = 16;
    harness.run();
    harness.run();
    // 9·16·16 = 2304 against 9·16 + 16·16 = 400 per pixel.
    harness.get_by_label_contains("the same maps, 5.8× the work for the standard one");
    harness.snapshot("separable_lesson");
}

#[test]
fn the_ghost_lab_sets_g_ghostnets_cheap_maps_beside_the_complicated_ones() {
    let mut harness = app_on(Tab::Build);
    harness.state_mut().open_link("model=g_ghost_regnetx_032&tab=ghost&res=96");
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "chelsea.png");
    run_to_end(&mut harness);
    for _ in 0..4 {
        harness.run();
    }
    // huawei-noah g_ghost_regnet.py, G-Ghost RegNetX-3.2GF: its 6- and 15-block stages are G-Ghost stages.
    harness.get_by_label("G-Ghost stages (2)");
    harness.get_by_label_contains("cheap maps (layer2.cheap_relu)");
    harness.get_by_label("cheap 0");
}

#[test]
fn three_trained_networks_compared_on_one_photo() {
    let mut harness = app_on(Tab::Compare);
    let ctx = harness.ctx.clone();
    harness.state_mut().inference.load_sample(&ctx, "coffee.png");
    // The open model (MobileNetV2) runs on the photo first.
    run_to_end(&mut harness);
    harness.get_by_label("▶ Run them on the photo").click();
    for _ in 0..3000 {
        harness.step();
        let state = harness.state();
        if state.inference.comparing().is_none() && state.inference.comparisons().count() == 3 {
            break;
        }
    }
    harness.run();
    // The CLI's pretrained tests: espresso on coffee.png for Lite0 (0.95), Lite1 (0.51), Lite2 (0.89).
    let tops: Vec<(&str, usize)> =
        harness.state().inference.comparisons().map(|c| (c.id, c.top.first().map_or(0, |t| t.0))).collect();
    assert_eq!(tops, vec![("efficientnet_lite0", 967), ("efficientnet_lite1", 967), ("efficientnet_lite2", 967)]);
    harness.get_by_label_contains("espresso 95.");
    // timm 1.0.31's exact counts (crates/zoo/tests/reference): 385M, 600M and 860M MACs.
    harness.get_by_label("385M");
    harness.get_by_label("600M");
    harness.get_by_label("860M");
    // Times vary: fix them for the snapshot.
    for (c, ms) in harness.state_mut().inference.comparisons_mut().iter_mut().zip([60.0, 95.0, 140.0]) {
        c.millis = ms;
        c.backend = convscope_engine::Backend::Cpu;
    }
    harness.run();
    harness.snapshot("photo_compare");
}
