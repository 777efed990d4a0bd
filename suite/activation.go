package suite

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

var actFns = []string{"logsigmoid", "softplus_bias"}

func init() {
	Register(Op{
		Name:      "activation",
		Summary:   "gate activations: logsigmoid(x)/divisor (GLA) and softplus(x + bias) per column (Mamba dt)",
		Inputs:    "x [..., D], bias [D] (softplus_bias)",
		Outputs:   "out [..., D]",
		ParamsDoc: "fn=logsigmoid|softplus_bias, divisor (logsigmoid, default 16); bench: M, D, fn",
		Verify:    verifyActivation,
		Bench:     benchActivation,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 3, 4, 6), ExampleTensor("bias", 1, 6)}, Params{"fn": "softplus_bias"}
		},
		Run: runActivation,
	})
}

func recordAct(s *gpu.Stream, fn string, out, x, bias *gpu.Tensor, div float32) error {
	if fn == "logsigmoid" {
		return ops.LogSigmoid(s, out, x, div)
	}
	return ops.SoftplusBias(s, out, x, bias)
}

func refAct(fn string, x, bias []float64, div float64) ([]float64, error) {
	if fn == "logsigmoid" {
		return reference.LogSigmoid(x, div), nil
	}
	return reference.SoftplusBias(x, bias)
}

func actRun(d *gpu.Device, fn string, x, bias []float64, shape []int, div float32) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, shape...)
	if err != nil {
		return nil, err
	}
	var bt *gpu.Tensor
	if bias != nil {
		if bt, err = ts.Upload(gpu.F32, bias, len(bias)); err != nil {
			return nil, err
		}
	}
	out, err := ts.Output(gpu.F32, shape...)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return recordAct(s, fn, out, xt, bt, div) }); err != nil {
		return nil, err
	}
	return out.ReadFloat32()
}

func verifyActivation(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	r := Rand()
	for _, sh := range [][2]int{{1, 1}, {7, 13}, {2048, 24}, {100, 1536}} {
		for _, fn := range actFns {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, dim := sh[0], sh[1]
			x, bias := Randn(r, m*dim, 20), Randn(r, dim, 2)
			res := VerifyResult{Op: "activation", Case: fmt.Sprintf("%s M=%d D=%d", fn, m, dim), DType: "f32", Tol: 1e-5}
			got, err := actRun(d, fn, x, bias, []int{m, dim}, 16)
			if err == nil {
				var want []float64
				if want, err = refAct(fn, reference.ToFloat64(reference.ToFloat32(x)), reference.ToFloat64(reference.ToFloat32(bias)), 16); err == nil {
					res.RelErr = reference.RelErr(got, want)
				}
			}
			if err != nil {
				res.Err = err.Error()
			}
			report(res)
		}
	}
	return nil
}

func benchActivation(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("activation", "M", "D", "fn", "dtype"); err != nil {
		return err
	}
	var m, dim int
	if err := p.Sizes("activation", Size{"M", &m, 2048}, Size{"D", &dim, 2048}); err != nil {
		return err
	}
	fns := actFns
	if f, ok := p["fn"]; ok {
		fns = []string{f}
	}
	ts := NewTensors(b.Device)
	defer ts.Close()
	r := Rand()
	xt, err := ts.Upload(gpu.F32, Randn(r, m*dim, 3), m, dim)
	if err != nil {
		return err
	}
	bt, err := ts.Upload(gpu.F32, Randn(r, dim, 1), dim)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, m, dim)
	if err != nil {
		return err
	}
	for _, fn := range fns {
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return recordAct(s, fn, out, xt, bt, 16) })
		if err != nil {
			return err
		}
		b.Add(Result{Op: "activation", Variant: fn, DType: "f32", Shape: map[string]int{"M": m, "D": dim}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
			float64(m*dim), 8*float64(m*dim))
	}
	return nil
}

func runActivation(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("activation", "fn", "divisor"); err != nil {
		return nil, err
	}
	fn := p.String("fn", "")
	if fn != "logsigmoid" && fn != "softplus_bias" {
		return nil, fmt.Errorf("activation: parameter fn=%q: want one of %v", fn, actFns)
	}
	div, err := p.Float("divisor", 16)
	if err != nil {
		return nil, err
	}
	allowed := []string{"x"}
	if fn == "softplus_bias" {
		allowed = append(allowed, "bias")
	}
	if err := in.CheckKnown(allowed...); err != nil {
		return nil, err
	}
	sh, ok := in.Shape("x")
	if !ok || len(sh) == 0 {
		return nil, fmt.Errorf("activation: missing input \"x\" [..., D]")
	}
	x, err := in.Float32("x", sh...)
	if err != nil {
		return nil, err
	}
	var bias []float64
	if fn == "softplus_bias" {
		b, err := in.Float32("bias", sh[len(sh)-1])
		if err != nil {
			return nil, err
		}
		bias = reference.ToFloat64(b)
	}
	o, err := actRun(d, fn, reference.ToFloat64(x), bias, sh, float32(div))
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: sh, F32: o}}, nil
}
