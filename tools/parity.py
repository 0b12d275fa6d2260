#!/usr/bin/env python3
"""Write the CPU engine's parity fixtures: PyTorch outputs of zoo models on convscope's seeded weights.

Not run in CI. In the throw-away venv of tools/reference_counts.py (torch 2.15.0, torchvision 0.29.2,
timm 1.0.31, pytorchcv 0.0.74):

    /tmp/torch-venv/bin/python tools/parity.py [zoo_id ...]

No weights are stored: every tensor is drawn from (seed, state-dict key, element index) by the generator
of crates/weights/src/synthetic.rs, re-implemented here with numpy, bit for bit. So a fixture is small:
the input's seed and size, the state-dict keys and shapes (the graph must ask for exactly these), the
logits, and a strided sample of a few blocks' outputs. crates/cpu/tests/parity.rs rebuilds the same
weights in Rust, runs the engine and compares.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import timm
import torch
import torchvision

OUT = Path(__file__).resolve().parent.parent / "crates" / "cpu" / "tests" / "parity"
SEED = 2024
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def fnv1a64(data: bytes) -> np.uint64:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(h)


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def draws(key: str, numel: int):
    base = fnv1a64(key.encode()) ^ np.uint64(SEED)
    with np.errstate(over="ignore"):
        i = np.arange(numel, dtype=np.uint64)
        return splitmix64(base + i * GOLDEN)


def unit(z):
    return 2.0 * (z >> np.uint64(11)).astype(np.float64) * (1.0 / float(1 << 53)) - 1.0


def synthetic(key, shape, role, of=None):
    numel = int(np.prod(shape)) if len(shape) else 1
    z = draws(key, numel)
    if role == "index":
        return torch.from_numpy((z % np.uint64(of)).astype(np.int64).reshape(shape))
    u = unit(z)
    if role == "weight":
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        v = u * math.sqrt(6.0 / max(fan_in, 1))
    elif role in ("bias", "bn_bias", "bn_mean"):
        v = 0.1 * u
    elif role == "bn_weight":
        v = 1.0 + 0.1 * u
    elif role == "bn_var":
        v = 1.5 + 0.5 * u
    else:
        raise ValueError(role)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def fill(model):
    """Replace every parameter and BN buffer by convscope's seeded values; returns the keys and shapes."""
    keys = []
    state = model.state_dict()
    modules = dict(model.named_modules())
    new = {}
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        owner, _, leaf = key.rpartition(".")
        module = modules.get(owner)
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            role = {"weight": "bn_weight", "bias": "bn_bias", "running_mean": "bn_mean", "running_var": "bn_var"}[leaf]
        elif leaf in ("bias", "b"):
            role = "bias"
        elif leaf in ("weight", "adder"):
            role = "weight"
        elif leaf == "index":  # CondenseNet's index layers select from the layer's (or classifier's) input
            of = getattr(module, "in_channels", None) or model.num_features
            new[key] = synthetic(key, list(tensor.shape), "index", of)
            keys.append([key, list(tensor.shape)])
            continue
        else:
            raise ValueError(f"no role for {key} ({type(module).__name__})")
        new[key] = synthetic(key, list(tensor.shape), role)
        keys.append([key, list(tensor.shape)])
    model.load_state_dict(new, strict=False)
    return keys


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


def tm(name, **kw):
    return lambda: timm.create_model(name, pretrained=False, **kw)


# zoo id -> (builder, resolution, block names whose outputs are sampled)
MODELS = {
    "mobilenet_v2": (tv("mobilenet_v2"), 96, ["features.3", "features.10", "features.18"]),
    "mobilenet_v3_small": (tv("mobilenet_v3_small"), 96, ["features.2", "features.9", "features.12"]),
    "shufflenet_v2_x1_0": (tv("shufflenet_v2_x1_0"), 96, ["stage2", "stage4", "conv5"]),
    "squeezenet1_1": (tv("squeezenet1_1"), 96, ["features.4", "features.12"]),
    "ghostnet_100": (tm("ghostnet_100"), 96, ["blocks.2", "blocks.6", "blocks.9"]),
    "efficientnet_lite0": (tm("tf_efficientnet_lite0"), 96, ["blocks.1", "blocks.4", "blocks.6"]),
    "efficientnet_b0": (tv("efficientnet_b0"), 64, ["features.2", "features.6"]),
    "efficientnet_v2_s": (tv("efficientnet_v2_s"), 64, ["features.2", "features.6"]),
    "mobilenet_v3_large": (tv("mobilenet_v3_large"), 64, ["features.4", "features.15"]),
    "inception_v3": (tv("inception_v3", aux_logits=False, init_weights=False), 107, ["Mixed_5b", "Mixed_6e"]),
    "googlenet": (tv("googlenet", aux_logits=False, init_weights=False), 64, ["inception3a", "inception5b"]),
    "resnet18": (tv("resnet18"), 64, ["layer2", "layer4"]),
    "xception": (tm("legacy_xception"), 71, ["block1", "block12"]),
}


sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_counts as rc  # noqa: E402  (its builders of the official and pytorchcv models)


def adaptive_pool(make, path):
    """The reference with its fixed 7×7 final average pool made global, so it runs at a reduced size."""

    def build():
        model = make()
        parent, _, leaf = path.rpartition(".")
        setattr(model.get_submodule(parent), leaf, torch.nn.AdaptiveAvgPool2d(1))
        return model

    return build


if rc.pytorchcv:
    MODELS["squeezenext_23"] = (adaptive_pool(rc.MODELS["squeezenext_23"][0], "features.final_pool"), 99,
                                ["features.stage2", "features.stage4"])
    MODELS["channelnet_v1"] = (adaptive_pool(rc.channelnet_official, "features.final_pool"), 64,
                               ["features.stage3.unit1", "features.stage4.unit2"])
MODELS["igcv1_l100m2"] = (rc.MODELS["igcv1_l100m2"][0], 64, ["g1_b1_conv1_bn", "g4_b2_conv2_bn"])
if rc.OFFICIAL:
    MODELS["shufflenet_v1"] = (adaptive_pool(rc.MODELS["shufflenet_v1@g3"][0], "globalpool"), 64, ["features.3", "features.15"])
    MODELS["micronet_m0"] = (rc.MODELS["micronet_m0"][0], 64, ["features.2", "features.6"])
    MODELS["condensenet_74_c4"] = (rc.MODELS["condensenet_74_c4"][0], 224, ["features.denseblock_2", "features.denseblock_5"])
    MODELS["addernet_resnet18"] = (rc.MODELS["addernet_resnet18"][0], 64, ["layer2", "layer4"])
    MODELS["g_ghost_regnetx_032"] = (rc.MODELS["g_ghost_regnetx_032"][0], 64, ["layer1", "layer3"])


def sample(t: torch.Tensor, count=64):
    flat = t.detach().flatten()
    step = max(1, flat.numel() // count)
    idx = list(range(0, flat.numel(), step))[:count]
    return {"shape": list(t.shape[1:]), "indices": idx, "values": [float(flat[i]) for i in idx],
            "max_abs": float(flat.abs().max())}


def run(model_id):
    make, resolution, blocks = MODELS[model_id]
    torch.manual_seed(0)
    model = make().eval()
    keys = fill(model)
    x = torch.from_numpy(unit(draws("input", 3 * resolution * resolution)).astype(np.float32)).view(1, 3, resolution, resolution)
    captured = {}
    modules = dict(model.named_modules())
    for name in blocks:
        modules[name].register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o))
    with torch.no_grad():
        logits = model(x)
    return {
        "id": model_id,
        "source": f"torch {torch.__version__.split('+')[0]}, torchvision {torchvision.__version__.split('+')[0]}, timm {timm.__version__}",
        "script": "tools/parity.py",
        "seed": SEED,
        "resolution": resolution,
        "keys": keys,
        "logits": [float(v) for v in logits[0]],
        "blocks": {name: sample(captured[name]) for name in blocks},
    }


def ops():
    """Ops no zoo model with a PyTorch reference uses: AlexNet's local response normalization."""
    out = {}
    for size, alpha, beta, k in [(5, 1e-4, 0.75, 2.0), (5, 1e-4, 0.75, 1.0), (4, 2e-3, 0.5, 1.5)]:
        x = torch.from_numpy((3.0 * unit(draws("lrn", 8 * 5 * 6))).astype(np.float32)).view(1, 8, 5, 6)
        y = torch.nn.LocalResponseNorm(size, alpha, beta, k)(x)
        out[f"lrn_{size}_{alpha}_{beta}_{k}"] = {"size": size, "alpha": alpha, "beta": beta, "k": k,
                                                 "input_scale": 3.0, "shape": [8, 5, 6],
                                                 "output": [float(v) for v in y.flatten()]}
    path = OUT.parent / "ops.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"ops -> {path.name}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:] == ["ops"]:
        return ops()
    for model_id in sys.argv[1:] or MODELS:
        result = run(model_id)
        path = OUT / f"{model_id}.json"
        path.write_text(json.dumps(result, separators=(",", ":")) + "\n")
        print(f"{model_id}: {len(result['keys'])} tensors, max|logit| {max(map(abs, result['logits'])):.3g} -> {path.name} "
              f"({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
