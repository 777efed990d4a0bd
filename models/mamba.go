package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
)

func init() {
	Register("mamba", loadMamba)
	Register("mamba2", loadMamba)
	RegisterPublished("mamba-130m", func() *Random {
		return NewRandom(NewConfig("published mamba-130m (state-spaces/mamba-130m)", map[string]any{
			"d_model": 768.0, "n_layer": 24.0, "vocab_size": 50277.0, "ssm_cfg": map[string]any{}, "rms_norm": true,
			"residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8.0,
		}), "lm_head.weight", "backbone.embeddings.weight")
	})
	RegisterPublished("mamba2-130m", func() *Random {
		return NewRandom(NewConfig("published mamba2-130m (state-spaces/mamba2-130m)", map[string]any{
			"d_model": 768.0, "d_intermediate": 0.0, "n_layer": 24.0, "vocab_size": 50277.0,
			"ssm_cfg": map[string]any{"layer": "Mamba2"}, "attn_layer_idx": []any{}, "attn_cfg": map[string]any{},
			"rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 16.0,
			"tie_embeddings": true,
		}), "lm_head.weight", "backbone.embeddings.weight")
	})
}

// uploader reads tensors from a Weights source onto a device, remembering the first error and every
// tensor made, so that a loader can read all its tensors and clean up once.
type uploader struct {
	d    *gpu.Device
	w    Weights
	err  error
	made []*gpu.Tensor
}

// get uploads name, checked against shape, as dtype dt; after an error it returns nil.
func (u *uploader) get(dt gpu.DType, name string, shape ...int) *gpu.Tensor {
	if u.err != nil {
		return nil
	}
	t, err := Upload(u.d, u.w, dt, name, shape...)
	if err != nil {
		u.err = err
		return nil
	}
	u.made = append(u.made, t)
	return t
}

// values returns name's values checked against shape (no upload).
func (u *uploader) values(name string, shape ...int) []float32 {
	if u.err != nil {
		return nil
	}
	v, err := u.w.Float32(name, shape...)
	if err != nil {
		u.err = err
	}
	return v
}

// put uploads host values as a new tensor.
func (u *uploader) put(dt gpu.DType, what string, v []float32, shape ...int) *gpu.Tensor {
	if u.err != nil {
		return nil
	}
	t, err := u.d.FromFloats(dt, v, shape...)
	if err != nil {
		u.err = fmt.Errorf("models: uploading %s: %w", what, err)
		return nil
	}
	u.made = append(u.made, t)
	return t
}

// rows uploads rows [r0, r1) of name (checked against the full shape [rows, cols]) as a [r1-r0, cols]
// tensor: one part of a fused projection.
func (u *uploader) rows(dt gpu.DType, name string, r0, r1, rowsAll, cols int) *gpu.Tensor {
	v := u.values(name, rowsAll, cols)
	if u.err != nil {
		return nil
	}
	return u.put(dt, fmt.Sprintf("%q rows [%d, %d)", name, r0, r1), v[r0*cols:r1*cols], r1-r0, cols)
}

// view returns the elements [start, start+prod(shape)) of t, shaped shape, without a copy (a part of
// a fused weight); after an error, or for a nil t, it returns nil.
func (u *uploader) view(t *gpu.Tensor, start int, shape ...int) *gpu.Tensor {
	if u.err != nil || t == nil {
		return nil
	}
	n := 1
	for _, v := range shape {
		n *= v
	}
	w, err := t.Window(start, n)
	if err == nil {
		w, err = w.Reshape(shape...)
	}
	if err != nil {
		u.err = fmt.Errorf("models: a part of %v: %w", t, err)
		return nil
	}
	return w
}

// free closes every tensor made (after an error).
func (u *uploader) free() {
	for _, t := range u.made {
		t.Close()
	}
	u.made = nil
}

// mambaConfig parses the config of a Mamba or Mamba-2 checkpoint (either spelling).
func mambaConfig(c *Config) (reference.MambaConfig, error) {
	mc, err := reference.ParseMambaConfig(c.Raw)
	if err != nil {
		return mc, fmt.Errorf("%w: %s: %w", ErrConfig, c.Source, err)
	}
	return mc, nil
}

// loadMamba is the Loader of model types "mamba" and "mamba2": mamba_ssm checkpoints
// (backbone.embedding.weight, config keys d_model, n_layer, ssm_cfg, pad_vocab_size_multiple,
// tie_embeddings) and transformers ones (backbone.embeddings.weight, hidden_size, ...). A missing
// lm_head.weight means tied embeddings. in_proj/out_proj biases are read when the config asks
// for them (use_bias, ssm_cfg.bias); when transformers' config leaves use_bias out (default true),
// their absence is accepted.
func loadMamba(d *gpu.Device, w Weights, opt LoadOptions) (LM, error) {
	cfg := w.Config()
	mc, err := mambaConfig(cfg)
	if err != nil {
		return nil, err
	}
	if mc.UseBias && !cfg.Has("use_bias") && !w.Has("backbone.layers.0.mixer.in_proj.bias") {
		mc.UseBias = false
	}
	u := &uploader{d: d, w: w}
	V, H := mc.Vocab, mc.Hidden
	embName := "backbone.embeddings.weight"
	if !w.Has(embName) {
		embName = "backbone.embedding.weight"
	}
	embed := u.get(opt.DType, embName, V, H)
	head := embed
	if w.Has("lm_head.weight") {
		head = u.get(opt.DType, "lm_head.weight", V, H)
	}
	normF := u.get(gpu.F32, "backbone.norm_f.weight", H)
	var blocks []Block
	for i := 0; i < mc.Layers && u.err == nil; i++ {
		p := fmt.Sprintf("backbone.layers.%d.", i)
		norm := u.get(gpu.F32, p+"norm.weight", H)
		var mx Mixer
		if mc.Mamba2 {
			mx = newMamba2Mixer(u, mc, p+"mixer.", opt.DType)
		} else {
			mx = newMambaMixer(u, mc, p+"mixer.", opt.DType)
		}
		blocks = append(blocks, Block{Norm: norm, Mixer: mx})
	}
	if u.err != nil {
		u.free()
		return nil, u.err
	}
	mt := "mamba"
	if mc.Mamba2 {
		mt = "mamba2"
	}
	real, _ := cfg.Int(V, "vocab_size")
	return NewDecoder(d, Info{ModelType: mt, Vocab: V, VocabSize: real, Hidden: H, Layers: mc.Layers, DType: opt.DType},
		embed, head, normF, blocks, float32(mc.NormEps), opt.Segment)
}

// MambaMixer is the Mamba-1 mixer (mamba_ssm Mamba, transformers MambaMixer):
//
//	x, z = in_proj(u);  x = silu(conv1d(x));  dt, B, C = x_proj(x);  dt = softplus(dt_proj(dt) + b)
//	h = exp(dt A) h + dt x B;  y = (C·h + D x) silu(z);  out = out_proj(y)
//
// Prefill runs the chunked ops (ops.CausalConv1D, ops.SelectiveScan) over [B, D, T] layouts made by
// ops.Transpose; decode runs ops.CausalConv1DUpdate and ops.SelectiveStateUpdate. The parts of the
// fused projections (InX, InZ; XDt, XB, XC) are views of one tensor each where the device's
// alignment allows (a one-row decode step then runs in_proj and x_proj as one GEMV each and reads
// the parts of their outputs in place), separate tensors otherwise. With the block's norm folded
// into in_proj (StepNormed, one row, CPU devices), the conv1d step runs in in_proj's dispatch
// too (ops.LinearRMSNormConvFolded): mamba-130m decodes with 99 dispatches per token, not 123.
// State per row: conv [DInner, W−1] (last pre-conv inputs, oldest first), SSM [DInner, N].
type MambaMixer struct {
	Cfg                  reference.MambaConfig
	InX, InZ, InXB, InZB *gpu.Tensor // in_proj rows [0, Di) and [Di, 2Di) [Di, H]; biases [Di] or nil
	ConvW, ConvB         *gpu.Tensor // [Di, W] F32, [Di] F32 or nil
	XDt, XB, XC          *gpu.Tensor // x_proj rows: [R, Di], [N, Di], [N, Di]
	DtW, DtB             *gpu.Tensor // dt_proj [Di, R], bias [Di] F32
	A, D                 *gpu.Tensor // A = −exp(A_log) [Di, N] F32, D [Di] F32
	Out, OutB            *gpu.Tensor // out_proj [H, Di], bias [H] or nil

	inProj, inB, xProj *gpu.Tensor // the whole in_proj [2Di, H], its bias [2Di] and x_proj [R+2N, Di]; nil when split
	fusedStep          bool        // Step with one row runs in_proj and x_proj whole
}

func newMambaMixer(u *uploader, c reference.MambaConfig, p string, dt gpu.DType) *MambaMixer {
	Di, N, R, W, H := c.DInner, c.DState, c.DtRank, c.DConv, c.Hidden
	m := &MambaMixer{Cfg: c}
	align := 1
	if u.d != nil {
		align = max(int(u.d.Info().StorageAlignment), 1)
	}
	esz := dt.Size()
	// The fused projections stay one tensor each, their parts views of it, when the parts start at
	// aligned offsets; otherwise each part is uploaded on its own.
	if (Di*H*esz)%align == 0 && (R*Di*esz)%align == 0 && ((R+N)*Di*esz)%align == 0 && (Di*4)%align == 0 {
		m.inProj = u.get(dt, p+"in_proj.weight", 2*Di, H)
		m.InX = u.view(m.inProj, 0, Di, H)
		m.InZ = u.view(m.inProj, Di*H, Di, H)
		m.xProj = u.get(dt, p+"x_proj.weight", R+2*N, Di)
		m.XDt = u.view(m.xProj, 0, R, Di)
		m.XB = u.view(m.xProj, R*Di, N, Di)
		m.XC = u.view(m.xProj, (R+N)*Di, N, Di)
		if c.UseBias {
			m.inB = u.get(gpu.F32, p+"in_proj.bias", 2*Di)
			m.InXB = u.view(m.inB, 0, Di)
			m.InZB = u.view(m.inB, Di, Di)
		}
		// One-row decode writes in_proj's and x_proj's outputs whole and reads their parts in place.
		m.fusedStep = (R*4)%align == 0 && ((R+N)*4)%align == 0
	} else {
		m.InX = u.rows(dt, p+"in_proj.weight", 0, Di, 2*Di, H)
		m.InZ = u.rows(dt, p+"in_proj.weight", Di, 2*Di, 2*Di, H)
		m.XDt = u.rows(dt, p+"x_proj.weight", 0, R, R+2*N, Di)
		m.XB = u.rows(dt, p+"x_proj.weight", R, R+N, R+2*N, Di)
		m.XC = u.rows(dt, p+"x_proj.weight", R+N, R+2*N, R+2*N, Di)
		if c.UseBias {
			b := u.values(p+"in_proj.bias", 2*Di)
			if u.err == nil {
				m.InXB = u.put(gpu.F32, p+"in_proj.bias", b[:Di], Di)
				m.InZB = u.put(gpu.F32, p+"in_proj.bias", b[Di:], Di)
			}
		}
	}
	if c.UseBias {
		m.OutB = u.get(gpu.F32, p+"out_proj.bias", H)
	}
	cw := u.values(p+"conv1d.weight", Di, 1, W)
	m.ConvW = u.put(gpu.F32, p+"conv1d.weight", cw, Di, W)
	if c.ConvBias {
		m.ConvB = u.get(gpu.F32, p+"conv1d.bias", Di)
	}
	m.DtW = u.get(dt, p+"dt_proj.weight", Di, R)
	m.DtB = u.get(gpu.F32, p+"dt_proj.bias", Di)
	m.A = u.put(gpu.F32, p+"A_log → A", negExp32(u.values(p+"A_log", Di, N)), Di, N)
	m.D = u.get(gpu.F32, p+"D", Di)
	m.Out = u.get(dt, p+"out_proj.weight", H, Di)
	return m
}

// negExp32 returns −exp(x) element-wise, computed in float64.
func negExp32(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(-math.Exp(float64(v)))
	}
	return y
}

// Weights lists the mixer's device tensors (for parameter and byte counts).
func (m *MambaMixer) Weights() []*gpu.Tensor {
	if m.inProj != nil {
		return nonNil(m.inProj, m.inB, m.ConvW, m.ConvB, m.xProj, m.DtW, m.DtB, m.A, m.D, m.Out, m.OutB)
	}
	return nonNil(m.InX, m.InZ, m.InXB, m.InZB, m.ConvW, m.ConvB, m.XDt, m.XB, m.XC, m.DtW, m.DtB, m.A, m.D, m.Out, m.OutB)
}

// Close frees the mixer's tensors.
func (m *MambaMixer) Close() error { return closeAll(m.Weights()) }

// StateShapes implements Mixer: conv [Di, W−1], SSM [Di, N].
func (m *MambaMixer) StateShapes() [][]int {
	return [][]int{{m.Cfg.DInner, m.Cfg.DConv - 1}, {m.Cfg.DInner, m.Cfg.DState}}
}

// Forward implements Mixer.
func (m *MambaMixer) Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	xs := x.Shape()
	if len(xs) != 3 || len(state) != 2 {
		return fmt.Errorf("%w: mamba mixer: x %v, want [B, T, H], and 2 states", ErrInput, xs)
	}
	Bn, T := xs[0], xs[1]
	Di, N, R := m.Cfg.DInner, m.Cfg.DState, m.Cfg.DtRank
	g := scratchGetter{sc: sc}
	xp := g.get("m.x", gpu.F32, Bn, T, Di)
	zp := g.get("m.z", gpu.F32, Bn, T, Di)
	xT := g.get("m.xT", gpu.F32, Bn, Di, T)
	zT := g.get("m.zT", gpu.F32, Bn, Di, T)
	cT := g.get("m.cT", gpu.F32, Bn, Di, T)
	xc := g.get("m.xc", gpu.F32, Bn, T, Di)
	dtr := g.get("m.dtr", gpu.F32, Bn, T, R)
	dt := g.get("m.dt", gpu.F32, Bn, T, Di)
	dtT := g.get("m.dtT", gpu.F32, Bn, Di, T)
	bt := g.get("m.b", gpu.F32, Bn, T, N)
	ct := g.get("m.c", gpu.F32, Bn, T, N)
	bT := g.get("m.bT", gpu.F32, Bn, N, T)
	cTT := g.get("m.cTT", gpu.F32, Bn, N, T)
	bT4 := g.get("m.bT", gpu.F32, Bn, 1, N, T) // the same memory as [B, G=1, N, T] for the scan
	cT4 := g.get("m.cTT", gpu.F32, Bn, 1, N, T)
	yT := g.get("m.yT", gpu.F32, Bn, Di, T)
	y := g.get("m.y", gpu.F32, Bn, T, Di)
	fin := g.get("m.convfin", gpu.F32, Bn, Di, m.Cfg.DConv-1)
	if g.err != nil {
		return g.err
	}
	return firstErr(
		func() error { return ops.Linear(s, xp, x, m.InX, m.InXB) },
		func() error { return ops.Linear(s, zp, x, m.InZ, m.InZB) },
		func() error { return ops.Transpose(s, xT, ops.Whole(xp), Bn) },
		func() error { return ops.Transpose(s, zT, ops.Whole(zp), Bn) },
		func() error {
			return ops.CausalConv1D(s, cT, xT, m.ConvW, ops.CausalConv1DOptions{Bias: m.ConvB,
				InitialState: state[0], FinalState: fin, SiLU: true})
		},
		func() error { return s.Copy(state[0], fin) },
		func() error { return ops.Transpose(s, xc, ops.Whole(cT), Bn) },
		func() error { return ops.Linear(s, dtr, xc, m.XDt, nil) },
		func() error { return ops.Linear(s, dt, dtr, m.DtW, nil) },
		func() error { return ops.Linear(s, bt, xc, m.XB, nil) },
		func() error { return ops.Linear(s, ct, xc, m.XC, nil) },
		func() error { return ops.Transpose(s, dtT, ops.Whole(dt), Bn) },
		func() error { return ops.Transpose(s, bT, ops.Whole(bt), Bn) },
		func() error { return ops.Transpose(s, cTT, ops.Whole(ct), Bn) },
		func() error {
			return ops.SelectiveScan(s, yT, cT, dtT, m.A, bT4, cT4, ops.SelectiveScanOptions{D: m.D, Z: zT,
				DtBias: m.DtB, DtSoftplus: true, InitialState: state[1], FinalState: state[1]})
		},
		func() error { return ops.Transpose(s, y, ops.Whole(yT), Bn) },
		func() error { return ops.Linear(s, out, y, m.Out, m.OutB) },
	)
}

// Step implements Mixer.
func (m *MambaMixer) Step(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	if xs := x.Shape(); len(xs) != 2 {
		return fmt.Errorf("%w: mamba mixer step: x %v, want [B, H]", ErrInput, xs)
	}
	_, err := m.step(s, sc, out, stepIn{x: x}, state)
	return err
}

// StepNormed implements NormedStepper: one row (B = 1) with in_proj stored whole.
func (m *MambaMixer) StepNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows, state []*gpu.Tensor) (bool, error) {
	if !m.fusedStep || in.Residual == nil || len(in.Residual.Shape()) != 2 || in.Residual.Shape()[0] != 1 {
		return false, nil
	}
	return m.step(s, sc, out, stepIn{norm: &in}, state)
}

// step records a decode step from in; false (nothing recorded): in's norm could not be folded.
func (m *MambaMixer) step(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in stepIn, state []*gpu.Tensor) (bool, error) {
	if len(state) != 2 {
		return false, fmt.Errorf("%w: mamba mixer step: %d states, want 2", ErrInput, len(state))
	}
	Bn := in.rows()
	Di, N, R := m.Cfg.DInner, m.Cfg.DState, m.Cfg.DtRank
	g := scratchGetter{sc: sc}
	// With one row and the projections stored whole, in_proj and x_proj each run as one GEMV and
	// the ops below read the parts of their outputs in place (views of the scratch).
	fused := Bn == 1 && m.fusedStep
	var xp, zp, dtr, bt3, ct3 *gpu.Tensor
	if fused {
		xp = g.part("m.sxz", 2*Di, 0, 1, Di)
		zp = g.part("m.sxz", 2*Di, Di, 1, Di)
		dtr = g.part("m.sdbc", R+2*N, 0, 1, R)
		bt3 = g.part("m.sdbc", R+2*N, R, 1, 1, N)
		ct3 = g.part("m.sdbc", R+2*N, R+N, 1, 1, N)
	} else {
		xp = g.get("m.sx", gpu.F32, Bn, Di)
		zp = g.get("m.sz", gpu.F32, Bn, Di)
		dtr = g.get("m.sdtr", gpu.F32, Bn, R)
		bt3 = g.get("m.sb", gpu.F32, Bn, 1, N) // [B, G=1, N] for the state update
		ct3 = g.get("m.sc", gpu.F32, Bn, 1, N)
	}
	xc := g.get("m.sxc", gpu.F32, Bn, Di)
	y := g.get("m.sy", gpu.F32, Bn, Di)
	if g.err != nil {
		return false, g.err
	}
	// With the block's norm folded into in_proj, the conv1d step rides in the same dispatch where
	// the device allows (ops.LinearRMSNormConvFolded); else in_proj, then the conv1d step.
	convDone := false
	if fused && in.norm != nil {
		xz := g.part("m.sxz", 2*Di, 0, 1, 2*Di)
		if g.err != nil {
			return false, g.err
		}
		ok, err := ops.LinearRMSNormConvFolded(s, xz, *in.norm, m.inProj, m.inB,
			ops.ConvStep{State: state[0], Weight: m.ConvW, Bias: m.ConvB, Out: xc})
		if err != nil {
			return true, err
		}
		convDone = ok
	}
	if !convDone {
		if ok, err := m.stepProject(s, &g, fused, in, xp, zp); !ok || err != nil {
			return false, err
		}
		if err := ops.CausalConv1DUpdate(s, xc, state[0], xp, m.ConvW, ops.CausalConv1DUpdateOptions{Bias: m.ConvB, SiLU: true}); err != nil {
			return true, err
		}
	}
	if err := m.stepXProj(s, &g, fused, xc, dtr, bt3, ct3); err != nil {
		return true, err
	}
	// dt_proj is folded into the state update (one dispatch on CPU devices).
	if err := ops.SelectiveStateUpdate(s, y, state[1], xc, dtr, m.A, bt3, ct3, ops.StateUpdateOptions{D: m.D, Z: zp, DtBias: m.DtB, DtSoftplus: true, DtProj: m.DtW}); err != nil {
		return true, err
	}
	return true, ops.Linear(s, out, y, m.Out, m.OutB)
}

// stepProject records in_proj for a decode step: one GEMV into the scratch that xp and zp view
// (fused), or one GEMV per part.
func (m *MambaMixer) stepProject(s *gpu.Stream, g *scratchGetter, fused bool, in stepIn, xp, zp *gpu.Tensor) (bool, error) {
	if fused {
		Di := m.Cfg.DInner
		xz := g.part("m.sxz", 2*Di, 0, 1, 2*Di)
		if g.err != nil {
			return false, g.err
		}
		return in.project(s, xz, m.inProj, m.inB)
	}
	if in.norm != nil { // two projections of one normalised input: not folded
		return false, nil
	}
	if err := ops.Linear(s, xp, in.x, m.InX, m.InXB); err != nil {
		return true, err
	}
	return true, ops.Linear(s, zp, in.x, m.InZ, m.InZB)
}

// stepXProj records x_proj for a decode step: one GEMV into the scratch that dtr, B and C view
// (fused), or one GEMV per part (B and C written through their [B, N] views).
func (m *MambaMixer) stepXProj(s *gpu.Stream, g *scratchGetter, fused bool, xc, dtr, bt3, ct3 *gpu.Tensor) error {
	N, R := m.Cfg.DState, m.Cfg.DtRank
	Bn := xc.Shape()[0]
	if fused {
		dbc := g.part("m.sdbc", R+2*N, 0, 1, R+2*N)
		if g.err != nil {
			return g.err
		}
		return ops.Linear(s, dbc, xc, m.xProj, nil)
	}
	bt := g.get("m.sb", gpu.F32, Bn, N)
	ct := g.get("m.sc", gpu.F32, Bn, N)
	if g.err != nil {
		return g.err
	}
	if err := ops.Linear(s, dtr, xc, m.XDt, nil); err != nil {
		return err
	}
	if err := ops.Linear(s, bt, xc, m.XB, nil); err != nil {
		return err
	}
	return ops.Linear(s, ct, xc, m.XC, nil)
}

// scratchGetter collects the first error of a run of Scratch.Get calls.
type scratchGetter struct {
	sc  *Scratch
	err error
}

// part is Scratch.GetPart for F32 after the first error is kept.
func (g *scratchGetter) part(key string, total, start int, shape ...int) *gpu.Tensor {
	if g.err != nil {
		return nil
	}
	t, err := g.sc.GetPart(key, gpu.F32, total, start, shape...)
	if err != nil {
		g.err = err
	}
	return t
}

func (g *scratchGetter) get(key string, dt gpu.DType, shape ...int) *gpu.Tensor {
	if g.err != nil {
		return nil
	}
	t, err := g.sc.Get(key, dt, shape...)
	g.err = err
	return t
}

// firstErr runs steps in order and returns the first error.
func firstErr(steps ...func() error) error {
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(ts ...*gpu.Tensor) []*gpu.Tensor {
	out := ts[:0:0]
	for _, t := range ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

func closeAll(ts []*gpu.Tensor) error {
	var errs []error
	for _, t := range ts {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}
