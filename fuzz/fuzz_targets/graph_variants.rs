//! The graph builder fed arbitrary variants of every zoo model: widths, resolutions, groups, channels,
//! expansion, Ghost s and d, depth and Mitchell arithmetic, within ranges wider than any sensible use
//! (a builder must refuse what it cannot build, never panic); what builds is costed.
#![no_main]

use convscope_zoo::Variant;

fn byte(data: &[u8], i: usize) -> usize {
    data.get(i).copied().map_or(0, usize::from)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let registry = convscope_zoo::registry();
    if registry.is_empty() {
        return;
    }
    let entry = &registry[byte(data, 0) % registry.len()];
    let word = |i: usize| byte(data, i) | byte(data, i + 1) << 8;
    let maybe = |i: usize, value: usize| (byte(data, i) & 1 == 1).then_some(value);
    let variant = Variant {
        // 0 … 64 in steps of 1/1024, and a few non-finite and negative values.
        width: match byte(data, 1) {
            255 => f64::NAN,
            254 => f64::INFINITY,
            253 => -1.0,
            _ => word(2) as f64 / 1024.0,
        },
        resolution: word(4) % 4097,
        num_classes: word(6) % 2049,
        groups: maybe(8, byte(data, 9) % 65),
        mitchell: byte(data, 10) & 1 == 1,
        channels: (byte(data, 11) & 1 == 1).then(|| [word(12) % 4097, word(14) % 4097]),
        expansion: maybe(16, byte(data, 17) % 17),
        ghost: (byte(data, 18) & 1 == 1).then(|| [byte(data, 19) % 9, byte(data, 20) % 9]),
        depth: (byte(data, 21) & 1 == 1).then(|| byte(data, 22) as f64 / 32.0),
    };
    if let Ok(graph) = entry.build(&variant) {
        let cost = convscope_graph::GraphCost::of(&graph);
        assert_eq!(cost.per_node.len(), graph.nodes.len());
    }
});
