#!/usr/bin/python3
"""Side-by-side speed of Vocos vocos-mel-24khz (random weights, padding "same", 24 kHz): the
PyTorch forward on the CPU (float32, torch.set_num_threads(2)) and vkseq's (go test -bench
BenchmarkVocosMel24kHz ./models, on the default Vulkan device), alternated in one run so both see
the same machine load. Run from the repository root: /usr/bin/python3 testdata/vocos/bench_torch.py

Prints, per length (1 s = 94 frames, 10 s = 938 frames), the median wall time of each and the
real-time factors (time ÷ audio duration; below 1 is faster than real time) and their ratio, plus
each process's CPU time per forward (a fairer figure when other work shares the cores).
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vocos as mv  # noqa: E402  (the independent PyTorch model of the fixtures)

mv.SR, mv.NFFT, mv.HOP, mv.NMELS, mv.DIM, mv.INTER, mv.LAYERS = 24000, 1024, 256, 100, 512, 1536, 8
torch.set_num_threads(2)
torch.manual_seed(0)
model = mv.Vocos("same").float().eval()
ROUNDS, RUNS = int(os.environ.get("ROUNDS", "3")), 5


def torch_times(T):
    mel = torch.randn(1, mv.NMELS, T) * 2 - 4
    with torch.no_grad():
        model(mel)  # warm-up
        wall, cpu = [], []
        for _ in range(RUNS):
            c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            y = model(mel)
            t1, c1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            wall.append(t1 - t0)
            cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    return wall, cpu, y.shape[-1]


def go_times():
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["go", "test", "-run", "^$", "-bench", "BenchmarkVocosMel24kHz", "-benchtime", "%dx" % RUNS, "./models"],
                         capture_output=True, text=True, check=True).stdout
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = {}
    for m in re.finditer(r"T=(\d+)\S*\s+\d+\s+(\d+) ns/op\s+([\d.]+) RTF", out):
        res[int(m.group(1))] = int(m.group(2)) / 1e9
    return res, (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)




def blas_library():
    """The BLAS library torch's matrix products load (Debian's torch links libblas.so.3, whose
    alternative may be the reference BLAS: then PyTorch runs Vocos about 10x slower and is no fair
    peer; apt-get install libopenblas0-pthread)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and line.split()[-1].startswith("/")}
    return ", ".join(sorted(os.path.realpath(l) for l in libs)) or "none found"


blas = blas_library()
print("torch BLAS: %s" % blas)
if "openblas" not in blas and "mkl" not in blas and "blis" not in blas:
    print("warning: torch uses the reference BLAS, not a fair peer (apt-get install libopenblas0-pthread)", file=sys.stderr)
tw, tc, gw = {94: [], 938: []}, {94: [], 938: []}, {94: [], 938: []}
gcpu = []
for r in range(ROUNDS):
    for T in (94, 938):
        w, c, n = torch_times(T)
        tw[T] += w
        tc[T] += c
    g, cpu = go_times()
    gcpu.append(cpu)
    for T in g:
        gw[T].append(g[T])
print("torch %s, %d threads; %d rounds (torch %d runs each; go bench %d runs per length, incl. process start and pipeline cache)" % (torch.__version__, torch.get_num_threads(), ROUNDS, RUNS, RUNS))
for T in (94, 938):
    secs = (mv.HOP * T) / mv.SR
    t, g = statistics.median(tw[T]), statistics.median(gw[T])
    print("T=%4d (%.2f s audio): PyTorch %.3f s (RTF %.3f, CPU %.3f s)  vkseq/lavapipe %.3f s (RTF %.3f)  vkseq/PyTorch time ratio %.2f"
          % (T, secs, t, t / secs, statistics.median(tc[T]), g, g / secs, g / t))
print("vkseq go-test process CPU time per round (both lengths × %d runs + warm-ups + setup): %.1f s" % (RUNS, statistics.median(gcpu)))
