package suite

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:    "gla",
		Summary: "gated linear attention (fla's chunk_gla / fused_recurrent_gla), float32 or float16 activations",
		Inputs: "q, k [B,T,H,K], v [B,T,H,V], g [B,T,H,K] (log decays, <= 0 for the chunked form), " +
			"[initial_state [N,H,K,V]], [cu_seqlens [N+1] (I32 or I64; B = 1)]",
		Outputs: "o [B,T,H,V], final_state [N,H,K,V] (N = B, or len(cu_seqlens)-1)",
		ParamsDoc: "scale (default K^-0.5), form (auto: the prefill entry point picks, chunked or recurrent; default auto); " +
			"bench: B, T, H, K, V, variant (auto: the entry point as a user calls it, chunked, recurrent, both: all three) " +
			"(default: T sweep 512..32768 at H=4 K=V=64 chunked and recurrent, the peer shape T=512 H=32 K=V=64 in all " +
			"three, and the decode step; T=1: the decode step)",
		Verify: verifyGLA,
		Bench:  benchGLA,
		Run:    runGLA,
		Example: func() ([]tensorio.Tensor, Params) {
			g := ExampleTensor("g", 1, 1, 9, 2, 8)
			for i, x := range g.F32 {
				g.F32[i] = float32(logSigmoid(float64(x)))
			}
			return []tensorio.Tensor{ExampleTensor("q", 1, 1, 9, 2, 8), ExampleTensor("k", 1, 1, 9, 2, 8), ExampleTensor("v", 1, 1, 9, 2, 4), g,
					ExampleTensor("initial_state", 1, 2, 2, 8, 4), {Name: "cu_seqlens", DType: tensorio.I32, Shape: []int{3}, I32: []int32{0, 4, 9}}},
				Params{"scale": "0.5"}
		},
	})
}

func logSigmoid(x float64) float64 {
	if x < 0 {
		return x - math.Log1p(math.Exp(x))
	}
	return -math.Log1p(math.Exp(-x))
}

// glaShape is one GLA problem: initial state always, cu_seqlens when given (then B = 1).
type glaShape struct {
	B, T, H, K, V int
	cu            []int32
	gateN         float64 // gates logsigmoid(x)/gateN
}

// String formats the case for reports.
func (sh glaShape) String() string {
	s := fmt.Sprintf("B=%d T=%d H=%d K=%d V=%d gates=logsigmoid/%g", sh.B, sh.T, sh.H, sh.K, sh.V, sh.gateN)
	if sh.cu != nil {
		s += fmt.Sprintf(" cu_seqlens=%v", sh.cu)
	}
	return s
}

func (sh glaShape) n() int {
	if sh.cu != nil {
		return len(sh.cu) - 1
	}
	return sh.B
}

// chunkedFLOPs is the chunked form's arithmetic (chunk 64): per token and head, the state update
// and the inter-chunk output (2KV each) and the intra-chunk attention and its product with V
// (on average 32 columns: 64(K+V)).
func (sh glaShape) chunkedFLOPs() float64 {
	return float64(sh.B*sh.T*sh.H) * (4*float64(sh.K*sh.V) + 64*float64(sh.K+sh.V))
}

// recurrentFLOPs is the token-by-token form's: per token, head and state element a decay
// multiply, an update multiply-add and an output multiply-add.
func (sh glaShape) recurrentFLOPs() float64 {
	return 5 * float64(sh.B*sh.T*sh.H) * float64(sh.K*sh.V)
}

// bytes is what either form must move: q, k, g, v in, o out, the states in and out.
func (sh glaShape) bytes(dt gpu.DType) float64 {
	return float64(dt.Size())*float64(sh.B*sh.T*sh.H)*float64(3*sh.K+2*sh.V) + 8*float64(sh.n()*sh.H*sh.K*sh.V)
}

type glaProblem struct {
	sh             glaShape
	q, k, v, g, o  *gpu.Tensor
	h0, fin, cu    *gpu.Tensor
	qv, kv, vv, gv []float64 // the values the device holds
	h0v            []float64
	refEstimateNS  float64
}

func newGLAProblem(ts *Tensors, dt gpu.DType, sh glaShape) (*glaProblem, error) {
	if err := checkRequest(ts.d, "gla "+sh.String(), prod(sh.B, sh.T, sh.H)*float64(3*sh.K+2*sh.V)+2*prod(sh.B+len(sh.cu), sh.H, sh.K, sh.V), dt); err != nil {
		return nil, err
	}
	r := Rand()
	pr := &glaProblem{sh: sh}
	nk, nv := sh.B*sh.T*sh.H*sh.K, sh.B*sh.T*sh.H*sh.V
	gates := make([]float64, nk)
	for i := range gates {
		gates[i] = max(logSigmoid(r.NormFloat64())/sh.gateN, -20)
	}
	var err error
	up := func(x []float64, shape ...int) (*gpu.Tensor, []float64) {
		if err != nil {
			return nil, nil
		}
		var t *gpu.Tensor
		var v []float64
		t, v, err = ts.uploadRounded(dt, x, shape...)
		return t, v
	}
	pr.q, pr.qv = up(Randn(r, nk, 1), sh.B, sh.T, sh.H, sh.K)
	pr.k, pr.kv = up(Randn(r, nk, 1), sh.B, sh.T, sh.H, sh.K)
	pr.v, pr.vv = up(Randn(r, nv, 1), sh.B, sh.T, sh.H, sh.V)
	pr.g, pr.gv = up(gates, sh.B, sh.T, sh.H, sh.K)
	if err != nil {
		return nil, err
	}
	st := []int{sh.n(), sh.H, sh.K, sh.V}
	pr.h0v = Randn(r, sh.n()*sh.H*sh.K*sh.V, 1)
	if pr.h0, err = ts.Upload(gpu.F32, pr.h0v, st...); err != nil {
		return nil, err
	}
	if pr.fin, err = ts.Output(gpu.F32, st...); err != nil {
		return nil, err
	}
	if pr.o, err = ts.Output(dt, sh.B, sh.T, sh.H, sh.V); err != nil {
		return nil, err
	}
	if sh.cu != nil {
		if pr.cu, err = ts.d.FromInt32(sh.cu, len(sh.cu)); err != nil {
			return nil, err
		}
		ts.list = append(ts.list, pr.cu)
	}
	pr.refEstimateNS = 3 * float64(sh.B*sh.T*sh.H) * float64(sh.K*sh.V)
	return pr, nil
}

func (pr *glaProblem) reference() (o, fin []float64, err error) {
	sh := pr.sh
	return reference.GLA(pr.qv, pr.kv, pr.vv, pr.gv, reference.LinearAttnShape{B: sh.B, T: sh.T, H: sh.H, K: sh.K, V: sh.V},
		reference.GLAOptions{InitialState: pr.h0v, CuSeqlens: sh.cu})
}

// prefill records the prefill entry point ops.GLA in the given form (o, fin from h0).
func (pr *glaProblem) prefill(ws *ops.Workspace, form ops.Form) func(s *gpu.Stream) error {
	return func(s *gpu.Stream) error {
		return ops.GLA(s, ws, pr.o, pr.q, pr.k, pr.v, pr.g, ops.GLAOptions{InitialState: pr.h0, FinalState: pr.fin, CuSeqlens: pr.cu, Form: form})
	}
}

// chunked records the entry point's chunked form, forced.
func (pr *glaProblem) chunked(ws *ops.Workspace) func(s *gpu.Stream) error {
	return pr.prefill(ws, ops.FormChunked)
}

// recurrent records the entry point's recurrent form, forced: fin = h0, then advanced in place by
// GLARecurrent over all tokens.
func (pr *glaProblem) recurrent(s *gpu.Stream) error { return pr.prefill(nil, ops.FormRecurrent)(s) }

func glaCaseResult(d *gpu.Device, ws *ops.Workspace, dt gpu.DType, sh glaShape, recurrent bool) VerifyResult {
	return formCaseResult(d, ws, "gla", sh.String(), dt, recurrent, func(ts *Tensors) (formProblem, error) { return newGLAProblem(ts, dt, sh) })
}

// outputs returns o and the final states.
func (pr *glaProblem) outputs() (o, fin *gpu.Tensor) { return pr.o, pr.fin }

func verifyGLA(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []glaShape{
		{B: 2, T: 1, H: 2, K: 64, V: 64, gateN: 1},
		{B: 2, T: 100, H: 2, K: 48, V: 100, gateN: 1},
		{B: 1, T: 1000, H: 4, K: 64, V: 64, gateN: 16},
		{B: 1, T: 300, H: 2, K: 64, V: 64, gateN: 0.1, cu: []int32{0, 0, 1, 65, 130, 300}},
		{B: 1, T: 200, H: 1, K: 128, V: 128, gateN: 1},
	}
	if long {
		shapes = append(shapes, glaShape{B: 1, T: 16384, H: 2, K: 64, V: 64, gateN: 1})
	}
	shapes = quickShapes(ctx, shapes, 1)
	dts := verifyDTypes(ctx, d)
	ws := ops.NewWorkspace(d)
	defer ws.Close()
	for _, dt := range dts {
		for _, sh := range shapes {
			for _, rec := range []bool{false, true} {
				if err := ctx.Err(); err != nil {
					return err
				}
				report(glaCaseResult(d, ws, dt, sh, rec))
			}
		}
	}
	return nil
}

func benchGLA(ctx context.Context, b *Bencher, p Params) error {
	dt, p, err := ssmDType(b.Device, p)
	if err != nil {
		return err
	}
	if err := p.Check("gla", "B", "T", "H", "K", "V", "variant"); err != nil {
		return err
	}
	return formBench[glaShape]{
		op: "gla",
		defaults: func(quick bool) []formJob[glaShape] {
			maxT := 32768
			if quick {
				maxT = 2048
			}
			var jobs []formJob[glaShape]
			for t := 512; t <= maxT; t *= 4 {
				sh := glaShape{B: 1, T: t, H: 4, K: 64, V: 64, gateN: 1}
				jobs = append(jobs, formJob[glaShape]{sh: sh}, formJob[glaShape]{sh: sh, recurrent: true})
			}
			peer := glaShape{B: 1, T: 512, H: 32, K: 64, V: 64, gateN: 1}
			return append(jobs, formJob[glaShape]{sh: peer, auto: true}, formJob[glaShape]{sh: peer}, formJob[glaShape]{sh: peer, recurrent: true})
		},
		decode0: glaShape{B: 1, T: 1, H: 32, K: 64, V: 64, gateN: 1},
		parse: func(p Params) (glaShape, bool, error) {
			sh := glaShape{gateN: 1}
			if err := p.Sizes("gla", Size{"B", &sh.B, 1}, Size{"T", &sh.T, 512}, Size{"H", &sh.H, 32}, Size{"K", &sh.K, 64}, Size{"V", &sh.V, 64}); err != nil {
				return sh, false, err
			}
			if sh.K > 256 || sh.V > 256 {
				return sh, false, fmt.Errorf("gla: K=%d V=%d, want K, V ≤ 256", sh.K, sh.V)
			}
			return sh, sh.T == 1, nil
		},
		one: func(ws *ops.Workspace, sh glaShape, recurrent bool) error {
			form := ops.FormChunked
			if recurrent {
				form = ops.FormRecurrent
			}
			return benchGLAOne(ctx, b, ws, dt, sh, form)
		},
		auto:   func(ws *ops.Workspace, sh glaShape) error { return benchGLAOne(ctx, b, ws, dt, sh, ops.FormAuto) },
		decode: func(sh glaShape) error { return benchGLADecode(ctx, b, dt, sh) },
	}.run(b, p)
}

// perToken formats the time per token (all heads) of a run over tokens tokens.
func perToken(d time.Duration, tokens int) string {
	return fmt.Sprintf("%.1f µs/token", float64(d.Nanoseconds())/1e3/float64(tokens))
}

// benchGLAOne measures the prefill entry point ops.GLA in one form; FormAuto is reported as
// variant "auto" (the entry point as a user calls it), its note naming the form it took.
func benchGLAOne(ctx context.Context, b *Bencher, ws *ops.Workspace, dt gpu.DType, sh glaShape, form ops.Form) error {
	ts := NewTensors(b.Device)
	defer ts.Close()
	pr, err := newGLAProblem(ts, dt, sh)
	if err != nil {
		return err
	}
	taken, err := formTaken(b.Device, pr.prefill(ws, form))
	if err != nil {
		return fmt.Errorf("gla %v %v: %w", form, sh, err)
	}
	variant, flops := form.String(), sh.chunkedFLOPs()
	if taken == ops.FormRecurrent {
		flops = sh.recurrentFLOPs()
	}
	med, mn, err := b.Measure(ctx, pr.prefill(ws, form))
	if err != nil {
		return fmt.Errorf("gla %s %v: %w", variant, sh, err)
	}
	note := perToken(med, sh.B*sh.T)
	if form == ops.FormAuto {
		note += ", entry point took the " + taken.String() + " form"
	}
	var refNS int64
	if form == ops.FormChunked {
		refT, err := refTime(b, pr.refEstimateNS, func() error { _, _, err := pr.reference(); return err })
		if err != nil {
			return err
		}
		refNS = refT.Nanoseconds()
	}
	b.Add(Result{Op: "gla", Variant: variant, DType: dt.String(), Shape: map[string]int{"B": sh.B, "T": sh.T, "H": sh.H, "K": sh.K, "V": sh.V},
		MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refNS, Note: note}, flops, sh.bytes(dt))
	return nil
}

// benchGLADecode measures one decode step (GLARecurrent on one token per sequence, state in place).
func benchGLADecode(ctx context.Context, b *Bencher, dt gpu.DType, sh glaShape) error {
	ts := NewTensors(b.Device)
	defer ts.Close()
	pr, err := newGLAProblem(ts, dt, sh)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error {
		return ops.GLARecurrent(s, pr.o, pr.h0, pr.q, pr.k, pr.v, pr.g, ops.GLARecurrentOptions{})
	})
	if err != nil {
		return fmt.Errorf("gla decode: %w", err)
	}
	b.Add(Result{Op: "gla", Variant: "decode", DType: dt.String(), Shape: map[string]int{"B": sh.B, "T": 1, "H": sh.H, "K": sh.K, "V": sh.V},
		MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), Note: "one token per sequence, state in place, 1 dispatch"},
		sh.recurrentFLOPs(), sh.bytes(dt))
	return nil
}

func runGLA(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("gla", "scale", "form"); err != nil {
		return nil, err
	}
	inputs := []attnInput{{"q", false, dimsQ}, {"k", false, dimsQ}, {"v", false, dimsV}, {"g", false, dimsQ}}
	return runLinearAttn(d, in, p, "gla", inputs, func(s *gpu.Stream, a attnRun) error {
		q, k, v, g := a.x[0], a.x[1], a.x[2], a.x[3]
		return ops.GLA(s, nil, a.o, q, k, v, g, ops.GLAOptions{Scale: a.scale, InitialState: a.h0, FinalState: a.fin, CuSeqlens: a.cu, Form: a.form})
	})
}
