#!/usr/bin/env python3
"""Write crates/cli/tests/fixtures/similarity.json (not run in CI): PyTorch's channel cosine-similarity
matrix of one layer of the CLI fixtures' timm MobileNet V1 (width 0.25, the float16 safetensors
checkpoint) on input_48.npy, for `convscope similarity` to be checked against.

    /work/venv/torch/bin/python tools/insight_fixtures.py   # any venv with torch, timm, safetensors

The layer is timm's `blocks.1.0.bn2` (BatchNormAct2d: BN then ReLU), whose output the zoo names
`blocks.1.0.bn2.act`. Cosine of channels a, b: <x_a, x_b> / (|x_a| |x_b|) over the 12×12 map, in float64;
0 where a channel is all zero, 1 on the diagonal (by definition, as convscope states it).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_counts as rc  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "crates" / "cli" / "tests" / "fixtures"


def main():
    model = rc.tm_mobilenet_v1(0.25)[0]().eval()
    state = load_file(FIXTURES / "mobilenet_v1_025_f16.safetensors")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    x = torch.from_numpy(np.load(FIXTURES / "input_48.npy"))
    captured = {}
    model.get_submodule("blocks.1.0.bn2").register_forward_hook(lambda m, i, o: captured.update(map=o))
    with torch.no_grad():
        model(x)
    maps = captured["map"][0].double().flatten(1)
    norms = maps.norm(dim=1)
    unit = maps / torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]
    matrix = unit @ unit.T
    matrix.fill_diagonal_(1.0)
    out = {
        "source": f"torch {torch.__version__}, timm _gen_mobilenet_v1 width 0.25, mobilenet_v1_025_f16.safetensors, input_48.npy",
        "layer": "blocks.1.0.bn2.act",
        "shape": list(captured["map"].shape[1:]),
        "matrix": [[round(float(v), 7) for v in row] for row in matrix],
    }
    (FIXTURES / "similarity.json").write_text(json.dumps(out) + "\n")
    print(out["shape"], (FIXTURES / "similarity.json").stat().st_size)


if __name__ == "__main__":
    main()
