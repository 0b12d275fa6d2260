#!/usr/bin/env python3
"""convscope's CPU engine against onnxruntime and tract, same models, same machine, same run.

Not run in CI. Needs the tools venv plus `pip install onnxruntime onnx onnxscript` and `cargo install
tract-cli`; run from the repository root after `cargo build --release -p convscope-cli`:

    /work/venv/torch/bin/python tools/bench_peers.py   # or any venv with torch, timm, onnxruntime
    /work/venv/torch/bin/python tools/bench_peers.py --export   # only the ONNX files (tools/bench_web)
    /work/venv/torch/bin/python tools/bench_peers.py --no-avx512   # as on an AVX2-only CPU (below)

For EfficientNet-Lite0 (timm tf_efficientnet_lite0, the zoo's structure; with the default pretrained
weights where set-up has converted them, as `convscope bench` then uses them too) and MobileNetV2
(torchvision, random weights on both sides) at 224², batch 1: exports ONNX (opset 17), times onnxruntime with 1 thread and with all cores, tract
(`tract <model.onnx> -O bench --allow-random-input`), and `convscope bench` with `--threads 1` and without.
The one-thread timings of convscope and onnxruntime alternate over five rounds (medians of 50 runs
each). Prints a Markdown table of median milliseconds and the ratios (onnxruntime's time over ours:
above 1 we are faster; in brackets the range of the per-round ratios). tract's column is left out when
`tract` is not on the PATH.

`--no-avx512` measures the code paths of an AVX2-only CPU (most laptops) on a machine with AVX-512: the
script runs itself again with `tools/no_avx512.c` preloaded (built with gcc into target/no_avx512.so),
which hides AVX-512, AVX-VNNI and AMX from CPUID in this process and every program it starts, so
onnxruntime's MLAS and convscope both pick their AVX2 kernels. Needs Linux's CPUID faulting (`cpuid_fault`
in /proc/cpuinfo). The processor is still the one it is (caches, clocks); a real AVX2 machine remains the
final word.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

MASK = Path("target/no_avx512.so")  # where `cargo xtask test` builds it too
if "--no-avx512" in sys.argv[1:] and os.environ.get("LD_PRELOAD") != str(MASK.resolve()):
    # Before onnxruntime is imported: restart under the preloaded CPUID mask.
    MASK.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(MASK), "tools/no_avx512.c"], check=True)
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "LD_PRELOAD": str(MASK.resolve())})

import numpy as np
import onnxruntime as ort
import timm
import torch
import torchvision

OUT = Path("target/bench-peers")
# The default pretrained Lite0 weights that set-up converts (timm names). When they are there `convscope
# bench` runs with them, so onnxruntime and tract get the same ones: trained weights ran ~2% slower than
# seeded ones in convscope, so comparing trained against random would not be like for like.
LITE0_WEIGHTS = Path("assets/weights/efficientnet_lite0.safetensors")


def lite0():
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, exportable=True)
    if LITE0_WEIGHTS.exists():
        from safetensors.torch import load_file

        model.load_state_dict({k: v.float() for k, v in load_file(LITE0_WEIGHTS).items()}, strict=True)
    return model


MODELS = {
    "efficientnet_lite0": lite0,
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
}
ITERS = 50
ROUNDS = 5


def export(name):
    trained = name == "efficientnet_lite0" and LITE0_WEIGHTS.exists()
    path = OUT / f"{name}{'-trained' if trained else ''}.onnx"
    if not path.exists():
        model = MODELS[name]().eval()
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, opset_version=17, dynamo=False,
                          input_names=["input"], output_names=["logits"])
        # Fix the output's shape (the exporter leaves symbolic dims that tract cannot unify with batch 1).
        import onnx

        proto = onnx.load(path)
        for dim, value in zip(proto.graph.output[0].type.tensor_type.shape.dim, (1, 1000)):
            dim.ClearField("dim_param")
            dim.dim_value = value
        onnx.save(proto, path)
    return path


def ort_session(path, threads):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_ms(session):
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    for _ in range(3):
        session.run(None, {"input": x})
    times = []
    for _ in range(ITERS):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def tract_ms(path):
    out = subprocess.run(["tract", str(path), "-O", "bench", "--allow-random-input"],
                         capture_output=True, text=True, check=True).stdout + ""
    match = re.search(r"([0-9.]+)\s*ms/i", out) or re.search(r"Bench ran .* ([0-9.]+)\s*ms", out)
    if not match:
        raise RuntimeError(f"cannot read tract's output: {out[-500:]}")
    return float(match.group(1))


def convscope_ms(name, threads):
    args = ["target/release/convscope", "bench", name, "--iters", str(ITERS)]
    if threads:
        args += ["--threads", str(threads)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def cpu():
    """The processor's name and its vector extensions as this process sees them (CPUID, after any mask)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = re.search(r"model name\s*:\s*(.*)", info)
    # /proc/cpuinfo lists the hardware's flags; what programs see here is CPUID, masked or not.
    seen = "AVX-512 hidden (tools/no_avx512.c)" if os.environ.get("LD_PRELOAD", "").endswith("no_avx512.so") else \
        " ".join(f for f in ("avx2", "fma", "avx512f") if re.search(rf"\b{f}\b", info))
    return f"{name.group(1) if name else 'unknown CPU'}, {os.cpu_count()} cores, {seen}"


def main():
    args = [a for a in sys.argv[1:] if a != "--no-avx512"]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    unknown = [a for a in args if a not in MODELS and a != "--export"]
    if unknown:
        sys.exit(f"bench_peers: unknown model or option {' '.join(unknown)} (models: {', '.join(MODELS)}; "
                 "options: --export, --no-avx512, --help)")
    OUT.mkdir(parents=True, exist_ok=True)
    if args[:1] == ["--export"]:
        # Only the ONNX files, for tools/bench_web (onnxruntime-web in the browser).
        for name in args[1:] or MODELS:
            print(export(name))
        return
    print(f"onnxruntime {ort.__version__}, torch {torch.__version__}; {cpu()}\n")
    print("| model | convscope 1 thread | onnxruntime 1 thread | ratio | tract | ratio | convscope all cores | onnxruntime all cores |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args or MODELS:
        path = export(name)
        one, every = ort_session(path, 1), ort_session(path, 0)
        # One-thread timings interleaved round by round, so the VM's drift hits both sides alike; the
        # table gives the medians over the rounds and the range of the per-round ratios.
        rounds = [(convscope_ms(name, 1), ort_ms(one)) for _ in range(ROUNDS)]
        ours1 = statistics.median(r[0] for r in rounds)
        ort1 = statistics.median(r[1] for r in rounds)
        ratios = sorted(o / c for c, o in rounds)
        ours, ort_all = convscope_ms(name, 0), ort_ms(every)
        tr = f"{(t := tract_ms(path)):.1f} ms | {t / ours1:.2f}×" if shutil.which("tract") else "– | –"
        print(f"| {name} | {ours1:.2f} ms | {ort1:.2f} ms | {ort1 / ours1:.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}) "
              f"| {tr} | {ours:.1f} ms | {ort_all:.1f} ms |")


if __name__ == "__main__":
    main()
