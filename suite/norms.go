package suite

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

var normFns = []string{"add_rmsnorm", "gated_norm_first", "gated_gate_first"}

func init() {
	Register(Op{
		Name:    "norms",
		Summary: "model norms: RMSNorm fused with the residual add; gated RMSNorm, norm then gate (fla) or gate then norm over groups (Mamba-2)",
		Inputs:  "add_rmsnorm: residual [..., D], [x [..., D]], weight [D]; gated_*: x [..., D], g [..., D], weight [D] or [group]",
		Outputs: "out [..., D], and residual (the updated residual) for add_rmsnorm",
		ParamsDoc: "fn=add_rmsnorm|gated_norm_first|gated_gate_first, eps (default 1e-5), group (gated: columns per group, 0 = D); " +
			"bench: M, D, fn, group",
		Verify: verifyNorms,
		Bench:  benchNorms,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 3, 8), ExampleTensor("g", 1, 3, 8), ExampleTensor("weight", 1, 4)},
				Params{"fn": "gated_gate_first", "group": "4"}
		},
		Run: runNorms,
	})
}

// normInputs are one case's host inputs: the residual (add_rmsnorm) or x, the added x or the gate g.
type normCase struct {
	fn         string
	m, dim, gr int
	a, b, w    []float64 // add_rmsnorm: residual, x (nil: none); gated: x, g
	eps        float32
}

// run returns out and, for add_rmsnorm, the updated residual.
func (c normCase) run(d *gpu.Device) (out, res []float32, err error) {
	ts := NewTensors(d)
	defer ts.Close()
	at, err := ts.Upload(gpu.F32, c.a, c.m, c.dim)
	if err != nil {
		return nil, nil, err
	}
	var bt *gpu.Tensor
	if c.b != nil {
		if bt, err = ts.Upload(gpu.F32, c.b, c.m, c.dim); err != nil {
			return nil, nil, err
		}
	}
	wt, err := ts.Upload(gpu.F32, c.w, len(c.w))
	if err != nil {
		return nil, nil, err
	}
	ot, err := ts.Output(gpu.F32, c.m, c.dim)
	if err != nil {
		return nil, nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return c.record(s, ot, at, bt, wt) }); err != nil {
		return nil, nil, err
	}
	if out, err = ot.ReadFloat32(); err != nil || c.fn != "add_rmsnorm" {
		return out, nil, err
	}
	res, err = at.ReadFloat32()
	return out, res, err
}

func (c normCase) record(s *gpu.Stream, out, a, b, w *gpu.Tensor) error {
	if c.fn == "add_rmsnorm" {
		return ops.AddRMSNorm(s, out, a, b, w, c.eps)
	}
	return ops.GatedRMSNorm(s, out, ops.Whole(a), ops.Whole(b), w,
		ops.GatedRMSNormOptions{Eps: c.eps, NormBeforeGate: c.fn == "gated_norm_first", GroupSize: c.gr})
}

func (c normCase) reference() (out, res []float64, err error) {
	r := func(x []float64) []float64 {
		if x == nil {
			return nil
		}
		return reference.ToFloat64(reference.ToFloat32(x))
	}
	if c.fn == "add_rmsnorm" {
		res, out, err = reference.AddRMSNorm(r(c.a), r(c.b), r(c.w), float64(c.eps))
		return out, res, err
	}
	out, err = reference.GatedRMSNorm(r(c.a), r(c.b), r(c.w), c.m, c.dim, c.gr, float64(c.eps), c.fn == "gated_norm_first")
	return out, nil, err
}

func verifyNorms(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	r := Rand()
	for _, sh := range [][3]int{{1, 1, 0}, {5, 12, 4}, {64, 768, 0}, {7, 1536, 768}, {3, 200, 100}} {
		for _, fn := range normFns {
			if err := ctx.Err(); err != nil {
				return err
			}
			c := normCase{fn: fn, m: sh[0], dim: sh[1], gr: sh[2], a: Randn(r, sh[0]*sh[1], 3), b: Randn(r, sh[0]*sh[1], 3), eps: 1e-5}
			wl := c.dim
			if fn == "gated_norm_first" && c.gr > 0 {
				wl = c.gr
			}
			c.w = Randn(r, wl, 1)
			res := VerifyResult{Op: "norms", Case: fmt.Sprintf("%s M=%d D=%d group=%d", fn, c.m, c.dim, c.gr), DType: "f32", Tol: 1e-5}
			got, gotRes, err := c.run(d)
			if err == nil {
				var want, wantRes []float64
				if want, wantRes, err = c.reference(); err == nil {
					res.RelErr = reference.RelErr(got, want)
					if wantRes != nil {
						res.RelErr = max(res.RelErr, reference.RelErr(gotRes, wantRes))
					}
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

func benchNorms(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("norms", "M", "D", "fn", "group", "dtype"); err != nil {
		return err
	}
	var m, dim int
	if err := p.Sizes("norms", Size{"M", &m, 2048}, Size{"D", &dim, 1536}); err != nil {
		return err
	}
	gr, err := p.Int("group", 0)
	if err != nil {
		return err
	}
	fns := normFns
	if f, ok := p["fn"]; ok {
		fns = []string{f}
	}
	r := Rand()
	for _, fn := range fns {
		c := normCase{fn: fn, m: m, dim: dim, gr: gr, a: Randn(r, m*dim, 1), b: Randn(r, m*dim, 1), w: Randn(r, dim, 1), eps: 1e-5}
		ts := NewTensors(b.Device)
		err := func() error {
			at, err := ts.Upload(gpu.F32, c.a, m, dim)
			if err != nil {
				return err
			}
			bt, err := ts.Upload(gpu.F32, c.b, m, dim)
			if err != nil {
				return err
			}
			wt, err := ts.Upload(gpu.F32, c.w, dim)
			if err != nil {
				return err
			}
			ot, err := ts.Output(gpu.F32, m, dim)
			if err != nil {
				return err
			}
			med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return c.record(s, ot, at, bt, wt) })
			if err != nil {
				return err
			}
			b.Add(Result{Op: "norms", Variant: fn, DType: "f32", Shape: map[string]int{"M": m, "D": dim, "group": gr},
				MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()}, 6*float64(m*dim), 16*float64(m*dim))
			return nil
		}()
		ts.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func runNorms(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("norms", "fn", "eps", "group"); err != nil {
		return nil, err
	}
	fn := p.String("fn", "")
	eps, err := p.Float("eps", 1e-5)
	if err != nil {
		return nil, err
	}
	gr, err := p.Int("group", 0)
	if err != nil {
		return nil, err
	}
	first, second := "x", "g"
	switch fn {
	case "add_rmsnorm":
		first, second = "residual", "x"
	case "gated_norm_first", "gated_gate_first":
	default:
		return nil, fmt.Errorf("norms: parameter fn=%q: want one of %v", fn, normFns)
	}
	if err := in.CheckKnown(first, second, "weight"); err != nil {
		return nil, err
	}
	sh, ok := in.Shape(first)
	if !ok || len(sh) == 0 || sh[len(sh)-1] < 1 {
		return nil, fmt.Errorf("norms: missing input %q [..., D]", first)
	}
	a, err := in.Float32(first, sh...)
	if err != nil {
		return nil, err
	}
	var bv []float64
	if fn == "add_rmsnorm" {
		x, ok, err := in.OptionalFloat32(second, sh...)
		if err != nil {
			return nil, err
		}
		if ok {
			bv = reference.ToFloat64(x)
		}
	} else {
		g, err := in.Float32(second, sh...)
		if err != nil {
			return nil, err
		}
		bv = reference.ToFloat64(g)
	}
	wsh, ok := in.Shape("weight")
	if !ok || len(wsh) != 1 {
		return nil, fmt.Errorf("norms: missing input \"weight\" [D]")
	}
	w, err := in.Float32("weight", wsh...)
	if err != nil {
		return nil, err
	}
	dim := sh[len(sh)-1]
	c := normCase{fn: fn, m: len(a) / dim, dim: dim, gr: gr, a: reference.ToFloat64(a), b: bv, w: reference.ToFloat64(w), eps: float32(eps)}
	out, res, err := c.run(d)
	if err != nil {
		return nil, err
	}
	outs := []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: sh, F32: out}}
	if res != nil {
		outs = append(outs, tensorio.Tensor{Name: "residual", DType: tensorio.F32, Shape: sh, F32: res})
	}
	return outs, nil
}
