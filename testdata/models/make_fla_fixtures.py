#!/usr/bin/python3
"""Tiny random fla checkpoints (GLA, DeltaNet, gated DeltaNet) and the logits an independent PyTorch
implementation gives for them. Run from testdata/models/: /usr/bin/python3 make_fla_fixtures.py (Debian's python3-torch)

Each folder holds what a user downloads from the hub (config.json + model.safetensors, fla tensor names,
as flash-linear-attention's fla/models) and io.safetensors: input_ids [2, 200] and logits [2, 200, vocab] (F32), computed in
float64 from the stored (rounded) weights. Models are causal, so the logits of the first T tokens of each row
are the first T rows of the logits: the script checks this for T = 1 and 63 by running those lengths on
their own, and the Go tests use the prefixes T in {1, 63, 200}.

This implementation is written from fla's layer sources (fla/layers/gla.py, delta_net.py, gated_deltanet.py,
fla/modules/mlp.py, fused_norm_gate.py, conv/short_conv.py) as whole-sequence PyTorch: GLA in its parallel
(quadratic, causal-masked) form, the delta rules as products of the transition matrices (I - beta k k^T).
It shares no code with reference/fla_*.go (one token at a time). Needs python3-torch only; the safetensors
writer is safetensors_writer.py next to it (Debian has no python3-safetensors). Tests never run this script.

Value widths differ from hidden_size (and key widths from value widths) so that a transposed matrix
cannot pass. Fixtures:
  gla/                    GLA, F32, separate gate_proj/up_proj, lm_head.weight, use_short_conv
  gla_old/                GLA as older hub checkpoints: fused mlp.gate_proj [2I, H] without up_proj, tied
                          embeddings (no lm_head.weight), a stray attn.D (unused upstream), num_kv_heads = 1 of
                          2 heads, BF16 weights, an odd vocabulary (61), input_ids as I64
  delta_net/              DeltaNet, F16 weights, padded vocabulary (72 rows; ids drawn below 64), use_gate
  gated_deltanet/         gated DeltaNet, F32, allow_neg_eigval (beta in (0, 2))
  gated_deltanet_gva/     gated DeltaNet with num_v_heads = 4 > num_heads = 2, tied embeddings, no output gate
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from safetensors_writer import rounded, write_safetensors

torch.set_default_dtype(torch.float64)
B, T = 2, 200


# ---------------------------------------------------------------- the model (float64, whole sequences)
def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def short_conv(x, w, bias, act):
    """fla ShortConvolution: causal depthwise conv over time, x [B, T, D], w [D, 1, W]."""
    W = w.shape[-1]
    y = F.conv1d(x.transpose(1, 2), w, bias, padding=W - 1, groups=x.shape[-1])[..., : x.shape[1]]
    y = y.transpose(1, 2)
    return F.silu(y) if act else y


def heads(x, d):
    return x.reshape(*x.shape[:-1], -1, d)


def gated_out_norm(o, w, g, eps):
    """FusedRMSNormGated (norm then gate) or RMSNorm per head; o [B, T, H, V]."""
    y = rmsnorm(o, w, eps)
    if g is not None:
        y = y * F.silu(g)
    return y.flatten(-2)


def gla_attention(cfg, p, x):
    H = cfg["num_heads"]
    Hkv = cfg.get("num_kv_heads") or H
    G = H // Hkv
    kd, vd = int(cfg["hidden_size"] * cfg["expand_k"]), int(cfg["hidden_size"] * cfg["expand_v"])
    K, V = kd // H, vd // H
    q, k, v = x @ p["q_proj.weight"].T, x @ p["k_proj.weight"].T, x @ p["v_proj.weight"].T
    if cfg.get("use_short_conv"):
        q = short_conv(q, p["q_conv1d.weight"], None, True)
        k = short_conv(k, p["k_conv1d.weight"], None, True)
        v = short_conv(v, p["v_conv1d.weight"], None, True)
    gk = (x @ p["gk_proj.0.weight"].T) @ p["gk_proj.1.weight"].T + p["gk_proj.1.bias"]
    q, k, v, gk = heads(q, K), heads(k, K), heads(v, V), heads(gk, K)
    # '... (h d) -> ... (h g) d': kv head h serves query heads h*G .. h*G+G-1
    k, v, gk = (t.repeat_interleave(G, dim=-2) for t in (k, v, gk))
    gk = F.logsigmoid(gk) / 16
    if cfg.get("clamp_min") is not None:
        gk = torch.clamp_min(gk, cfg["clamp_min"])
    # parallel form: o_i = sum_{j<=i} (q_i * exp(Gc_i - Gc_j)) . k_j  v_j, Gc = inclusive cumsum of gk
    Gc = gk.cumsum(1)  # [B, T, H, K]
    diff = Gc[:, :, None] - Gc[:, None, :]  # [B, Ti, Tj, H, K]
    mask = torch.tril(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool))[None, :, :, None, None]
    decay = torch.where(mask, diff, torch.full_like(diff, -math.inf)).exp()
    A = torch.einsum("bihk,bjhk,bijhk->bhij", q * K ** -0.5, k, decay)
    o = torch.einsum("bhij,bjhv->bihv", A, v)
    g = heads(x @ p["g_proj.weight"].T, V) if cfg.get("use_output_gate", True) else None
    wn = p["g_norm_swish_gate.weight"] if "g_norm_swish_gate.weight" in p else p["g_norm.weight"]
    return gated_out_norm(o, wn, g, cfg["norm_eps"]) @ p["o_proj.weight"].T


def delta_attention(cfg, p, x, gated):
    H = cfg["num_heads"]
    if gated:
        K = cfg["head_dim"]
        V = int(K * cfg.get("expand_v", 2))
        HV = cfg.get("num_v_heads") or H
        act = "silu"
    else:
        K = int(cfg["hidden_size"] * cfg.get("expand_k", 1)) // H
        V = int(cfg["hidden_size"] * cfg.get("expand_v", 1)) // H
        HV = H
        act = cfg.get("qk_activation", "silu")
    q, k, v = x @ p["q_proj.weight"].T, x @ p["k_proj.weight"].T, x @ p["v_proj.weight"].T
    q = short_conv(q, p["q_conv1d.weight"], None, act == "silu")
    k = short_conv(k, p["k_conv1d.weight"], None, act == "silu")
    v = short_conv(v, p["v_conv1d.weight"], None, True)
    q, k, v = heads(q, K), heads(k, K), heads(v, V)
    # use_qk_l2norm_in_kernel: x / sqrt(sum x^2 + 1e-6)
    q = q / torch.sqrt(q.pow(2).sum(-1, keepdim=True) + 1e-6)
    k = k / torch.sqrt(k.pow(2).sum(-1, keepdim=True) + 1e-6)
    beta = torch.sigmoid(x @ p["b_proj.weight"].T) if cfg.get("use_beta", True) else torch.ones(*x.shape[:2], HV)
    if cfg.get("allow_neg_eigval"):
        beta = beta * 2
    if gated:
        gdecay = -p["A_log"].exp() * F.softplus(x @ p["a_proj.weight"].T + p["dt_bias"])  # [B, T, HV]
    else:
        gdecay = torch.zeros(*x.shape[:2], HV)
    # value head i reads q/k head i // (HV // H)
    q, k = q.repeat_interleave(HV // H, dim=-2), k.repeat_interleave(HV // H, dim=-2)
    S = torch.zeros(x.shape[0], HV, K, V)
    eye = torch.eye(K)
    outs = []
    for t in range(x.shape[1]):
        kt, bt = k[:, t], beta[:, t, :, None, None]
        # S_t = exp(g_t) (I - beta k k^T) S_{t-1} + beta k v^T
        trans = gdecay[:, t, :, None, None].exp() * (eye - bt * kt[..., :, None] * kt[..., None, :])
        S = trans @ S + bt * kt[..., :, None] * v[:, t, :, None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", q[:, t] * K ** -0.5, S))
    o = torch.stack(outs, 1)
    g = heads(x @ p["g_proj.weight"].T, V) if cfg.get("use_gate", gated) else None
    return gated_out_norm(o, p["o_norm.weight"], g, cfg["norm_eps"]) @ p["o_proj.weight"].T


def forward(cfg, W, ids):
    """logits [B, T, vocab] of the ForCausalLM, from float64 weights W (fla names)."""
    mt = cfg["model_type"]
    x = W["model.embeddings.weight"][ids]
    I = cfg["intermediate_size"]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        p = {n[len(pre) + 5:]: t for n, t in W.items() if n.startswith(pre + "attn.")}
        h = rmsnorm(x, W[pre + "attn_norm.weight"], cfg["norm_eps"])
        if mt == "gla":
            a = gla_attention(cfg, p, h)
        else:
            a = delta_attention(cfg, p, h, mt == "gated_deltanet")
        # prenorm residual: h, residual = mlp_norm(a + residual), a + residual
        x = x + a
        h = rmsnorm(x, W[pre + "mlp_norm.weight"], cfg["norm_eps"])
        gw = W[pre + "mlp.gate_proj.weight"]
        if pre + "mlp.up_proj.weight" in W:
            gate, up = h @ gw.T, h @ W[pre + "mlp.up_proj.weight"].T
        else:  # older fused GatedMLP: gate, y = gate_proj(x).chunk(2, -1)
            gate, up = (h @ gw.T).chunk(2, -1)
            assert gate.shape[-1] == I
        x = x + (F.silu(gate) * up) @ W[pre + "mlp.down_proj.weight"].T
    x = rmsnorm(x, W["model.norm.weight"], cfg["norm_eps"])
    lm = W["model.embeddings.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ lm.T


# ---------------------------------------------------------------- random checkpoints
def make_weights(cfg, gen, fused_mlp=False, stray_d=False):
    mt, Hd, Vc, I = cfg["model_type"], cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H = cfg["num_heads"]
    r = lambda *s, std=1.0: torch.randn(*s, generator=gen) * std
    lin = lambda o, i: r(o, i, std=1 / math.sqrt(i))
    normw = lambda n: 1 + r(n, std=0.1)
    W = {"model.embeddings.weight": r(Vc, Hd), "model.norm.weight": normw(Hd)}
    if not cfg.get("tie_word_embeddings"):
        W["lm_head.weight"] = lin(Vc, Hd)
    W4 = cfg.get("conv_size", 4)
    for i in range(cfg["num_hidden_layers"]):
        a = f"model.layers.{i}.attn."
        W[f"model.layers.{i}.attn_norm.weight"] = normw(Hd)
        W[f"model.layers.{i}.mlp_norm.weight"] = normw(Hd)
        if fused_mlp:
            W[f"model.layers.{i}.mlp.gate_proj.weight"] = lin(2 * I, Hd)
        else:
            W[f"model.layers.{i}.mlp.gate_proj.weight"] = lin(I, Hd)
            W[f"model.layers.{i}.mlp.up_proj.weight"] = lin(I, Hd)
        W[f"model.layers.{i}.mlp.down_proj.weight"] = lin(Hd, I)
        conv = lambda d: r(d, 1, W4, std=0.5)
        if mt == "gla":
            Hkv = cfg.get("num_kv_heads") or H
            kd, vd = int(Hd * cfg["expand_k"]), int(Hd * cfg["expand_v"])
            kvk, kvv = kd // (H // Hkv), vd // (H // Hkv)
            W[a + "q_proj.weight"], W[a + "k_proj.weight"], W[a + "v_proj.weight"] = lin(kd, Hd), lin(kvk, Hd), lin(kvv, Hd)
            W[a + "g_proj.weight"] = lin(vd, Hd)
            W[a + "gk_proj.0.weight"], W[a + "gk_proj.1.weight"] = lin(16, Hd), lin(kvk, 16)
            W[a + "gk_proj.1.bias"] = r(kvk, std=1.0) + 2  # decays around logsigmoid(2)/16
            W[a + "g_norm_swish_gate.weight"] = normw(vd // H)
            W[a + "o_proj.weight"] = lin(Hd, vd)
            if cfg.get("use_short_conv"):
                W[a + "q_conv1d.weight"], W[a + "k_conv1d.weight"], W[a + "v_conv1d.weight"] = conv(kd), conv(kvk), conv(kvv)
        else:
            gated = mt == "gated_deltanet"
            if gated:
                K, HV = cfg["head_dim"], cfg.get("num_v_heads") or H
                V = int(K * cfg["expand_v"])
            else:
                K, V, HV = int(Hd * cfg["expand_k"]) // H, int(Hd * cfg["expand_v"]) // H, H
            kd, vd = H * K, HV * V
            W[a + "q_proj.weight"], W[a + "k_proj.weight"], W[a + "v_proj.weight"] = lin(kd, Hd), lin(kd, Hd), lin(vd, Hd)
            W[a + "b_proj.weight"] = lin(HV, Hd)
            W[a + "q_conv1d.weight"], W[a + "k_conv1d.weight"], W[a + "v_conv1d.weight"] = conv(kd), conv(kd), conv(vd)
            if gated:
                W[a + "a_proj.weight"] = lin(HV, Hd)
                W[a + "A_log"] = torch.log(torch.rand(HV, generator=gen) * 15 + 1) - 3  # decays exp(-A·dt) not too fast
                W[a + "dt_bias"] = r(HV, std=0.5)
            if cfg.get("use_gate", gated):
                W[a + "g_proj.weight"] = lin(vd, Hd)
            W[a + "o_norm.weight"] = normw(V)
            W[a + "o_proj.weight"] = lin(Hd, vd)
        if stray_d:
            W[a + "D"] = r(H)
    return W


def fixture(name, cfg, dtype, seed, ids_dtype="I32", id_limit=None, **kw):
    gen = torch.Generator().manual_seed(seed)
    W = make_weights(cfg, gen, **kw)
    Wr = {n: rounded(t, dtype) for n, t in W.items()}  # what a reader sees
    ids = torch.randint(0, id_limit or cfg["vocab_size"], (B, T), generator=gen)
    logits = forward(cfg, Wr, ids)
    for t in (1, 63):
        short = forward(cfg, Wr, ids[:, :t])
        err = (short - logits[:, :t]).norm() / logits[:, :t].norm()
        assert err < 1e-12, (name, t, err)
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(name, "model.safetensors"), {n: (dtype, t) for n, t in Wr.items()},
                      {"format": "pt"})
    write_safetensors(os.path.join(name, "io.safetensors"), {"input_ids": (ids_dtype, ids), "logits": ("F32", logits)},
                      {"writer": "testdata/models/make_fla_fixtures.py"})
    print(name, "params", sum(t.numel() for t in W.values()), "logits rms", logits.pow(2).mean().sqrt().item())


common = {"hidden_size": 32, "num_hidden_layers": 2, "intermediate_size": 48, "norm_eps": 1e-6,
          "hidden_act": "swish", "bos_token_id": 1, "eos_token_id": 2, "fuse_norm": True}
fixture("gla", dict(common, model_type="gla", vocab_size=64, num_heads=2, expand_k=0.5, expand_v=2.0,
                    use_short_conv=True, conv_size=4, use_output_gate=True, tie_word_embeddings=False,
                    attn_mode="chunk", attn=None), "F32", 11)
fixture("gla_old", dict(common, model_type="gla", vocab_size=61, num_heads=2, num_kv_heads=1, expand_k=0.5,
                        expand_v=1.0, use_short_conv=False, use_output_gate=True, tie_word_embeddings=True,
                        use_gk=True, use_gv=False), "BF16", 12, ids_dtype="I64",
        fused_mlp=True, stray_d=True)
fixture("delta_net", dict(common, model_type="delta_net", vocab_size=72, num_heads=2, expand_k=1.0, expand_v=1.5,
                          use_short_conv=True, conv_size=4, use_beta=True, use_gate=True, qk_activation="silu",
                          qk_norm="l2", use_output_norm=True, allow_neg_eigval=False, tie_word_embeddings=False,
                          pad_token_id=2), "F16", 13, id_limit=64)
fixture("gated_deltanet", dict(common, model_type="gated_deltanet", vocab_size=64, num_heads=3, head_dim=8,
                               expand_v=2.0, use_short_conv=True, conv_size=4, use_gate=True, allow_neg_eigval=True,
                               tie_word_embeddings=False), "F32", 14)
fixture("gated_deltanet_gva", dict(common, model_type="gated_deltanet", vocab_size=48, num_heads=2, num_v_heads=4,
                                   head_dim=8, expand_v=1.5, use_short_conv=True, conv_size=3, use_gate=False,
                                   tie_word_embeddings=True), "F32", 15)
