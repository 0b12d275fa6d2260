#!/usr/bin/env python3
"""Per-layer times of convscope's CPU engine beside onnxruntime's own profile, same model, one thread.

Not run in CI. Same venv and set-up as tools/bench_peers.py (whose ONNX export it reuses); run from the
repository root after `cargo build --release -p convscope-cli`:

    /work/venv/torch/bin/python tools/layer_peers.py [efficientnet_lite0|mobilenet_v2] [threads]

onnxruntime (1 thread unless told, profiling on) runs the model 200 times; its per-node durations are matched to
convscope's layers by name (the exporter names a node `/blocks/blocks.1/blocks.1.0/conv_pw/Conv`, the zoo
names the layer `blocks.1.0.conv_pw`; torchvision's MobileNetV2 names differ, so there matching is by the
order of the convolutions). Prints both per-layer means in microseconds and the difference, largest
first: where the remaining time is.
"""

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
from bench_peers import export  # noqa: E402

RUNS = 200


def ort_layers(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path("target/bench-peers") / "ort-profile")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    for _ in range(RUNS):
        session.run(None, {"input": x})
    events = json.loads(Path(session.end_profiling()).read_text())
    total, order = defaultdict(float), []
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        name = e["name"][: -len("_kernel_time")]
        if name not in total:
            order.append((name, e["args"].get("op_name", "")))
        total[name] += e["dur"]
    return [(name, op, total[name] / RUNS) for name, op in order]


def convscope_layers(name, threads):
    out = subprocess.run(
        ["target/release/convscope", "bench", name, "--threads", str(threads), "--iters", str(RUNS), "--layers", "1000"],
        capture_output=True, text=True, check=True).stdout
    layers = {}
    for line in out.splitlines():
        m = re.match(r"\s+([0-9.]+) ms\s+[0-9.]+ GMAC/s\s+(\S+)\s+(.*)", line)
        if m:
            layers[m.group(2)] = (float(m.group(1)) * 1e3, m.group(3).strip())
    return out.splitlines()[0], layers


def key(onnx_name, ours):
    """The zoo layer an onnxruntime node computes, or None.

    timm names a node after the module whose output it is, and with the BN folded and the activation
    fused that is the BN or its activation: `/blocks/blocks.1/blocks.1.0/bn2/act/Clip_output_0_nchwc` is
    `blocks.1.0.conv_dw`. In timm's blocks `bn1` follows the first conv, `bn2` the second, `bn3` the third.
    """
    parts = [p for p in onnx_name.split("/") if p]
    dotted = [i for i, p in enumerate(parts) if "." in p and not p.startswith(("Conv", "Clip", "Gemm"))]
    parent = parts[dotted[-1]] if dotted else ""
    module = parts[dotted[-1] + 1] if dotted else parts[0]
    prefix = parent + "." if parent else ""
    if module.startswith("conv") or module == "classifier":
        return prefix + module
    m = re.fullmatch(r"bn(\d)", module)
    if not m:
        return None
    if not parent:
        order = ["conv_stem", "conv_head"]
    elif prefix + "conv_pwl" in ours:
        order = ["conv_pw", "conv_dw", "conv_pwl"]
    else:
        order = ["conv_dw", "conv_pw"]
    i = int(m.group(1)) - 1
    return prefix + order[i] if i < len(order) else None


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "efficientnet_lite0"
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    Path("target/bench-peers").mkdir(parents=True, exist_ok=True)
    path = export(name)
    ort_rows = ort_layers(path, threads)
    head, ours = convscope_layers(name, threads)
    print(head)
    ort_total = sum(d for _, _, d in ort_rows)
    print(f"onnxruntime {ort.__version__}: sum of node times {ort_total / 1e3:.3f} ms; "
          f"convscope: sum of layer times {sum(t for t, _ in ours.values()) / 1e3:.3f} ms\n")
    convs = [n for n, (_, what) in ours.items() if what.startswith("conv") or what.startswith("linear")]
    ort_convs = [(n, op, d) for n, op, d in ort_rows if op in ("Conv", "FusedConv", "Gemm", "NchwcConv")]
    rows = []
    by_name = {key(n, ours): (n, op, d) for n, op, d in ort_convs}
    for layer in convs:
        match = by_name.get(layer)
        if match:
            rows.append((layer, ours[layer][1], ours[layer][0], match[1], match[2]))
    rows.sort(key=lambda r: r[2] - r[4], reverse=True)
    print(f"{'layer':40} {'convscope':>10} {'ort':>8} {'Δ µs':>7}  what (ours / ort)")
    for layer, what, us, op, d in rows:
        print(f"{layer:40} {us:10.1f} {d:8.1f} {us - d:7.1f}  {what} / {op}")
    print(f"\nmatched: {sum(r[2] for r in rows):.0f} µs ours, {sum(r[4] for r in rows):.0f} µs onnxruntime "
          f"({len(rows)} of {len(convs)} conv/linear layers)")
    others = [(n, op, d) for n, op, d in ort_rows if op not in ("Conv", "FusedConv", "Gemm", "NchwcConv")]
    others.sort(key=lambda r: -r[2])
    print("onnxruntime's other nodes: " + ", ".join(f"{op} {d:.0f} µs" for _, op, d in others[:12]))


if __name__ == "__main__":
    main()
