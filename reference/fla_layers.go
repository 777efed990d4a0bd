package reference

import "math"

// glaStep is one token of fla's GatedLinearAttention for one batch row: h
// [Hidden] in, the attention output [Hidden] out; cache holds the q/k/v
// short-conv windows and S the per-head states [H, K, V].
//
//	q, k, v = q/k/v_proj(h)                    (+ causal conv + SiLU when use_short_conv)
//	gk      = logsigmoid(gk_proj.1(gk_proj.0(h)) + bias) / 16   (clamped below at clamp_min)
//	S_h     = diag(exp(gk_{h/G})) S_h + k_{h/G} v_{h/G}ᵀ          (G = num_heads / num_kv_heads)
//	o_h     = S_hᵀ q_h · K^-0.5
//	o       = o_proj(rmsnorm_head(o)·w·silu(g_proj(h)))   (no silu factor without the output gate)
func (m *FLAModel) glaStep(L *flaLayer, cache *[3][]float64, S, h []float64) []float64 {
	c := m.Cfg
	K, V, H, G := c.HeadK, c.HeadV, c.NumHeads, c.NumHeads/c.NumKVHeads
	kvk, kvv := c.NumKVHeads*K, c.NumKVHeads*V
	q := matVec(L.w["q_proj.weight"], h, H*K)
	k := matVec(L.w["k_proj.weight"], h, kvk)
	v := matVec(L.w["v_proj.weight"], h, kvv)
	if c.UseShortConv {
		q = flaShortConv(cache[0], L.w["q_conv1d.weight"], L.w["q_conv1d.bias"], q, c.ConvSize, true)
		k = flaShortConv(cache[1], L.w["k_conv1d.weight"], L.w["k_conv1d.bias"], k, c.ConvSize, true)
		v = flaShortConv(cache[2], L.w["v_conv1d.weight"], L.w["v_conv1d.bias"], v, c.ConvSize, true)
	}
	gk := matVec(L.w["gk_proj.1.weight"], matVec(L.w["gk_proj.0.weight"], h, c.GateLowRank), kvk)
	for i := range gk {
		x := gk[i] + L.w["gk_proj.1.bias"][i]
		gk[i] = -eltSoftplus(-x) / c.GateLogitNormalizer // logsigmoid(x) = −softplus(−x)
		if c.ClampMin != nil {
			gk[i] = math.Max(gk[i], *c.ClampMin)
		}
	}
	scale := DefaultScale(K)
	o := make([]float64, H*V)
	for hh := range H {
		kv := hh / G
		St := S[hh*K*V : (hh+1)*K*V]
		for i := range K {
			d, ki := math.Exp(gk[kv*K+i]), k[kv*K+i]
			for j := range V {
				St[i*V+j] = d*St[i*V+j] + ki*v[kv*V+j]
			}
		}
		for j := range V {
			s := 0.0
			for i := range K {
				s += q[hh*K+i] * St[i*V+j]
			}
			o[hh*V+j] = s * scale
		}
	}
	var g []float64
	if c.UseGate {
		g = matVec(L.w["g_proj.weight"], h, H*V)
	}
	flaOutNorm(o, L.w["o_norm.weight"], g, V, c.NormEps)
	return matVec(L.w["o_proj.weight"], o, c.Hidden)
}

// deltaStep is one token of fla's DeltaNet or GatedDeltaNet for one batch
// row (S [Hv, K, V], Hv value heads; value head i reads q/k head i/(Hv/H)):
//
//	q, k, v = conv+SiLU(q/k/v_proj(h))   (DeltaNet: q, k convs without SiLU unless qk_activation is silu,
//	                                      then relu / elu+1 / identity; no convs: silu on v, and on q, k for silu)
//	q, k    = q/sqrt(Σq²+1e-6), k/… per head (qk_norm l2), or q/Σq, k/Σk (sum)
//	beta    = sigmoid(b_proj(h)) (1 without use_beta), ×2 with allow_neg_eigval
//	gated:  g = −exp(A_log)·softplus(a_proj(h) + dt_bias); S ← exp(g) S
//	u = beta (v − Sᵀk);  S ← S + k uᵀ;  o = Sᵀ q · K^-0.5
//	o = o_proj(rmsnorm_head(o)·w (·silu(g_proj(h)) with use_gate))
func (m *FLAModel) deltaStep(L *flaLayer, cache *[3][]float64, S, h []float64) []float64 {
	c := m.Cfg
	K, V, H, HV := c.HeadK, c.HeadV, c.NumHeads, c.NumVHeads
	q := matVec(L.w["q_proj.weight"], h, H*K)
	k := matVec(L.w["k_proj.weight"], h, H*K)
	v := matVec(L.w["v_proj.weight"], h, HV*V)
	qkSilu := c.QKActivation == "silu"
	if c.UseShortConv {
		q = flaShortConv(cache[0], L.w["q_conv1d.weight"], L.w["q_conv1d.bias"], q, c.ConvSize, qkSilu)
		k = flaShortConv(cache[1], L.w["k_conv1d.weight"], L.w["k_conv1d.bias"], k, c.ConvSize, qkSilu)
		v = flaShortConv(cache[2], L.w["v_conv1d.weight"], L.w["v_conv1d.bias"], v, c.ConvSize, true)
	} else {
		if qkSilu {
			q, k = SiLU(q), SiLU(k)
		}
		v = SiLU(v)
	}
	for _, x := range [][]float64{q, k} {
		for i, e := range x {
			switch c.QKActivation {
			case "relu":
				x[i] = math.Max(e, 0)
			case "elu": // elu(x) + 1
				if e <= 0 {
					x[i] = math.Exp(e)
				} else {
					x[i] = e + 1
				}
			}
		}
		for hh := range H {
			seg := x[hh*K : (hh+1)*K]
			s := 0.0
			for _, e := range seg {
				if c.QKNorm == "l2" {
					s += e * e
				} else {
					s += e
				}
			}
			if c.QKNorm == "l2" {
				s = math.Sqrt(s + L2NormEps)
			}
			for i := range seg {
				seg[i] /= s
			}
		}
	}
	beta := make([]float64, HV)
	for i := range beta {
		beta[i] = 1
	}
	if c.UseBeta {
		beta = Sigmoid(matVec(L.w["b_proj.weight"], h, HV))
	}
	if c.AllowNegEigval {
		for i := range beta {
			beta[i] *= 2
		}
	}
	var decay []float64
	if c.ModelType == "gated_deltanet" {
		a := matVec(L.w["a_proj.weight"], h, HV)
		decay = make([]float64, HV)
		for i := range a {
			decay[i] = math.Exp(-math.Exp(L.w["A_log"][i]) * eltSoftplus(a[i]+L.w["dt_bias"][i]))
		}
	}
	scale := DefaultScale(K)
	o := make([]float64, HV*V)
	u := make([]float64, V)
	for hv := range HV {
		hq := hv / (HV / H)
		St := S[hv*K*V : (hv+1)*K*V]
		qh, kh := q[hq*K:(hq+1)*K], k[hq*K:(hq+1)*K]
		if decay != nil {
			for i := range St {
				St[i] *= decay[hv]
			}
		}
		for j := range V {
			s := 0.0
			for i := range K {
				s += St[i*V+j] * kh[i]
			}
			u[j] = beta[hv] * (v[hv*V+j] - s)
		}
		for i := range K {
			for j := range V {
				St[i*V+j] += kh[i] * u[j]
			}
		}
		for j := range V {
			s := 0.0
			for i := range K {
				s += qh[i] * St[i*V+j]
			}
			o[hv*V+j] = s * scale
		}
	}
	var g []float64
	if c.UseGate {
		g = matVec(L.w["g_proj.weight"], h, HV*V)
	}
	flaOutNorm(o, L.w["o_norm.weight"], g, V, c.NormEps)
	return matVec(L.w["o_proj.weight"], o, c.Hidden)
}
