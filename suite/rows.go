package suite

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

var rowFns = []string{"sum", "rmsnorm", "l2norm"}

func init() {
	Register(Op{
		Name:      "rows",
		Summary:   "row reductions over the last dimension: sum, RMSNorm, L2 normalisation (float32)",
		Inputs:    "x [..., C], [weight [C]] (rmsnorm)",
		Outputs:   "out [...] (sum) or [..., C]",
		ParamsDoc: "fn=sum|rmsnorm|l2norm, eps (rmsnorm default 1e-5, l2norm 1e-6); bench: R, C",
		Verify:    verifyRows,
		Bench:     benchRows,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 3, 5), ExampleTensor("weight", 1, 5)}, Params{"fn": "rmsnorm"}
		},
		Run: runRows,
	})
}

func recordRows(s *gpu.Stream, fn string, out, x, w *gpu.Tensor, eps float32) error {
	switch fn {
	case "sum":
		return ops.RowSum(s, out, x)
	case "rmsnorm":
		return ops.RMSNorm(s, out, x, w, eps)
	case "l2norm":
		return ops.L2Norm(s, out, x, eps)
	}
	return fmt.Errorf("rows: fn=%q: want one of %v", fn, rowFns)
}

func refRows(fn string, x, w []float64, r, c int, eps float64) ([]float64, error) {
	switch fn {
	case "sum":
		return reference.RowSum(x, r, c)
	case "rmsnorm":
		return reference.RMSNorm(x, w, r, c, eps)
	}
	return reference.L2Norm(x, r, c, eps)
}

func verifyRows(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := [][2]int{{1, 1}, {5, 3}, {64, 100}, {33, 4096}}
	if long {
		shapes = append(shapes, [2]int{100000, 64})
	}
	r := Rand()
	for _, sh := range shapes {
		for _, fn := range rowFns {
			if err := ctx.Err(); err != nil {
				return err
			}
			R, C := sh[0], sh[1]
			// Positive inputs keep Σx away from cancellation, so the relative error measures the kernel.
			x := Randn(r, R*C, 1)
			if fn == "sum" {
				for i := range x {
					x[i] = x[i]*x[i] + 0.1
				}
			}
			w := Randn(r, C, 1)
			eps := 1e-5
			if fn == "l2norm" {
				eps = reference.L2NormEps
			}
			res := VerifyResult{Op: "rows", Case: fmt.Sprintf("%s R=%d C=%d", fn, R, C), DType: "f32", Tol: tolerance(gpu.F32)}
			want, err := refRows(fn, x, w, R, C, eps)
			if err == nil {
				res.RelErr, err = runRowsCase(d, fn, x, w, R, C, float32(eps), want)
			}
			if err != nil {
				res.Err = err.Error()
			}
			report(res)
		}
	}
	return nil
}

func runRowsCase(d *gpu.Device, fn string, x, w []float64, r, c int, eps float32, want []float64) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, r, c)
	if err != nil {
		return 0, err
	}
	wt, err := ts.Upload(gpu.F32, w, c)
	if err != nil {
		return 0, err
	}
	oshape := []int{r, c}
	if fn == "sum" {
		oshape = []int{r}
	}
	out, err := ts.Output(gpu.F32, oshape...)
	if err != nil {
		return 0, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return recordRows(s, fn, out, xt, wt, eps) }); err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return reference.RelErr(got, want), nil
}

func benchRows(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("rows", "R", "C", "fn"); err != nil {
		return err
	}
	defR := 16384
	if b.Quick {
		defR = 4096
	}
	R, err := p.Int("R", defR)
	if err != nil {
		return err
	}
	C, err := p.Int("C", 1024)
	if err != nil {
		return err
	}
	if R < 1 || C < 1 {
		return fmt.Errorf("rows: R=%d C=%d, want ≥ 1", R, C)
	}
	if err := checkRequest(b.Device, fmt.Sprintf("rows R=%d C=%d", R, C), 2*prod(R, C)+float64(C), gpu.F32); err != nil {
		return err
	}
	fns := []string{"rmsnorm"}
	if f, ok := p["fn"]; ok {
		fns = []string{f}
	}
	r := Rand()
	x, w := Randn(r, R*C, 1), Randn(r, C, 1)
	ts := NewTensors(b.Device)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, R, C)
	if err != nil {
		return err
	}
	wt, err := ts.Upload(gpu.F32, w, C)
	if err != nil {
		return err
	}
	for _, fn := range fns {
		oshape := []int{R, C}
		if fn == "sum" {
			oshape = []int{R}
		}
		out, err := ts.Output(gpu.F32, oshape...)
		if err != nil {
			return err
		}
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return recordRows(s, fn, out, xt, wt, 1e-5) })
		if err != nil {
			return err
		}
		refT, err := TimeCPU(func() error { _, err := refRows(fn, x, w, R, C, 1e-5); return err })
		if err != nil {
			return err
		}
		bytes := 4 * float64(R*C+out.Len())
		b.Add(Result{Op: "rows", Variant: fn, DType: "f32", Shape: map[string]int{"R": R, "C": C}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refT.Nanoseconds()},
			3*float64(R*C), bytes)
	}
	return nil
}

func runRows(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("rows", "fn", "eps"); err != nil {
		return nil, err
	}
	fn := p.String("fn", "")
	defEps := 1e-5
	switch fn {
	case "sum", "rmsnorm":
	case "l2norm":
		defEps = reference.L2NormEps
	default:
		return nil, fmt.Errorf("rows: parameter fn=%q: want one of %v", fn, rowFns)
	}
	eps, err := p.Float("eps", defEps)
	if err != nil {
		return nil, err
	}
	allowed := []string{"x"}
	if fn == "rmsnorm" {
		allowed = append(allowed, "weight")
	}
	if err := in.CheckKnown(allowed...); err != nil {
		return nil, err
	}
	shape, ok := in.Shape("x")
	if !ok {
		return nil, fmt.Errorf("rows: missing required input tensor \"x\" [..., C]")
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("rows: input tensor \"x\" is a scalar, want [..., C]")
	}
	x, err := in.Float32("x", shape...)
	if err != nil {
		return nil, err
	}
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.UploadF32(x, shape...)
	if err != nil {
		return nil, err
	}
	var wt *gpu.Tensor
	if fn == "rmsnorm" {
		w, ok, err := in.OptionalFloat32("weight", shape[len(shape)-1])
		if err != nil {
			return nil, err
		}
		if ok {
			if wt, err = ts.UploadF32(w, shape[len(shape)-1]); err != nil {
				return nil, err
			}
		}
	}
	oshape := shape
	if fn == "sum" {
		oshape = shape[:len(shape)-1]
	}
	out, err := ts.Output(gpu.F32, oshape...)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return recordRows(s, fn, out, xt, wt, float32(eps)) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: oshape, F32: o}}, nil
}
