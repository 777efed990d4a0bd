package suite

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:      "causal_conv1d",
		Summary:   "causal depthwise conv1d (Mamba's short convolution, causal_conv1d_fn), W = 1..8; float32 or float16 activations",
		Inputs:    "x [B,D,L], weight [D,W], [bias [D]], [initial_states [B,D,W-1]]",
		Outputs:   "out [B,D,L], final_states [B,D,W-1]",
		ParamsDoc: "activation (none, silu); bench: B, D, L, W, init (0/1) (default: x 515×3328 W=4 as ggml's test, the same as L=512 with a state, and D=1536 L=8192)",
		Verify:    verifyConv,
		Bench:     benchConv,
		Run:       runConv,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 9), ExampleTensor("weight", 0.5, 3, 4), ExampleTensor("bias", 1, 3),
				ExampleTensor("initial_states", 1, 2, 3, 3)}, Params{"activation": "silu"}
		},
	})
}

type convShape struct {
	B, D, L, W int
	init, silu bool
}

// String formats the case for reports.
func (sh convShape) String() string {
	return fmt.Sprintf("B=%d D=%d L=%d W=%d init=%v silu=%v", sh.B, sh.D, sh.L, sh.W, sh.init, sh.silu)
}

type convProblem struct {
	in        reference.CausalConv1DInput
	x, w, out *gpu.Tensor
	opt       ops.CausalConv1DOptions
	bytes     float64
}

func newConvProblem(ts *Tensors, dt gpu.DType, sh convShape) (*convProblem, error) {
	if err := checkRequest(ts.d, "causal_conv1d "+sh.String(), 2*prod(sh.B, sh.D, sh.L)+prod(sh.D, sh.W+1)+2*prod(sh.B, sh.D, sh.W), dt); err != nil {
		return nil, err
	}
	r := Rand()
	pr := &convProblem{}
	in := reference.CausalConv1DInput{Batch: sh.B, Dim: sh.D, Len: sh.L, Width: sh.W}
	var err error
	if pr.x, in.X, err = ts.uploadRounded(dt, Randn(r, sh.B*sh.D*sh.L, 1), sh.B, sh.D, sh.L); err != nil {
		return nil, err
	}
	in.Weight, in.Bias = Randn(r, sh.D*sh.W, 0.5), Randn(r, sh.D, 1)
	if pr.w, err = ts.Upload(gpu.F32, in.Weight, sh.D, sh.W); err != nil {
		return nil, err
	}
	if pr.opt.Bias, err = ts.Upload(gpu.F32, in.Bias, sh.D); err != nil {
		return nil, err
	}
	if sh.init {
		in.InitialStates = Randn(r, sh.B*sh.D*(sh.W-1), 1)
		if pr.opt.InitialState, err = ts.Upload(gpu.F32, in.InitialStates, sh.B, sh.D, sh.W-1); err != nil {
			return nil, err
		}
	}
	if sh.silu {
		in.Activation, pr.opt.SiLU = "silu", true
	}
	if pr.opt.FinalState, err = ts.Output(gpu.F32, sh.B, sh.D, sh.W-1); err != nil {
		return nil, err
	}
	if pr.out, err = ts.Output(dt, sh.B, sh.D, sh.L); err != nil {
		return nil, err
	}
	pr.in = in
	pr.bytes = 2 * float64(dt.Size()) * float64(sh.B*sh.D*sh.L)
	return pr, nil
}

func (pr *convProblem) record(s *gpu.Stream) error {
	return ops.CausalConv1D(s, pr.out, pr.x, pr.w, pr.opt)
}

func convCase(d *gpu.Device, dt gpu.DType, sh convShape) VerifyResult {
	res := VerifyResult{Op: "causal_conv1d", Case: sh.String(), DType: dt.String(), Tol: tolerance(dt)}
	ts := NewTensors(d)
	defer ts.Close()
	pr, err := newConvProblem(ts, dt, sh)
	if err == nil {
		err = RunStream(d, pr.record)
	}
	if err == nil {
		var want, wantFin []float64
		if want, wantFin, err = reference.CausalConv1D(pr.in); err == nil {
			res.RelErr, err = worstErr([]*gpu.Tensor{pr.out, pr.opt.FinalState}, [][]float64{want, wantFin})
		}
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

func verifyConv(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []convShape{
		{B: 1, D: 4, L: 1, W: 4, init: true, silu: true},
		{B: 2, D: 3, L: 7, W: 2},
		{B: 1, D: 8, L: 64, W: 3, silu: true},
		{B: 2, D: 5, L: 2049, W: 8, init: true},
		{B: 1, D: 64, L: 515, W: 4, silu: true},
	}
	if long {
		shapes = append(shapes, convShape{B: 1, D: 256, L: 16384, W: 4, init: true, silu: true})
	}
	return VerifyEach(ctx, d, quickShapes(ctx, shapes, 2), report, func(dt gpu.DType, sh convShape) VerifyResult { return convCase(d, dt, sh) })
}

func benchConv(ctx context.Context, b *Bencher, p Params) error {
	dt, p, err := ssmDType(b.Device, p)
	if err != nil {
		return err
	}
	if err := p.Check("causal_conv1d", "B", "D", "L", "W", "init"); err != nil {
		return err
	}
	// ggml's SSM_CONV test takes x of 515 columns (3 of state + 512 tokens) × 3328 channels, W = 4:
	// here literally L = 515, and the same work as L = 512 with initial states.
	shapes := []convShape{{B: 1, D: 3328, L: 515, W: 4}, {B: 1, D: 3328, L: 512, W: 4, init: true}, {B: 1, D: 1536, L: 8192, W: 4, init: true, silu: true}}
	if b.Quick {
		shapes = shapes[:1]
	}
	if len(p) > 0 {
		var sh convShape
		if err := p.Sizes("causal_conv1d", Size{"B", &sh.B, 1}, Size{"D", &sh.D, 3328}, Size{"L", &sh.L, 512}, Size{"W", &sh.W, 4}); err != nil {
			return err
		}
		if sh.init, err = p.Bool("init", false); err != nil {
			return err
		}
		shapes = []convShape{sh}
	}
	for _, sh := range shapes {
		ts := NewTensors(b.Device)
		pr, err := newConvProblem(ts, dt, sh)
		if err != nil {
			ts.Close()
			return err
		}
		med, mn, err := b.Measure(ctx, pr.record)
		if err != nil {
			ts.Close()
			return fmt.Errorf("causal_conv1d %v: %w", sh, err)
		}
		refT, err := refTime(b, 3*float64(sh.B*sh.D*sh.L*sh.W), func() error { _, _, err := reference.CausalConv1D(pr.in); return err })
		ts.Close()
		if err != nil {
			return err
		}
		shape := map[string]int{"B": sh.B, "D": sh.D, "L": sh.L, "W": sh.W}
		if sh.init {
			shape["init"] = 1
		}
		b.Add(Result{Op: "causal_conv1d", Variant: "tiled", DType: dt.String(), Shape: shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(),
			ReferenceNS: refT.Nanoseconds()}, 2*float64(sh.B*sh.D*sh.L*sh.W), pr.bytes)
	}
	return nil
}

func runConv(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "causal_conv1d"
	if err := p.Check(op, "activation"); err != nil {
		return nil, err
	}
	var silu bool
	switch act := p.String("activation", "none"); act {
	case "none", "":
	case "silu", "swish":
		silu = true
	default:
		return nil, fmt.Errorf("%s: parameter activation=%q: want none or silu", op, act)
	}
	if err := in.CheckKnown("x", "weight", "bias", "initial_states"); err != nil {
		return nil, err
	}
	if _, err := in.Float32("x", tensorio.Any, tensorio.Any, tensorio.Any); err != nil {
		return nil, err
	}
	xs, _ := in.Shape("x")
	if _, err := in.Float32("weight", xs[1], tensorio.Any); err != nil {
		return nil, err
	}
	wsh, _ := in.Shape("weight")
	w := wsh[1]
	if w < 1 || w > 8 {
		return nil, fmt.Errorf("%s: weight has width W = %d, want 1..8", op, w)
	}
	ts := NewTensors(d)
	defer ts.Close()
	x, err := ssmRequired(ts, in, "x", xs...)
	if err != nil {
		return nil, err
	}
	wt, err := ssmRequired(ts, in, "weight", wsh...)
	if err != nil {
		return nil, err
	}
	opt := ops.CausalConv1DOptions{SiLU: silu}
	if opt.Bias, err = ssmOptional(ts, in, "bias", xs[1]); err != nil {
		return nil, err
	}
	if opt.InitialState, err = ssmOptional(ts, in, "initial_states", xs[0], xs[1], w-1); err != nil {
		return nil, err
	}
	out, err := ts.Output(gpu.F32, xs...)
	if err != nil {
		return nil, err
	}
	if opt.FinalState, err = ts.Output(gpu.F32, xs[0], xs[1], w-1); err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.CausalConv1D(s, out, x, wt, opt) }); err != nil {
		return nil, err
	}
	return ssmOutputs([]string{"out", "final_states"}, out, opt.FinalState)
}
