package models

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// GLAAttention is fla's GatedLinearAttention layer (fla/layers/gla.py) as a Mixer:
//
//	q, k, v = q/k/v_proj(x)                   (+ ShortConvolution with SiLU when use_short_conv)
//	gk      = logsigmoid(gk_proj.1(gk_proj.0(x)) + bias) / 16          (log decay per key channel)
//	S_h     = diag(exp(gk_h)) S_h + k_h v_hᵀ,  o_h = S_hᵀ q_h · K^-0.5  (ops.GLA / ops.GLARecurrent)
//	out     = o_proj( rmsnorm_head(o)·g_norm (·silu(g_proj(x)) with the output gate) )
//
// Grouped key/value heads (num_kv_heads < num_heads) are expanded at load: the k, v and gk
// projections (and their convs) get one copy of kv head j/G per query head j. Heads H, key size K
// and value size V are per query head. Matrices are in the storage dtype, the rest F32. State per
// row: the GLA state [H, K, V], then, with short convs, the q, k, v conv windows [D, W−1].
type GLAAttention struct {
	Q, K, V, G, GK0, GK1, GK1Bias, O *gpu.Tensor
	Norm                             *gpu.Tensor // [V] F32 (g_norm_swish_gate or g_norm)
	Conv                             [3]*flaConv // q, k, v; nil without short convs

	Heads, KDim, VDim, Hidden, LowRank int
	Eps, Normalizer                    float32

	ws     *ops.Workspace
	ownsWS bool

	// fused, when not nil, holds q_proj, k_proj, v_proj, g_proj and gk_proj.0 as one [rows, Hidden]
	// weight (Q, K, V, G and GK0 are views of it; fusedAt their first rows): a one-row decode step
	// without short convs runs them as one GEMV and reads the parts of its output in place.
	fused   *gpu.Tensor
	fusedAt [6]int // first rows of q, k, v, g, gk0 and the end
}

func loadGLAAttention(l flaLoader, ws *ops.Workspace, ownsWS bool) (a *GLAAttention, err error) {
	c := l.cfg
	H, K, V, Hd, G := c.NumHeads, c.HeadK, c.HeadV, c.Hidden, c.NumHeads/c.NumKVHeads
	if K > flaMaxHeadDim || V > flaMaxHeadDim {
		return nil, fmt.Errorf("%w: %s: GLA head sizes K = %d, V = %d, the kernels take at most %d", ErrConfig, l.w.Config().Source, K, V, flaMaxHeadDim)
	}
	a = &GLAAttention{Heads: H, KDim: K, VDim: V, Hidden: Hd, LowRank: c.GateLowRank, Eps: float32(c.NormEps),
		Normalizer: float32(c.GateLogitNormalizer), ws: ws, ownsWS: ownsWS}
	defer func() {
		if err != nil {
			a.Close()
			a = nil
		}
	}()
	Hkv := c.NumKVHeads
	if err = a.loadFused(l); err != nil {
		return
	}
	if a.fused == nil {
		if a.Q, err = l.mat("q_proj.weight", H, K, Hd, 1); err != nil {
			return
		}
		if a.K, err = l.mat("k_proj.weight", Hkv, K, Hd, G); err != nil {
			return
		}
		if a.V, err = l.mat("v_proj.weight", Hkv, V, Hd, G); err != nil {
			return
		}
		if c.UseGate {
			if a.G, err = l.mat("g_proj.weight", H, V, Hd, 1); err != nil {
				return
			}
		}
		if a.GK0, err = l.mat("gk_proj.0.weight", 1, c.GateLowRank, Hd, 1); err != nil {
			return
		}
	}
	if a.GK1, err = l.mat("gk_proj.1.weight", Hkv, K, c.GateLowRank, G); err != nil {
		return
	}
	if a.GK1Bias, err = l.vec("gk_proj.1.bias", Hkv, K, G); err != nil {
		return
	}
	norm := "g_norm.weight"
	if c.GLAFusedNormName {
		norm = "g_norm_swish_gate.weight"
	}
	if a.Norm, err = l.vec(norm, 1, V, 1); err != nil {
		return
	}
	if a.O, err = l.mat("o_proj.weight", 1, Hd, H*V, 1); err != nil {
		return
	}
	if c.UseShortConv {
		for i, p := range []struct {
			name       string
			heads, dim int
			g          int
		}{{"q_conv1d", H, K, 1}, {"k_conv1d", Hkv, K, G}, {"v_conv1d", Hkv, V, G}} {
			if a.Conv[i], err = l.loadConv(p.name, p.heads, p.dim, p.g, true); err != nil {
				return
			}
		}
	}
	return a, nil
}

// loadFused uploads the projections that read x (q, k, v, g, gk_proj.0) as one weight with the
// parts as views (flaLoader.loadFused), when the layer has no short convs and every part starts
// aligned; otherwise it leaves a.fused nil.
func (a *GLAAttention) loadFused(l flaLoader) error {
	c := l.cfg
	H, K, V, G := c.NumHeads, c.HeadK, c.HeadV, c.NumHeads/c.NumKVHeads
	if c.UseShortConv {
		return nil
	}
	t, at, err := l.loadFused("q/k/v/g/gk_proj.0", []fusedPart{{"q_proj.weight", H, K, 1, false, &a.Q},
		{"k_proj.weight", c.NumKVHeads, K, G, false, &a.K}, {"v_proj.weight", c.NumKVHeads, V, G, false, &a.V},
		{"g_proj.weight", H, V, 1, !c.UseGate, &a.G}, {"gk_proj.0.weight", 1, c.GateLowRank, 1, false, &a.GK0}})
	if err != nil || t == nil {
		return err
	}
	a.fused = t
	copy(a.fusedAt[:], at)
	return nil
}

// StateShapes implements Mixer: [H, K, V], then the three conv windows [D, W−1] with short convs.
func (a *GLAAttention) StateShapes() [][]int {
	return attnStateShapes(a.Heads, a.KDim, a.VDim, a.Conv)
}

// Forward implements Mixer (chunked GLA).
func (a *GLAAttention) Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	B, T, err := checkAttnInput("gla", x, a.Hidden)
	if err != nil {
		return err
	}
	return a.run(s, sc, out, x, state, B, T, false)
}

// Step implements Mixer (recurrent GLA, one token per row).
func (a *GLAAttention) Step(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error {
	return a.run(s, sc, out, x, state, x.Len()/a.Hidden, 1, true) // x [B, H]: checked by the ops
}

func (a *GLAAttention) run(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor, B, T int, decode bool) error {
	H, K, V := a.Heads, a.KDim, a.VDim
	rows := B * T
	// Each of q, k, v, g is one scratch buffer seen as [B, T, H, D] (the attention ops) and as
	// [rows, H·D] (the projections).
	get := func(key string, d int) (t4, t2 *gpu.Tensor, err error) {
		if t4, err = sc.Get(key, gpu.F32, B, T, H, d); err == nil {
			t2, err = sc.Get(key, gpu.F32, rows, H*d)
		}
		return
	}
	if decode && rows == 1 && a.fused != nil {
		_, err := a.stepFused(s, sc, out, stepIn{x: x}, state)
		return err
	}
	q4, _, err := get("fla.q", K)
	if err != nil {
		return err
	}
	k4, _, err := get("fla.k", K)
	if err != nil {
		return err
	}
	v4, _, err := get("fla.v", V)
	if err != nil {
		return err
	}
	g4, g2, err := get("fla.g", K)
	if err != nil {
		return err
	}
	o4, o2, err := get("fla.o", V)
	if err != nil {
		return err
	}
	x2 := x // Linear takes x [B, T, H] or [B, H] as rows·H
	for i, p := range [3]struct {
		key string
		w   *gpu.Tensor
		d   int
	}{{"fla.q", a.Q, H * K}, {"fla.k", a.K, H * K}, {"fla.v", a.V, H * V}} {
		var cst *gpu.Tensor
		if a.Conv[i] != nil {
			cst = state[1+i]
		}
		if err := flaProject(s, sc, p.key, x2, p.w, a.Conv[i], cst, B, T, p.d, decode); err != nil {
			return fmt.Errorf("gla %s projection: %w", "qkv"[i:i+1], err)
		}
	}
	low, err := sc.Get("gla.gk0", gpu.F32, rows, a.LowRank)
	if err != nil {
		return err
	}
	if err := ops.Linear(s, low, x2, a.GK0, nil); err != nil {
		return fmt.Errorf("gla gk_proj.0: %w", err)
	}
	if err := ops.Linear(s, g2, low, a.GK1, a.GK1Bias); err != nil {
		return fmt.Errorf("gla gk_proj.1: %w", err)
	}
	if err := ops.LogSigmoid(s, g2, g2, a.Normalizer); err != nil {
		return fmt.Errorf("gla gate: %w", err)
	}
	if decode {
		err = ops.GLARecurrent(s, o4, state[0], q4, k4, v4, g4, ops.GLARecurrentOptions{})
	} else {
		err = ops.GLA(s, a.ws, o4, q4, k4, v4, g4, ops.GLAOptions{InitialState: state[0], FinalState: state[0]})
	}
	if err != nil {
		return fmt.Errorf("gla attention: %w", err)
	}
	var gate *gpu.Tensor
	if a.G != nil {
		if gate, err = sc.Get("fla.gate", gpu.F32, rows, H*V); err != nil {
			return err
		}
		if err := ops.Linear(s, gate, x2, a.G, nil); err != nil {
			return fmt.Errorf("gla g_proj: %w", err)
		}
	}
	if err := flaOutput(s, sc, out, o2, gate, a.Norm, a.O, B, T, H, V, a.Eps, decode); err != nil {
		return fmt.Errorf("gla %w", err)
	}
	return nil
}

// stepFused is the decode step of one row with the fused projections: one GEMV for q, k, v, g and
// gk_proj.0, whose output parts the ops that follow read in place.
func (a *GLAAttention) stepFused(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in stepIn, state []*gpu.Tensor) (bool, error) {
	H, K, V := a.Heads, a.KDim, a.VDim
	n := a.fusedAt[5]
	g := scratchGetter{sc: sc}
	all := g.part("gla.sin", n, 0, 1, n)
	q4 := g.part("gla.sin", n, a.fusedAt[0], 1, 1, H, K)
	k4 := g.part("gla.sin", n, a.fusedAt[1], 1, 1, H, K)
	v4 := g.part("gla.sin", n, a.fusedAt[2], 1, 1, H, V)
	low := g.part("gla.sin", n, a.fusedAt[4], 1, a.LowRank)
	var gate *gpu.Tensor
	if a.G != nil {
		gate = g.part("gla.sin", n, a.fusedAt[3], 1, H*V)
	}
	o4 := g.get("fla.o", gpu.F32, 1, 1, H, V)
	o2 := g.get("fla.o", gpu.F32, 1, H*V)
	if g.err != nil {
		return false, g.err
	}
	if ok, err := in.project(s, all, a.fused, nil); !ok || err != nil {
		if err != nil {
			err = fmt.Errorf("gla q/k/v/g/gk_proj.0: %w", err)
		}
		return false, err
	}
	// gk_proj.1 and the gate's logsigmoid run inside the step (one dispatch on CPU devices).
	gk := &ops.GLAGate{Low: low, Weight: a.GK1, Bias: a.GK1Bias, Normalizer: a.Normalizer}
	if err := ops.GLARecurrent(s, o4, state[0], q4, k4, v4, nil, ops.GLARecurrentOptions{Gate: gk}); err != nil {
		return true, fmt.Errorf("gla attention: %w", err)
	}
	if err := flaOutput(s, sc, out, o2, gate, a.Norm, a.O, 1, 1, H, V, a.Eps, true); err != nil {
		return true, fmt.Errorf("gla %w", err)
	}
	return true, nil
}

// Weights lists the weight tensors, none nil (for the Decoder's counts).
func (a *GLAAttention) Weights() []*gpu.Tensor {
	if a.fused != nil {
		return flaNonNil([]*gpu.Tensor{a.fused, a.GK1, a.GK1Bias, a.O, a.Norm})
	}
	ts := []*gpu.Tensor{a.Q, a.K, a.V, a.G, a.GK0, a.GK1, a.GK1Bias, a.O, a.Norm}
	for _, c := range a.Conv {
		if c != nil {
			ts = append(ts, c.Weight, c.Bias)
		}
	}
	return flaNonNil(ts)
}

// Close frees the weights (and the shared workspace, for the layer that owns it).
func (a *GLAAttention) Close() error {
	err := flaClose(a.Weights()...)
	if a.ownsWS && a.ws != nil {
		a.ws.Close()
		a.ws = nil
	}
	return err
}

// StepNormed implements NormedStepper: one row (B = 1) with the fused projections.
func (a *GLAAttention) StepNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows, state []*gpu.Tensor) (bool, error) {
	if a.fused == nil || in.Residual == nil || in.Residual.Len() != a.Hidden {
		return false, nil
	}
	return a.stepFused(s, sc, out, stepIn{norm: &in}, state)
}
