package suite

import (
	"context"
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:    "delta_rule",
		Summary: "delta rule / gated delta rule (DeltaNet; fla's chunk_ and fused_recurrent_(gated_)delta_rule): chunked WY/UT form and recurrent form, float32 or float16 activations",
		Inputs: "q, k [B,T,H,K], v [B,T,H,V], beta [B,T,H], [g [B,T,H] (log decays; absent: plain delta rule)], " +
			"[initial_state [N,H,K,V]], [cu_seqlens [N+1] (I32 or I64; B = 1)]",
		Outputs: "o [B,T,H,V], final_state [N,H,K,V] (N = B, or len(cu_seqlens)-1)",
		ParamsDoc: "scale (default K^-0.5), use_qk_l2norm (0 or 1, default 0: keys should then be unit vectors), form (auto: the " +
			"prefill entry point picks (default), chunked or recurrent); bench: B, T, H, K, V, gated (0 or 1, default 1), variant " +
			"(auto: the entry point as a user calls it, chunked, recurrent, both: all three), dtype (default: T sweep 512..32768 at " +
			"B=1 H=4 K=V=64 gated, both forms, and the peer shapes B=1 T=512 H=32 K=V=128 and T=1024 H=4 gated in all three; " +
			"-quick: T=512 and 2048 and the peer shape; T=1: the decode step)",
		Verify: verifyDelta,
		Bench:  benchDelta,
		Run:    runDelta,
		Example: func() ([]tensorio.Tensor, Params) {
			beta := ExampleTensor("beta", 1, 1, 9, 2)
			for i, x := range beta.F32 {
				beta.F32[i] = float32(2 / (1 + math.Exp(-float64(x)))) // in (0, 2)
			}
			g := ExampleTensor("g", 1, 1, 9, 2)
			for i, x := range g.F32 {
				g.F32[i] = float32(logSigmoid(float64(x) + 3))
			}
			return []tensorio.Tensor{ExampleTensor("q", 1, 1, 9, 2, 8), ExampleTensor("k", 1, 1, 9, 2, 8), ExampleTensor("v", 1, 1, 9, 2, 4), beta, g,
					ExampleTensor("initial_state", 1, 2, 2, 8, 4), {Name: "cu_seqlens", DType: tensorio.I32, Shape: []int{3}, I32: []int32{0, 4, 9}}},
				Params{"scale": "0.5", "use_qk_l2norm": "1"}
		},
	})
}

// deltaShape is one delta-rule problem: initial state always, cu_seqlens when given (then B = 1).
// Without l2 the keys are unit vectors from the host; with it, the kernel normalises q and k.
type deltaShape struct {
	B, T, H, K, V int
	cu            []int32
	gated, l2     bool
	auto          bool // bench: measure the entry point with ops.FormAuto too
}

// String formats the case for reports.
func (sh deltaShape) String() string {
	s := fmt.Sprintf("B=%d T=%d H=%d K=%d V=%d gated=%v l2norm=%v", sh.B, sh.T, sh.H, sh.K, sh.V, sh.gated, sh.l2)
	if sh.cu != nil {
		s += fmt.Sprintf(" cu_seqlens=%v", sh.cu)
	}
	return s
}

func (sh deltaShape) n() int {
	if sh.cu != nil {
		return len(sh.cu) - 1
	}
	return sh.B
}

// chunkedFLOPs is the chunked form's arithmetic (chunk 64), per token and head: Vn = U − W·H, the
// state update and the inter-chunk output (2KV each); A and Q·Kᵀ (32 columns on average, 2K
// each); W = T·(β e^G K) and U = T·(β V) (32 columns on average); the masked attention times Vn;
// and T itself (64³/3 per chunk).
func (sh deltaShape) chunkedFLOPs() float64 {
	k, v := float64(sh.K), float64(sh.V)
	return float64(sh.B*sh.T*sh.H) * (6*k*v + 128*k + 64*(k+v) + 64*v + 64*64/3)
}

// flops of the recurrent form: per token, head and state element the decay multiply (gated),
// S'ᵀk, the rank-1 update and the output (a multiply-add each).
func (sh deltaShape) flops() float64 {
	per := 6.0
	if sh.gated {
		per = 7
	}
	return per * float64(sh.B*sh.T*sh.H) * float64(sh.K*sh.V)
}

// bytes is what must move: q, k, v, beta, g in, o out, the states in and out.
func (sh deltaShape) bytes(dt gpu.DType) float64 {
	return float64(dt.Size())*float64(sh.B*sh.T*sh.H)*float64(2*sh.K+2*sh.V+2) + 8*float64(sh.n()*sh.H*sh.K*sh.V)
}

type deltaProblem struct {
	sh                         deltaShape
	q, k, v, beta, g, o        *gpu.Tensor
	h0, fin, cu                *gpu.Tensor
	qv, kv, vv, betav, gv, h0v []float64
}

func newDeltaProblem(ts *Tensors, dt gpu.DType, sh deltaShape) (*deltaProblem, error) {
	if err := checkRequest(ts.d, "delta_rule "+sh.String(), prod(sh.B, sh.T, sh.H)*float64(2*sh.K+2*sh.V+2)+2*prod(sh.B+len(sh.cu), sh.H, sh.K, sh.V), dt); err != nil {
		return nil, err
	}
	r := Rand()
	pr := &deltaProblem{sh: sh}
	nk, nv, nh := sh.B*sh.T*sh.H*sh.K, sh.B*sh.T*sh.H*sh.V, sh.B*sh.T*sh.H
	keys := Randn(r, nk, 1)
	if !sh.l2 {
		for i := 0; i < nk; i += sh.K {
			var ss float64
			for _, x := range keys[i : i+sh.K] {
				ss += x * x
			}
			for j := i; j < i+sh.K; j++ {
				keys[j] /= math.Sqrt(ss)
			}
		}
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
	pr.k, pr.kv = up(keys, sh.B, sh.T, sh.H, sh.K)
	pr.v, pr.vv = up(Randn(r, nv, 1), sh.B, sh.T, sh.H, sh.V)
	pr.beta, pr.betav = up(ssmUniform(r, nh, 0, 2), sh.B, sh.T, sh.H)
	if sh.gated {
		gates := ssmUniform(r, nh, 0.5, 1)
		for i, x := range gates {
			gates[i] = math.Log(x)
		}
		pr.g, pr.gv = up(gates, sh.B, sh.T, sh.H)
	}
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
	return pr, nil
}

func (pr *deltaProblem) reference() (o, fin []float64, err error) {
	sh := pr.sh
	return reference.DeltaRule(pr.qv, pr.kv, pr.vv, pr.betav, reference.LinearAttnShape{B: sh.B, T: sh.T, H: sh.H, K: sh.K, V: sh.V},
		reference.DeltaOptions{G: pr.gv, UseQKL2Norm: sh.l2, InitialState: pr.h0v, CuSeqlens: sh.cu})
}

// prefill records the prefill entry point ops.DeltaRule in the given form, from h0 into fin.
func (pr *deltaProblem) prefill(ws *ops.Workspace, form ops.Form) func(s *gpu.Stream) error {
	return func(s *gpu.Stream) error {
		return ops.DeltaRule(s, ws, pr.o, pr.q, pr.k, pr.v, pr.beta, pr.g,
			ops.DeltaRuleOptions{UseQKL2Norm: pr.sh.l2, InitialState: pr.h0, FinalState: pr.fin, CuSeqlens: pr.cu, Form: form})
	}
}

// chunked records the entry point's chunked form, forced.
func (pr *deltaProblem) chunked(ws *ops.Workspace) func(s *gpu.Stream) error {
	return pr.prefill(ws, ops.FormChunked)
}

// recurrent records the entry point's recurrent form, forced: fin = h0, then advanced in place by
// DeltaRuleRecurrent over all tokens.
func (pr *deltaProblem) recurrent(s *gpu.Stream) error { return pr.prefill(nil, ops.FormRecurrent)(s) }

func deltaCaseResult(d *gpu.Device, ws *ops.Workspace, dt gpu.DType, sh deltaShape, recurrent bool) VerifyResult {
	return formCaseResult(d, ws, "delta_rule", sh.String(), dt, recurrent, func(ts *Tensors) (formProblem, error) { return newDeltaProblem(ts, dt, sh) })
}

// outputs returns o and the final states.
func (pr *deltaProblem) outputs() (o, fin *gpu.Tensor) { return pr.o, pr.fin }

func verifyDelta(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []deltaShape{
		{B: 2, T: 1, H: 2, K: 64, V: 64, gated: true},
		{B: 2, T: 100, H: 2, K: 48, V: 100, gated: true, l2: true},
		{B: 1, T: 1000, H: 4, K: 64, V: 64},
		{B: 1, T: 300, H: 2, K: 64, V: 64, gated: true, cu: []int32{0, 0, 1, 65, 130, 300}},
		{B: 1, T: 200, H: 1, K: 128, V: 128, gated: true, l2: true},
	}
	if long {
		shapes = append(shapes, deltaShape{B: 1, T: 8192, H: 2, K: 64, V: 64, gated: true})
	}
	type job struct {
		sh        deltaShape
		recurrent bool
	}
	var jobs []job
	for _, sh := range quickShapes(ctx, shapes, 1) {
		jobs = append(jobs, job{sh, false}, job{sh, true})
	}
	ws := ops.NewWorkspace(d)
	defer ws.Close()
	return VerifyEach(ctx, d, jobs, report, func(dt gpu.DType, j job) VerifyResult { return deltaCaseResult(d, ws, dt, j.sh, j.recurrent) })
}

func benchDelta(ctx context.Context, b *Bencher, p Params) error {
	dt, p, err := ssmDType(b.Device, p)
	if err != nil {
		return err
	}
	if err := p.Check("delta_rule", "B", "T", "H", "K", "V", "gated", "variant"); err != nil {
		return err
	}
	variant := p.String("variant", "both")
	if variant != "both" && variant != "chunked" && variant != "recurrent" && variant != "auto" {
		return fmt.Errorf("delta_rule: variant=%q: want auto, chunked, recurrent or both (all three)", variant)
	}
	delete(p, "variant")
	var shapes []deltaShape
	if len(p) == 0 {
		maxT := 32768
		if b.Quick {
			maxT = 2048
		}
		for t := 512; t <= maxT; t *= 4 {
			shapes = append(shapes, deltaShape{B: 1, T: t, H: 4, K: 64, V: 64, gated: true})
		}
		shapes = append(shapes, deltaShape{B: 1, T: 512, H: 32, K: 128, V: 128, gated: true, auto: true})
		if !b.Quick {
			shapes = append(shapes, deltaShape{B: 1, T: 1024, H: 4, K: 128, V: 128, gated: true, auto: true})
		}
		if variant != "chunked" && variant != "auto" {
			shapes = append(shapes, deltaShape{B: 1, T: 1, H: 32, K: 128, V: 128, gated: true}) // decode
		}
	} else {
		sh := deltaShape{}
		if err := p.Sizes("delta_rule", Size{"B", &sh.B, 1}, Size{"T", &sh.T, 512}, Size{"H", &sh.H, 4}, Size{"K", &sh.K, 64}, Size{"V", &sh.V, 64}); err != nil {
			return err
		}
		if sh.K > 256 || sh.V > 256 {
			return fmt.Errorf("delta_rule: K=%d V=%d, want K, V ≤ 256", sh.K, sh.V)
		}
		if sh.gated, err = p.Bool("gated", true); err != nil {
			return err
		}
		sh.auto = true
		shapes = append(shapes, sh)
	}
	ws := ops.NewWorkspace(b.Device)
	defer ws.Close()
	for _, sh := range shapes {
		if sh.T == 1 { // one token: decode, the recurrent form's job
			if err := benchDeltaOne(ctx, b, ws, dt, sh, ops.FormRecurrent); err != nil {
				return err
			}
			continue
		}
		for _, form := range []ops.Form{ops.FormAuto, ops.FormChunked, ops.FormRecurrent} {
			if variant != "both" && variant != form.String() || form == ops.FormAuto && !sh.auto {
				continue
			}
			if err := benchDeltaOne(ctx, b, ws, dt, sh, form); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchDeltaOne measures the prefill entry point ops.DeltaRule in one form (FormAuto reported as
// variant "auto", its note naming the form it took), or at T = 1 the decode step.
func benchDeltaOne(ctx context.Context, b *Bencher, ws *ops.Workspace, dt gpu.DType, sh deltaShape, form ops.Form) error {
	ts := NewTensors(b.Device)
	defer ts.Close()
	pr, err := newDeltaProblem(ts, dt, sh)
	if err != nil {
		return err
	}
	variant, record := form.String(), pr.prefill(ws, form)
	taken := form
	if sh.T == 1 { // decode: the state advanced in place, as a decode loop does
		record = func(s *gpu.Stream) error {
			return ops.DeltaRuleRecurrent(s, pr.o, pr.h0, pr.q, pr.k, pr.v, pr.beta, pr.g, ops.DeltaRuleRecurrentOptions{UseQKL2Norm: pr.sh.l2, CuSeqlens: pr.cu})
		}
	} else if form == ops.FormAuto {
		if taken, err = formTaken(b.Device, record); err != nil {
			return fmt.Errorf("delta_rule auto %v: %w", sh, err)
		}
	}
	flops := sh.chunkedFLOPs()
	if taken == ops.FormRecurrent {
		flops = sh.flops()
	}
	med, mn, err := b.Measure(ctx, record)
	if err != nil {
		return fmt.Errorf("delta_rule %s %v: %w", variant, sh, err)
	}
	note := perToken(med, sh.B*sh.T)
	switch {
	case sh.T == 1:
		variant, note = "decode", "one token per sequence, state in place, 1 dispatch"
	case form == ops.FormAuto:
		note += ", entry point took the " + taken.String() + " form"
	}
	var refNS int64
	if form == ops.FormChunked {
		refT, err := refTime(b, 4*float64(sh.B*sh.T*sh.H)*float64(sh.K*sh.V), func() error { _, _, err := pr.reference(); return err })
		if err != nil {
			return err
		}
		refNS = refT.Nanoseconds()
	}
	gated := 0
	if sh.gated {
		gated = 1
	}
	b.Add(Result{Op: "delta_rule", Variant: variant, DType: dt.String(),
		Shape:    map[string]int{"B": sh.B, "T": sh.T, "H": sh.H, "K": sh.K, "V": sh.V, "gated": gated},
		MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refNS, Note: note},
		flops, sh.bytes(dt))
	return nil
}

func runDelta(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("delta_rule", "scale", "use_qk_l2norm", "form"); err != nil {
		return nil, err
	}
	l2, err := p.Bool("use_qk_l2norm", false)
	if err != nil {
		return nil, err
	}
	inputs := []attnInput{{"q", false, dimsQ}, {"k", false, dimsQ}, {"v", false, dimsV}, {"beta", false, dimsBTH}, {"g", true, dimsBTH}}
	return runLinearAttn(d, in, p, "delta_rule", inputs, func(s *gpu.Stream, a attnRun) error {
		q, k, v, beta, g := a.x[0], a.x[1], a.x[2], a.x[3], a.x[4]
		return ops.DeltaRule(s, nil, a.o, q, k, v, beta, g,
			ops.DeltaRuleOptions{Scale: a.scale, UseQKL2Norm: l2, InitialState: a.h0, FinalState: a.fin, CuSeqlens: a.cu, Form: a.form})
	})
}
