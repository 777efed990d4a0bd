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
		Name:    "ssd",
		Summary: "Mamba-2 SSD scan (mamba_chunk_scan_combined), chunked or recurrent form; float32 or float16 activations",
		Inputs: "x [B,L,H,P], dt [B,L,H], A [H], B, C [B,L,G,N], [D [H]], [z [B,L,H,P]], [dt_bias [H]], " +
			"[initial_states [B,H,P,N]]",
		Outputs: "out [B,L,H,P], final_states [B,H,P,N]",
		ParamsDoc: "dt_softplus (0/1), form (auto, chunked, recurrent; default auto); bench: B, L, H, P, G, N, z (0/1), variant (chunked, recurrent, both) (default: L sweep 512..32768 at H=24 P=64 N=128, " +
			"the peer shape H=48 P=64 N=128 L=512 chunked and recurrent, and the decode step; L=1: the decode step)",
		Verify: verifySSD,
		Bench:  benchSSD,
		Run:    runSSD,
		Example: func() ([]tensorio.Tensor, Params) {
			a := ExampleTensor("A", 1, 4)
			for i := range a.F32 {
				a.F32[i] = -float32(math.Exp(float64(a.F32[i]) / 2))
			}
			return []tensorio.Tensor{ExampleTensor("x", 1, 1, 6, 4, 8), ExampleTensor("dt", 1, 1, 6, 4), a,
					ExampleTensor("B", 1, 1, 6, 2, 8), ExampleTensor("C", 1, 1, 6, 2, 8), ExampleTensor("D", 1, 4),
					ExampleTensor("z", 1, 1, 6, 4, 8), ExampleTensor("dt_bias", 0.1, 4), ExampleTensor("initial_states", 1, 1, 4, 8, 8)},
				Params{"dt_softplus": "1"}
		},
	})
}

// ssdShape is one SSD problem: D, dt_bias, softplus and initial states always; z when gate.
type ssdShape struct {
	B, L, H, P, G, N int
	gate             bool
}

// String formats the case for reports.
func (sh ssdShape) String() string {
	s := fmt.Sprintf("B=%d L=%d H=%d P=%d G=%d N=%d", sh.B, sh.L, sh.H, sh.P, sh.G, sh.N)
	if sh.gate {
		s += " z"
	}
	return s
}

type ssdProblem struct {
	in            reference.SSDInput
	x, dt, A      *gpu.Tensor
	B, C, out     *gpu.Tensor
	opt           ops.SSDOptions
	shape         map[string]int
	refEstimateNS float64
	bytes         float64
}

func newSSDProblem(ts *Tensors, dt gpu.DType, sh ssdShape) (*ssdProblem, error) {
	if err := checkRequest(ts.d, "ssd "+sh.String(), 3*prod(sh.B, sh.L, sh.H, sh.P)+2*prod(sh.B, sh.L, sh.G, sh.N)+prod(sh.B, sh.L, sh.H)+2*prod(sh.B, sh.H, sh.P, sh.N), dt); err != nil {
		return nil, err
	}
	r := Rand()
	pr := &ssdProblem{shape: map[string]int{"B": sh.B, "L": sh.L, "H": sh.H, "P": sh.P, "G": sh.G, "N": sh.N}}
	in := reference.SSDInput{Batch: sh.B, Len: sh.L, Heads: sh.H, HeadDim: sh.P, Groups: sh.G, DState: sh.N, DtSoftplus: true}
	blhp, blgn := sh.B*sh.L*sh.H*sh.P, sh.B*sh.L*sh.G*sh.N
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
	pr.x, in.X = up(Randn(r, blhp, 1), sh.B, sh.L, sh.H, sh.P)
	pr.dt, in.Dt = up(ssmUniform(r, sh.B*sh.L*sh.H, -3, 1), sh.B, sh.L, sh.H) // dt = softplus(uniform(-3, 1) + bias)
	pr.B, in.B = up(Randn(r, blgn, 1), sh.B, sh.L, sh.G, sh.N)
	pr.C, in.C = up(Randn(r, blgn, 1), sh.B, sh.L, sh.G, sh.N)
	if sh.gate {
		pr.opt.Z, in.Z = up(Randn(r, blhp, 1), sh.B, sh.L, sh.H, sh.P)
	}
	if err != nil {
		return nil, err
	}
	in.A = make([]float64, sh.H)
	for i := range in.A {
		in.A[i] = float64(float32(-math.Exp(r.Float64())))
	}
	in.D, in.DtBias, in.InitialStates = Randn(r, sh.H, 1), ssmUniform(r, sh.H, -0.5, 0.5), Randn(r, sh.B*sh.H*sh.P*sh.N, 1)
	for _, u := range []struct {
		dst   **gpu.Tensor
		x     []float64
		shape []int
	}{{&pr.A, in.A, []int{sh.H}}, {&pr.opt.D, in.D, []int{sh.H}}, {&pr.opt.DtBias, in.DtBias, []int{sh.H}},
		{&pr.opt.InitialState, in.InitialStates, []int{sh.B, sh.H, sh.P, sh.N}}} {
		if *u.dst, err = ts.Upload(gpu.F32, u.x, u.shape...); err != nil {
			return nil, err
		}
	}
	pr.opt.DtSoftplus = true
	if pr.opt.FinalState, err = ts.Output(gpu.F32, sh.B, sh.H, sh.P, sh.N); err != nil {
		return nil, err
	}
	if pr.out, err = ts.Output(dt, sh.B, sh.L, sh.H, sh.P); err != nil {
		return nil, err
	}
	pr.in = in
	acts := 2.0
	if sh.gate {
		acts = 3
	}
	pr.bytes = float64(dt.Size())*(acts*float64(blhp)+2*float64(blgn)+float64(sh.B*sh.L*sh.H)) + 8*float64(sh.B*sh.H*sh.P*sh.N)
	pr.refEstimateNS = 3 * float64(sh.B*sh.L*sh.H) * float64(sh.P*sh.N)
	return pr, nil
}

// recurrentFLOPs is the token-by-token form's arithmetic: per (token, head, p, n) a decay
// multiply-add, the input multiply-add and the output multiply-add.
func (sh ssdShape) recurrentFLOPs() float64 {
	return 6 * float64(sh.B*sh.L*sh.H) * float64(sh.P*sh.N)
}

// chunkedFLOPs is the chunked form's arithmetic (chunk 64): C·Bᵀ per group (half of Q² N),
// states 2PN and state term 2PN per token and head, intra-chunk term (half of Q² P).
func (sh ssdShape) chunkedFLOPs() float64 {
	const q = 64
	bl := float64(sh.B * sh.L)
	return bl*float64(sh.G)*q*float64(sh.N) + bl*float64(sh.H)*(4*float64(sh.P*sh.N)+q*float64(sh.P))
}

// ssdCase checks one shape in one form (ops.FormChunked or ops.FormRecurrent) against the
// float64 reference.
func ssdCase(d *gpu.Device, dt gpu.DType, sh ssdShape, form ops.Form) VerifyResult {
	res := VerifyResult{Op: "ssd", Case: sh.String() + " " + form.String(), DType: dt.String(), Tol: tolerance(dt)}
	ts := NewTensors(d)
	defer ts.Close()
	ws := ops.NewWorkspace(d)
	defer ws.Close()
	pr, err := newSSDProblem(ts, dt, sh)
	if err == nil {
		pr.opt.Form = form
		err = RunStream(d, func(s *gpu.Stream) error { return ops.SSD(s, ws, pr.out, pr.x, pr.dt, pr.A, pr.B, pr.C, pr.opt) })
	}
	if err == nil {
		var want, wantFin []float64
		if want, wantFin, err = reference.SSD(pr.in); err == nil {
			res.RelErr, err = worstErr([]*gpu.Tensor{pr.out, pr.opt.FinalState}, [][]float64{want, wantFin})
		}
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

func verifySSD(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []ssdShape{
		{B: 1, L: 1, H: 2, P: 8, G: 1, N: 16, gate: true},
		{B: 2, L: 7, H: 4, P: 4, G: 2, N: 1},
		{B: 1, L: 64, H: 2, P: 64, G: 1, N: 64, gate: true},
		{B: 1, L: 2049, H: 4, P: 16, G: 2, N: 128},
		{B: 2, L: 200, H: 3, P: 5, G: 3, N: 12, gate: true},
	}
	if long {
		shapes = append(shapes, ssdShape{B: 1, L: 16384, H: 2, P: 64, G: 1, N: 128, gate: true}, ssdShape{B: 1, L: 4096, H: 2, P: 256, G: 1, N: 256})
	}
	// Both forms, explicitly, at every shape.
	type job struct {
		sh   ssdShape
		form ops.Form
	}
	var jobs []job
	for _, sh := range quickShapes(ctx, shapes, 2) {
		jobs = append(jobs, job{sh, ops.FormChunked}, job{sh, ops.FormRecurrent})
	}
	return VerifyEach(ctx, d, jobs, report, func(dt gpu.DType, j job) VerifyResult { return ssdCase(d, dt, j.sh, j.form) })
}

func benchSSD(ctx context.Context, b *Bencher, p Params) error {
	dt, p, err := ssmDType(b.Device, p)
	if err != nil {
		return err
	}
	if err := p.Check("ssd", "B", "L", "H", "P", "G", "N", "z", "variant"); err != nil {
		return err
	}
	return formBench[ssdShape]{
		op: "ssd",
		defaults: func(quick bool) []formJob[ssdShape] {
			maxL := 32768
			if quick {
				maxL = 1024
			}
			var jobs []formJob[ssdShape]
			for l := 512; l <= maxL; l *= 2 {
				jobs = append(jobs, formJob[ssdShape]{sh: ssdShape{B: 1, L: l, H: 24, P: 64, G: 1, N: 128}})
			}
			peer := ssdShape{B: 1, L: 512, H: 48, P: 64, G: 1, N: 128}
			return append(jobs, formJob[ssdShape]{sh: peer}, formJob[ssdShape]{sh: peer, recurrent: true})
		},
		decode0: ssdShape{B: 1, L: 1, H: 48, P: 64, G: 1, N: 128},
		parse: func(p Params) (ssdShape, bool, error) {
			var sh ssdShape
			if err := p.Sizes("ssd", Size{"B", &sh.B, 1}, Size{"L", &sh.L, 512}, Size{"H", &sh.H, 48}, Size{"P", &sh.P, 64}, Size{"G", &sh.G, 1}, Size{"N", &sh.N, 128}); err != nil {
				return sh, false, err
			}
			var err error
			if sh.gate, err = p.Bool("z", false); err != nil {
				return sh, false, err
			}
			return sh, sh.L == 1, nil // one token: the decode step
		},
		one: func(ws *ops.Workspace, sh ssdShape, recurrent bool) error {
			return benchSSDOne(ctx, b, ws, dt, sh, recurrent)
		},
		decode: func(sh ssdShape) error { return benchSSDDecode(ctx, b, dt, sh) },
	}.run(b, p)
}

func benchSSDOne(ctx context.Context, b *Bencher, ws *ops.Workspace, dt gpu.DType, sh ssdShape, recurrent bool) error {
	ts := NewTensors(b.Device)
	defer ts.Close()
	pr, err := newSSDProblem(ts, dt, sh)
	if err != nil {
		return err
	}
	// Both forms through the prefill entry point, as a user calls it (the form forced).
	variant, flops := "chunked", sh.chunkedFLOPs()
	pr.opt.Form = ops.FormChunked
	if recurrent {
		variant, flops = "recurrent", sh.recurrentFLOPs()
		pr.opt.Form = ops.FormRecurrent
	}
	record := func(s *gpu.Stream) error { return ops.SSD(s, ws, pr.out, pr.x, pr.dt, pr.A, pr.B, pr.C, pr.opt) }
	med, mn, err := b.Measure(ctx, record)
	if err != nil {
		return fmt.Errorf("ssd %s %v: %w", variant, sh, err)
	}
	var refNS int64
	if !recurrent {
		refT, err := refTime(b, pr.refEstimateNS, func() error { _, _, err := reference.SSD(pr.in); return err })
		if err != nil {
			return err
		}
		refNS = refT.Nanoseconds()
	}
	b.Add(Result{Op: "ssd", Variant: variant, DType: dt.String(), Shape: pr.shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(),
		ReferenceNS: refNS}, flops, pr.bytes)
	return nil
}

// benchSSDDecode measures one decode step (SSDStateUpdate, one token).
func benchSSDDecode(ctx context.Context, b *Bencher, dt gpu.DType, sh ssdShape) error {
	if err := checkRequest(b.Device, "ssd decode "+sh.String(), 3*prod(sh.B, sh.H, sh.P, sh.N)+3*prod(sh.B, sh.H, sh.P)+2*prod(sh.B, sh.G, sh.N), dt); err != nil {
		return err
	}
	ts := NewTensors(b.Device)
	defer ts.Close()
	r := Rand()
	var t [7]*gpu.Tensor
	var err error
	for i, s := range [][]int{{sh.B, sh.H, sh.P}, {sh.B, sh.H}, {sh.B, sh.G, sh.N}, {sh.B, sh.G, sh.N}, {sh.B, sh.H, sh.P}} {
		n := 1
		for _, v := range s {
			n *= v
		}
		if t[i], err = ts.Upload(dt, Randn(r, n, 1), s...); err != nil {
			return err
		}
	}
	a := make([]float64, sh.H)
	for i := range a {
		a[i] = -math.Exp(r.Float64())
	}
	if t[5], err = ts.Upload(gpu.F32, a, sh.H); err != nil {
		return err
	}
	if t[6], err = ts.Upload(gpu.F32, Randn(r, sh.B*sh.H*sh.P*sh.N, 1), sh.B, sh.H, sh.P, sh.N); err != nil {
		return err
	}
	out, err := ts.Output(dt, sh.B, sh.H, sh.P)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error {
		return ops.SSDStateUpdate(s, out, t[6], t[0], t[1], t[5], t[2], t[3], ops.StateUpdateOptions{Z: t[4], DtSoftplus: true})
	})
	if err != nil {
		return fmt.Errorf("ssd decode: %w", err)
	}
	b.Add(Result{Op: "ssd", Variant: "decode", DType: dt.String(), Shape: map[string]int{"B": sh.B, "L": 1, "H": sh.H, "P": sh.P, "G": sh.G, "N": sh.N},
		MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()}, sh.recurrentFLOPs(), 8*float64(sh.B*sh.H*sh.P*sh.N))
	return nil
}

func runSSD(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "ssd"
	if err := p.Check(op, "dt_softplus", "form"); err != nil {
		return nil, err
	}
	var form ops.Form
	switch f := p.String("form", "auto"); f {
	case "auto":
	case "chunked":
		form = ops.FormChunked
	case "recurrent":
		form = ops.FormRecurrent
	default:
		return nil, fmt.Errorf("%s: form=%q: want auto, chunked or recurrent", op, f)
	}
	softplus, err := p.Bool("dt_softplus", false)
	if err != nil {
		return nil, err
	}
	if err := in.CheckKnown("x", "dt", "A", "B", "C", "D", "z", "dt_bias", "initial_states"); err != nil {
		return nil, err
	}
	if _, err := in.Float32("x", tensorio.Any, tensorio.Any, tensorio.Any, tensorio.Any); err != nil {
		return nil, err
	}
	xs, _ := in.Shape("x")
	bs, l, h, pd := xs[0], xs[1], xs[2], xs[3]
	if _, err := in.Float32("B", bs, l, tensorio.Any, tensorio.Any); err != nil {
		return nil, err
	}
	bsh, _ := in.Shape("B")
	n := bsh[3]
	ts := NewTensors(d)
	defer ts.Close()
	var t [9]*gpu.Tensor
	for i, x := range []struct {
		name     string
		optional bool
		shape    []int
	}{{"x", false, xs}, {"dt", false, []int{bs, l, h}}, {"A", false, []int{h}}, {"B", false, bsh}, {"C", false, bsh},
		{"D", true, []int{h}}, {"z", true, xs}, {"dt_bias", true, []int{h}}, {"initial_states", true, []int{bs, h, pd, n}}} {
		if x.optional {
			t[i], err = ssmOptional(ts, in, x.name, x.shape...)
		} else {
			t[i], err = ssmRequired(ts, in, x.name, x.shape...)
		}
		if err != nil {
			return nil, err
		}
	}
	out, err := ts.Output(gpu.F32, xs...)
	if err != nil {
		return nil, err
	}
	fin, err := ts.Output(gpu.F32, bs, h, pd, n)
	if err != nil {
		return nil, err
	}
	ws := ops.NewWorkspace(d)
	defer ws.Close()
	if err := RunStream(d, func(s *gpu.Stream) error {
		return ops.SSD(s, ws, out, t[0], t[1], t[2], t[3], t[4], ops.SSDOptions{D: t[5], Z: t[6], DtBias: t[7], DtSoftplus: softplus,
			InitialState: t[8], FinalState: fin, Form: form})
	}); err != nil {
		return nil, err
	}
	return ssmOutputs([]string{"out", "final_states"}, out, fin)
}
