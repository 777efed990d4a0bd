package suite

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

var eltOps = []string{"add", "mul", "scale", "exp", "silu", "sigmoid", "softplus", "gelu"}

func init() {
	Register(Op{
		Name:      "eltwise",
		Summary:   "element-wise add, mul, scale, exp, silu, sigmoid, softplus, gelu (exact erf) (float32)",
		Inputs:    "x [any shape], y [same shape] for add and mul",
		Outputs:   "out [x's shape]",
		ParamsDoc: "fn=add|mul|scale|exp|silu|sigmoid|softplus|gelu, alpha (scale); bench: N, fn",
		Verify:    verifyEltwise,
		Bench:     benchEltwise,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 3, 5), ExampleTensor("y", 1, 3, 5)}, Params{"fn": "add"}
		},
		Run: runEltwise,
	})
}

// recordElt records fn on the stream.
func recordElt(s *gpu.Stream, fn string, out, x, y *gpu.Tensor, alpha float32) error {
	switch fn {
	case "add":
		return ops.Add(s, out, x, y)
	case "mul":
		return ops.Mul(s, out, x, y)
	case "scale":
		return ops.Scale(s, out, x, alpha)
	}
	u, err := ops.ParseUnaryOp(fn)
	if err != nil {
		return err
	}
	return ops.Unary(s, out, x, u)
}

func refElt(fn string, x, y []float64, alpha float64) ([]float64, error) {
	switch fn {
	case "add", "mul":
		return reference.Binary(fn, x, y)
	case "scale":
		return reference.Scale(x, alpha), nil
	}
	return reference.Unary(fn, x)
}

func verifyEltwise(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	sizes := []int{1, 7, 4096, 100003}
	if long {
		sizes = append(sizes, 1<<22+3)
	}
	r := Rand()
	for _, n := range sizes {
		for _, fn := range eltOps {
			if err := ctx.Err(); err != nil {
				return err
			}
			scale := 10.0
			if fn == "exp" {
				scale = 3
			}
			x, y := Randn(r, n, scale), Randn(r, n, scale)
			res := VerifyResult{Op: "eltwise", Case: fmt.Sprintf("%s N=%d", fn, n), DType: "f32", Tol: tolerance(gpu.F32)}
			want, err := refElt(fn, x, y, -0.75)
			if err == nil {
				res.RelErr, err = runElt(d, fn, x, y, -0.75, want)
			}
			if err != nil {
				res.Err = err.Error()
			}
			report(res)
		}
	}
	return nil
}

func runElt(d *gpu.Device, fn string, x, y []float64, alpha float32, want []float64) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	n := len(x)
	xt, err := ts.Upload(gpu.F32, x, n)
	if err != nil {
		return 0, err
	}
	yt, err := ts.Upload(gpu.F32, y, n)
	if err != nil {
		return 0, err
	}
	out, err := ts.Output(gpu.F32, n)
	if err != nil {
		return 0, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return recordElt(s, fn, out, xt, yt, alpha) }); err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return reference.RelErr(got, representable32(want)), nil
}

// representable32 returns want as float32 can hold it: values below float32's smallest normal
// (1.18e-38) become 0, as Vulkan lets a device flush denormals. A lone element in a far tail
// (gelu(−20) ≈ −6e-88 in float64) would otherwise count as a relative error of 1 for a result that
// no float32 implementation can give.
func representable32(want []float64) []float64 {
	out := make([]float64, len(want))
	for i, w := range want {
		if math.Abs(w) >= 0x1p-126 || math.IsNaN(w) || math.IsInf(w, 0) {
			out[i] = w
		}
	}
	return out
}

func benchEltwise(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("eltwise", "N", "fn"); err != nil {
		return err
	}
	def := 1 << 24
	if b.Quick {
		def = 1 << 22
	}
	n, err := p.Int("N", def)
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("eltwise: N=%d, want ≥ 1", n)
	}
	if err := checkRequest(b.Device, fmt.Sprintf("eltwise N=%d", n), 3*float64(n), gpu.F32); err != nil {
		return err
	}
	fns := []string{"add", "silu", "softplus"}
	if f, ok := p["fn"]; ok {
		fns = []string{f}
	}
	r := Rand()
	x, y := Randn(r, n, 1), Randn(r, n, 1)
	ts := NewTensors(b.Device)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, n)
	if err != nil {
		return err
	}
	yt, err := ts.Upload(gpu.F32, y, n)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, n)
	if err != nil {
		return err
	}
	for _, fn := range fns {
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return recordElt(s, fn, out, xt, yt, 2) })
		if err != nil {
			return err
		}
		refT, err := TimeCPU(func() error { _, err := refElt(fn, x, y, 2); return err })
		if err != nil {
			return err
		}
		operands := 2.0
		if fn == "add" || fn == "mul" {
			operands = 3
		}
		b.Add(Result{Op: "eltwise", Variant: fn, DType: "f32", Shape: map[string]int{"N": n}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refT.Nanoseconds()},
			float64(n), 4*operands*float64(n))
	}
	return nil
}

func runEltwise(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("eltwise", "fn", "alpha"); err != nil {
		return nil, err
	}
	fn := p.String("fn", "")
	known := false
	for _, f := range eltOps {
		known = known || f == fn
	}
	if !known {
		return nil, fmt.Errorf("eltwise: parameter fn=%q: want one of %v", fn, eltOps)
	}
	alpha, err := p.Float("alpha", 1)
	if err != nil {
		return nil, err
	}
	binary := fn == "add" || fn == "mul"
	allowed := []string{"x"}
	if binary {
		allowed = append(allowed, "y")
	}
	if err := in.CheckKnown(allowed...); err != nil {
		return nil, err
	}
	shape, ok := in.Shape("x")
	if !ok {
		return nil, fmt.Errorf("eltwise: missing required input tensor \"x\"")
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
	yt := xt
	if binary {
		// Float32 with no sizes takes any shape: compare y's with x's (which may be a scalar) here.
		if ys, ok := in.Shape("y"); ok && !slices.Equal(ys, shape) {
			return nil, fmt.Errorf("eltwise: input tensor \"y\" has shape %v, want x's shape %v", ys, shape)
		}
		y, err := in.Float32("y", shape...)
		if err != nil {
			return nil, err
		}
		if yt, err = ts.UploadF32(y, shape...); err != nil {
			return nil, err
		}
	}
	out, err := ts.Output(gpu.F32, shape...)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return recordElt(s, fn, out, xt, yt, float32(alpha)) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: shape, F32: o}}, nil
}
