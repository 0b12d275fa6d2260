//! Each family's key idea, for a student, in the project's own words (the About tab and the block
//! anatomy show it beside the paper and the reference implementation).

/// The idea behind `family` (a zoo family name), if the app has written one.
pub fn idea(family: &str) -> Option<&'static str> {
    Some(match family {
        "SqueezeNet" => {
            "Fewer parameters by squeezing first: each Fire module shrinks the channels with cheap 1×1 filters, then \
             expands them again with a mix of 1×1 and 3×3 filters, so the expensive 3×3 filters only ever see a thin input."
        }
        "SqueezeNext" => {
            "SqueezeNet's idea pushed further: a two-stage 1×1 squeeze, and the 3×3 filter split into a 3×1 and a 1×3 \
             (separable in space), with a residual path so the deeper, thinner network still trains."
        }
        "MobileNet V1" => {
            "Factor a convolution in two: a depthwise k×k filter per input channel (space only), then a pointwise 1×1 \
             mixing the channels. The cost falls to 1/N + 1/k² of a standard convolution — 8 to 9 times less with 3×3. \
             A width multiplier α and an input size ρ then trade accuracy for cost smoothly."
        }
        "MobileNet V2" => {
            "The inverted residual: expand a thin tensor with a 1×1 (×t), filter it depthwise, project it back thin with \
             a linear 1×1 (no ReLU, which would destroy information in few channels), and add the shortcut between the \
             thin ends."
        }
        "MobileNet V3" => {
            "MobileNetV2's blocks found by architecture search, with squeeze-and-excite (a channel gate computed from \
             the whole map) in some blocks, h-swish in the deeper layers and a cheaper head."
        }
        "ShuffleNet V1" => {
            "Make the 1×1 convolutions cheap with groups — then shuffle the channels so the next group convolution \
             reads from every group. Without the shuffle, each group would only ever see its own slice of the input."
        }
        "ShuffleNet V2" => {
            "Speed is not FLOPs: memory access and fragmentation matter. So split the channels in two, pass one half \
             through untouched, run the other through equal-width 1×1 / 3×3 depthwise / 1×1, concatenate and shuffle."
        }
        "IGCV" | "IGCV1" => {
            "Interleaved group convolutions: a primary group convolution, a permutation, a secondary group convolution \
             with groups across the first ones — every output reaches every input, with far fewer weights than a dense \
             convolution (IGCV2 chains more, sparser group convolutions)."
        }
        "ChannelNet" => {
            "Even the 1×1 mixing is too dense for a small model: ChannelNet slides a small filter along the channel axis \
             (a channel-wise convolution) and groups its pointwise convolutions, keeping every channel connected."
        }
        "EfficientNet" => {
            "Scale depth, width and input size together by one coefficient φ (depth ×1.2^φ, width ×1.1^φ, resolution \
             ×1.15^φ) from a searched base of MBConv blocks (inverted residuals with squeeze-and-excite). Lite drops SE \
             and swish for mobile accelerators; V2 fuses early blocks into one dense 3×3."
        }
        "GhostNet" => {
            "Many feature maps are near copies of others. A Ghost module computes a few \"intrinsic\" maps with an \
             ordinary convolution and makes the rest from them with cheap depthwise filters — about s times cheaper."
        }
        "G-GhostNet" => {
            "Ghosts at the stage level, for GPUs: only part of a stage's channels go through its deep blocks; the rest \
             are made cheaply from the stage's first block and concatenated before its last."
        }
        "MicroNet" => {
            "Extremely low FLOPs: factor both the pointwise and the depthwise convolutions into low-rank grouped pieces, \
             and make up for it with a dynamic activation (Shift-Max) that mixes each channel with its neighbours."
        }
        "CondenseNet" => {
            "DenseNet made cheap: learned group convolutions prune, during training, which input channels each group \
             reads; at inference those become an index layer and a plain group convolution."
        }
        "AdderNet" => {
            "Replace the multiplications of convolution with additions: each output is minus the L1 distance between the \
             input window and the filter, which costs adds instead of multiply-adds."
        }
        "AlexNet (classic)" => {
            "The network that started it: large first filters, ReLU, dropout, and — to fit two GPUs — some layers split \
             in two groups, the first group convolutions."
        }
        "VGG (classic)" => {
            "Only 3×3 convolutions, stacked: two 3×3 see as far as one 5×5 with fewer weights and one more ReLU. Simple, \
             deep and expensive — the baseline every efficient design is measured against."
        }
        "ResNet (classic)" => {
            "Learn a residual: each block adds its input to what it computes, so very deep networks still train. The \
             bottleneck version squeezes with a 1×1, filters with a 3×3 and expands with a 1×1."
        }
        "Inception (classic)" => {
            "Look at several scales at once: parallel branches of 1×1, 3×3, 5×5 (later factored into smaller and \
             asymmetric filters) and pooling, concatenated, with 1×1 reductions keeping the cost in check."
        }
        "Xception (classic)" => {
            "Inception taken to the extreme: depthwise separable convolutions everywhere, in residual blocks — the \
             factorization MobileNet then made cheap."
        }
        "CompConv" => {
            "Divide and conquer: compute only a fraction of the output channels with real convolutions, recursively, and \
             fill the rest with identity copies and a cheap operation (reconstructed here from the paper's equations)."
        }
        "Blocks" => "Single building blocks on their own, each beside a plain 3×3 convolution of the same channels.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_family_of_the_zoo_has_its_idea() {
        for entry in convscope_zoo::registry() {
            assert!(super::idea(entry.family).is_some(), "{} ({}) has no idea written", entry.id, entry.family);
        }
    }
}
