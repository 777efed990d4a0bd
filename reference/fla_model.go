package reference

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// FLAWeight is one named checkpoint tensor: its shape and row-major values.
type FLAWeight struct {
	Shape []int
	Data  []float64
}

// FLAModel is an fla language model (GLA, DeltaNet or gated DeltaNet) in
// float64, run one token at a time from the math of flash-linear-attention's fla/layers (gla.py, delta_net.py, gated_deltanet.py) and fla/models:
//
//	x = embeddings[id]
//	per layer: x += attn(rmsnorm(x)·attn_norm); x += down(silu(gate(h))⊙up(h)), h = rmsnorm(x)·mlp_norm
//	logits = lm_head(rmsnorm(x)·norm)       (lm_head = embeddings when tied)
//
// It is the truth the GPU models and the PyTorch fixtures are compared with.
type FLAModel struct {
	Cfg    FLAConfig
	embed  []float64 // [Vocab, Hidden]
	lmHead []float64 // [Vocab, Hidden]
	norm   []float64 // [Hidden]
	layers []flaLayer
}

type flaLayer struct {
	attnNorm, mlpNorm []float64
	gate, up, down    []float64 // [I,Hd], [I,Hd], [Hd,I]
	w                 map[string][]float64
}

// FLAState is the recurrent state of one batch of sequences: per layer and
// row, the short-conv windows (last ConvSize inputs of q, k and v) and the
// linear-attention state per value head, [K, V].
type FLAState struct {
	Batch int
	conv  [][][3][]float64 // [layer][row][q,k,v] → [D, W]
	attn  [][][]float64    // [layer][row] → [Hv, K, V]
}

// NewFLAModel checks the named weights against cfg and builds the model. It
// takes fla's names (`model.embeddings.weight`, `model.layers.{i}.attn.*`,
// ...), the older fused MLP (`mlp.gate_proj.weight` [2I, H], rows [0, I) the
// gate and [I, 2I) the up projection, no `up_proj`) and tied embeddings
// (`lm_head.weight` absent); the stray `attn.D` of older checkpoints is
// ignored. Any missing or mis-shaped tensor is an error naming it.
func NewFLAModel(cfg FLAConfig, w map[string]FLAWeight) (*FLAModel, error) {
	m := &FLAModel{Cfg: cfg}
	var errs []string
	get := func(name string, shape ...int) []float64 {
		t, ok := w[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("missing tensor %s %v", name, shape))
			return nil
		}
		if !slices.Equal(t.Shape, shape) {
			errs = append(errs, fmt.Sprintf("tensor %s has shape %v, want %v", name, t.Shape, shape))
			return nil
		}
		return t.Data
	}
	c := cfg
	Hd, V, I := c.Hidden, c.Vocab, c.Intermediate
	m.embed = get("model.embeddings.weight", V, Hd)
	m.norm = get("model.norm.weight", Hd)
	if _, ok := w["lm_head.weight"]; ok && !c.TieEmbeddings {
		m.lmHead = get("lm_head.weight", V, Hd)
	} else if c.TieEmbeddings {
		m.lmHead = m.embed
	} else {
		errs = append(errs, fmt.Sprintf("missing tensor lm_head.weight [%d %d] (tie_word_embeddings is false)", V, Hd))
	}
	kd, vd := c.KeyDim(), c.ValueDim()
	for i := range c.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		L := flaLayer{w: map[string][]float64{}}
		L.attnNorm = get(p+"attn_norm.weight", Hd)
		L.mlpNorm = get(p+"mlp_norm.weight", Hd)
		if _, ok := w[p+"mlp.up_proj.weight"]; ok {
			L.gate = get(p+"mlp.gate_proj.weight", I, Hd)
			L.up = get(p+"mlp.up_proj.weight", I, Hd)
		} else if g := get(p+"mlp.gate_proj.weight", 2*I, Hd); g != nil {
			L.gate, L.up = g[:I*Hd], g[I*Hd:]
		}
		L.down = get(p+"mlp.down_proj.weight", Hd, I)
		a := p + "attn."
		put := func(name string, shape ...int) { L.w[name] = get(a+name, shape...) }
		conv := func(name string, d int) {
			put(name+".weight", d, 1, c.ConvSize)
			if c.ConvBias {
				put(name+".bias", d)
			}
		}
		switch c.ModelType {
		case "gla":
			kvk, kvv := c.NumKVHeads*c.HeadK, c.NumKVHeads*c.HeadV
			put("q_proj.weight", kd, Hd)
			put("k_proj.weight", kvk, Hd)
			put("v_proj.weight", kvv, Hd)
			put("gk_proj.0.weight", c.GateLowRank, Hd)
			put("gk_proj.1.weight", kvk, c.GateLowRank)
			put("gk_proj.1.bias", kvk)
			if c.UseShortConv {
				conv("q_conv1d", kd)
				conv("k_conv1d", kvk)
				conv("v_conv1d", kvv)
			}
			if c.UseGate {
				put("g_proj.weight", vd, Hd)
			}
			if c.GLAFusedNormName {
				L.w["o_norm.weight"] = get(a+"g_norm_swish_gate.weight", c.HeadV)
			} else {
				L.w["o_norm.weight"] = get(a+"g_norm.weight", c.HeadV)
			}
		case "delta_net", "gated_deltanet":
			put("q_proj.weight", kd, Hd)
			put("k_proj.weight", kd, Hd)
			put("v_proj.weight", vd, Hd)
			if c.UseBeta {
				put("b_proj.weight", c.NumVHeads, Hd)
			}
			if c.ModelType == "gated_deltanet" {
				put("a_proj.weight", c.NumVHeads, Hd)
				put("A_log", c.NumVHeads)
				put("dt_bias", c.NumVHeads)
			}
			if c.UseShortConv {
				conv("q_conv1d", kd)
				conv("k_conv1d", kd)
				conv("v_conv1d", vd)
			}
			if c.UseGate {
				put("g_proj.weight", vd, Hd)
			}
			put("o_norm.weight", c.HeadV)
		}
		put("o_proj.weight", Hd, vd)
		m.layers = append(m.layers, L)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reference: fla %s: %s", c.ModelType, strings.Join(errs, "; "))
	}
	return m, nil
}

// NewState returns a zero state for batch rows.
func (m *FLAModel) NewState(batch int) *FLAState {
	c := m.Cfg
	s := &FLAState{Batch: batch}
	kvk, kvv := c.KeyDim(), c.ValueDim()
	if c.ModelType == "gla" {
		kvk, kvv = c.NumKVHeads*c.HeadK, c.NumKVHeads*c.HeadV
	}
	for range m.layers {
		cv := make([][3][]float64, batch)
		at := make([][]float64, batch)
		for b := range batch {
			if c.UseShortConv {
				cv[b] = [3][]float64{make([]float64, c.KeyDim()*c.ConvSize), make([]float64, kvk*c.ConvSize), make([]float64, kvv*c.ConvSize)}
			}
			at[b] = make([]float64, c.NumVHeads*c.HeadK*c.HeadV)
		}
		s.conv = append(s.conv, cv)
		s.attn = append(s.attn, at)
	}
	return s
}

// Step runs one token per batch row (ids [Batch]) through the model, updating
// st, and returns the logits [Batch, Vocab]. Ids outside [0, Vocab) are errors.
func (m *FLAModel) Step(st *FLAState, ids []int) ([]float64, error) {
	return m.skeleton(st).step(ids, st.Batch)
}

// skeleton is the shared LM loop over this model's blocks, advancing st.
func (m *FLAModel) skeleton(st *FLAState) lm {
	c := m.Cfg
	return lm{name: "fla", vocab: c.Vocab, hidden: c.Hidden, embed: m.embed, normF: m.norm, head: m.lmHead,
		eps: c.NormEps, layers: len(m.layers), block: func(li, b int, x []float64) {
			L := &m.layers[li]
			h := flaRMSNorm(x, L.attnNorm, c.NormEps)
			var a []float64
			if c.ModelType == "gla" {
				a = m.glaStep(L, &st.conv[li][b], st.attn[li][b], h)
			} else {
				a = m.deltaStep(L, &st.conv[li][b], st.attn[li][b], h)
			}
			addTo(x, a)
			h = flaRMSNorm(x, L.mlpNorm, c.NormEps)
			g := matVec(L.gate, h, c.Intermediate)
			u := matVec(L.up, h, c.Intermediate)
			for i := range g {
				g[i] = eltSiLU(g[i]) * u[i]
			}
			addTo(x, matVec(L.down, g, c.Hidden))
		}}
}

// Forward runs ids [B, T] from a zero state, one token at a time, and returns
// the logits [B, T, Vocab].
func (m *FLAModel) Forward(ids []int, B, T int) ([]float64, error) {
	st := m.NewState(B)
	return m.skeleton(st).forward(ids, B, T)
}

// matVec returns w·x for w [n, len(x)].
func matVec(w, x []float64, n int) []float64 {
	k := len(x)
	y := make([]float64, n)
	for i := range n {
		s := 0.0
		for j, xv := range x {
			s += w[i*k+j] * xv
		}
		y[i] = s
	}
	return y
}

func addTo(x, y []float64) {
	for i := range x {
		x[i] += y[i]
	}
}

// flaRMSNorm returns x/sqrt(mean(x²)+eps)·w.
func flaRMSNorm(x, w []float64, eps float64) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * inv * w[i]
	}
	return y
}

// flaShortConv pushes x into the window cache [D, W] (oldest first) and
// returns act(Σ_k w[d,k]·cache[d,k] + bias[d]).
func flaShortConv(cache, w, bias, x []float64, W int, silu bool) []float64 {
	y := make([]float64, len(x))
	for d, xv := range x {
		row := cache[d*W : (d+1)*W]
		copy(row, row[1:])
		row[W-1] = xv
		s := 0.0
		if bias != nil {
			s = bias[d]
		}
		for k := range W {
			s += w[d*W+k] * row[k]
		}
		if silu {
			s = eltSiLU(s)
		}
		y[d] = s
	}
	return y
}

// flaOutNorm applies the per-head output norm to o [heads·HeadV] in place:
// rmsnorm over each head, times w [HeadV], times silu(g) when g != nil.
func flaOutNorm(o, w, g []float64, headV int, eps float64) {
	for h := 0; h < len(o)/headV; h++ {
		seg := o[h*headV : (h+1)*headV]
		copy(seg, flaRMSNorm(seg, w, eps))
		if g != nil {
			for i := range seg {
				seg[i] *= eltSiLU(g[h*headV+i])
			}
		}
	}
}
