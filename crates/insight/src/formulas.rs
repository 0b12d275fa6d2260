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
        _ => return None,
    };
    se_text(&mut formula);
    Some(formula)
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
}
