#!/usr/bin/env python3
"""Write crates/cli/tests/fixtures (not run in CI): two randomly initialized checkpoints as PyTorch and
timm save them, an input, and PyTorch's logits on it.

    /tmp/torch-venv/bin/python tools/cli_fixtures.py

- squeezenet1_1_f16.pt: torchvision 0.29.2 squeezenet1_1(), torch.manual_seed(0), float16, torch.save (zip).
- mobilenet_v1_025_f16.safetensors: timm 1.0.31 mobilenetv1_100 at width 0.25 (_gen_mobilenet_v1), float16,
  timm's safetensors writer (safetensors.torch.save_file).
- input_48.npy: a seeded 1×3×48×48 float32 input.
- expected.json: each model's logits on that input in float32 with the float16-rounded weights.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_counts as rc  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "crates" / "cli" / "tests" / "fixtures"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    x = torch.from_numpy(np.random.default_rng(7).uniform(-1, 1, (1, 3, 48, 48)).astype(np.float32))
    np.save(OUT / "input_48.npy", x.numpy())
    expected = {}

    torch.manual_seed(0)
    sq = torchvision.models.squeezenet1_1(weights=None).eval()
    torch.save({k: v.half() for k, v in sq.state_dict().items()}, OUT / "squeezenet1_1_f16.pt")
    sq.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in sq.state_dict().items()})
    with torch.no_grad():
        expected["squeezenet1_1"] = [float(v) for v in sq(x)[0]]

    torch.manual_seed(0)
    mb = rc.tm_mobilenet_v1(0.25)[0]().eval()
    state = {k: v.half() if v.is_floating_point() else v for k, v in mb.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, OUT / "mobilenet_v1_025_f16.safetensors")
    mb.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    with torch.no_grad():
        expected["mobilenet_v1@0.25"] = [float(v) for v in mb(x)[0]]

    (OUT / "expected.json").write_text(json.dumps({"source": f"torch {torch.__version__}", "logits": expected}) + "\n")
    for f in sorted(OUT.iterdir()):
        print(f.name, f.stat().st_size)


if __name__ == "__main__":
    main()
