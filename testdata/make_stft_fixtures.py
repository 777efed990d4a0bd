#!/usr/bin/python3
"""Writes testdata/stft_fixtures.safetensors: windows, mel filterbanks, torch.stft and torch.istft
outputs made by PyTorch and torchaudio, for the Go tests of ops and reference (which never need
torch). Run with Debian's python3 (python3-torch, python3-torchaudio):

    cd testdata && /usr/bin/python3 make_stft_fixtures.py

Every tensor is float32 (the safetensors format written here with the standard library, as
make_gemm.py does). The "__metadata__" entry "cases" is a JSON list, one object per STFT case:
its options (torch's names), the batch and length of the signal it reads (the first rows and
samples of "x"), and the names of its tensors; "windows" and "fbanks" list the other tensors with
the arguments that made them.
"""
import json
import struct

import torch
import torchaudio

torch.manual_seed(20261204)
tensors = {}


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).contiguous()


# windows: torch.hann_window(n, periodic)
windows = []
for n in [1, 2, 7, 16, 400, 512]:
    for periodic in [True, False]:
        name = "hann_%d_%s" % (n, "periodic" if periodic else "symmetric")
        put(name, torch.hann_window(n, periodic=periodic, dtype=torch.float64))
        windows.append({"name": name, "n": n, "periodic": periodic})

# mel filterbanks: torchaudio.functional.melscale_fbanks; norm="slaney" with mel_scale="slaney"
# is librosa.filters.mel's default, transposed
fbanks = []
for name, args in [
    ("fb_htk_201_40", dict(n_freqs=201, f_min=0.0, f_max=8000.0, n_mels=40, sample_rate=16000, norm=None, mel_scale="htk")),
    ("fb_htk_65_16_fmin", dict(n_freqs=65, f_min=100.0, f_max=6000.0, n_mels=16, sample_rate=16000, norm=None, mel_scale="htk")),
    ("fb_slaney_129_40", dict(n_freqs=129, f_min=0.0, f_max=11025.0, n_mels=40, sample_rate=22050, norm="slaney", mel_scale="slaney")),
    ("fb_slaney_htk_65_12", dict(n_freqs=65, f_min=50.0, f_max=4000.0, n_mels=12, sample_rate=8000, norm="slaney", mel_scale="htk")),
]:
    put(name, torchaudio.functional.melscale_fbanks(**args))
    a = dict(args)
    a["norm"] = a["norm"] or "none"
    fbanks.append(dict(name=name, **a))

# signals
B, L = 2, 1200
x = torch.randn(B, L, dtype=torch.float64)
put("x", x)
x = tensors["x"].to(torch.float64)  # the values the Go tests read

cases = []


def stft_case(name, b, l, n_fft, hop, win_length=None, window="hann", center=True, pad_mode="reflect",
              normalized=False, onesided=True, istft_length=None, random_spec=False):
    w = None
    wl = win_length or n_fft
    if window == "hann":
        w = torch.hann_window(wl, dtype=torch.float64)
    sig = x[:b, :l]
    spec = torch.stft(sig, n_fft, hop_length=hop, win_length=win_length, window=w, center=center,
                      pad_mode=pad_mode, normalized=normalized, onesided=onesided, return_complex=True)
    put(name + "_stft", torch.view_as_real(spec))
    c = dict(name=name, batch=b, length=l, n_fft=n_fft, hop_length=hop, win_length=win_length or 0,
             window=window, center=center, pad_mode=pad_mode, normalized=normalized, onesided=onesided)
    if istft_length is not None:
        src = spec
        if random_spec:
            src = torch.view_as_complex(torch.randn(*spec.shape, 2, dtype=torch.float64))
            put(name + "_istft_spec", torch.view_as_real(src))
            src = torch.view_as_complex(tensors[name + "_istft_spec"].to(torch.float64))
        else:
            src = torch.view_as_complex(tensors[name + "_stft"].to(torch.float64))
        y = torch.istft(src, n_fft, hop_length=hop, win_length=win_length, window=w, center=center,
                        normalized=normalized, onesided=onesided, length=istft_length or None)
        put(name + "_istft", y)
        c["istft_length"] = istft_length
        c["istft_random_spec"] = random_spec
    cases.append(c)


stft_case("n16_reflect", 2, 200, 16, 4, istft_length=0, random_spec=True)
stft_case("n16_win10_constant_twosided", 1, 150, 16, 4, win_length=10, pad_mode="constant", onesided=False)
stft_case("n400_reflect", 1, 1200, 400, 160, istft_length=1100)
stft_case("n400_nocenter_win300_normalized", 1, 1200, 400, 100, win_length=300, center=False, normalized=True)
stft_case("n512_constant", 1, 1200, 512, 128, pad_mode="constant", istft_length=0)
stft_case("n512_reflect_ones", 1, 1000, 512, 256, window="ones")
stft_case("n15_odd_reflect", 2, 120, 15, 5, istft_length=130, random_spec=True)


def write(path):
    meta = {"writer": "testdata/make_stft_fixtures.py", "torch": torch.__version__, "torchaudio": torchaudio.__version__,
            "cases": json.dumps(cases), "windows": json.dumps(windows), "fbanks": json.dumps(fbanks)}
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        blob = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print("%s: %d tensors, %d bytes" % (path, len(tensors), 8 + len(h) + offset))


write("stft_fixtures.safetensors")
