#!/usr/bin/python3
"""Writes tiny random Vocos checkpoints and the audio an independent PyTorch implementation of
Vocos gives for them (run with Debian's /usr/bin/python3: torch 1.13, torchaudio 0.13).

The model below is written from gemelo-ai/vocos's description (VocosBackbone, ConvNeXtBlock,
ISTFTHead, ISTFT, MelSpectrogramFeatures) with torch.nn modules, torch.istft for "center" padding
and irfft + fold for Vocos's "same" padding; it runs in float64.

  center/, same/   config.yaml, model.safetensors (F32 weights + the buffers Vocos saves),
                   expected.safetensors: mel_T{1,7,300} [2, n_mels, T] (F32) and
                   audio_T{7,300} (+ audio_T1 for "same") [2, samples] (F64); features_in [2, S]
                   (F32) and features_out [2, n_mels, frames] (F64): torchaudio's log-mel features.
"""
import json
import os
import struct

import torch
import torchaudio
from torch import nn

SR, NFFT, HOP, NMELS, DIM, INTER, LAYERS, B = 8000, 32, 8, 8, 16, 32, 2, 2


def write(path, tensors):
    header, blobs, offset = {"__metadata__": {"writer": "testdata/vocos/make_vocos.py"}}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        vals = t.reshape(-1).tolist()
        blob = struct.pack("<%d%s" % (len(vals), "f" if dtype == "F32" else "d"), *vals)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, inter, scale):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, inter)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(inter, dim)
        self.gamma = nn.Parameter(scale * torch.ones(dim))

    def forward(self, x):  # x [B, dim, T]
        r = x
        x = self.dwconv(x).transpose(1, 2)
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        return r + (self.gamma * x).transpose(1, 2)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Conv1d(NMELS, DIM, 7, padding=3)
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.convnext = nn.ModuleList([ConvNeXtBlock(DIM, INTER, 1.0 / LAYERS) for _ in range(LAYERS)])
        self.final_layer_norm = nn.LayerNorm(DIM, eps=1e-6)

    def forward(self, x):
        x = self.norm(self.embed(x).transpose(1, 2)).transpose(1, 2)
        for blk in self.convnext:
            x = blk(x)
        return self.final_layer_norm(x.transpose(1, 2))  # [B, T, dim]


class ISTFT(nn.Module):
    def __init__(self, padding):
        super().__init__()
        self.padding = padding
        self.register_buffer("window", torch.hann_window(NFFT))

    def forward(self, spec):  # spec [B, F, T] complex
        if self.padding == "center":
            return torch.istft(spec, NFFT, HOP, NFFT, self.window, center=True)
        pad = (NFFT - HOP) // 2
        T = spec.shape[-1]
        frames = torch.fft.irfft(spec, NFFT, dim=1, norm="backward") * self.window[None, :, None]
        size = (T - 1) * HOP + NFFT
        y = torch.nn.functional.fold(frames, (1, size), (1, NFFT), stride=(1, HOP))[:, 0, 0, pad:-pad]
        env = torch.nn.functional.fold(self.window.square().expand(1, T, -1).transpose(1, 2), (1, size), (1, NFFT), stride=(1, HOP)).squeeze()[pad:-pad]
        assert (env > 1e-11).all()
        return y / env


class Head(nn.Module):
    def __init__(self, padding):
        super().__init__()
        self.out = nn.Linear(DIM, NFFT + 2)
        self.istft = ISTFT(padding)

    def forward(self, x):
        x = self.out(x).transpose(1, 2)
        mag, p = x.chunk(2, dim=1)
        mag = torch.clip(torch.exp(mag), max=1e2)
        return self.istft(mag * (torch.cos(p) + 1j * torch.sin(p)))


class Features(nn.Module):
    def __init__(self, padding):
        super().__init__()
        self.padding = padding
        self.mel_spec = torchaudio.transforms.MelSpectrogram(SR, n_fft=NFFT, hop_length=HOP, n_mels=NMELS, center=padding == "center", power=1)

    def forward(self, audio):
        if self.padding == "same":
            pad = (NFFT - HOP) // 2
            audio = torch.nn.functional.pad(audio, (pad, pad), mode="reflect")
        return torch.log(torch.clip(self.mel_spec(audio), min=1e-7))


class Vocos(nn.Module):
    def __init__(self, padding):
        super().__init__()
        self.feature_extractor = Features(padding)
        self.backbone = Backbone()
        self.head = Head(padding)

    def forward(self, mel):
        return self.head(self.backbone(mel))


CONFIG = """feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: {sr}
    n_fft: {nfft}
    hop_length: {hop}
    n_mels: {nmels}
    padding: {pad}

backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: {nmels}
    dim: {dim}
    intermediate_dim: {inter}
    num_layers: {layers}

head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: {dim}
    n_fft: {nfft}
    hop_length: {hop}
    padding: {pad}
"""

def main():
    torch.manual_seed(20261204)
    here = os.path.dirname(os.path.abspath(__file__))
    for padding in ["center", "same"]:
        m = Vocos(padding)
        with torch.no_grad():
            for name, p in m.named_parameters():  # random, with LayerNorm weights near 1, so every term matters
                if name.endswith("norm.weight"):
                    p.copy_(1 + 0.3 * torch.randn_like(p))
                elif name.endswith("gamma"):
                    p.copy_(0.5 + 0.2 * torch.randn_like(p))
                elif name == "head.out.bias":
                    p.copy_(1.5 * torch.randn_like(p))
                else:
                    p.copy_(0.3 * torch.randn_like(p))
        # the weights as float32 are the checkpoint; the model then runs in float64 on those values
        sd = {k: v.float() for k, v in m.state_dict().items()}
        m = m.double()
        d = os.path.join(here, padding)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.yaml"), "w") as f:
            f.write(CONFIG.format(sr=SR, nfft=NFFT, hop=HOP, nmels=NMELS, pad=padding, dim=DIM, inter=INTER, layers=LAYERS))
        write(os.path.join(d, "model.safetensors"), sd)
        out = {}
        for T in [1, 7, 300]:
            mel = (2 * torch.randn(B, NMELS, T) - 3).float()
            out["mel_T%d" % T] = mel
            if padding == "center" and T == 1:
                continue  # torch.istft gives 0 samples for one centred frame
            with torch.no_grad():
                out["audio_T%d" % T] = m(mel.double())
        audio = (0.3 * torch.randn(B, 1000)).float()
        with torch.no_grad():
            out["features_in"] = audio
            out["features_out"] = m.feature_extractor(audio.double())
        write(os.path.join(d, "expected.safetensors"), out)
        print(padding, {k: list(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
