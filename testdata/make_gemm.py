#!/usr/bin/env python3
"""Writes a GEMM case for `vkbench run gemm` with nothing but Python's standard library: an
independent writer of the safetensors format and an independent float64 reference.

  gemm_in.safetensors   a [37, 29] F32, b [29, 23] F64 (vkbench converts F64 to float32)
  gemm_ref.safetensors  c [37, 23] F64 = a @ b in float64, from the values vkbench will see
"""
import json
import random
import struct


def write(path, tensors):
    header, blobs, offset = {"__metadata__": {"writer": "testdata/make_gemm.py"}}, [], 0
    for name, (dtype, shape, values) in tensors.items():
        fmt = {"F32": "f", "F64": "d"}[dtype]
        blob = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


random.seed(20261127)
M, K, N = 37, 29, 23
a = [f32(random.gauss(0, 1)) for _ in range(M * K)]
b = [random.gauss(0, 1) for _ in range(K * N)]
b32 = [f32(x) for x in b]
c = [sum(a[i * K + k] * b32[k * N + j] for k in range(K)) for i in range(M) for j in range(N)]
write("gemm_in.safetensors", {"a": ("F32", [M, K], a), "b": ("F64", [K, N], b)})
write("gemm_ref.safetensors", {"c": ("F64", [M, N], c)})
