//! Every zoo model against its reference implementation, layer by layer.
//!
//! `tests/reference/<id>.json` were written by `tools/reference_counts.py` from torchvision 0.29.2 / timm
//! 1.0.31 (torch 2.15.0): for every module that owns parameters (or is a Conv2d/Linear), its state-dict
//! prefix, class, own parameter count and conv+linear MACs at the stated resolution. The zoo's graph must
//! list the same modules by name, with the same counts, and the totals must match exactly.

// Test helpers fail by panicking, like the tests themselves.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use convscope_graph::{GraphCost, Op};
use convscope_zoo::{Variant, registry};

#[derive(serde::Deserialize)]
struct Reference {
    id: String,
    /// The width multiplier, where the file is a variant (`<id>@<width>.json`); else the default.
    width: Option<f64>,
    /// The groups, where the file is a grouped variant (`<id>@g<groups>.json`); else the default.
    #[serde(default)]
    groups: Option<usize>,
    /// The EfficientNet depth coefficient, where the file is a compound-scaled variant (`@d<depth>`).
    #[serde(default)]
    depth: Option<f64>,
    source: String,
    resolution: usize,
    params: u64,
    bn_params: u64,
    macs: u64,
    modules: Vec<(String, String, u64, u64)>,
}

fn references() -> Vec<(String, Reference)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/reference exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("reference readable");
            let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).expect("reference JSON parses"))
        })
        .collect()
}

/// Models whose reference implementation is in neither torchvision nor timm, with the reason.
const NO_REFERENCE: &[(&str, &str)] = &[
    (
        "alexnet",
        "the original two-group AlexNet is in neither library (torchvision's is the single-GPU variant); its totals \
         are tested against the Caffe prototxt count in crates/zoo/src/alexnet.rs",
    ),
    (
        "igcv2_mobilenet",
        "IGCV2 has no reference code and its networks' widths are unpublished: a labelled reconstruction, its \
         total tested against IGCV2-1.0's published 564M in crates/zoo/src/igcv2.rs",
    ),
    (
        "compconv128_resnet50",
        "CompConv has no reference code: its modules are tested against the paper's cost formula layer by layer in \
         crates/zoo/src/swap.rs, on torchvision's resnet50 (itself matched here)",
    ),
];

#[test]
fn every_model_has_a_reference_at_its_default_variant() {
    let refs = references();
    // Stand-alone blocks are built by their networks' own functions, verified through those networks.
    for entry in registry().into_iter().filter(|e| !e.block) {
        let has = refs.iter().any(|(_, r)| {
            r.id == entry.id
                && r.width.is_none_or(|w| w == entry.default.width)
                && (r.groups.is_none() || r.groups == entry.default.groups)
                && r.depth.is_none()
        });
        assert!(
            has || NO_REFERENCE.iter().any(|(id, _)| *id == entry.id),
            "{}: no tests/reference/{}.json; run tools/reference_counts.py or list it in NO_REFERENCE",
            entry.id,
            entry.id
        );
    }
}

#[test]
fn every_reference_is_matched_layer_by_layer() {
    let refs = references();
    assert!(refs.len() >= 30, "only {} reference files", refs.len());
    for (file, reference) in refs {
        let entry =
            convscope_zoo::find(&reference.id).unwrap_or_else(|| panic!("{file}: no zoo model {}", reference.id));
        let width = reference.width.unwrap_or(entry.default.width);
        let groups = reference.groups.or(entry.default.groups);
        let variant =
            Variant { resolution: reference.resolution, width, groups, depth: reference.depth, ..entry.default };
        let graph = entry.build(&variant).unwrap_or_else(|err| panic!("{file}: {err}"));
        let cost = GraphCost::of(&graph);

        // Compared by name, like `load_state_dict`: registration order (the reference's) and execution
        // order (the graph's) differ where a module is declared before the layers it runs after.
        let ours: BTreeMap<String, (u64, u64)> = graph
            .nodes
            .iter()
            .zip(&cost.per_node)
            .filter(|(node, _)| {
                matches!(node.op, Op::Conv2d(_) | Op::ChannelConv { .. } | Op::Linear { .. } | Op::BatchNorm { .. })
            })
            .map(|(node, c)| (node.name.clone(), (c.params, c.macs)))
            .collect();
        let theirs: BTreeMap<String, (u64, u64)> =
            reference.modules.iter().map(|(name, _, params, macs)| (name.clone(), (*params, *macs))).collect();
        let missing: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
        let unexpected: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
        assert!(missing.is_empty() && unexpected.is_empty(), "{file}: missing {missing:?}, unexpected {unexpected:?}");
        for (name, counts) in &theirs {
            assert_eq!(ours.get(name), Some(counts), "{file}: {name} (params, MACs) differ from {}", reference.source);
        }

        assert_eq!(cost.total.params, reference.params, "{file}: params vs {}", reference.source);
        assert_eq!(cost.total.bn_params, reference.bn_params, "{file}: BN params vs {}", reference.source);
        assert_eq!(cost.total.macs, reference.macs, "{file}: MACs vs {}", reference.source);
    }
}

#[test]
fn every_model_builds_with_its_defaults_and_has_a_classifier_output() {
    for entry in registry().into_iter().filter(|e| !e.block) {
        let graph = entry.build_default().unwrap_or_else(|err| panic!("{}: {err}", entry.id));
        let output = graph.output().expect("non-empty graph").output;
        assert_eq!(output, convscope_graph::Shape::vector(entry.default.num_classes), "{}", entry.id);
        assert_eq!(graph.input_shape().h, entry.input.resolution, "{}: default resolution = input spec", entry.id);
    }
}

#[test]
fn ids_are_unique() {
    let mut ids: Vec<&str> = registry().iter().map(|e| e.id).collect::<Vec<_>>().leak().to_vec();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "duplicate model ids");
}
