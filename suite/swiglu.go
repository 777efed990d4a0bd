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
		Name:      "swiglu",
		Summary:   "SwiGLU: out = silu(gate) ⊙ up, gate and up separate or the two halves of one fused projection",
		Inputs:    "gate [..., I] and up [..., I], or proj [..., 2I] (gate then up)",
		Outputs:   "out [..., I]",
		ParamsDoc: "bench: M, I",
		Verify:    verifySwiGLU,
		Bench:     benchSwiGLU,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("proj", 1, 3, 8)}, Params{}
		},
		Run: runSwiGLU,
	})
}

func verifySwiGLU(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	r := Rand()
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {64, 1536}, {1000, 33}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, i := sh[0], sh[1]
		proj := Randn(r, m*2*i, 5)
		res := VerifyResult{Op: "swiglu", Case: fmt.Sprintf("fused M=%d I=%d", m, i), DType: "f32", Tol: 1e-5}
		got, err := swigluRun(d, proj, m, i)
		if err == nil {
			gate, up := splitHalves(reference.ToFloat64(reference.ToFloat32(proj)), m, i)
			want, _ := reference.SwiGLU(gate, up)
			res.RelErr = reference.RelErr(got, want)
		} else {
			res.Err = err.Error()
		}
		report(res)
	}
	return nil
}

// splitHalves splits rows of 2I values into their first and second halves.
func splitHalves(proj []float64, m, i int) (a, b []float64) {
	for row := range m {
		a = append(a, proj[row*2*i:row*2*i+i]...)
		b = append(b, proj[row*2*i+i:row*2*i+2*i]...)
	}
	return a, b
}

func swigluRun(d *gpu.Device, proj []float64, m, i int) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	pt, err := ts.Upload(gpu.F32, proj, m, 2*i)
	if err != nil {
		return nil, err
	}
	out, err := ts.Output(gpu.F32, m, i)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.SwiGLU(s, out, ops.Cols(pt, 0, i), ops.Cols(pt, i, i)) }); err != nil {
		return nil, err
	}
	return out.ReadFloat32()
}

func benchSwiGLU(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("swiglu", "M", "I", "dtype"); err != nil {
		return err
	}
	var m, i int
	if err := p.Sizes("swiglu", Size{"M", &m, 2048}, Size{"I", &i, 2816}); err != nil {
		return err
	}
	ts := NewTensors(b.Device)
	defer ts.Close()
	pt, err := ts.Upload(gpu.F32, Randn(Rand(), m*2*i, 1), m, 2*i)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, m, i)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.SwiGLU(s, out, ops.Cols(pt, 0, i), ops.Cols(pt, i, i)) })
	if err != nil {
		return err
	}
	b.Add(Result{Op: "swiglu", Variant: "fused", DType: "f32", Shape: map[string]int{"M": m, "I": i}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
		5*float64(m*i), 12*float64(m*i))
	return nil
}

func runSwiGLU(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("swiglu"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown("proj", "gate", "up"); err != nil {
		return nil, err
	}
	var proj []float64
	var lead []int
	var m, i int
	if sh, ok := in.Shape("proj"); ok {
		if len(sh) == 0 || sh[len(sh)-1]%2 != 0 || len(in.Names()) != 1 {
			return nil, fmt.Errorf("swiglu: input \"proj\" has shape %v, want [..., 2I] alone (or gate and up)", sh)
		}
		x, err := in.Float32("proj", sh...)
		if err != nil {
			return nil, err
		}
		lead, i = sh[:len(sh)-1], sh[len(sh)-1]/2
		proj, m = reference.ToFloat64(x), len(x)/max(2*i, 1)
	} else {
		sh, ok := in.Shape("gate")
		if !ok || len(sh) == 0 {
			return nil, fmt.Errorf("swiglu: missing input \"proj\" [..., 2I] or \"gate\" and \"up\" [..., I]")
		}
		g, err := in.Float32("gate", sh...)
		if err != nil {
			return nil, err
		}
		u, err := in.Float32("up", sh...)
		if err != nil {
			return nil, err
		}
		lead, i = sh[:len(sh)-1], sh[len(sh)-1]
		m = len(g) / max(i, 1)
		for row := range m {
			proj = append(proj, reference.ToFloat64(g[row*i:(row+1)*i])...)
			proj = append(proj, reference.ToFloat64(u[row*i:(row+1)*i])...)
		}
	}
	if i < 1 {
		return nil, fmt.Errorf("swiglu: I = %d, want ≥ 1", i)
	}
	o, err := swigluRun(d, proj, m, i)
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: append(append([]int(nil), lead...), i), F32: o}}, nil
}
