#!/usr/bin/env python3
"""Write the small checkpoint fixtures of crates/weights/tests (not run in CI).

    /tmp/torch-venv/bin/python tools/weights_fixtures.py

Uses torch 2.15.0 and safetensors (timm's dependency). Every file is a few KB: float32, float16, bfloat16
and int64 tensors, a transposed (non-contiguous) view, two views sharing one storage, a nested
{"state_dict": ...} with DataParallel's "module." prefix, and one hostile pickle that names os.system
(written with pickle directly, never loaded). expected.json lists every tensor's shape and values.
"""

import json
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "crates" / "weights" / "tests" / "fixtures"


def tensors():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 4, generator=g)
    shared = torch.arange(12, dtype=torch.float32)
    return OrderedDict(
        [
            ("conv.weight", torch.randn(2, 3, 3, 3, generator=g)),
            ("conv.bias", torch.randn(2, generator=g)),
            ("half", torch.randn(5, generator=g).half()),
            ("bf16", torch.randn(3, 2, generator=g).bfloat16()),
            ("bn.num_batches_tracked", torch.tensor(7, dtype=torch.int64)),
            ("index", torch.tensor([3, 0, 2, 2, 1], dtype=torch.int64)),
            ("transposed", base.t()),  # stride (1, 4): not contiguous
            ("view_a", shared[2:6]),  # offset 2 into a shared storage
            ("view_b", shared.view(3, 4)[1]),
        ]
    )


def values(t):
    return t.float().flatten().tolist() if t.is_floating_point() else t.flatten().tolist()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sd = tensors()
    torch.save(sd, OUT / "tiny_zip.pt")
    torch.save(sd, OUT / "tiny_legacy.pth", _use_new_zipfile_serialization=False)
    nested = {"epoch": 3, "state_dict": OrderedDict(("module." + k, v) for k, v in sd.items())}
    torch.save(nested, OUT / "nested_module.pt")
    save_file({k: v.contiguous().clone() for k, v in sd.items()}, OUT / "tiny.safetensors")

    class Hostile:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    # A zip checkpoint whose data.pkl calls os.system: written, never loaded.
    with zipfile.ZipFile(OUT / "hostile.pt", "w") as z:
        z.writestr("hostile/data.pkl", pickle.dumps({"x": Hostile()}, protocol=2))
        z.writestr("hostile/version", "3\n")

    expected = {k: {"shape": list(v.shape), "values": values(v)} for k, v in sd.items()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
