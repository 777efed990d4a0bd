package models

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// DeltaNetAttention is fla's DeltaNet layer (fla/layers/delta_net.py) or, with Gated, its
// GatedDeltaNet layer (fla/layers/gated_deltanet.py), as a Mixer:
//
//	q, k, v = SiLU(ShortConv(q/k/v_proj(x)))       (SiLU(proj) without short convs)
//	beta    = sigmoid(b_proj(x))  (1 without use_beta; ×2 with allow_neg_eigval)
//	gated:  g = −exp(A_log)·softplus(a_proj(x) + dt_bias)       (log decay per value head)
//	S ← exp(g)(I − beta k kᵀ) S + beta k vᵀ,  o = Sᵀ q · K^-0.5, q and k L2-normalised per head
//	        (ops.DeltaRule / ops.DeltaRuleRecurrent with UseQKL2Norm)
//	out     = o_proj( rmsnorm_head(o)·o_norm (·silu(g_proj(x)) with use_gate) )
//
// Grouped value heads (gated DeltaNet num_v_heads > num_heads: value head i reads q/k head
// i/(HV/H)) are expanded at load by giving every value head its own copy of the q and k rows (and
// conv channels). Heads is the number of value heads. −exp(A_log) is applied as a diagonal [HV, HV]
// F32 matrix. Value heads wider than the kernels take (head_v_dim > 256: gated DeltaNet's default
// head_dim 256 with expand_v 2) are split into P parts of V/P columns run as P heads: the state's
// columns evolve independently, so value head i becomes kernel heads i·P .. i·P+P−1, each with its
// own copy of q, k, beta and the gate (o's memory layout is unchanged). Heads and VDim are the
// kernel heads and value size; OutV is the value size of the output norm (head_v_dim). State per
// row: the delta-rule state [Heads, K, VDim], then the q, k, v conv windows [D, W−1].
type DeltaNetAttention struct {
	Q, K, V, G, B, A, O *gpu.Tensor
	DtBias, NegA        *gpu.Tensor // gated only: [HV] F32, diag(−exp(A_log)) [HV, HV] F32
	Norm                *gpu.Tensor // o_norm [V] F32
	Conv                [3]*flaConv

	Gated, UseBeta, NegEigval, UseConv bool
	Heads, KDim, VDim, OutV, Hidden    int
	Eps                                float32

	ws     *ops.Workspace
	ownsWS bool

	// fused, when not nil, holds q_proj, k_proj, v_proj, b_proj, a_proj and g_proj (those the
	// layer has) as one [rows, Hidden] weight (Q, K, V, B, A and G are views of it; fusedAt their
	// first rows): a one-row decode step runs them as one GEMV and reads the parts in place.
	fused   *gpu.Tensor
	fusedAt [7]int // first rows of q, k, v, b, a, g and the end
}

func loadDeltaNetAttention(l flaLoader, ws *ops.Workspace, ownsWS bool) (a *DeltaNetAttention, err error) {
	c := l.cfg
	H, HV, K, V, Hd := c.NumHeads, c.NumVHeads, c.HeadK, c.HeadV, c.Hidden
	if K > flaMaxHeadDim {
		return nil, fmt.Errorf("%w: %s: head key size %d, the delta-rule kernels take at most %d", ErrConfig, l.w.Config().Source, K, flaMaxHeadDim)
	}
	P := (V + flaSplitV - 1) / flaSplitV
	for V%P != 0 {
		P++
	}
	G := HV / H * P // kernel heads per q/k head
	a = &DeltaNetAttention{Gated: c.ModelType == "gated_deltanet", UseBeta: c.UseBeta, NegEigval: c.AllowNegEigval,
		UseConv: c.UseShortConv, Heads: HV * P, KDim: K, VDim: V / P, OutV: V, Hidden: Hd, Eps: float32(c.NormEps), ws: ws, ownsWS: ownsWS}
	defer func() {
		if err != nil {
			a.Close()
			a = nil
		}
	}()
	// The projections that read x: one fused weight where the parts start aligned, else apart.
	t, at, err := l.loadFused("q/k/v/b/a/g_proj", []fusedPart{{"q_proj.weight", H, K, G, false, &a.Q},
		{"k_proj.weight", H, K, G, false, &a.K}, {"v_proj.weight", HV, V, 1, false, &a.V},
		{"b_proj.weight", HV, 1, P, !c.UseBeta, &a.B}, {"a_proj.weight", HV, 1, P, !a.Gated, &a.A},
		{"g_proj.weight", HV, V, 1, !c.UseGate, &a.G}})
	if err != nil {
		return
	}
	if t != nil {
		a.fused = t
		copy(a.fusedAt[:], at)
	} else {
		if a.Q, err = l.mat("q_proj.weight", H, K, Hd, G); err != nil {
			return
		}
		if a.K, err = l.mat("k_proj.weight", H, K, Hd, G); err != nil {
			return
		}
		if a.V, err = l.mat("v_proj.weight", HV, V, Hd, 1); err != nil {
			return
		}
		if c.UseBeta {
			if a.B, err = l.mat("b_proj.weight", HV, 1, Hd, P); err != nil {
				return
			}
		}
		if c.UseGate {
			if a.G, err = l.mat("g_proj.weight", HV, V, Hd, 1); err != nil {
				return
			}
		}
		if a.Gated {
			if a.A, err = l.mat("a_proj.weight", HV, 1, Hd, P); err != nil {
				return
			}
		}
	}
	if a.Gated {
		if a.DtBias, err = l.vec("dt_bias", HV, 1, P); err != nil {
			return
		}
		var alog []float32
		if alog, err = l.rows("A_log", HV, 1, 0, P); err != nil {
			return
		}
		n := HV * P
		diag := make([]float32, n*n)
		for i, v := range alog {
			diag[i*n+i] = -float32(expf64(float64(v)))
		}
		if a.NegA, err = l.d.FromFloat32(diag, n, n); err != nil {
			return
		}
	}
	if a.Norm, err = l.vec("o_norm.weight", 1, V, 1); err != nil {
		return
	}
	if a.O, err = l.mat("o_proj.weight", 1, Hd, HV*V, 1); err != nil {
		return
	}
	if c.UseShortConv {
		for i, p := range []struct {
			name       string
			heads, dim int
			g          int
		}{{"q_conv1d", H, K, G}, {"k_conv1d", H, K, G}, {"v_conv1d", HV, V, 1}} {
			if a.Conv[i], err = l.loadConv(p.name, p.heads, p.dim, p.g, true); err != nil {
				return
			}
		}
	}
	return a, nil
}

// StateShapes implements Mixer: [Heads, K, V], then the three conv windows [D, W−1].
func (a *DeltaNetAttention) StateShapes() [][]int {
	return attnStateShapes(a.Heads, a.KDim, a.VDim, a.Conv)
}

// Forward implements Mixer (chunked delta rule).
func (a *DeltaNetAttention) Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	B, T, err := checkAttnInput("delta_net", x, a.Hidden)
	if err != nil {
		return err
	}
	return a.run(s, sc, out, x, state, B, T, false)
}

// Step implements Mixer (recurrent delta rule, one token per row).
func (a *DeltaNetAttention) Step(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	return a.run(s, sc, out, x, state, x.Len()/a.Hidden, 1, true) // x [B, H]: checked by the ops
}

func (a *DeltaNetAttention) run(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor, B, T int, decode bool) error {
	H, K, V := a.Heads, a.KDim, a.VDim
	rows := B * T
	if decode && rows == 1 && a.fused != nil {
		_, err := a.stepFused(s, sc, out, stepIn{x: x}, state)
		return err
	}
	for i, p := range [3]struct {
		key string
		w   *gpu.Tensor
		d   int
	}{{"fla.q", a.Q, H * K}, {"fla.k", a.K, H * K}, {"fla.v", a.V, H * V}} {
		var cst *gpu.Tensor
		if a.Conv[i] != nil {
			cst = state[1+i]
		}
		if err := flaProject(s, sc, p.key, x, p.w, a.Conv[i], cst, B, T, p.d, decode); err != nil {
			return fmt.Errorf("delta_net %s projection: %w", "qkv"[i:i+1], err)
		}
		if !a.UseConv {
			t, err := sc.Get(p.key, gpu.F32, rows, p.d)
			if err != nil {
				return err
			}
			if err := ops.Unary(s, t, t, ops.SiLU); err != nil {
				return err
			}
		}
	}
	q4, err := sc.Get("fla.q", gpu.F32, B, T, H, K)
	if err != nil {
		return err
	}
	k4, err := sc.Get("fla.k", gpu.F32, B, T, H, K)
	if err != nil {
		return err
	}
	v4, err := sc.Get("fla.v", gpu.F32, B, T, H, V)
	if err != nil {
		return err
	}
	beta, err := sc.Get("fla.beta", gpu.F32, B, T, H)
	if err != nil {
		return err
	}
	if a.B != nil {
		braw, err := sc.Get("fla.braw", gpu.F32, rows, H)
		if err != nil {
			return err
		}
		beta2, err := sc.Get("fla.beta", gpu.F32, rows, H)
		if err != nil {
			return err
		}
		if err := ops.Linear(s, braw, x, a.B, nil); err != nil {
			return fmt.Errorf("delta_net b_proj: %w", err)
		}
		if err := ops.Unary(s, beta2, braw, ops.Sigmoid); err != nil {
			return err
		}
	} else if err := s.Fill(beta, 1); err != nil {
		return err
	}
	if a.NegEigval {
		if err := ops.Scale(s, beta, beta, 2); err != nil {
			return err
		}
	}
	var g4 *gpu.Tensor
	if a.Gated {
		araw, err := sc.Get("fla.araw", gpu.F32, rows, H)
		if err != nil {
			return err
		}
		g2, err := sc.Get("fla.g", gpu.F32, rows, H)
		if err != nil {
			return err
		}
		if g4, err = sc.Get("fla.g", gpu.F32, B, T, H); err != nil {
			return err
		}
		if err := ops.Linear(s, araw, x, a.A, nil); err != nil {
			return fmt.Errorf("gated_deltanet a_proj: %w", err)
		}
		if err := ops.SoftplusBias(s, araw, araw, a.DtBias); err != nil {
			return fmt.Errorf("gated_deltanet gate: %w", err)
		}
		if err := ops.Linear(s, g2, araw, a.NegA, nil); err != nil { // ·(−exp(A_log)) per head
			return fmt.Errorf("gated_deltanet gate: %w", err)
		}
	}
	o4, err := sc.Get("fla.o", gpu.F32, B, T, H, V)
	if err != nil {
		return err
	}
	if decode {
		err = ops.DeltaRuleRecurrent(s, o4, state[0], q4, k4, v4, beta, g4, ops.DeltaRuleRecurrentOptions{UseQKL2Norm: true})
	} else {
		err = ops.DeltaRule(s, a.ws, o4, q4, k4, v4, beta, g4, ops.DeltaRuleOptions{UseQKL2Norm: true, InitialState: state[0], FinalState: state[0]})
	}
	if err != nil {
		return fmt.Errorf("delta_net attention: %w", err)
	}
	o2, err := sc.Get("fla.o", gpu.F32, rows, H*V)
	if err != nil {
		return err
	}
	var gate *gpu.Tensor
	if a.G != nil {
		if gate, err = sc.Get("fla.gate", gpu.F32, rows, H*V); err != nil {
			return err
		}
		if err := ops.Linear(s, gate, x, a.G, nil); err != nil {
			return fmt.Errorf("delta_net g_proj: %w", err)
		}
	}
	if err := flaOutput(s, sc, out, o2, gate, a.Norm, a.O, B, T, H*V/a.OutV, a.OutV, a.Eps, decode); err != nil {
		return fmt.Errorf("delta_net %w", err)
	}
	return nil
}

// stepFused is the decode step of one row with the fused projections: one GEMV for q, k, v, b,
// a and g, the short convs (or SiLU), beta and the gate reading the parts of its output in place.
func (a *DeltaNetAttention) stepFused(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in stepIn, state []*gpu.Tensor) (bool, error) {
	H, K, V := a.Heads, a.KDim, a.VDim
	n := a.fusedAt[6]
	g := scratchGetter{sc: sc}
	all := g.part("dn.sin", n, 0, 1, n)
	dims := [3]int{H * K, H * K, H * V}
	var raw, qkv [3]*gpu.Tensor
	for i := range raw {
		raw[i] = g.part("dn.sin", n, a.fusedAt[i], 1, dims[i])
		qkv[i] = raw[i]
		if a.Conv[i] != nil {
			qkv[i] = g.get([3]string{"fla.q", "fla.k", "fla.v"}[i], gpu.F32, 1, dims[i])
		}
	}
	beta := g.get("fla.beta", gpu.F32, 1, 1, H)
	o4 := g.get("fla.o", gpu.F32, 1, 1, H, V)
	o2 := g.get("fla.o", gpu.F32, 1, H*V)
	var braw, araw, g2, g4, gate *gpu.Tensor
	if a.B != nil {
		braw = g.part("dn.sin", n, a.fusedAt[3], 1, 1, H)
	}
	if a.Gated {
		araw = g.part("dn.sin", n, a.fusedAt[4], 1, H)
		g2 = g.get("fla.g", gpu.F32, 1, H)
		g4 = g.get("fla.g", gpu.F32, 1, 1, H)
	}
	if a.G != nil {
		gate = g.part("dn.sin", n, a.fusedAt[5], 1, H*V)
	}
	if g.err != nil {
		return false, g.err
	}
	if ok, err := in.project(s, all, a.fused, nil); !ok || err != nil {
		if err != nil {
			err = fmt.Errorf("delta_net q/k/v/b/a/g_proj: %w", err)
		}
		return false, err
	}
	for i := range raw {
		var err error
		if a.Conv[i] != nil {
			err = a.Conv[i].step(s, qkv[i], raw[i], state[1+i])
		} else {
			err = ops.Unary(s, raw[i], raw[i], ops.SiLU)
		}
		if err != nil {
			return true, fmt.Errorf("delta_net %s: %w", "qkv"[i:i+1], err)
		}
	}
	var err error
	if braw != nil {
		err = ops.Unary(s, beta, braw, ops.Sigmoid)
	} else {
		err = s.Fill(beta, 1)
	}
	if err == nil && a.NegEigval {
		err = ops.Scale(s, beta, beta, 2)
	}
	if err != nil {
		return true, fmt.Errorf("delta_net beta: %w", err)
	}
	if a.Gated {
		if err := ops.SoftplusBias(s, araw, araw, a.DtBias); err != nil {
			return true, fmt.Errorf("gated_deltanet gate: %w", err)
		}
		if err := ops.Linear(s, g2, araw, a.NegA, nil); err != nil {
			return true, fmt.Errorf("gated_deltanet gate: %w", err)
		}
	}
	var q4, k4, v4 *gpu.Tensor
	if q4, err = qkv[0].Reshape(1, 1, H, K); err == nil {
		if k4, err = qkv[1].Reshape(1, 1, H, K); err == nil {
			v4, err = qkv[2].Reshape(1, 1, H, V)
		}
	}
	if err != nil {
		return true, err
	}
	if err := ops.DeltaRuleRecurrent(s, o4, state[0], q4, k4, v4, beta, g4, ops.DeltaRuleRecurrentOptions{UseQKL2Norm: true}); err != nil {
		return true, fmt.Errorf("delta_net attention: %w", err)
	}
	if err := flaOutput(s, sc, out, o2, gate, a.Norm, a.O, 1, 1, H*V/a.OutV, a.OutV, a.Eps, true); err != nil {
		return true, fmt.Errorf("delta_net %w", err)
	}
	return true, nil
}

// Weights lists the weight tensors, none nil (for the Decoder's counts).
func (a *DeltaNetAttention) Weights() []*gpu.Tensor {
	ts := []*gpu.Tensor{a.Q, a.K, a.V, a.G, a.B, a.A, a.O, a.DtBias, a.NegA, a.Norm}
	if a.fused != nil { // Q, K, V, B, A and G are views of it
		ts = []*gpu.Tensor{a.fused, a.O, a.DtBias, a.NegA, a.Norm}
	}
	for _, c := range a.Conv {
		if c != nil {
			ts = append(ts, c.Weight, c.Bias)
		}
	}
	return flaNonNil(ts)
}

// Close frees the weights (and the shared workspace, for the layer that owns it).
func (a *DeltaNetAttention) Close() error {
	err := flaClose(a.Weights()...)
	if a.ownsWS && a.ws != nil {
		a.ws.Close()
		a.ws = nil
	}
	return err
}

// StepNormed implements NormedStepper: one row (B = 1) with the fused projections.
func (a *DeltaNetAttention) StepNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows, state []*gpu.Tensor) (bool, error) {
	if a.fused == nil || in.Residual == nil || in.Residual.Len() != a.Hidden {
		return false, nil
	}
	return a.stepFused(s, sc, out, stepIn{norm: &in}, state)
}
