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
		Name:      "embedding",
		Summary:   "embedding gather: out[n] = table[ids[n]] (table f32 or f16 storage)",
		Inputs:    "ids [...] (integers in [0, V)), table [V, D]",
		Outputs:   "out [..., D]",
		ParamsDoc: "dtype=f32|f16 (table storage, run); bench: N, V, D, dtype",
		Verify:    verifyEmbedding,
		Bench:     benchEmbedding,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{{Name: "ids", DType: tensorio.I32, Shape: []int{2, 3}, I32: []int32{0, 5, 2, 2, 9, 1}}, ExampleTensor("table", 1, 10, 4)}, Params{}
		},
		Run: runEmbedding,
	})
}

func randIDs(n, v int) []int32 {
	r := Rand()
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(r.IntN(v))
	}
	return ids
}

func verifyEmbedding(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := [][3]int{{1, 1, 1}, {7, 10, 33}, {500, 1000, 64}, {2, 50280, 768}}
	r := Rand()
	return VerifyEach(ctx, d, shapes, report, func(dt gpu.DType, sh [3]int) VerifyResult {
		n, v, dim := sh[0], sh[1], sh[2]
		res := VerifyResult{Op: "embedding", Case: fmt.Sprintf("N=%d V=%d D=%d", n, v, dim), DType: dt.String(), Tol: 0}
		var err error
		res.RelErr, err = embeddingCase(d, dt, randIDs(n, v), Randn(r, v*dim, 1), v, dim)
		if err != nil {
			res.Err = err.Error()
		}
		return res
	})
}

func embeddingCase(d *gpu.Device, dt gpu.DType, ids []int32, table []float64, v, dim int) (float64, error) {
	ts := NewTensors(d)
	defer ts.Close()
	it, err := d.FromInt32(ids, len(ids))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	tt, err := ts.Upload(dt, table, v, dim)
	if err != nil {
		return 0, err
	}
	out, err := ts.Output(gpu.F32, len(ids), dim)
	if err != nil {
		return 0, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Embedding(s, out, it, tt) }); err != nil {
		return 0, err
	}
	held, err := tt.ReadFloat32()
	if err != nil {
		return 0, err
	}
	want, err := reference.Embedding(ids, reference.ToFloat64(held), v, dim)
	if err != nil {
		return 0, err
	}
	got, err := out.ReadFloat32()
	if err != nil {
		return 0, err
	}
	return reference.RelErr(got, want), nil
}

func benchEmbedding(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("embedding", "N", "V", "D", "dtype"); err != nil {
		return err
	}
	var n, v, dim int
	if err := p.Sizes("embedding", Size{"N", &n, 4096}, Size{"V", &v, 50280}, Size{"D", &dim, 768}); err != nil {
		return err
	}
	dts, err := benchDTypes(b.Device, "embedding", p)
	if err != nil {
		return err
	}
	ids := randIDs(n, v)
	table := Randn(Rand(), v*dim, 1)
	for _, dt := range dts {
		ts := NewTensors(b.Device)
		err := func() error {
			it, err := b.Device.FromInt32(ids, n)
			if err != nil {
				return err
			}
			defer it.Close()
			tt, err := ts.Upload(dt, table, v, dim)
			if err != nil {
				return err
			}
			out, err := ts.Output(gpu.F32, n, dim)
			if err != nil {
				return err
			}
			med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.Embedding(s, out, it, tt) })
			if err != nil {
				return err
			}
			b.Add(Result{Op: "embedding", Variant: "gather", DType: dt.String(), Shape: map[string]int{"N": n, "V": v, "D": dim},
				MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()}, 0, float64(n*dim*(dt.Size()+4)+4*n))
			return nil
		}()
		ts.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// benchDTypes is the storage types a bench runs: both the device has, or the one p's dtype names.
func benchDTypes(d *gpu.Device, op string, p Params) ([]gpu.DType, error) {
	switch v := p.String("dtype", ""); v {
	case "":
		return StorageDTypes(d), nil
	case "f32":
		return []gpu.DType{gpu.F32}, nil
	case "f16":
		return []gpu.DType{gpu.F16}, nil
	default:
		return nil, fmt.Errorf("%s: dtype=%q, want f32 or f16", op, v)
	}
}

func runEmbedding(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("embedding", "dtype"); err != nil {
		return nil, err
	}
	dts, err := benchDTypes(d, "embedding", Params{"dtype": p.String("dtype", "f32")})
	if err != nil {
		return nil, err
	}
	if err := in.CheckKnown("ids", "table"); err != nil {
		return nil, err
	}
	tsh, ok := in.Shape("table")
	if !ok || len(tsh) != 2 || tsh[0] < 1 || tsh[1] < 1 {
		return nil, fmt.Errorf("embedding: input tensor \"table\" missing or not [V, D] with V, D ≥ 1 (shape %v)", tsh)
	}
	v, dim := tsh[0], tsh[1]
	ish, ok := in.Shape("ids")
	if !ok {
		return nil, fmt.Errorf("embedding: missing required input tensor \"ids\"")
	}
	ids, err := in.Int32("ids", ish...)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			return nil, fmt.Errorf("embedding: ids[%d] = %d, want 0 ≤ id < V = %d", i, id, v)
		}
	}
	table, err := in.Float32("table", v, dim)
	if err != nil {
		return nil, err
	}
	ts := NewTensors(d)
	defer ts.Close()
	it, err := d.FromInt32(ids, len(ids))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	tt, err := ts.Upload(dts[0], reference.ToFloat64(table), v, dim)
	if err != nil {
		return nil, err
	}
	oshape := append(append([]int(nil), ish...), dim)
	out, err := ts.Output(gpu.F32, len(ids), dim)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Embedding(s, out, it, tt) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: oshape, F32: o}}, nil
}
