#!/usr/bin/env python3
"""Write per-module parameter and MAC counts of reference implementations for the zoo tests.

Not run in CI. Run in a throw-away venv outside the repository:

    python3 -m venv /tmp/torch-venv
    /tmp/torch-venv/bin/pip install torch==2.15.0 torchvision==0.29.2 timm==1.0.31 pytorchcv==0.0.74
    /tmp/torch-venv/bin/python tools/reference_counts.py [zoo_id ...]

For every model it writes crates/zoo/tests/reference/<zoo_id>.json:

    {"id", "source", "resolution", "params", "bn_params", "macs",
     "modules": [[name, class, own_params, macs], ...]}

`modules` lists every module that owns parameters (Conv2d, Linear, BatchNorm2d, ...) in registration
order; `macs` counts Conv2d as output elements × (in_channels / groups) × kh × kw and Linear as
in_features × out_features per output row — the conv+linear multiply-accumulate convention. Counts are
per sample (batch 1). The zoo's graph must reproduce every row by name.
"""

import importlib
import json
import os
import sys
from pathlib import Path

import timm
import torch
import torchvision

try:
    import pytorchcv
    from pytorchcv.model_provider import get_model as pytorchcv_model
except ImportError:  # only SqueezeNext and ChannelNet need it
    pytorchcv = None

OUT = Path(__file__).resolve().parent.parent / "crates" / "zoo" / "tests" / "reference"
TV = f"torchvision {torchvision.__version__.split('+')[0]} (torch {torch.__version__.split('+')[0]})"
TIMM = f"timm {timm.__version__} (torch {torch.__version__.split('+')[0]})"


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw), TV


def tm(name, **kw):
    return lambda: timm.create_model(name, pretrained=False, **kw), TIMM


# Official implementations that are in neither torchvision nor timm are not committed (their code is not
# ours to copy): set CONVSCOPE_OFFICIAL to a folder holding them, laid out as below, to count them too.
OFFICIAL = os.environ.get("CONVSCOPE_OFFICIAL")


def official(subdir, module, make, source):
    def build():
        sys.path.insert(0, os.path.join(OFFICIAL, subdir))
        try:
            return make(importlib.import_module(module))
        finally:
            sys.path.pop(0)

    return build, source


SHUFFLENET_V1 = "megvii-model/ShuffleNet-Series ShuffleNetV1/network.py @d8e4db1"
ADDERNET = "huawei-noah/AdderNet resnet50.py + adder.py @74b5485"
G_GHOST = "huawei-noah/Efficient-AI-Backbones g_ghost_pytorch/g_ghost_regnet.py @71a0ef7"
MICRONET = "liyunsheng13/micronet backbone/micronet.py + activation.py @44790b0, eval_micronet_m*.sh flags"
CONDENSENET = "ShichenLiu/CondenseNet models/condensenet_converted.py + layers.py @011b71d (converted form)"


def condensenet_74(groups):
    """CondenseNet-74 for ImageNet as the README trains it: stages 4-6-8-10-8, growth 8-16-32-64-128,
    bottleneck 4, group-1x1 = group-3x3 = condense factor = G."""

    def make(module):
        import types

        args = types.SimpleNamespace(stages=[4, 6, 8, 10, 8], growth=[8, 16, 32, 64, 128], bottleneck=4,
                                     group_1x1=groups, group_3x3=groups, condense_factor=groups, num_classes=1000)
        return module.CondenseNet(args)

    return make


def addernet_resnet18(resnet50_module):
    """ResNet-18 (torchvision's BasicBlock layout) under resnet50.py's rule: adder convs in the stages and
    their downsample, a multiplying stem, and the 1×1-conv + BN classifier."""
    nn = torch.nn
    conv3x3, conv1x1 = resnet50_module.conv3x3, resnet50_module.conv1x1

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = self.downsample(x) if self.downsample is not None else x
            return self.relu(out + identity)

    return resnet50_module.ResNet(BasicBlock, [2, 2, 2, 2])


def sqnxt_official(name):
    """pytorchcv's SqueezeNext with the official Caffe prototxt's choices (amirgholami/SqueezeNext @917399d):
    bias-free convolutions and classifier, an unpadded stem at 227². Parameters and MACs of every other
    module are pytorchcv's."""

    def make():
        model = pytorchcv_model(name, pretrained=False, in_size=(227, 227))
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                module.bias = None
        model.features.init_block.conv.conv.padding = (0, 0)
        # The prototxt alternates the separable pair: 3×1 then 1×3 in the 1st, 3rd, … block (pytorchcv
        # always puts 1×3 first). Same counts; the weights' shapes follow the official order.
        units = [u for n, u in model.named_modules() if type(u).__name__ == "SqnxtUnit"]
        for index, unit in enumerate(units):
            if index % 2 == 0:
                for conv, (kernel, pad) in ((unit.conv3.conv, ((3, 1), (1, 0))), (unit.conv4.conv, ((1, 3), (0, 1)))):
                    replacement = torch.nn.Conv2d(conv.in_channels, conv.out_channels, kernel, 1, pad, bias=False)
                    parent = unit.conv3 if conv is unit.conv3.conv else unit.conv4
                    parent.conv = replacement
        return model

    return make, (f"pytorchcv {pytorchcv.__version__ if pytorchcv else '?'} {name} without biases, stem unpadded, "
                  "separable pair alternating (official Caffe prototxt)")


IGCV1 = ("hellozting/InterleavedGroupConvolutions network/resnet_igc_imgnet_d18.py @757550f transcribed to PyTorch, "
         "channel plans of the released models/IGC-*_ImageNet/*-symbol.json")


def igcv1(stem, widths, primary):
    """The official MXNet `get_symbol` (get_conv / get_igc / get_fusion), module for module, MXNet's layer
    names as module names. MXNet is not installable here; the symbol files fix stem, widths and L."""
    nn = torch.nn

    class Igc(nn.Module):  # get_igc: conv1 (L groups), reorder, conv2 (out / L groups), reorder, bn
        def __init__(self, owner, p, cin, cout, stride, groups, relu):
            super().__init__()
            self.parts = [p + "_conv1", p + "_conv2", p + "_bn"]
            owner.add_module(p + "_conv1", nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False))
            owner.add_module(p + "_conv2", nn.Conv2d(cout, cout, 1, 1, 0, groups=cout // groups, bias=False))
            owner.add_module(p + "_bn", nn.BatchNorm2d(cout, eps=2e-5))
            self.owner, self.groups, self.relu = [owner], groups, relu

        def forward(self, x):
            conv1, conv2, bn = (getattr(self.owner[0], n) for n in self.parts)
            x = conv1(x)
            n, c, h, w = x.shape
            x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
            x = conv2(x)
            m = c // self.groups
            x = x.view(n, m, c // m, h, w).transpose(1, 2).reshape(n, c, h, w)
            x = bn(x)
            return torch.relu(x) if self.relu else x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.g0_conv = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
            self.g0_bn = nn.BatchNorm2d(stem, eps=2e-5)
            self.steps = []
            cin = stem
            for s, (cout, groups) in enumerate(zip(widths, primary)):
                for blk in range(2):
                    p = f"g{s + 1}_b{blk + 1}"
                    stride = 2 if blk == 0 and s > 0 else 1
                    proj = None
                    if cin != cout or stride != 1:
                        self.add_module(p + "_proj_conv", nn.Conv2d(cin, cout, 1, stride, 0, groups=groups, bias=False))
                        self.add_module(p + "_proj_bn", nn.BatchNorm2d(cout, eps=2e-5))
                        proj = p + "_proj"
                    a = Igc(self, p + "_conv1", cin, cout, stride, groups, True)
                    b = Igc(self, p + "_conv2", cout, cout, 1, groups, False)
                    self.steps.append((proj, a, b))
                    cin = cout
            self.fc_score = nn.Linear(cin, 1000)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.g0_bn(self.g0_conv(x))), 3, 2, 1)
            for proj, a, b in self.steps:
                short = x if proj is None else getattr(self, proj + "_bn")(getattr(self, proj + "_conv")(x))
                x = torch.relu(short + b(a(x)))
            return self.fc_score(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return Net, IGCV1


def channelnet_official():
    """pytorchcv's ChannelNet class as HongyangGao/ChannelNets model.py chains the blocks: its
    `channelnet()` concatenates block outputs in stages 1-3 ("cat"), the official code does not."""
    from pytorchcv.models.channelnet import ChannelNet

    channels = [[[32, 64]], [[128, 128]], [[256, 256]], [[512, 512], [512, 512]], [[1024, 1024]]]
    dws = "channet_dws_conv_block"
    blocks = [[["channet_conv3x3", dws]], [[dws, dws]], [[dws, dws]],
              [[dws, "simple_group_block"], ["conv_group_block", "conv_group_block"]], [[dws, dws]]]
    merges = [["seq"], ["seq"], ["seq"], ["add", "add"], ["seq"]]
    return ChannelNet(channels, blocks, merges)


def tv_efficientnet_scaled(width, depth):
    """torchvision's EfficientNet built from B0's stage table at any (width, depth) — compound scaling."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    def make():
        setting, last = _efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
        return EfficientNet(setting, 0.2, last_channel=last)

    return make, TV + f" EfficientNet(_efficientnet_conf('efficientnet_b0', width_mult={width}, depth_mult={depth}))"


def tm_mobilenet_v1(width):
    from timm.models.efficientnet import _gen_mobilenet_v1

    return lambda: _gen_mobilenet_v1("mobilenetv1_100", width), TIMM + " _gen_mobilenet_v1"


# reference file name (zoo id, then optionally @<width> and @g<groups>) -> (constructor, source, resolution)
MODELS = {
    "squeezenet1_0": (*tv("squeezenet1_0"), 224),
    "squeezenet1_1": (*tv("squeezenet1_1"), 224),
    "mobilenet_v2": (*tv("mobilenet_v2"), 224),
    "mobilenet_v3_large": (*tv("mobilenet_v3_large"), 224),
    "mobilenet_v3_small": (*tv("mobilenet_v3_small"), 224),
    "shufflenet_v2_x0_5": (*tv("shufflenet_v2_x0_5"), 224),
    "shufflenet_v2_x1_0": (*tv("shufflenet_v2_x1_0"), 224),
    "shufflenet_v2_x1_5": (*tv("shufflenet_v2_x1_5"), 224),
    "shufflenet_v2_x2_0": (*tv("shufflenet_v2_x2_0"), 224),
    "resnet18": (*tv("resnet18"), 224),
    "resnet50": (*tv("resnet50"), 224),
    "vgg16": (*tv("vgg16"), 224),
    "googlenet": (*tv("googlenet", aux_logits=False, init_weights=False), 224),
    "inception_v3": (*tv("inception_v3", aux_logits=False, init_weights=False), 299),
    "efficientnet_b0": (*tv("efficientnet_b0"), 224),
    "efficientnet_b1": (*tv("efficientnet_b1"), 240),
    "efficientnet_b2": (*tv("efficientnet_b2"), 260),
    "efficientnet_b3": (*tv("efficientnet_b3"), 300),
    "efficientnet_b4": (*tv("efficientnet_b4"), 380),
    "efficientnet_b5": (*tv("efficientnet_b5"), 456),
    "efficientnet_b6": (*tv("efficientnet_b6"), 528),
    "efficientnet_b7": (*tv("efficientnet_b7"), 600),
    "mobilenet_v1": (*tm("mobilenetv1_100"), 224),
    "efficientnet_lite0": (*tm("efficientnet_lite0"), 224),
    "efficientnet_lite1": (*tm("efficientnet_lite1"), 240),
    "efficientnet_lite2": (*tm("efficientnet_lite2"), 260),
    "efficientnet_v2_s": (*tv("efficientnet_v2_s"), 384),
    "xception": (*tm("legacy_xception"), 299),
    "ghostnet_050": (*tm("ghostnet_050"), 224),
    "ghostnet_100": (*tm("ghostnet_100"), 224),
    "ghostnet_130": (*tm("ghostnet_130"), 224),
    # Width and resolution variants.
    # Compound scaling φ = 1 and φ = 2 (Tan & Le 2019, Eq. 3): width 1.1^φ, depth 1.2^φ, 224 · 1.15^φ.
    "efficientnet_b0@1.1@d1.2": (*tv_efficientnet_scaled(1.1, 1.2), 258),
    "efficientnet_b0@1.21@d1.44": (*tv_efficientnet_scaled(1.21, 1.44), 296),
    "mobilenet_v1@0.75": (*tm_mobilenet_v1(0.75), 224),
    "mobilenet_v1@0.5": (*tm_mobilenet_v1(0.5), 160),
    "mobilenet_v1@0.25": (*tm_mobilenet_v1(0.25), 128),
    "mobilenet_v2@1.4": (*tv("mobilenet_v2", width_mult=1.4), 224),
    "mobilenet_v2@0.35": (*tv("mobilenet_v2", width_mult=0.35), 192),
    "mobilenet_v3_large@0.75": (*tv("mobilenet_v3_large", width_mult=0.75), 224),
    "mobilenet_v3_small@0.5": (*tv("mobilenet_v3_small", width_mult=0.5), 160),
}
MODELS["igcv1_l4m32"] = (*igcv1(128, [128, 256, 512, 1024], [4] * 4), 224)
MODELS["igcv1_l16m16"] = (*igcv1(256, [256, 512, 1024, 2048], [16] * 4), 224)
MODELS["igcv1_l100m2"] = (*igcv1(100, [200, 400, 800, 1600], [100, 200, 400, 800]), 224)
if pytorchcv:
    MODELS["channelnet_v1"] = (
        channelnet_official,
        f"pytorchcv {pytorchcv.__version__} ChannelNet class, official model.py sequence (merge 'seq' in stages 1-3)",
        224,
    )
    for depth in ("23", "23v5"):
        for width, suffix in ((1.0, "w1"), (1.5, "w3d2"), (2.0, "w2")):
            key = f"squeezenext_{depth}" + ("" if width == 1.0 else f"@{width}")
            MODELS[key] = (*sqnxt_official(f"sqnxt{depth}_{suffix}"), 227)
if OFFICIAL:
    for g in (3, 8):
        for size in ("0.5x", "1.0x", "1.5x", "2.0x"):
            width = size[:-1]
            make = lambda m, g=g, size=size: m.ShuffleNetV1(model_size=size, group=g)  # noqa: E731
            key = "shufflenet_v1" + ("" if width == "1.0" else f"@{float(width)}") + f"@g{g}"
            MODELS[key] = (*official("shufflenetv1", "network", make, SHUFFLENET_V1), 224)
    MODELS["condensenet_74_c4"] = (*official("condensenet", "condensenet_converted", condensenet_74(4), CONDENSENET), 224)
    MODELS["condensenet_74_c8"] = (*official("condensenet", "condensenet_converted", condensenet_74(8), CONDENSENET), 224)
    for name in ("032", "040", "080", "160"):
        make = lambda m, name=name: getattr(m, f"g_ghost_regnetx_{name}")()  # noqa: E731
        MODELS[f"g_ghost_regnetx_{name}"] = (*official("g_ghost", "g_ghost_regnet", make, G_GHOST), 224)
    for m in ("m0", "m1", "m2", "m3"):
        make = lambda mod, m=m: mod.MicroNet(m)  # noqa: E731
        MODELS[f"micronet_{m}"] = (*official("micronet", "backbone.micronet", make, MICRONET), 224)
    MODELS["addernet_resnet50"] = (*official("addernet", "resnet50", lambda m: m.resnet50(), ADDERNET), 224)
    MODELS["addernet_resnet18"] = (
        *official("addernet", "resnet50", addernet_resnet18, ADDERNET + ", its rule applied to ResNet-18"),
        224,
    )


def count(model_id):
    make, source, resolution = MODELS[model_id]
    torch.manual_seed(0)
    model = make().eval()
    macs = {}

    def hook(module, inputs, output):
        name = names[module]
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            n = output.numel() // output.shape[0] * (module.in_channels // module.groups) * k
        elif isinstance(module, torch.nn.Conv3d):  # ChannelNet's channel-wise convolution
            k = module.kernel_size[0] * module.kernel_size[1] * module.kernel_size[2]
            n = output.numel() // output.shape[0] * (module.in_channels // module.groups) * k
        elif type(module).__name__ == "adder2d":  # AdderNet: one |x − w| accumulation per MAC
            n = output.numel() // output.shape[0] * module.input_channel * module.kernel_size**2
        else:  # Linear
            n = output.numel() // output.shape[0] * module.in_features
        macs[name] = macs.get(name, 0) + n

    names = {m: n for n, m in model.named_modules()}
    for module in names:
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)) or type(module).__name__ == "adder2d":
            module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))

    modules = []
    bn_params = 0
    for name, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own == 0 and name not in macs:
            continue
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            bn_params += own
        modules.append([name, type(module).__name__, own, macs.get(name, 0)])
    zoo_id, *variant = model_id.split("@")
    width = next((float(v) for v in variant if v[0].isdigit()), None)
    groups = next((int(v[1:]) for v in variant if v.startswith("g")), None)
    depth = next((float(v[1:]) for v in variant if v.startswith("d")), None)
    return {
        "id": zoo_id,
        "width": width,
        "groups": groups,
        **({"depth": depth} if depth is not None else {}),
        "source": source,
        "script": "tools/reference_counts.py",
        "resolution": resolution,
        "params": sum(p.numel() for p in model.parameters()),
        "bn_params": bn_params,
        "macs": sum(macs.values()),
        "modules": modules,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for model_id in sys.argv[1:] or MODELS:
        result = count(model_id)
        path = OUT / f"{model_id}.json"
        rows = ",\n    ".join(json.dumps(row) for row in result.pop("modules"))
        head = json.dumps(result, indent=2)[:-2]
        path.write_text(f'{head},\n  "modules": [\n    {rows}\n  ]\n}}\n')
        print(f"{model_id}: params {result['params']:,}  macs {result['macs']:,}  -> {path.name}")


if __name__ == "__main__":
    main()
