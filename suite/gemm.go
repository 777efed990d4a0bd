package suite

import (
	"context"
	"fmt"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:      "gemm",
		Summary:   "C = op(A)·op(B), float32",
		Inputs:    "a [M,K] ([K,M] with trans_a), b [K,N] ([N,K] with trans_b)",
		Outputs:   "c [M,N]",
		ParamsDoc: "trans_a, trans_b (0/1); bench: M, N, K, Batch",
		Verify:    verifyGEMM,
		Bench:     benchGEMM,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("a", 1, 5, 7), ExampleTensor("b", 1, 7, 3)}, Params{}
		},
		Run: runGEMM,
	})
}

func gemmCase(ctx context.Context, d *gpu.Device, sh reference.GEMMShape) VerifyResult {
	name := fmt.Sprintf("Batch=%d M=%d N=%d K=%d ta=%v tb=%v", sh.Batch, sh.M, sh.N, sh.K, sh.TransA, sh.TransB)
	res := VerifyResult{Op: "gemm", Case: name, DType: "f32", Tol: tolerance(gpu.F32)}
	if err := checkRequest(d, "gemm "+name, prod(sh.Batch, sh.M, sh.K)+prod(sh.Batch, sh.K, sh.N)+prod(sh.Batch, sh.M, sh.N), gpu.F32); err != nil {
		res.Err = err.Error()
		return res
	}
	r := Rand()
	a := Randn(r, sh.Batch*sh.M*sh.K, 1)
	b := Randn(r, sh.Batch*sh.K*sh.N, 1)
	want, err := reference.GEMM(a, b, sh)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	ts := NewTensors(d)
	defer ts.Close()
	as, bs := []int{sh.Batch, sh.M, sh.K}, []int{sh.Batch, sh.K, sh.N}
	if sh.TransA {
		as = []int{sh.Batch, sh.K, sh.M}
	}
	if sh.TransB {
		bs = []int{sh.Batch, sh.N, sh.K}
	}
	at, err := ts.Upload(gpu.F32, a, as...)
	if err == nil {
		var bt, ct *gpu.Tensor
		if bt, err = ts.Upload(gpu.F32, b, bs...); err == nil {
			if ct, err = ts.Output(gpu.F32, sh.Batch, sh.M, sh.N); err == nil {
				err = RunStream(d, func(s *gpu.Stream) error {
					return ops.GEMM(s, ct, at, bt, ops.GEMMOptions{TransA: sh.TransA, TransB: sh.TransB})
				})
				if err == nil {
					var got []float32
					if got, err = ct.ReadFloat32(); err == nil {
						res.RelErr = reference.RelErr(got, want)
					}
				}
			}
		}
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

func verifyGEMM(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []reference.GEMMShape{
		{Batch: 1, M: 1, N: 1, K: 1},
		{Batch: 1, M: 37, N: 29, K: 13},
		{Batch: 1, M: 128, N: 128, K: 128},
		{Batch: 3, M: 65, N: 33, K: 100},
		{Batch: 2, M: 64, N: 96, K: 256, TransA: true},
		{Batch: 2, M: 64, N: 96, K: 256, TransB: true},
		{Batch: 1, M: 31, N: 17, K: 9, TransA: true, TransB: true},
	}
	if long {
		shapes = append(shapes, reference.GEMMShape{Batch: 1, M: 1024, N: 1024, K: 1024}, reference.GEMMShape{Batch: 1, M: 1000, N: 999, K: 1001})
	}
	for _, sh := range quickShapes(ctx, shapes, 1, 3) {
		if err := ctx.Err(); err != nil {
			return err
		}
		report(gemmCase(ctx, d, sh))
	}
	return nil
}

func benchGEMM(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("gemm", "M", "N", "K", "Batch"); err != nil {
		return err
	}
	sizes := [][4]int{{1, 256, 256, 256}, {1, 512, 512, 512}, {1, 1024, 1024, 1024}}
	if b.Quick {
		sizes = sizes[2:]
	}
	if len(p) > 0 {
		var s [4]int
		var err error
		for i, k := range []string{"Batch", "M", "N", "K"} {
			def := 1
			if i > 0 {
				def = 1024
			}
			if s[i], err = p.Int(k, def); err != nil {
				return err
			}
			if s[i] < 1 {
				return fmt.Errorf("gemm: %s=%d, want ≥ 1", k, s[i])
			}
		}
		sizes = [][4]int{s}
	}
	for _, s := range sizes {
		batch, m, n, k := s[0], s[1], s[2], s[3]
		if err := checkRequest(b.Device, fmt.Sprintf("gemm Batch=%d M=%d N=%d K=%d", batch, m, n, k), prod(batch, m, k)+prod(batch, k, n)+prod(batch, m, n), gpu.F32); err != nil {
			return err
		}
		r := Rand()
		a, bb := Randn(r, batch*m*k, 1), Randn(r, batch*k*n, 1)
		ts := NewTensors(b.Device)
		at, err := ts.Upload(gpu.F32, a, batch, m, k)
		if err != nil {
			ts.Close()
			return err
		}
		bt, err := ts.Upload(gpu.F32, bb, batch, k, n)
		if err != nil {
			ts.Close()
			return err
		}
		ct, err := ts.Output(gpu.F32, batch, m, n)
		if err != nil {
			ts.Close()
			return err
		}
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.GEMM(s, ct, at, bt, ops.GEMMOptions{}) })
		ts.Close()
		if err != nil {
			return fmt.Errorf("gemm %v: %w", s, err)
		}
		flops := 2 * float64(batch) * float64(m) * float64(n) * float64(k)
		bytes := 4 * float64(batch) * float64(m*k+k*n+m*n)
		shape := map[string]int{"Batch": batch, "M": m, "N": n, "K": k}
		refT, err := TimeCPU(func() error {
			_, err := reference.GEMM(a, bb, reference.GEMMShape{Batch: batch, M: m, N: n, K: k})
			return err
		})
		if err != nil {
			return err
		}
		b.Add(Result{Op: "gemm", Variant: "tiled", DType: "f32", Shape: shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), ReferenceNS: refT.Nanoseconds()}, flops, bytes)
		// The CPU peer of the same run: gonum's float32 GEMM on every core.
		cpu := blasGEMM(batch, m, n, k, a, bb, max(b.Runs, 1))
		b.Add(Result{Op: "gemm", Variant: "cpu-gonum-blas32", DType: "f32", Shape: shape, MedianNS: cpu.Nanoseconds(), MinNS: cpu.Nanoseconds(),
			Host: true, Note: "CPU peer (wall time), not a GPU kernel"}, flops, bytes)
	}
	return nil
}

// blasGEMM times gonum's blas32 Sgemm over the batch and returns the median of runs.
func blasGEMM(batch, m, n, k int, a, b []float64, runs int) time.Duration {
	af, bf := reference.ToFloat32(a), reference.ToFloat32(b)
	c := make([]float32, m*n)
	var ts []time.Duration
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		for z := 0; z < batch; z++ {
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
				blas32.General{Rows: m, Cols: k, Stride: k, Data: af[z*m*k : (z+1)*m*k]},
				blas32.General{Rows: k, Cols: n, Stride: n, Data: bf[z*k*n : (z+1)*k*n]}, 0,
				blas32.General{Rows: m, Cols: n, Stride: n, Data: c})
		}
		ts = append(ts, time.Since(t0))
	}
	return medianDuration(ts)
}

func medianDuration(ts []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ts...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func runGEMM(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("gemm", "trans_a", "trans_b"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown("a", "b"); err != nil {
		return nil, err
	}
	ta, err := p.Bool("trans_a", false)
	if err != nil {
		return nil, err
	}
	tb, err := p.Bool("trans_b", false)
	if err != nil {
		return nil, err
	}
	a, err := in.Float32("a", tensorio.Any, tensorio.Any)
	if err != nil {
		return nil, err
	}
	ash, _ := in.Shape("a")
	m, k := ash[0], ash[1]
	if ta {
		m, k = k, m
	}
	bshape := []int{k, tensorio.Any}
	if tb {
		bshape = []int{tensorio.Any, k}
	}
	b, err := in.Float32("b", bshape...)
	if err != nil {
		return nil, err
	}
	bsh, _ := in.Shape("b")
	n := bsh[1]
	if tb {
		n = bsh[0]
	}
	ts := NewTensors(d)
	defer ts.Close()
	at, err := ts.UploadF32(a, ash...)
	if err != nil {
		return nil, err
	}
	bt, err := ts.UploadF32(b, bsh...)
	if err != nil {
		return nil, err
	}
	ct, err := ts.Output(gpu.F32, m, n)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error {
		return ops.GEMM(s, ct, at, bt, ops.GEMMOptions{TransA: ta, TransB: tb})
	}); err != nil {
		return nil, err
	}
	c, err := ct.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "c", DType: tensorio.F32, Shape: []int{m, n}, F32: c}}, nil
}
