//! Mitchell convolutions have no PyTorch reference: the engine is checked against a direct evaluation of
//! Mitchell's definition (log₂ by leading one + linear fraction, add, antilog) in f64.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use convscope_cpu::{Capture, Engine, Tensor};
use convscope_graph::{Arithmetic, Conv2d, GraphBuilder, Shape};
use convscope_weights::synthetic;

fn mitchell_definition(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        return 0.0;
    }
    let split = |x: f64| {
        let k = x.abs().log2().floor();
        (k, x.abs() / 2f64.powf(k) - 1.0)
    };
    let ((k1, m1), (k2, m2)) = (split(a), split(b));
    let magnitude =
        if m1 + m2 < 1.0 { 2f64.powf(k1 + k2) * (1.0 + m1 + m2) } else { 2f64.powf(k1 + k2 + 1.0) * (m1 + m2) };
    magnitude * a.signum() * b.signum()
}

#[test]
fn a_mitchell_conv_sums_mitchell_products() {
    let (c, h, w, out) = (3, 6, 5, 4);
    let mut b = GraphBuilder::new("mitchell");
    let x = b.input(Shape::map(c, h, w)).expect("input");
    let conv = Conv2d::new(c, out, 3, 2).bias(true).arithmetic(Arithmetic::Mitchell);
    b.conv("conv", x, conv).expect("conv");
    let graph = b.finish().expect("graph");
    let weights = synthetic::init(&graph, 11);
    let engine = Engine::new(&graph, &weights).expect("plan");
    let input = synthetic::unit_values(11, "input", c * h * w);
    let got =
        engine.run(Tensor::new(Shape::map(c, h, w), input.clone()).expect("input"), Capture::Output).expect("run");

    let wt = weights.get(convscope_graph::NodeId(1), "weight").and_then(|t| t.as_f32()).expect("weights");
    let bias = weights.get(convscope_graph::NodeId(1), "bias").and_then(|t| t.as_f32()).expect("bias");
    let (oh, ow) = (3, 3);
    for o in 0..out {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sum = f64::from(bias[o]);
                for ic in 0..c {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = ((oy * 2 + ky) as isize - 1, (ox * 2 + kx) as isize - 1);
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let xv = f64::from(input[ic * h * w + iy as usize * w + ix as usize]);
                            sum += mitchell_definition(f64::from(wt[((o * c + ic) * 3 + ky) * 3 + kx]), xv);
                        }
                    }
                }
                let value = f64::from(got.output.data[(o * oh + oy) * ow + ox]);
                assert!((value - sum).abs() < 1e-5, "[{o},{oy},{ox}]: {value} vs {sum}");
            }
        }
    }
}
