#!/usr/bin/python3
"""Checks `vkbench run` for the Vocos ops against PyTorch (docs/design.md §12): writes random
inputs, runs vkbench (path in $VKBENCH, default ./vkbench) on each, and compares with
torch.nn.functional in float64. Run from the repository root after `go build ./cmd/vkbench`.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_vocos import write  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        vals = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
        out[k] = torch.tensor(vals, dtype=torch.float64).reshape(v["shape"])
    return out


torch.manual_seed(1)
vk = os.environ.get("VKBENCH", "./vkbench")
cases = []
x = torch.randn(2, 100, 37)
w = torch.randn(40, 100, 7) * 0.1
b = torch.randn(40)
cases.append(("conv1d", {"x": x, "weight": w, "bias": b}, ["-p", "padding=3"], F.conv1d(x.double(), w.double(), b.double(), padding=3)))
x = torch.randn(2, 64, 300)
w = torch.randn(64, 1, 7)
b = torch.randn(64)
cases.append(("depthwise_conv1d", {"x": x, "weight": w, "bias": b}, ["-p", "padding=3"], F.conv1d(x.double(), w.double(), b.double(), padding=3, groups=64)))
x = torch.randn(3, 50, 512) + 2
w, b = torch.randn(512), torch.randn(512)
cases.append(("layer_norm", {"x": x, "weight": w, "bias": b}, ["-p", "eps=1e-6"], F.layer_norm(x.double(), (512,), w.double(), b.double(), 1e-6)))
x = torch.randn(1000) * 4
cases.append(("eltwise", {"x": x}, ["-p", "fn=gelu"], F.gelu(x.double())))
bad = 0
with tempfile.TemporaryDirectory() as d:
    for op, ins, params, want in cases:
        i, o = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
        write(i, ins)
        subprocess.run([vk, "run", op, "-in", i, "-out", o] + params, check=True)
        got = read(o)["out"]
        err = ((got - want).norm() / want.norm()).item()
        ok = err <= 1e-5
        bad += not ok
        print("%-17s rel err %.3g %s" % (op, err, "pass" if ok else "FAIL"))
sys.exit(1 if bad else 0)
