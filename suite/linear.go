package suite

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:      "linear",
		Summary:   "nn.Linear: out = x · weightᵀ + bias (weight f32 or f16 storage, float32 arithmetic); verify also checks ops.LinearRMSNorm (a block's residual add and RMSNorm folded into the product) and ops.LinearRMSNormConvFolded (with Mamba's conv1d step on the first columns)",
		Inputs:    "x [..., K], weight [N, K], [bias [N]]",
		Outputs:   "out [..., N]",
		ParamsDoc: "dtype=f32|f16 (weight storage, run); bench: M, N, K, dtype",
		Verify:    verifyLinear,
		Bench:     benchLinear,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 5), ExampleTensor("weight", 1, 4, 5), ExampleTensor("bias", 1, 4)}, Params{}
		},
		Run: runLinear,
	})
}

func verifyLinear(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := [][3]int{{1, 1, 1}, {1, 300, 64}, {3, 129, 7}, {5, 128, 768}, {64, 96, 100}, {200, 37, 13}}
	if long {
		shapes = append(shapes, [3]int{1, 50280, 768}, [3]int{1024, 1536, 768})
	}
	r := Rand()
	err := VerifyEach(ctx, d, shapes, report, func(dt gpu.DType, sh [3]int) VerifyResult {
		m, n, k := sh[0], sh[1], sh[2]
		res := VerifyResult{Op: "linear", Case: fmt.Sprintf("M=%d N=%d K=%d bias", m, n, k), DType: dt.String(), Tol: 1e-5}
		e, err := linearCase(d, dt, Randn(r, m*k, 1), Randn(r, n*k, 0.1), Randn(r, n, 1), m, n, k)
		res.RelErr = e
		if err != nil {
			res.Err = err.Error()
		}
		return res
	})
	if err != nil {
		return err
	}
	// ops.LinearRMSNorm: the decode shapes fold the norm into the GEMV on CPU devices (K ≥ 128,
	// K % 8 == 0, f16 weights); the others take AddRMSNorm then Linear.
	normShapes := [][3]int{{1, 3072, 768}, {2, 80, 1536}, {1, 33, 136}, {3, 20, 100}, {17, 24, 256}}
	err = VerifyEach(ctx, d, normShapes, report, func(dt gpu.DType, sh [3]int) VerifyResult {
		m, n, k := sh[0], sh[1], sh[2]
		res := VerifyResult{Op: "linear", Case: fmt.Sprintf("rmsnorm M=%d N=%d K=%d add bias", m, n, k), DType: dt.String(), Tol: 1e-5}
		e, err := linearNormCase(d, dt, Randn(r, m*k, 1), Randn(r, m*k, 1), Randn(r, k, 1), Randn(r, n*k, 0.1), Randn(r, n, 1), m, n, k)
		res.RelErr = e
		if err != nil {
			res.Err = err.Error()
		}
		return res
	})
	if err != nil {
		return err
	}
	// ops.LinearRMSNormConvFolded (Mamba's in_proj with its conv1d step on the first D columns),
	// one row: N, K, D, W.
	convShapes := [][4]int{{3072, 768, 1536, 4}, {200, 256, 96, 2}}
	return VerifyEach(ctx, d, convShapes, report, func(dt gpu.DType, sh [4]int) VerifyResult {
		n, k, dd, w := sh[0], sh[1], sh[2], sh[3]
		res := VerifyResult{Op: "linear", Case: fmt.Sprintf("rmsnorm+conv step M=1 N=%d K=%d D=%d W=%d", n, k, dd, w), DType: dt.String(), Tol: 1e-5}
		e, err := linearNormConvCase(d, dt, r, n, k, dd, w)
		res.RelErr = e
		if err != nil {
			res.Err = err.Error()
		}
		return res
	})
}

// linearNormConvCase runs ops.LinearRMSNormConvFolded for one row (where it does not fold:
// ops.LinearRMSNorm, then ops.CausalConv1DUpdate on the first D columns, as a model does) and
// compares the conv output and the new conv state with reference.CausalConv1DUpdate (SiLU) of the
// product's first D columns as the device computed them, and the product with the reference;
// the largest of the errors.
func linearNormConvCase(d *gpu.Device, dt gpu.DType, r *rand.Rand, n, k, dd, w int) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	var up [8]*gpu.Tensor
	var err error
	for i, v := range []struct {
		dt    gpu.DType
		x     []float64
		shape []int
	}{{gpu.F32, Randn(r, k, 1), []int{1, k}}, {gpu.F32, Randn(r, k, 1), []int{1, k}}, {gpu.F32, Randn(r, k, 1), []int{k}},
		{dt, Randn(r, n*k, 0.1), []int{n, k}}, {gpu.F32, Randn(r, n, 1), []int{n}},
		{gpu.F32, Randn(r, dd*w, 0.5), []int{dd, w}}, {gpu.F32, Randn(r, dd, 1), []int{dd}}, {gpu.F32, Randn(r, dd*(w-1), 1), []int{1, dd, w - 1}}} {
		if up[i], err = ts.Upload(v.dt, v.x, v.shape...); err != nil {
			return 0, err
		}
	}
	held, err := heldValues(up[:]...) // the state before the step
	if err != nil {
		return 0, err
	}
	out, err := ts.Output(gpu.F32, 1, n)
	if err != nil {
		return 0, err
	}
	rout, err := ts.Output(gpu.F32, 1, k)
	if err != nil {
		return 0, err
	}
	xc, err := ts.Output(gpu.F32, 1, dd)
	if err != nil {
		return 0, err
	}
	in := ops.NormedRows{Residual: up[0], Add: up[1], Weight: up[2], Eps: 1e-5, ResidualOut: rout}
	conv := ops.ConvStep{Weight: up[5], Bias: up[6], State: up[7], Out: xc}
	err = RunStream(d, func(s *gpu.Stream) error {
		if ok, err := ops.LinearRMSNormConvFolded(s, out, in, up[3], up[4], conv); ok || err != nil {
			return err
		}
		if err := ops.LinearRMSNorm(s, out, in, up[3], up[4]); err != nil {
			return err
		}
		x, err := out.Window(0, dd)
		if err == nil {
			x, err = x.Reshape(1, dd)
		}
		if err != nil {
			return err
		}
		return ops.CausalConv1DUpdate(s, xc, up[7], x, up[5], ops.CausalConv1DUpdateOptions{Bias: up[6], SiLU: true})
	})
	if err != nil {
		return 0, err
	}
	_, normed, err := reference.AddRMSNorm(held[0], held[1], held[2], 1e-5)
	if err != nil {
		return 0, err
	}
	want, err := reference.Linear(normed, held[3], held[4], 1, n, k)
	if err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	xs := make([]float64, dd)
	for i := range xs {
		xs[i] = float64(got[i])
	}
	wantC, wantS, err := reference.CausalConv1DUpdate(reference.CausalConv1DUpdateInput{
		Batch: 1, Dim: dd, Len: 1, Width: w, X: xs, State: held[7], Weight: held[5], Bias: held[6], Activation: "silu"})
	if err != nil {
		return 0, err
	}
	gotC, err := xc.ReadFloat32()
	if err != nil {
		return 0, err
	}
	gotS, err := up[7].ReadFloat32()
	if err != nil {
		return 0, err
	}
	return max(reference.RelErr(got, want), reference.RelErr(gotC, wantC), reference.RelErr(gotS, wantS)), nil
}

// linearNormCase runs ops.LinearRMSNorm (residual res, add, norm weight nw; eps 1e-5) with the
// weight stored as dt and compares out and the new residual with reference.AddRMSNorm and
// reference.Linear on the values the device holds; the larger of the two errors.
func linearNormCase(d *gpu.Device, dt gpu.DType, res, add, nw, w, b []float64, m, n, k int) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	var up [5]*gpu.Tensor
	var err error
	for i, v := range []struct {
		dt    gpu.DType
		x     []float64
		shape []int
	}{{gpu.F32, res, []int{m, k}}, {gpu.F32, add, []int{m, k}}, {gpu.F32, nw, []int{k}}, {dt, w, []int{n, k}}, {gpu.F32, b, []int{n}}} {
		if up[i], err = ts.Upload(v.dt, v.x, v.shape...); err != nil {
			return 0, err
		}
	}
	out, err := ts.Output(gpu.F32, m, n)
	if err != nil {
		return 0, err
	}
	rout, err := ts.Output(gpu.F32, m, k)
	if err != nil {
		return 0, err
	}
	in := ops.NormedRows{Residual: up[0], Add: up[1], Weight: up[2], Eps: 1e-5, ResidualOut: rout}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.LinearRMSNorm(s, out, in, up[3], up[4]) }); err != nil {
		return 0, err
	}
	held, err := heldValues(up[:]...)
	if err != nil {
		return 0, err
	}
	newRes, normed, err := reference.AddRMSNorm(held[0], held[1], held[2], 1e-5)
	if err != nil {
		return 0, err
	}
	want, err := reference.Linear(normed, held[3], held[4], m, n, k)
	if err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	gotRes, err := rout.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return max(reference.RelErr(got, want), reference.RelErr(gotRes, newRes)), nil
}

// linearCase runs Linear with the weight stored as dt and compares it with the reference on the
// values the device holds.
func linearCase(d *gpu.Device, dt gpu.DType, x, w, b []float64, m, n, k int) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, m, k)
	if err != nil {
		return 0, err
	}
	wt, err := ts.Upload(dt, w, n, k)
	if err != nil {
		return 0, err
	}
	bt, err := ts.Upload(gpu.F32, b, n)
	if err != nil {
		return 0, err
	}
	out, err := ts.Output(gpu.F32, m, n)
	if err != nil {
		return 0, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Linear(s, out, xt, wt, bt) }); err != nil {
		return 0, err
	}
	held, err := heldValues(xt, wt, bt)
	if err != nil {
		return 0, err
	}
	want, err := reference.Linear(held[0], held[1], held[2], m, n, k)
	if err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return reference.RelErr(got, want), nil
}

// heldValues reads tensors back as float64: the values the device holds (float16 rounding
// included), which the reference must be given.
func heldValues(ts ...*gpu.Tensor) ([][]float64, error) {
	held := make([][]float64, len(ts))
	for i, t := range ts {
		v, err := t.ReadFloat32()
		if err != nil {
			return nil, err
		}
		held[i] = reference.ToFloat64(v)
	}
	return held, nil
}

func benchLinear(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("linear", "M", "N", "K", "dtype"); err != nil {
		return err
	}
	// Decode (M = 1: mamba-130m's in_proj and LM head, gla-340m's q_proj) and a prefill block.
	shapes := [][3]int{{1, 3072, 768}, {1, 50280, 768}, {1, 1024, 1024}, {2048, 3072, 768}}
	if b.Quick {
		shapes = [][3]int{{1, 3072, 768}, {1, 50280, 768}, {512, 3072, 768}}
	}
	if len(p) > 0 && !(len(p) == 1 && p["dtype"] != "") {
		var m, n, k int
		if err := p.Sizes("linear", Size{"M", &m, 1}, Size{"N", &n, 3072}, Size{"K", &k, 768}); err != nil {
			return err
		}
		shapes = [][3]int{{m, n, k}}
	}
	dts := StorageDTypes(b.Device)
	if v, ok := p["dtype"]; ok {
		switch v {
		case "f32":
			dts = []gpu.DType{gpu.F32}
		case "f16":
			dts = []gpu.DType{gpu.F16}
		default:
			return fmt.Errorf("linear: dtype=%q, want f32 or f16", v)
		}
	}
	r := Rand()
	for _, dt := range dts {
		for _, sh := range shapes {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, n, k := sh[0], sh[1], sh[2]
			ts := NewTensors(b.Device)
			xt, err := ts.Upload(gpu.F32, Randn(r, m*k, 1), m, k)
			if err == nil {
				var wt, bt, out *gpu.Tensor
				if wt, err = ts.Upload(dt, Randn(r, n*k, 0.1), n, k); err == nil {
					if bt, err = ts.Upload(gpu.F32, Randn(r, n, 1), n); err == nil {
						if out, err = ts.Output(gpu.F32, m, n); err == nil {
							var med, mn interface{ Nanoseconds() int64 }
							med, mn, err = b.Measure(ctx, func(s *gpu.Stream) error { return ops.Linear(s, out, xt, wt, bt) })
							if err == nil {
								bytes := float64(n*k*dt.Size()) + 4*float64(m*k+m*n+n)
								b.Add(Result{Op: "linear", Variant: fmt.Sprintf("weight %v", dt), DType: dt.String(),
									Shape: map[string]int{"M": m, "N": n, "K": k}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
									2*float64(m*n*k), bytes)
							}
						}
					}
				}
			}
			ts.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func runLinear(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("linear", "dtype"); err != nil {
		return nil, err
	}
	dt := gpu.F32
	switch p.String("dtype", "f32") {
	case "f32":
	case "f16":
		dt = gpu.F16
	default:
		return nil, fmt.Errorf("linear: parameter dtype=%q: want f32 or f16", p["dtype"])
	}
	if err := in.CheckKnown("x", "weight", "bias"); err != nil {
		return nil, err
	}
	ws, ok := in.Shape("weight")
	if !ok || len(ws) != 2 {
		return nil, fmt.Errorf("linear: input tensor \"weight\" missing or not [N, K] (shape %v)", ws)
	}
	n, k := ws[0], ws[1]
	xs, ok := in.Shape("x")
	if !ok || len(xs) == 0 || xs[len(xs)-1] != k {
		return nil, fmt.Errorf("linear: input tensor \"x\" missing or not [..., K=%d] (shape %v)", k, xs)
	}
	x, err := in.Float32("x", xs...)
	if err != nil {
		return nil, err
	}
	w, err := in.Float32("weight", n, k)
	if err != nil {
		return nil, err
	}
	bias, hasBias, err := in.OptionalFloat32("bias", n)
	if err != nil {
		return nil, err
	}
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.UploadF32(x, xs...)
	if err != nil {
		return nil, err
	}
	wt, err := ts.Upload(dt, reference.ToFloat64(w), n, k)
	if err != nil {
		return nil, err
	}
	var bt *gpu.Tensor
	if hasBias {
		if bt, err = ts.UploadF32(bias, n); err != nil {
			return nil, err
		}
	}
	oshape := append(append([]int(nil), xs[:len(xs)-1]...), n)
	out, err := ts.Output(gpu.F32, oshape...)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Linear(s, out, xt, wt, bt) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: oshape, F32: o}}, nil
}
