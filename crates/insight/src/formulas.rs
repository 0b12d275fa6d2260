//! Each block family's cost formula from its paper, evaluated with one block's own numbers (channels,
//! expansion, groups, kernel, map size read off the graph) — e.g. a ShuffleNet unit's
//! `hw(2cm/g + 9m)`, an inverted residual's `h·w·d·t·(d + k² + d')`. A test checks every formula against
//! the zoo's computed MACs for every block of every model where the formula applies.

use convscope_graph::{Conv2d, Graph, NodeId, Op, Shape};

/// A formula, the same with the block's numbers in it, and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    /// Where the formula comes from.
    pub source: &'static str,
    pub symbolic: String,
    pub numeric: String,
    pub macs: u64,
}

struct ConvAt<'a> {
    conv: &'a Conv2d,
    output: Shape,
}

/// The block's convolutions in order, the squeeze-and-excite ones (on 1×1 maps) apart.
fn convs<'a>(graph: &'a Graph, nodes: &[NodeId]) -> (Vec<ConvAt<'a>>, Vec<ConvAt<'a>>) {
    let (mut main, mut se) = (Vec::new(), Vec::new());
    for id in nodes {
        let Some(node) = graph.node(*id) else { continue };
        let Op::Conv2d(conv) = &node.op else { continue };
        let Some(input) = graph.input_shapes(node).first().copied() else { continue };
        let at = ConvAt { conv, output: node.output };
        if input.h == 1 && input.w == 1 && node.output.h * node.output.w == 1 && conv.kernel == [1, 1] {
            se.push(at);
        } else {
            main.push(at);
        }
    }
    (main, se)
}

fn hw(s: Shape) -> u64 {
    (s.h * s.w) as u64
}

/// The SE branch's `2·C·C_se` (its two 1×1 convolutions on the pooled vector), if there is one.
fn se_term(se: &[ConvAt<'_>]) -> Option<(u64, u64)> {
    match se {
        [reduce, expand] if reduce.conv.out_channels == expand.conv.in_channels => {
            Some((reduce.conv.in_channels as u64, reduce.conv.out_channels as u64))
        }
        _ => None,
    }
}

/// The formula of the block `kind` made of `nodes`, where the zoo has one for that kind.
pub fn for_block(graph: &Graph, kind: &str, nodes: &[NodeId]) -> Option<Formula> {
    let (main, se) = convs(graph, nodes);
    if main.iter().any(|c| c.conv.dilation != [1, 1]) {
        return None;
    }
    let se = if se.is_empty() { None } else { Some(se_term(&se)?) };
    let se_macs = se.map_or(0, |(c, s)| 2 * c * s);
    let se_text = |f: &mut Formula| {
        if let Some((c, s)) = se {
            f.symbolic.push_str(" + 2·C·C_se");
            f.numeric.push_str(&format!(" + 2·{c}·{s}"));
            f.macs += se_macs;
        }
    };
    let mut formula = match (kind, main.as_slice()) {
        // Howard et al. 2017, Eq. 4: D_K²·M·D_F² + M·N·D_F².
        ("DepthwiseSeparable" | "DwsConvBlock", [dw, pw])
            if dw.conv.groups == dw.conv.in_channels && pw.conv.kernel == [1, 1] =>
        {
            let (m, n, k, f) =
                (dw.conv.in_channels as u64, pw.conv.out_channels as u64, dw.conv.kernel[0] as u64, hw(dw.output));
            let (side, g) = (dw.output.h, pw.conv.groups as u64);
            if g == 1 {
                Formula {
                    source: "Howard et al. 2017 (MobileNets), Eq. 4",
                    symbolic: "D_K²·M·D_F² + M·N·D_F²".into(),
                    numeric: format!("{k}²·{m}·{side}² + {m}·{n}·{side}²"),
                    macs: k * k * m * f + m * n * f,
                }
            } else {
                // ChannelNet's depthwise separable blocks group their pointwise convolution.
                Formula {
                    source: "Howard et al. 2017 (MobileNets), Eq. 4, pointwise in g groups (ChannelNet)",
                    symbolic: "D_K²·M·D_F² + M·N·D_F²/g".into(),
                    numeric: format!("{k}²·{m}·{side}² + {m}·{n}·{side}²/{g}"),
                    macs: k * k * m * f + m * n * f / g,
                }
            }
        }
        // Sandler et al. 2018 (MobileNetV2), Table 1 / Sec. 5.1: h·w·d·t·(d + k² + d'), with the depthwise
        // and the projection at the output size h'·w' when the block strides.
        ("InvertedResidual" | "MBConv", [expand, dw, project])
            if expand.conv.kernel == [1, 1] && dw.conv.groups == dw.conv.in_channels =>
        {
            let (d, mid, out, k) = (
                expand.conv.in_channels as u64,
                expand.conv.out_channels as u64,
                project.conv.out_channels as u64,
                dw.conv.kernel[0] as u64,
            );
            let (a, b) = (hw(expand.output), hw(dw.output));
            Formula {
                source: "Sandler et al. 2018 (MobileNetV2), Sec. 5.1",
                symbolic: "h·w·d·(t·d) + h'·w'·(t·d)·(k² + d')".into(),
                numeric: format!("{a}·{d}·{mid} + {b}·{mid}·({k}² + {out})"),
                macs: a * d * mid + b * mid * (k * k + out),
            }
        }
        // The first block of MobileNetV2 / EfficientNet: no expansion (t = 1).
        ("InvertedResidual" | "MBConv", [dw, project]) if dw.conv.groups == dw.conv.in_channels => {
            let (d, out, k, b) =
                (dw.conv.in_channels as u64, project.conv.out_channels as u64, dw.conv.kernel[0] as u64, hw(dw.output));
            Formula {
                source: "Sandler et al. 2018 (MobileNetV2), Sec. 5.1 with t = 1",
                symbolic: "h'·w'·d·(k² + d')".into(),
                numeric: format!("{b}·{d}·({k}² + {out})"),
                macs: b * d * (k * k + out),
            }
        }
        // Tan & Le 2021 (EfficientNetV2): the expansion and the depthwise fused into one k×k convolution.
        ("FusedMBConv", [fused, project]) => {
            let (d, mid, out, k, b) = (
                fused.conv.in_channels as u64,
                fused.conv.out_channels as u64,
                project.conv.out_channels as u64,
                fused.conv.kernel[0] as u64,
                hw(fused.output),
            );
            Formula {
                source: "Tan & Le 2021 (EfficientNetV2), Fused-MBConv",
                symbolic: "h'·w'·(t·d)·(k²·d + d')".into(),
                numeric: format!("{b}·{mid}·({k}²·{d} + {out})"),
                macs: b * mid * (k * k * d + out),
            }
        }
        // Zhang et al. 2018 (ShuffleNet), Sec. 3.3: hw(2cm/g + 9m) for a unit that keeps the shape; in
        // general hw·c·m/g₁ + h'w'·9m + h'w'·m·c'/g.
        ("ShuffleUnit", [g1, dw, g2]) if dw.conv.groups == dw.conv.in_channels => {
            let (c, m, c2) = (g1.conv.in_channels as u64, g1.conv.out_channels as u64, g2.conv.out_channels as u64);
            let (g1g, g2g) = (g1.conv.groups as u64, g2.conv.groups as u64);
            let (a, b) = (hw(g1.output), hw(dw.output));
            if a == b && c == c2 && g1g == g2g {
                Formula {
                    source: "Zhang et al. 2018 (ShuffleNet), Sec. 3.3",
                    symbolic: "hw(2cm/g + 9m)".into(),
                    numeric: format!("{a}·(2·{c}·{m}/{g1g} + 9·{m})"),
                    macs: a * (2 * c * m / g1g + 9 * m),
                }
            } else {
                Formula {
                    source: "Zhang et al. 2018 (ShuffleNet), Sec. 3.3, strided unit",
                    symbolic: "hw·c·m/g₁ + h'w'·9m + h'w'·m·c'/g".into(),
                    numeric: format!("{a}·{c}·{m}/{g1g} + {b}·9·{m} + {b}·{m}·{c2}/{g2g}"),
                    macs: a * c * m / g1g + b * 9 * m + b * m * c2 / g2g,
                }
            }
        }
        // Ma et al. 2018 (ShuffleNet V2), Fig. 3(c): half the channels pass, the other half go through
        // 1×1, 3×3 depthwise, 1×1: hw·(2·(c/2)² + 9·c/2).
        ("ShuffleV2Unit", [pw1, dw, pw2]) if dw.conv.groups == dw.conv.in_channels => {
            let (h, a) = (pw1.conv.in_channels as u64, hw(pw1.output));
            if pw2.conv.out_channels as u64 != h || hw(dw.output) != a {
                return None;
            }
            Formula {
                source: "Ma et al. 2018 (ShuffleNet V2), Fig. 3(c)",
                symbolic: "hw·(2·(c/2)² + 9·(c/2))".into(),
                numeric: format!("{a}·(2·{h}² + 9·{h})"),
                macs: a * (2 * h * h + 9 * h),
            }
        }
        // Iandola et al. 2016 (SqueezeNet), Fire module: squeeze s, expands e₁ (1×1) and e₃ (3×3).
        ("Fire", [squeeze, e1, e3]) => {
            let (c, s, x1, x3, a) = (
                squeeze.conv.in_channels as u64,
                squeeze.conv.out_channels as u64,
                e1.conv.out_channels as u64,
                e3.conv.out_channels as u64,
                hw(squeeze.output),
            );
            Formula {
                source: "Iandola et al. 2016 (SqueezeNet), the Fire module",
                symbolic: "hw·(c·s + s·e₁ + 9·s·e₃)".into(),
                numeric: format!("{a}·({c}·{s} + {s}·{x1} + 9·{s}·{x3})"),
                macs: a * (c * s + s * x1 + 9 * s * x3),
            }
        }
        // He et al. 2016 (ResNet), the bottleneck: 1×1 to m, 3×3 (in g groups: ResNeXt / RegNet), 1×1 out,
        // and the projection shortcut where the shape changes.
        ("Bottleneck", [c1, c2, c3, rest @ ..]) if c2.conv.kernel == [3, 3] && rest.len() <= 1 => {
            let (c, m, out, g) = (
                c1.conv.in_channels as u64,
                c1.conv.out_channels as u64,
                c3.conv.out_channels as u64,
                c2.conv.groups as u64,
            );
            let (a, b) = (hw(c1.output), hw(c2.output));
            let mut f = Formula {
                source: "He et al. 2016 (ResNet), the bottleneck block",
                symbolic: "hw·c·m + h'w'·9m²/g + h'w'·m·c'".into(),
                numeric: format!("{a}·{c}·{m} + {b}·9·{m}²/{g} + {b}·{m}·{out}"),
                macs: a * c * m + b * 9 * m * m / g + b * m * out,
            };
            if let [down] = rest {
                let d = hw(down.output);
                f.symbolic.push_str(" + h'w'·c·c'");
                f.numeric.push_str(&format!(" + {d}·{c}·{out}"));
                f.macs += d * down.conv.in_channels as u64 * down.conv.out_channels as u64;
            }
            f
        }
        ("BasicBlock", [c1, c2, rest @ ..]) if rest.len() <= 1 => {
            let (c, m, b) = (c1.conv.in_channels as u64, c1.conv.out_channels as u64, hw(c1.output));
            let mut f = Formula {
                source: "He et al. 2016 (ResNet), the basic block",
                symbolic: "h'w'·9·c·m + h'w'·9·m²".into(),
                numeric: format!("{b}·9·{c}·{m} + {b}·9·{m}²"),
                macs: b * 9 * c * m + b * 9 * m * m,
            };
            if c2.conv.out_channels as u64 != m {
                return None;
            }
            if let [down] = rest {
                f.symbolic.push_str(" + h'w'·c·m");
                f.numeric.push_str(&format!(" + {b}·{c}·{m}"));
                f.macs += hw(down.output) * down.conv.in_channels as u64 * down.conv.out_channels as u64;
            }
            f
        }
        // Han et al. 2020 (GhostNet), Sec. 3.1: a Ghost module makes m intrinsic maps with an ordinary
        // convolution and (s−1)·m ghosts with d×d depthwise "cheap operations": h'w'·(c·m·k² + (s−1)·m·d²).
        ("GhostModule", [primary, cheap]) => {
            let (a, t) = ghost_module(primary, cheap)?;
            Formula {
                source: GHOST_SOURCE,
                symbolic: "h'w'·(c·m·k² + (s−1)·m·d²)".into(),
                numeric: t.numeric,
                macs: a * t.per_pixel,
            }
        }
        // The Ghost bottleneck (Han et al. 2020, Fig. 3): Ghost module 1 expands to e, a k×k depthwise when it
        // strides, SE, Ghost module 2 projects to c'; the shortcut is a k×k depthwise and a 1×1 where the
        // shape changes.
        ("GhostBottleneck", [p1, c1, rest @ ..]) => return ghost_bottleneck(p1, c1, rest, se),
        _ => return generic(graph, nodes),
    };
    se_text(&mut formula);
    Some(formula)
}

const GHOST_SOURCE: &str = "Han et al. 2020 (GhostNet), Sec. 3.1: the Ghost module";
const GENERIC_SOURCE: &str =
    "no block formula in the paper: each layer's h'·w'·k_h·k_w·(C_in/g)·C_out, summed over the block";

/// One Ghost module's MACs per output pixel, `c·m·k² + (s−1)·m·d²`, with its map size `h'·w'`.
struct GhostTerm {
    per_pixel: u64,
    numeric: String,
}

fn ghost_module(primary: &ConvAt<'_>, cheap: &ConvAt<'_>) -> Option<(u64, GhostTerm)> {
    let (c, m, ghosts) =
        (primary.conv.in_channels as u64, primary.conv.out_channels as u64, cheap.conv.out_channels as u64);
    let is_cheap = cheap.conv.in_channels as u64 == m && cheap.conv.groups as u64 == m && ghosts % m == 0;
    if !is_cheap || primary.conv.groups != 1 || hw(primary.output) != hw(cheap.output) {
        return None;
    }
    let (k, d) = (primary.conv.kernel[0] as u64, cheap.conv.kernel[0] as u64);
    if primary.conv.kernel[1] as u64 != k || cheap.conv.kernel[1] as u64 != d {
        return None;
    }
    let numeric =
        if k == 1 { format!("{c}·{m} + {ghosts}·{d}²") } else { format!("{c}·{m}·{k}² + {ghosts}·{d}²") };
    Some((hw(primary.output), GhostTerm { per_pixel: c * m * k * k + ghosts * d * d, numeric }))
}

fn ghost_bottleneck(p1: &ConvAt<'_>, c1: &ConvAt<'_>, rest: &[ConvAt<'_>], se: Option<(u64, u64)>) -> Option<Formula> {
    let (a1, g1) = ghost_module(p1, c1)?;
    let mut f = Formula {
        source: "Han et al. 2020 (GhostNet), Sec. 3.1–3.2: the Ghost bottleneck",
        symbolic: "hw·(c·m₁ + (s−1)·m₁·d²)".into(),
        numeric: format!("{a1}·({})", g1.numeric),
        macs: a1 * g1.per_pixel,
    };
    let e = p1.conv.out_channels as u64 + c1.conv.out_channels as u64;
    let rest = match rest {
        [dw, tail @ ..] if dw.conv.groups == dw.conv.in_channels && dw.conv.groups > 1 && tail.len() >= 2 => {
            let (k, b) = (dw.conv.kernel[0] as u64, hw(dw.output));
            f.symbolic.push_str(" + h'w'·e·k²");
            f.numeric.push_str(&format!(" + {b}·{}·{k}²", dw.conv.in_channels));
            f.macs += b * dw.conv.in_channels as u64 * k * k;
            tail
        }
        _ => rest,
    };
    if let Some((c, s)) = se {
        f.symbolic.push_str(" + 2·e·C_se");
        f.numeric.push_str(&format!(" + 2·{c}·{s}"));
        f.macs += 2 * c * s;
    }
    let [p2, c2, shortcut @ ..] = rest else { return None };
    if p2.conv.in_channels as u64 > e {
        return None;
    }
    let (a2, g2) = ghost_module(p2, c2)?;
    f.symbolic.push_str(" + h'w'·(e·m₂ + (s−1)·m₂·d²)");
    f.numeric.push_str(&format!(" + {a2}·({})", g2.numeric));
    f.macs += a2 * g2.per_pixel;
    match shortcut {
        [] => {}
        [dw, pw] if dw.conv.groups == dw.conv.in_channels && pw.conv.kernel == [1, 1] => {
            let (c, k, out, b) =
                (dw.conv.in_channels as u64, dw.conv.kernel[0] as u64, pw.conv.out_channels as u64, hw(pw.output));
            f.symbolic.push_str(" + h'w'·(c·k² + c·c')");
            f.numeric.push_str(&format!(" + {b}·({c}·{k}² + {c}·{out})"));
            f.macs += b * (c * k * k + c * out);
        }
        _ => return None,
    }
    Some(f)
}

/// Any other block: the cost of each of its layers in order (convolutions, channel-wise convolutions,
/// fully connected layers), summed — the formula every paper's cost tables rest on.
fn generic(graph: &Graph, nodes: &[NodeId]) -> Option<Formula> {
    const SHOWN: usize = 8;
    let mut terms: Vec<(String, u64)> = Vec::new();
    for id in nodes {
        let Some(node) = graph.node(*id) else { continue };
        let o = node.output;
        match &node.op {
            Op::Conv2d(conv) => {
                let cin = (conv.in_channels / conv.groups.max(1)) as u64;
                let (kh, kw, a) = (conv.kernel[0] as u64, conv.kernel[1] as u64, hw(o));
                terms.push((format!("{a}·{kh}·{kw}·{cin}·{}", conv.out_channels), a * kh * kw * cin * o.c as u64));
            }
            // Every output element is a `kernel`-long dot product along the channels.
            Op::ChannelConv { kernel, .. } => {
                let a = hw(o);
                terms.push((format!("{a}·{kernel}·{}", o.c), a * *kernel as u64 * o.c as u64));
            }
            Op::Linear { in_features, out_features, .. } => {
                terms.push((format!("{in_features}·{out_features}"), *in_features as u64 * *out_features as u64));
            }
            _ => {}
        }
    }
    if terms.len() < 2 {
        return None;
    }
    let mut numeric = terms.iter().take(SHOWN).map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(" + ");
    if terms.len() > SHOWN {
        let more: u64 = terms.iter().skip(SHOWN).map(|(_, m)| m).sum();
        numeric.push_str(&format!(" + {more} ({} more layers)", terms.len() - SHOWN));
    }
    Some(Formula {
        source: GENERIC_SOURCE,
        symbolic: "Σ h'·w'·k_h·k_w·(C_in/g)·C_out".into(),
        numeric,
        macs: terms.iter().map(|(_, m)| m).sum(),
    })
}

#[cfg(test)]
mod tests {
    use convscope_graph::GraphCost;

    use super::*;

    /// Every block of every zoo model that has a formula: the formula's value is the zoo's MAC count
    /// of that block's convolutions (BN, activations and pooling cost no MACs).
    #[test]
    fn every_formula_equals_the_graphs_count() {
        let mut checked: std::collections::BTreeMap<&str, usize> = Default::default();
        for entry in convscope_zoo::registry() {
            let Ok(graph) = entry.build_default() else { continue };
            let cost = GraphCost::of(&graph);
            for (b, block) in graph.blocks.iter().enumerate() {
                let nodes: Vec<NodeId> = graph
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| graph.block_path(n.block).iter().any(|p| p.0 == b))
                    .map(|(i, _)| NodeId(i))
                    .collect();
                let Some(f) = for_block(&graph, &block.kind, &nodes) else { continue };
                let macs: u64 = nodes.iter().map(|n| cost.per_node[n.0].macs).sum();
                assert_eq!(
                    f.macs, macs,
                    "{} {} ({}): {} = {}",
                    entry.id, block.name, block.kind, f.symbolic, f.numeric
                );
                *checked.entry(f.source).or_default() += 1;
            }
        }
        // Every formula was exercised.
        for source in [
            "Howard et al. 2017 (MobileNets), Eq. 4",
            "Sandler et al. 2018 (MobileNetV2), Sec. 5.1",
            "Sandler et al. 2018 (MobileNetV2), Sec. 5.1 with t = 1",
            "Tan & Le 2021 (EfficientNetV2), Fused-MBConv",
            "Zhang et al. 2018 (ShuffleNet), Sec. 3.3",
            "Zhang et al. 2018 (ShuffleNet), Sec. 3.3, strided unit",
            "Ma et al. 2018 (ShuffleNet V2), Fig. 3(c)",
            "Iandola et al. 2016 (SqueezeNet), the Fire module",
            "He et al. 2016 (ResNet), the bottleneck block",
            "He et al. 2016 (ResNet), the basic block",
            GHOST_SOURCE,
            "Han et al. 2020 (GhostNet), Sec. 3.1–3.2: the Ghost bottleneck",
            GENERIC_SOURCE,
        ] {
            assert!(checked.get(source).copied().unwrap_or(0) > 0, "{source} never applied: {checked:?}");
        }
    }

    #[test]
    fn a_shufflenet_unit_is_hw_2cm_over_g_plus_9m() {
        // megvii ShuffleNet V1 g = 3, features.1: c = 240, m = 60, 28×28: 784·(2·240·60/3 + 9·60).
        let graph =
            convscope_zoo::find("shufflenet_v1").and_then(|e| e.build_default().ok()).unwrap_or_else(|| panic!());
        let nodes = crate::anatomy::block_nodes(&graph, "features.1").unwrap_or_default();
        let f = for_block(&graph, "ShuffleUnit", &nodes).unwrap_or_else(|| panic!("a formula"));
        assert_eq!(f.symbolic, "hw(2cm/g + 9m)");
        assert_eq!(f.numeric, "784·(2·240·60/3 + 9·60)");
        assert_eq!(f.macs, 784 * (2 * 240 * 60 / 3 + 9 * 60));
    }

    #[test]
    fn every_ghost_bottleneck_has_the_ghost_formula() {
        // huawei-noah ghostnet.py, GhostNet 1.0×, blocks.3.0: 24 → 72 (ghost 36 + 36) → 5×5 dw /2 → SE 72/20 →
        // ghost 20 + 20 = 40, shortcut 5×5 dw + 1×1 24 → 40.
        let graph =
            convscope_zoo::find("ghostnet_100").and_then(|e| e.build_default().ok()).unwrap_or_else(|| panic!());
        let nodes = crate::anatomy::block_nodes(&graph, "blocks.3.0").unwrap_or_default();
        let f = for_block(&graph, "GhostBottleneck", &nodes).unwrap_or_else(|| panic!("a formula"));
        assert_eq!(f.numeric, "3136·(24·36 + 36·3²) + 784·72·5² + 2·72·20 + 784·(72·20 + 20·3²) + 784·(24·5² + 24·40)");
        assert_eq!(
            f.macs,
            3136 * (24 * 36 + 36 * 9)
                + 784 * 72 * 25
                + 2 * 72 * 20
                + 784 * (72 * 20 + 20 * 9)
                + 784 * (24 * 25 + 24 * 40)
        );
        for block in graph.blocks.iter().filter(|b| b.kind == "GhostBottleneck") {
            let nodes = crate::anatomy::block_nodes(&graph, &block.name).unwrap_or_default();
            let f = for_block(&graph, &block.kind, &nodes).unwrap_or_else(|| panic!("{}: no formula", block.name));
            assert!(f.source.contains("Ghost bottleneck"), "{}: {}", block.name, f.source);
        }
    }
}
