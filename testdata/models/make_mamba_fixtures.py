#!/usr/bin/python3
"""Tiny random Mamba and Mamba-2 checkpoints and the logits an independent PyTorch implementation gives for
them. Run from testdata/models/: /usr/bin/python3 make_mamba_fixtures.py (Debian's python3-torch).

Each folder holds what a user downloads from the hub (config.json + model.safetensors, or shards with
model.safetensors.index.json; tensor names of state-spaces/mamba and transformers' Mamba/Mamba2 models) and io.safetensors: input_ids [2, 200]
and logits [2, 200, vocab] (F32, the padded vocabulary), computed in float64 from the stored (rounded) weights.
Models are causal, so the logits of the first T tokens are the first T rows: the script checks this for T = 1 and
63 by running those lengths on their own, and the Go tests use the prefixes T in {1, 63, 200}.

The implementation is written from the upstream sources as whole-sequence PyTorch: mamba_ssm
modules/mamba_simple.py (Mamba.forward's slow path: in_proj, F.conv1d causal depthwise conv, x_proj, dt_proj,
selective_scan_ref), modules/mamba2.py (Mamba2.forward non-fused path, [z, xBC, dt] split, RMSNormGated with
norm_before_gate=False over groups), modules/ssd_minimal.py (ssd_minimal_discrete: the chunked SSD with segsum,
block length 16, a different algorithm from the one-token recurrence of reference/mamba_lm.go), and
models/mixer_seq_simple.py (pre-norm residual, vocabulary padding, tied head). It shares no code with the Go
reference. Tests never run this script.

Fixtures:
  mamba_hf/      Mamba-1, transformers spelling (model_type mamba, hidden_size, ..., backbone.embeddings.weight,
                 lm_head.weight stored), F32, use_bias false (explicit), vocab 48
  mamba_ssm/     Mamba-1, mamba_ssm spelling (d_model, n_layer, ssm_cfg, backbone.embedding.weight), vocab 45
                 padded to 48 (ids drawn below 45), tied (no lm_head.weight), F16 weights with fp32 A_log and D
                 (mixed dtypes), in two shards with model.safetensors.index.json, input_ids as I64
  mamba2_ssm/    Mamba-2, mamba_ssm spelling (ssm_cfg.layer Mamba2, ngroups 2, headdim 16, d_state 16), vocab 50
                 padded to 64, tied, BF16 weights
  mamba2_hf/     Mamba-2, transformers spelling (model_type mamba2, num_heads, head_dim, n_groups 1), untied
                 lm_head, F32
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from safetensors_writer import rounded, write_safetensors

torch.set_default_dtype(torch.float64)
B, T = 2, 200


# ---------------------------------------------------------------- model (float64, whole sequences)
def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def causal_conv_silu(x, w, b):
    """x [B, T, D] -> silu(causal depthwise conv), weight [D, 1, W] (Mamba.forward: conv1d(x)[..., :seqlen])."""
    W = w.shape[-1]
    y = F.conv1d(x.transpose(1, 2), w, b, padding=W - 1, groups=x.shape[-1])[..., : x.shape[1]]
    return F.silu(y.transpose(1, 2))


def linear(x, p, name):
    y = x @ p[name + ".weight"].T
    if name + ".bias" in p:
        y = y + p[name + ".bias"]
    return y


def selective_scan_ref(u, delta, A, Bm, Cm, D, z):
    """selective_scan_ref of mamba_ssm/ops/selective_scan_interface.py; u, delta, z [B, D, L]; A [D, N];
    Bm, Cm [B, N, L]; delta already softplus(dt + bias)."""
    bsz, d, L = u.shape
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, Bm, u)
    x = u.new_zeros(bsz, d, A.shape[1])
    ys = []
    for i in range(L):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, Cm[:, :, i]))
    y = torch.stack(ys, dim=2)
    out = y + u * D[None, :, None]
    return out * F.silu(z)


def mamba1_mixer(c, p, hs):
    Di, N, R = c["d_inner"], c["d_state"], c["dt_rank"]
    xz = linear(hs, p, "in_proj")  # [B, L, 2Di]
    x, z = xz[..., :Di], xz[..., Di:]
    x = causal_conv_silu(x, p["conv1d.weight"], p.get("conv1d.bias"))
    dbc = x @ p["x_proj.weight"].T
    dt, Bm, Cm = dbc[..., :R], dbc[..., R : R + N], dbc[..., R + N :]
    dt = dt @ p["dt_proj.weight"].T  # bias added inside the scan (delta_bias, delta_softplus)
    delta = F.softplus(dt + p["dt_proj.bias"])
    A = -torch.exp(p["A_log"])
    y = selective_scan_ref(x.transpose(1, 2), delta.transpose(1, 2), A, Bm.transpose(1, 2), Cm.transpose(1, 2),
                           p["D"], z.transpose(1, 2))
    return linear(y.transpose(1, 2), p, "out_proj")


def segsum(x):
    """ssd_minimal.segsum: x [..., L] -> [..., L, L], out[i, j] = sum x[j+1..i] (i >= j), -inf above."""
    L = x.shape[-1]
    x = x[..., None].expand(*x.shape, L)
    mask = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    xs = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=0)
    return xs.masked_fill(~mask, -torch.inf)


def ssd_minimal_discrete(X, A, Bm, Cm, block):
    """X [b, l, h, p], A [b, l, h], Bm/Cm [b, l, h, n]; l a multiple of block."""
    b, l, h, pdim = X.shape
    c = l // block
    X, A, Bm, Cm = (t.reshape(b, c, block, *t.shape[2:]) for t in (X, A, Bm, Cm))
    A = A.permute(0, 3, 1, 2)  # b h c l
    A_cumsum = torch.cumsum(A, dim=-1)
    Lm = torch.exp(segsum(A))
    Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cm, Bm, Lm, X)
    decay_states = torch.exp(A_cumsum[:, :, :, -1:] - A_cumsum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bm, decay_states, X)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
    new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    states = new_states[:, :-1]
    Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cm, states, torch.exp(A_cumsum))
    return (Y_diag + Y_off).reshape(b, l, h, pdim)


def mamba2_mixer(c, p, hs):
    Di, N, G, P = c["d_inner"], c["d_state"], c["ngroups"], c["headdim"]
    H = Di // P
    conv_dim = Di + 2 * G * N
    zxbcdt = linear(hs, p, "in_proj")
    z, xBC, dt = zxbcdt[..., :Di], zxbcdt[..., Di : Di + conv_dim], zxbcdt[..., Di + conv_dim :]
    xBC = causal_conv_silu(xBC, p["conv1d.weight"], p.get("conv1d.bias"))
    x, Bm, Cm = xBC[..., :Di], xBC[..., Di : Di + G * N], xBC[..., Di + G * N :]
    bsz, L = x.shape[:2]
    dt = F.softplus(dt + p["dt_bias"])  # [B, L, H]
    A = -torch.exp(p["A_log"])
    X = x.reshape(bsz, L, H, P)
    Bh = Bm.reshape(bsz, L, G, N).repeat_interleave(H // G, dim=2)
    Ch = Cm.reshape(bsz, L, G, N).repeat_interleave(H // G, dim=2)
    block = 16
    pad = -L % block
    padf = lambda t: F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad))
    Y = ssd_minimal_discrete(padf(X * dt[..., None]), padf(A * dt), padf(Bh), padf(Ch), block)[:, :L]
    Y = Y + X * p["D"][:, None]
    y = Y.reshape(bsz, L, Di)
    # RMSNormGated(norm_before_gate=False, group_size=Di/G): rmsnorm over groups of (y * silu(z)), * weight
    y = y * F.silu(z)
    yg = y.reshape(bsz, L, G, Di // G)
    yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + c["eps"])
    y = yg.reshape(bsz, L, Di) * p["norm.weight"]
    return linear(y, p, "out_proj")


def lm_forward(c, w, ids):
    emb = w["backbone.embeddings.weight"] if "backbone.embeddings.weight" in w else w["backbone.embedding.weight"]
    head = w.get("lm_head.weight", emb)
    h = emb[ids]
    for i in range(c["n_layer"]):
        pre = f"backbone.layers.{i}."
        p = {k[len(pre + "mixer."):]: v for k, v in w.items() if k.startswith(pre + "mixer.")}
        x = rmsnorm(h, w[pre + "norm.weight"], c["eps"])
        h = h + (mamba2_mixer(c, p, x) if c["mamba2"] else mamba1_mixer(c, p, x))
    return rmsnorm(h, w["backbone.norm_f.weight"], c["eps"]) @ head.T


# ---------------------------------------------------------------- random weights
def make_weights(c, gen, embed_name, tie, use_bias):
    H, Di, N, W, V = c["d_model"], c["d_inner"], c["d_state"], c["d_conv"], c["vocab"]
    r = lambda *s, std=1.0: torch.randn(*s, generator=gen) * std
    u = lambda *s: torch.rand(*s, generator=gen)
    w = {embed_name: r(V, H)}
    if not tie:
        w["lm_head.weight"] = r(V, H, std=H ** -0.5)
    w["backbone.norm_f.weight"] = 1 + 0.2 * r(H)
    for i in range(c["n_layer"]):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        w[p + "norm.weight"] = 1 + 0.2 * r(H)
        if c["mamba2"]:
            G, P = c["ngroups"], c["headdim"]
            nh = Di // P
            conv_dim = Di + 2 * G * N
            w[m + "in_proj.weight"] = r(Di + conv_dim + nh, H, std=H ** -0.5)
            w[m + "conv1d.weight"] = r(conv_dim, 1, W, std=W ** -0.5)
            w[m + "conv1d.bias"] = 0.1 * r(conv_dim)
            dt = torch.exp(u(nh) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
            w[m + "dt_bias"] = dt + torch.log(-torch.expm1(-dt))
            w[m + "A_log"] = torch.log(1 + 15 * u(nh))
            w[m + "D"] = 1 + 0.3 * r(nh)
            w[m + "norm.weight"] = 1 + 0.2 * r(Di)
        else:
            R = c["dt_rank"]
            w[m + "in_proj.weight"] = r(2 * Di, H, std=H ** -0.5)
            w[m + "conv1d.weight"] = r(Di, 1, W, std=W ** -0.5)
            w[m + "conv1d.bias"] = 0.1 * r(Di)
            w[m + "x_proj.weight"] = r(R + 2 * N, Di, std=Di ** -0.5)
            w[m + "dt_proj.weight"] = r(Di, R, std=R ** -0.5)
            dt = torch.exp(u(Di) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
            w[m + "dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))
            w[m + "A_log"] = torch.log(torch.arange(1, N + 1, dtype=torch.float64)).repeat(Di, 1) + 0.1 * r(Di, N)
            w[m + "D"] = 1 + 0.3 * r(Di)
        if use_bias:
            w[m + "in_proj.bias"] = 0.1 * r(w[m + "in_proj.weight"].shape[0])
            w[m + "out_proj.bias"] = 0.1 * r(H)
        w[m + "out_proj.weight"] = r(H, Di, std=Di ** -0.5)
    return w


def build(name, c, config, embed_name, tie, dtype_of, ids_dtype, id_limit, shards=1, use_bias=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    w = make_weights(c, gen, embed_name, tie, use_bias)
    stored = {k: (dtype_of(k), v) for k, v in w.items()}
    w = {k: rounded(v, dtype_of(k)) for k, v in w.items()}
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    for old in os.listdir(name):
        if old.endswith(".safetensors") or old.endswith(".index.json"):
            os.remove(os.path.join(name, old))
    names = sorted(stored)
    if shards == 1:
        write_safetensors(os.path.join(name, "model.safetensors"), stored)
    else:
        wmap = {}
        for s in range(shards):
            fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: stored[k] for k in names[s::shards]}
            write_safetensors(os.path.join(name, fn), part)
            wmap.update({k: fn for k in part})
        with open(os.path.join(name, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": wmap}, f, indent=2, sort_keys=True)
            f.write("\n")
    ids = torch.randint(0, id_limit, (B, T), generator=gen)
    with torch.no_grad():
        logits = lm_forward(c, w, ids)
        for t in (1, 63):
            sub = lm_forward(c, w, ids[:, :t])
            err = (sub - logits[:, :t]).norm() / logits[:, :t].norm()
            assert err < 1e-12, (name, t, err)
    write_safetensors(os.path.join(name, "io.safetensors"), {"input_ids": (ids_dtype, ids), "logits": ("F32", logits)})
    print(name, "logits", tuple(logits.shape), "rms %.3f" % logits.pow(2).mean().sqrt())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    m1 = dict(mamba2=False, d_model=32, n_layer=2, d_inner=64, d_state=8, d_conv=4, dt_rank=2, eps=1e-5)
    build("mamba_hf", dict(m1, vocab=48),
          {"model_type": "mamba", "architectures": ["MambaForCausalLM"], "hidden_size": 32, "num_hidden_layers": 2,
           "intermediate_size": 64, "state_size": 8, "conv_kernel": 4, "expand": 2, "time_step_rank": 2,
           "vocab_size": 48, "layer_norm_epsilon": 1e-5, "use_bias": False, "use_conv_bias": True,
           "residual_in_fp32": True, "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32"},
          "backbone.embeddings.weight", tie=False, dtype_of=lambda k: "F32", ids_dtype="I32", id_limit=48, seed=1)
    build("mamba_ssm", dict(m1, vocab=48, d_conv=3),
          {"d_model": 32, "n_layer": 2, "vocab_size": 45, "ssm_cfg": {"d_state": 8, "d_conv": 3}, "rms_norm": True,
           "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8},
          "backbone.embedding.weight", tie=True,
          dtype_of=lambda k: "F32" if k.endswith("A_log") or k.endswith(".D") else "F16",
          ids_dtype="I64", id_limit=45, shards=2, seed=2)
    m2 = dict(mamba2=True, d_model=32, n_layer=2, d_inner=64, d_state=16, d_conv=4, headdim=16, eps=1e-5)
    build("mamba2_ssm", dict(m2, vocab=64, ngroups=2),
          {"d_model": 32, "d_intermediate": 0, "n_layer": 2, "vocab_size": 50,
           "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "headdim": 16, "ngroups": 2}, "attn_layer_idx": [],
           "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
           "pad_vocab_size_multiple": 16, "tie_embeddings": True},
          "backbone.embedding.weight", tie=True, dtype_of=lambda k: "BF16", ids_dtype="I32", id_limit=50, seed=3)
    build("mamba2_hf", dict(m2, vocab=40, ngroups=1),
          {"model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"], "hidden_size": 32, "num_hidden_layers": 2,
           "num_heads": 4, "head_dim": 16, "n_groups": 1, "state_size": 16, "expand": 2, "conv_kernel": 4,
           "vocab_size": 40, "layer_norm_epsilon": 1e-5, "use_bias": False, "use_conv_bias": True, "chunk_size": 256,
           "rms_norm": True, "tie_word_embeddings": False, "time_step_limit": [0.0, float("inf")],
           "torch_dtype": "float32"},
          "backbone.embeddings.weight", tie=False, dtype_of=lambda k: "F32", ids_dtype="I32", id_limit=40, seed=4)


if __name__ == "__main__":
    main()
