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
		Name:      "transpose",
		Summary:   "batched transpose of a column window: [B, R, C] (columns start..start+n of each row) -> [B, n, R]",
		Inputs:    "x [B, R, C]",
		Outputs:   "out [B, n, R]",
		ParamsDoc: "start (default 0), n (default C - start); bench: B, R, C",
		Verify:    verifyTranspose,
		Bench:     benchTranspose,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 5)}, Params{"start": "1", "n": "3"}
		},
		Run: runTranspose,
	})
}

func transposeRun(d *gpu.Device, x []float64, b, r, c, start, n int) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, b, r, c)
	if err != nil {
		return nil, err
	}
	out, err := ts.Output(gpu.F32, b, n, r)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Transpose(s, out, ops.Cols(xt, start, n), b) }); err != nil {
		return nil, err
	}
	return out.ReadFloat32()
}

// window returns columns [start, start+n) of the rows of C values of x.
func window(x []float64, c, start, n int) []float64 {
	var out []float64
	for row := 0; row < len(x)/c; row++ {
		out = append(out, x[row*c+start:row*c+start+n]...)
	}
	return out
}

func verifyTranspose(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	rnd := Rand()
	for _, sh := range [][5]int{{1, 1, 1, 0, 1}, {2, 63, 10, 3, 5}, {2, 200, 3072, 1536, 1536}, {1, 2048, 1536, 0, 1536}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, r, c, start, n := sh[0], sh[1], sh[2], sh[3], sh[4]
		x := Randn(rnd, b*r*c, 1)
		res := VerifyResult{Op: "transpose", Case: fmt.Sprintf("B=%d R=%d C=%d cols %d+%d", b, r, c, start, n), DType: "f32", Tol: 0}
		got, err := transposeRun(d, x, b, r, c, start, n)
		if err == nil {
			var want []float64
			if want, err = reference.Transpose(window(reference.ToFloat64(reference.ToFloat32(x)), c, start, n), b, r, n); err == nil {
				res.RelErr = reference.RelErr(got, want)
			}
		}
		if err != nil {
			res.Err = err.Error()
		}
		report(res)
	}
	return nil
}

func benchTranspose(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("transpose", "B", "R", "C", "dtype"); err != nil {
		return err
	}
	var bb, r, c int
	if err := p.Sizes("transpose", Size{"B", &bb, 2}, Size{"R", &r, 2048}, Size{"C", &c, 1536}); err != nil {
		return err
	}
	ts := NewTensors(b.Device)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, Randn(Rand(), bb*r*c, 1), bb, r, c)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, bb, c, r)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.Transpose(s, out, ops.Whole(xt), bb) })
	if err != nil {
		return err
	}
	b.Add(Result{Op: "transpose", Variant: "whole", DType: "f32", Shape: map[string]int{"B": bb, "R": r, "C": c}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
		0, 8*float64(bb*r*c))
	return nil
}

func runTranspose(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("transpose", "start", "n"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown("x"); err != nil {
		return nil, err
	}
	sh, ok := in.Shape("x")
	if !ok || len(sh) != 3 || sh[2] < 1 {
		return nil, fmt.Errorf("transpose: input \"x\" missing or not [B, R, C] (shape %v)", sh)
	}
	start, err := p.Int("start", 0)
	if err != nil {
		return nil, err
	}
	n, err := p.Int("n", sh[2]-start)
	if err != nil {
		return nil, err
	}
	x, err := in.Float32("x", sh...)
	if err != nil {
		return nil, err
	}
	if sh[0] < 1 {
		return nil, fmt.Errorf("transpose: B = %d, want ≥ 1", sh[0])
	}
	o, err := transposeRun(d, reference.ToFloat64(x), sh[0], sh[1], sh[2], start, n)
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: []int{sh[0], n, sh[1]}, F32: o}}, nil
}
