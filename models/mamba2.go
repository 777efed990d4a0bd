package models

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
)

// Mamba2Mixer is the Mamba-2 mixer (mamba_ssm Mamba2, transformers Mamba2Mixer):
//
//	z, xBC, dt = in_proj(u);  xBC = silu(conv1d(xBC));  x, B, C = xBC;  dt = softplus(dt + dt_bias)
//	per head h (group g = h/(H/G)): S = exp(dt A_h) S + dt x Bᵀ;  y = S C + D_h x
//	y = rmsnorm_groups(y · silu(z)) · norm.weight;  out = out_proj(y)
//
// Prefill runs ops.CausalConv1D and the chunked ops.SSD; decode runs ops.CausalConv1DUpdate and
// ops.SSDStateUpdate; the gate-then-norm is ops.GatedRMSNorm. in_proj's five parts (z, x, B, C, dt)
// are views of the whole weight where the device's alignment allows (a one-row decode step then
// runs in_proj as one GEMV and reads the parts of its output in place), separate tensors otherwise;
// the depthwise conv1d is stored as its three channel ranges (x, B, C: a depthwise conv is
// independent per channel), so that every operand is a contiguous tensor.
// State per row: conv windows x [Di, W−1], B [G·N, W−1], C [G·N, W−1], SSM [H, P, N].
type Mamba2Mixer struct {
	Cfg                      reference.MambaConfig
	InZ, InX, InB, InC, InDt *gpu.Tensor    // in_proj parts [Di|Di|GN|GN|H, Hidden]
	InBias                   [5]*gpu.Tensor // their biases, or nil
	ConvW, ConvB             [3]*gpu.Tensor // conv weights [ch, W] and biases (x, B, C)
	DtBias, A, D             *gpu.Tensor    // [H] F32; A = −exp(A_log)
	Norm                     *gpu.Tensor    // gated RMSNorm weight [Di]
	Out, OutB                *gpu.Tensor    // out_proj [Hidden, Di], bias or nil

	inProj, inBias *gpu.Tensor // the whole in_proj [Di|Di|GN|GN|H, Hidden] and its bias; nil when split
}

func newMamba2Mixer(u *uploader, c reference.MambaConfig, p string, dt gpu.DType) *Mamba2Mixer {
	Di, N, G, H, W, Hd := c.DInner, c.DState, c.NGroups, c.NHeads, c.DConv, c.Hidden
	m := &Mamba2Mixer{Cfg: c}
	cuts := []int{0, Di, 2 * Di, 2*Di + G*N, 2*Di + 2*G*N, 2*Di + 2*G*N + H}
	all := c.InProj()
	parts := []**gpu.Tensor{&m.InZ, &m.InX, &m.InB, &m.InC, &m.InDt}
	align := 1
	if u.d != nil {
		align = max(int(u.d.Info().StorageAlignment), 1)
	}
	aligned := true // every part starts aligned, in the weight and in a one-row output
	for _, cut := range cuts[:5] {
		aligned = aligned && (cut*Hd*dt.Size())%align == 0 && (cut*4)%align == 0
	}
	if aligned {
		m.inProj = u.get(dt, p+"in_proj.weight", all, Hd)
		if c.UseBias {
			m.inBias = u.get(gpu.F32, p+"in_proj.bias", all)
		}
		for i, pt := range parts {
			*pt = u.view(m.inProj, cuts[i]*Hd, cuts[i+1]-cuts[i], Hd)
			if c.UseBias {
				m.InBias[i] = u.view(m.inBias, cuts[i], cuts[i+1]-cuts[i])
			}
		}
	} else {
		for i, pt := range parts {
			*pt = u.rows(dt, p+"in_proj.weight", cuts[i], cuts[i+1], all, Hd)
		}
		if c.UseBias {
			b := u.values(p+"in_proj.bias", all)
			for i := range parts {
				if u.err == nil {
					m.InBias[i] = u.put(gpu.F32, p+"in_proj.bias", b[cuts[i]:cuts[i+1]], cuts[i+1]-cuts[i])
				}
			}
		}
	}
	if c.UseBias {
		m.OutB = u.get(gpu.F32, p+"out_proj.bias", Hd)
	}
	cd := c.ConvDim()
	cw := u.values(p+"conv1d.weight", cd, 1, W)
	var cb []float32
	if c.ConvBias {
		cb = u.values(p+"conv1d.bias", cd)
	}
	ccuts := []int{0, Di, Di + G*N, Di + 2*G*N}
	for i := range 3 {
		if u.err != nil {
			break
		}
		m.ConvW[i] = u.put(gpu.F32, p+"conv1d.weight", cw[ccuts[i]*W:ccuts[i+1]*W], ccuts[i+1]-ccuts[i], W)
		if cb != nil {
			m.ConvB[i] = u.put(gpu.F32, p+"conv1d.bias", cb[ccuts[i]:ccuts[i+1]], ccuts[i+1]-ccuts[i])
		}
	}
	m.DtBias = u.get(gpu.F32, p+"dt_bias", H)
	m.A = u.put(gpu.F32, p+"A_log → A", negExp32(u.values(p+"A_log", H)), H)
	m.D = u.get(gpu.F32, p+"D", H)
	m.Norm = u.get(gpu.F32, p+"norm.weight", Di)
	m.Out = u.get(dt, p+"out_proj.weight", Hd, Di)
	return m
}

// Weights lists the mixer's device tensors.
func (m *Mamba2Mixer) Weights() []*gpu.Tensor {
	ts := []*gpu.Tensor{m.DtBias, m.A, m.D, m.Norm, m.Out, m.OutB}
	if m.inProj != nil {
		ts = append(ts, m.inProj, m.inBias)
	} else {
		ts = append(ts, m.InZ, m.InX, m.InB, m.InC, m.InDt)
		ts = append(ts, m.InBias[:]...)
	}
	ts = append(ts, m.ConvW[:]...)
	ts = append(ts, m.ConvB[:]...)
	return nonNil(ts...)
}

// Close frees the mixer's tensors.
func (m *Mamba2Mixer) Close() error { return closeAll(m.Weights()) }

// StateShapes implements Mixer: conv windows of x, B and C, then the SSM state [H, P, N].
func (m *Mamba2Mixer) StateShapes() [][]int {
	c := m.Cfg
	w := c.DConv - 1
	return [][]int{{c.DInner, w}, {c.NGroups * c.DState, w}, {c.NGroups * c.DState, w}, {c.NHeads, c.HeadDim, c.DState}}
}

// Forward implements Mixer.
func (m *Mamba2Mixer) Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	xs := x.Shape()
	if len(xs) != 3 || len(state) != 4 {
		return fmt.Errorf("%w: mamba2 mixer: x %v, want [B, T, H], and 4 states", ErrInput, xs)
	}
	c := m.Cfg
	Bn, T := xs[0], xs[1]
	Di, GN, H, P, N, G := c.DInner, c.NGroups*c.DState, c.NHeads, c.HeadDim, c.DState, c.NGroups
	g := scratchGetter{sc: sc}
	z := g.get("m2.z", gpu.F32, Bn, T, Di)
	dtr := g.get("m2.dt", gpu.F32, Bn, T, H)
	ch := []int{Di, GN, GN}
	var pre, preT, postT, post, fin [3]*gpu.Tensor
	for i, n := range ch {
		k := string(rune('0' + i))
		pre[i] = g.get("m2.pre"+k, gpu.F32, Bn, T, n)
		preT[i] = g.get("m2.preT"+k, gpu.F32, Bn, n, T)
		postT[i] = g.get("m2.postT"+k, gpu.F32, Bn, n, T)
		post[i] = g.get("m2.post"+k, gpu.F32, Bn, T, n)
		fin[i] = g.get("m2.fin"+k, gpu.F32, Bn, n, c.DConv-1)
	}
	y := g.get("m2.y", gpu.F32, Bn, T, H, P)
	yn := g.get("m2.yn", gpu.F32, Bn, T, Di)
	if g.err != nil {
		return g.err
	}
	in := []*gpu.Tensor{m.InX, m.InB, m.InC}
	for i := range 3 {
		err := firstErr(
			func() error { return ops.Linear(s, pre[i], x, in[i], m.InBias[i+1]) },
			func() error { return ops.Transpose(s, preT[i], ops.Whole(pre[i]), Bn) },
			func() error {
				return ops.CausalConv1D(s, postT[i], preT[i], m.ConvW[i], ops.CausalConv1DOptions{Bias: m.ConvB[i],
					InitialState: state[i], FinalState: fin[i], SiLU: true})
			},
			func() error { return s.Copy(state[i], fin[i]) },
			func() error { return ops.Transpose(s, post[i], ops.Whole(postT[i]), Bn) },
		)
		if err != nil {
			return err
		}
	}
	// Views of the same scratch buffers in the shapes SSD and the gated norm take.
	xv := g.get("m2.post0", gpu.F32, Bn, T, H, P)
	bv := g.get("m2.post1", gpu.F32, Bn, T, G, N)
	cv := g.get("m2.post2", gpu.F32, Bn, T, G, N)
	y2 := g.get("m2.y", gpu.F32, Bn*T, Di)
	z2 := g.get("m2.z", gpu.F32, Bn*T, Di)
	if g.err != nil {
		return g.err
	}
	return firstErr(
		func() error { return ops.Linear(s, z, x, m.InZ, m.InBias[0]) },
		func() error { return ops.Linear(s, dtr, x, m.InDt, m.InBias[4]) },
		func() error {
			return ops.SSD(s, sc.Workspace(), y, xv, dtr, m.A, bv, cv, ops.SSDOptions{D: m.D, DtBias: m.DtBias,
				DtSoftplus: true, InitialState: state[3], FinalState: state[3]})
		},
		func() error {
			return ops.GatedRMSNorm(s, yn, ops.Whole(y2), ops.Whole(z2), m.Norm, ops.GatedRMSNormOptions{
				Eps: float32(c.NormEps), GroupSize: Di / G})
		},
		func() error { return ops.Linear(s, out, yn, m.Out, m.OutB) },
	)
}

// Step implements Mixer.
func (m *Mamba2Mixer) Step(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	if xs := x.Shape(); len(xs) != 2 {
		return fmt.Errorf("%w: mamba2 mixer step: x %v, want [B, H]", ErrInput, xs)
	}
	_, err := m.step(s, sc, out, stepIn{x: x}, state)
	return err
}

// StepNormed implements NormedStepper: one row (B = 1) with in_proj stored whole.
func (m *Mamba2Mixer) StepNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows, state []*gpu.Tensor) (bool, error) {
	if m.inProj == nil || in.Residual == nil || len(in.Residual.Shape()) != 2 || in.Residual.Shape()[0] != 1 {
		return false, nil
	}
	return m.step(s, sc, out, stepIn{norm: &in}, state)
}

// step records a decode step from in; false (nothing recorded): in's norm could not be folded.
func (m *Mamba2Mixer) step(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in stepIn, state []*gpu.Tensor) (bool, error) {
	if len(state) != 4 {
		return false, fmt.Errorf("%w: mamba2 mixer step: %d states, want 4", ErrInput, len(state))
	}
	c := m.Cfg
	Bn := in.rows()
	Di, GN, H, P, N, G := c.DInner, c.NGroups*c.DState, c.NHeads, c.HeadDim, c.DState, c.NGroups
	g := scratchGetter{sc: sc}
	var z, dtr, pre0, pre1, pre2 *gpu.Tensor
	fused := Bn == 1 && m.inProj != nil
	if fused { // one GEMV over the whole in_proj; its parts read in place
		all := c.InProj()
		z = g.part("m2.sin", all, 0, 1, Di)
		pre0 = g.part("m2.sin", all, Di, 1, Di)
		pre1 = g.part("m2.sin", all, 2*Di, 1, GN)
		pre2 = g.part("m2.sin", all, 2*Di+GN, 1, GN)
		dtr = g.part("m2.sin", all, 2*Di+2*GN, 1, H)
	} else {
		z = g.get("m2.sz", gpu.F32, Bn, Di)
		dtr = g.get("m2.sdt", gpu.F32, Bn, H)
		pre0 = g.get("m2.spre0", gpu.F32, Bn, Di)
		pre1 = g.get("m2.spre1", gpu.F32, Bn, GN)
		pre2 = g.get("m2.spre2", gpu.F32, Bn, GN)
	}
	xc := g.get("m2.sx", gpu.F32, Bn, H, P)
	bc := g.get("m2.sb", gpu.F32, Bn, G, N)
	cc := g.get("m2.sc", gpu.F32, Bn, G, N)
	y := g.get("m2.sy", gpu.F32, Bn, H, P)
	xc2 := g.get("m2.sx", gpu.F32, Bn, Di)
	bc2 := g.get("m2.sb", gpu.F32, Bn, GN)
	cc2 := g.get("m2.sc", gpu.F32, Bn, GN)
	y2 := g.get("m2.sy", gpu.F32, Bn, Di)
	yn := g.get("m2.syn", gpu.F32, Bn, Di)
	if g.err != nil {
		return false, g.err
	}
	cup := func(i int) ops.CausalConv1DUpdateOptions {
		return ops.CausalConv1DUpdateOptions{Bias: m.ConvB[i], SiLU: true}
	}
	if ok, err := m.stepInProj(s, &g, fused, in, z, pre0, pre1, pre2, dtr); !ok || err != nil {
		return false, err
	}
	if err := ops.CausalConv1DUpdate(s, xc2, state[0], pre0, m.ConvW[0], cup(0)); err != nil {
		return true, err
	}
	if err := ops.CausalConv1DUpdate(s, bc2, state[1], pre1, m.ConvW[1], cup(1)); err != nil {
		return true, err
	}
	if err := ops.CausalConv1DUpdate(s, cc2, state[2], pre2, m.ConvW[2], cup(2)); err != nil {
		return true, err
	}
	if err := ops.SSDStateUpdate(s, y, state[3], xc, dtr, m.A, bc, cc, ops.StateUpdateOptions{D: m.D, DtBias: m.DtBias, DtSoftplus: true}); err != nil {
		return true, err
	}
	if err := ops.GatedRMSNorm(s, yn, ops.Whole(y2), ops.Whole(z), m.Norm, ops.GatedRMSNormOptions{Eps: float32(c.NormEps), GroupSize: Di / G}); err != nil {
		return true, err
	}
	if err := ops.Linear(s, out, yn, m.Out, m.OutB); err != nil {
		return true, err
	}
	return true, nil
}

// stepInProj records in_proj for a decode step: one GEMV into the scratch whose parts z, pre0..2
// and dtr view (fused), or one GEMV per part.
func (m *Mamba2Mixer) stepInProj(s *gpu.Stream, g *scratchGetter, fused bool, in stepIn, z, pre0, pre1, pre2, dtr *gpu.Tensor) (bool, error) {
	if fused {
		all := m.Cfg.InProj()
		whole := g.part("m2.sin", all, 0, 1, all)
		if g.err != nil {
			return false, g.err
		}
		return in.project(s, whole, m.inProj, m.inBias)
	}
	if in.norm != nil { // five projections of one normalised input: not folded
		return false, nil
	}
	x := in.x
	for _, p := range []struct{ out, w, b *gpu.Tensor }{{z, m.InZ, m.InBias[0]}, {pre0, m.InX, m.InBias[1]},
		{pre1, m.InB, m.InBias[2]}, {pre2, m.InC, m.InBias[3]}, {dtr, m.InDt, m.InBias[4]}} {
		if err := ops.Linear(s, p.out, x, p.w, p.b); err != nil {
			return true, err
		}
	}
	return true, nil
}
