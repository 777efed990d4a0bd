package reference

import (
	"fmt"
	"math"
	"slices"
)

// MambaModel is a Mamba or Mamba-2 language model in float64, run one token at a time from the
// math of state-spaces/mamba's mamba_simple.py and mamba2.py (their decode paths Mamba.step and Mamba2.step):
//
//	x = embedding[id];   per layer: x += mixer(rmsnorm(x)·norm);   logits = (rmsnorm(x)·norm_f)·headᵀ
//
// Mamba-1 mixer: x, z = in_proj(u); x = silu(conv(x)); dt, B, C = x_proj(x);
// dt = softplus(dt_proj(dt) + bias); h = exp(dt A)h + dt x B; y = (h·C + D x)·silu(z); out_proj(y).
// Mamba-2 mixer: z, xBC, dt = in_proj(u); xBC = silu(conv(xBC)); x, B, C = xBC;
// dt = softplus(dt + dt_bias); per head S = exp(dt A)S + dt x Bᵀ, y = S C + D x;
// y = rmsnorm_groups(y·silu(z))·w; out_proj(y).
// It is the truth the GPU models and the PyTorch fixtures are compared with.
type MambaModel struct {
	Cfg    MambaConfig
	embed  []float64
	head   []float64
	normF  []float64
	layers []mambaLayer
}

type mambaLayer struct {
	norm                    []float64
	inW, inB, outW, outB    []float64
	convW, convB            []float64 // [ConvDim, W], [ConvDim]
	xProj, dtW, dtB, dtBias []float64
	A, D                    []float64 // A = -exp(A_log): Mamba-1 [DInner, N], Mamba-2 [H]
	gnorm                   []float64 // Mamba-2 gated norm weight [DInner]
}

// MambaState is the decode state of a batch: per layer and row, the conv window [ConvDim, W]
// (last W pre-conv inputs, oldest first) and the SSM state (Mamba-1 [DInner, N]; Mamba-2
// [H, P, N]).
type MambaState struct {
	Batch int
	conv  [][][]float64
	ssm   [][][]float64
}

// NewMambaModel checks the named weights against cfg and builds the model. It takes both
// spellings of the embedding (backbone.embedding.weight of mamba_ssm, backbone.embeddings.weight
// of transformers) and a tied head (lm_head.weight absent). Any missing or mis-shaped tensor is an
// error naming it.
func NewMambaModel(cfg MambaConfig, w map[string]FLAWeight) (*MambaModel, error) {
	m := &MambaModel{Cfg: cfg}
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
	opt := func(name string, shape ...int) []float64 {
		if _, ok := w[name]; !ok {
			return nil
		}
		return get(name, shape...)
	}
	c := cfg
	V, Hd, Di, N, W := c.Vocab, c.Hidden, c.DInner, c.DState, c.DConv
	en := "backbone.embeddings.weight"
	if _, ok := w[en]; !ok {
		en = "backbone.embedding.weight"
	}
	m.embed = get(en, V, Hd)
	m.head = m.embed
	if _, ok := w["lm_head.weight"]; ok {
		m.head = get("lm_head.weight", V, Hd)
	}
	m.normF = get("backbone.norm_f.weight", Hd)
	for i := range c.Layers {
		p := fmt.Sprintf("backbone.layers.%d.", i)
		q := p + "mixer."
		L := mambaLayer{norm: get(p+"norm.weight", Hd)}
		L.inW = get(q+"in_proj.weight", c.InProj(), Hd)
		L.outW = get(q+"out_proj.weight", Hd, Di)
		if c.UseBias {
			L.inB = get(q+"in_proj.bias", c.InProj())
			L.outB = get(q+"out_proj.bias", Hd)
		}
		L.convW = get(q+"conv1d.weight", c.ConvDim(), 1, W)
		if c.ConvBias {
			L.convB = get(q+"conv1d.bias", c.ConvDim())
		}
		if c.Mamba2 {
			L.dtBias = get(q+"dt_bias", c.NHeads)
			L.A = negExp(get(q+"A_log", c.NHeads))
			L.D = get(q+"D", c.NHeads)
			L.gnorm = get(q+"norm.weight", Di)
		} else {
			L.xProj = get(q+"x_proj.weight", c.DtRank+2*N, Di)
			L.dtW = get(q+"dt_proj.weight", Di, c.DtRank)
			L.dtB = opt(q+"dt_proj.bias", Di)
			L.A = negExp(get(q+"A_log", Di, N))
			L.D = get(q+"D", Di)
		}
		m.layers = append(m.layers, L)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reference: mamba model: %v", errs)
	}
	return m, nil
}

func negExp(x []float64) []float64 {
	if x == nil {
		return nil
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = -math.Exp(v)
	}
	return y
}

// NewState returns a zero state for batch rows.
func (m *MambaModel) NewState(batch int) *MambaState {
	c := m.Cfg
	s := &MambaState{Batch: batch}
	ssm := c.DInner * c.DState
	for range m.layers {
		cv := make([][]float64, batch)
		sm := make([][]float64, batch)
		for b := range batch {
			cv[b] = make([]float64, c.ConvDim()*c.DConv)
			sm[b] = make([]float64, ssm)
		}
		s.conv = append(s.conv, cv)
		s.ssm = append(s.ssm, sm)
	}
	return s
}

// Step runs one token per row (ids [Batch]) through the model, updating st, and returns the
// logits [Batch, Vocab]. Ids outside [0, Vocab) are errors.
func (m *MambaModel) Step(st *MambaState, ids []int) ([]float64, error) {
	return m.skeleton(st).step(ids, st.Batch)
}

// skeleton is the shared LM loop over this model's blocks, advancing st.
func (m *MambaModel) skeleton(st *MambaState) lm {
	c := m.Cfg
	return lm{name: "mamba", vocab: c.Vocab, hidden: c.Hidden, embed: m.embed, normF: m.normF, head: m.head,
		eps: c.NormEps, layers: len(m.layers), block: func(li, b int, x []float64) {
			L := &m.layers[li]
			h := flaRMSNorm(x, L.norm, c.NormEps)
			if c.Mamba2 {
				addTo(x, m.mamba2Step(L, st.conv[li][b], st.ssm[li][b], h))
			} else {
				addTo(x, m.mamba1Step(L, st.conv[li][b], st.ssm[li][b], h))
			}
		}}
}

func addBias(y, b []float64) {
	if b != nil {
		addTo(y, b)
	}
}

func (m *MambaModel) mamba1Step(L *mambaLayer, conv, ssm, u []float64) []float64 {
	c := m.Cfg
	Di, N, R := c.DInner, c.DState, c.DtRank
	xz := matVec(L.inW, u, 2*Di)
	addBias(xz, L.inB)
	x := flaShortConv(conv, squeezeConv(L.convW), L.convB, xz[:Di], c.DConv, true)
	z := xz[Di:]
	dbc := matVec(L.xProj, x, R+2*N)
	dt := matVec(L.dtW, dbc[:R], Di)
	addBias(dt, L.dtB)
	Bv, Cv := dbc[R:R+N], dbc[R+N:]
	y := make([]float64, Di)
	for d := range Di {
		delta := eltSoftplus(dt[d])
		s := 0.0
		for n := range N {
			h := &ssm[d*N+n]
			*h = math.Exp(delta*L.A[d*N+n])**h + delta*x[d]*Bv[n]
			s += *h * Cv[n]
		}
		y[d] = (s + L.D[d]*x[d]) * eltSiLU(z[d])
	}
	out := matVec(L.outW, y, c.Hidden)
	addBias(out, L.outB)
	return out
}

func (m *MambaModel) mamba2Step(L *mambaLayer, conv, ssm, u []float64) []float64 {
	c := m.Cfg
	Di, N, H, P, G := c.DInner, c.DState, c.NHeads, c.HeadDim, c.NGroups
	zxbcdt := matVec(L.inW, u, c.InProj())
	addBias(zxbcdt, L.inB)
	z := zxbcdt[:Di]
	xBC := flaShortConv(conv, squeezeConv(L.convW), L.convB, zxbcdt[Di:Di+c.ConvDim()], c.DConv, true)
	dtr := zxbcdt[Di+c.ConvDim():]
	x, Bv, Cv := xBC[:Di], xBC[Di:Di+G*N], xBC[Di+G*N:]
	y := make([]float64, Di)
	for h := range H {
		g := h / (H / G)
		dt := eltSoftplus(dtr[h] + L.dtBias[h])
		dA := math.Exp(dt * L.A[h])
		for p := range P {
			xv := x[h*P+p]
			s := 0.0
			for n := range N {
				st := &ssm[(h*P+p)*N+n]
				*st = *st*dA + dt*xv*Bv[g*N+n]
				s += *st * Cv[g*N+n]
			}
			y[h*P+p] = s + L.D[h]*xv
		}
	}
	// Gated RMSNorm, gate then norm, per group of DInner/G channels.
	gs := Di / G
	for i := range y {
		y[i] *= eltSiLU(z[i])
	}
	for g := range G {
		seg := y[g*gs : (g+1)*gs]
		copy(seg, flaRMSNorm(seg, L.gnorm[g*gs:(g+1)*gs], c.NormEps))
	}
	out := matVec(L.outW, y, c.Hidden)
	addBias(out, L.outB)
	return out
}

// squeezeConv views a conv1d weight [D, 1, W] as [D, W] (same memory).
func squeezeConv(w []float64) []float64 { return w }

// Forward runs ids [B, T] from a zero state, one token at a time, and returns the logits
// [B, T, Vocab].
func (m *MambaModel) Forward(ids []int, B, T int) ([]float64, error) {
	st := m.NewState(B)
	return m.skeleton(st).forward(ids, B, T)
}
