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
		Name:      "layer_norm",
		Summary:   "LayerNorm over the last dimension with weight and bias (torch.nn.functional.layer_norm, float32)",
		Inputs:    "x [..., C], [weight [C], bias [C]] (both or neither)",
		Outputs:   "out [..., C]",
		ParamsDoc: "eps (default 1e-5); bench: R, C (default 16384×512, Vocos's rows)",
		Verify:    verifyLayerNorm,
		Bench:     benchLayerNorm,
		Run:       runLayerNorm,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 5), ExampleTensor("weight", 1, 5), ExampleTensor("bias", 1, 5)}, Params{"eps": "1e-6"}
		},
	})
}

func verifyLayerNorm(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := [][2]int{{1, 1}, {5, 3}, {64, 100}, {300, 512}, {3, 4099}}
	if long {
		shapes = append(shapes, [2]int{100000, 64})
	}
	r := Rand()
	for _, sh := range shapes {
		if err := ctx.Err(); err != nil {
			return err
		}
		R, C := sh[0], sh[1]
		res := VerifyResult{Op: "layer_norm", Case: fmt.Sprintf("R=%d C=%d", R, C), DType: "f32", Tol: 1e-5}
		x, w, b := Randn(r, R*C, 1), Randn(r, C, 1), Randn(r, C, 1)
		want, err := reference.LayerNorm(x, w, b, R, C, 1e-6)
		if err == nil {
			res.RelErr, err = runLayerNormCase(d, x, w, b, R, C, want)
		}
		if err != nil {
			res.Err = err.Error()
		}
		report(res)
	}
	return nil
}

func runLayerNormCase(d *gpu.Device, x, w, b []float64, R, C int, want []float64) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, R, C)
	if err != nil {
		return 0, err
	}
	wt, err := ts.Upload(gpu.F32, w, C)
	if err != nil {
		return 0, err
	}
	bt, err := ts.Upload(gpu.F32, b, C)
	if err != nil {
		return 0, err
	}
	out, err := ts.Output(gpu.F32, R, C)
	if err != nil {
		return 0, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.LayerNorm(s, out, xt, wt, bt, 1e-6) }); err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return reference.RelErr(got, want), nil
}

func benchLayerNorm(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("layer_norm", "R", "C"); err != nil {
		return err
	}
	var R, C int
	defR := 16384
	if b.Quick {
		defR = 4096
	}
	if err := p.Sizes("layer_norm", Size{"R", &R, defR}, Size{"C", &C, 512}); err != nil {
		return err
	}
	r := Rand()
	x, w, bb := Randn(r, R*C, 1), Randn(r, C, 1), Randn(r, C, 1)
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
	bt, err := ts.Upload(gpu.F32, bb, C)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, R, C)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.LayerNorm(s, out, xt, wt, bt, 1e-6) })
	if err != nil {
		return err
	}
	refT, err := TimeCPU(func() error { _, err := reference.LayerNorm(x, w, bb, R, C, 1e-6); return err })
	if err != nil {
		return err
	}
	b.Add(Result{Op: "layer_norm", Variant: "rows", DType: "f32", Shape: map[string]int{"R": R, "C": C}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refT.Nanoseconds()},
		7*float64(R*C), 4*float64(2*R*C))
	return nil
}

func runLayerNorm(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("layer_norm", "eps"); err != nil {
		return nil, err
	}
	eps, err := p.Float("eps", 1e-5)
	if err != nil {
		return nil, err
	}
	if err := in.CheckKnown("x", "weight", "bias"); err != nil {
		return nil, err
	}
	shape, ok := in.Shape("x")
	if !ok || len(shape) == 0 {
		return nil, fmt.Errorf("layer_norm: missing required input tensor \"x\" [..., C]")
	}
	C := shape[len(shape)-1]
	x, err := in.Float32("x", shape...)
	if err != nil {
		return nil, err
	}
	w, hasW, err := in.OptionalFloat32("weight", C)
	if err != nil {
		return nil, err
	}
	bias, hasB, err := in.OptionalFloat32("bias", C)
	if err != nil {
		return nil, err
	}
	if hasW != hasB {
		return nil, fmt.Errorf("layer_norm: give both \"weight\" [%d] and \"bias\" [%d], or neither", C, C)
	}
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.UploadF32(x, shape...)
	if err != nil {
		return nil, err
	}
	var wt, bt *gpu.Tensor
	if hasW {
		if wt, err = ts.UploadF32(w, C); err != nil {
			return nil, err
		}
		if bt, err = ts.UploadF32(bias, C); err != nil {
			return nil, err
		}
	}
	out, err := ts.Output(gpu.F32, shape...)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.LayerNorm(s, out, xt, wt, bt, float32(eps)) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: shape, F32: o}}, nil
}
