"""A minimal safetensors writer for the fixture scripts in this folder (Debian has no
python3-safetensors): 8-byte little-endian header length, the JSON header padded with spaces to a
multiple of 8, then the raw little-endian tensors in the header's order."""
import json
import struct

import torch

_TORCH = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32, "I64": torch.int64}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, torch tensor). Writes the header and the little-endian data."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dt, t = tensors[name]
        if dt not in _TORCH:
            raise ValueError(dt)
        t = t.contiguous().to(_TORCH[dt])
        if dt == "BF16":  # numpy has no bfloat16: write its bits
            t = t.view(torch.int16)
        raw = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rounded(t, dt):
    """The float64 values a reader of dtype dt gets back."""
    return t.to({"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dt]).to(torch.float64)
