package ops

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// Go benchmarks of every op family at the sizes `vkbench bench` uses by default (`go test -bench
// . ./ops`; they never run in a plain `go test`). Each reports the median GPU time of one run from
// timestamps (gpu-ns/op) next to Go's wall time per op (ns/op, which includes submission and the
// wait for the fence). The first run, which compiles pipelines, is not timed.

// benchOp records one op on a timestamped stream, runs it once to warm up, then b.N times.
func benchOp(b *testing.B, record func(s *gpu.Stream) error) {
	b.Helper()
	d := device(b)
	s, err := d.NewStream(gpu.WithTimestamps(4096))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	run := func() time.Duration {
		if err := record(s); err != nil {
			b.Fatal(err)
		}
		if err := s.Run(); err != nil {
			b.Fatal(err)
		}
		return s.Elapsed()
	}
	run()
	ts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts = append(ts, run())
	}
	b.StopTimer()
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	b.ReportMetric(float64(ts[len(ts)/2].Nanoseconds()), "gpu-ns/op")
}

// benchRand is a fixed-seed generator (benchmarks need no fresh inputs, and no seed in their log).
func benchRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// benchTensor uploads n random values of dt (scale 0.5) as shape, closed when the benchmark ends.
func benchTensor(b *testing.B, dt gpu.DType, shape ...int) *gpu.Tensor {
	b.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	return upload(b, device(b), dt, randn(benchRand(), n, 0.5), shape...)
}

// benchOut allocates an output (NaN-poisoned).
func benchOut(b *testing.B, dt gpu.DType, shape ...int) *gpu.Tensor {
	b.Helper()
	return poisoned(b, device(b), dt, shape...)
}

// benchNeg uploads n values in [-1.5, -0.5] (decays, A matrices).
func benchNeg(b *testing.B, shape ...int) *gpu.Tensor {
	b.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	r := benchRand()
	x := make([]float64, n)
	for i := range x {
		x[i] = -0.5 - r.Float64()
	}
	return upload(b, device(b), gpu.F32, x, shape...)
}

func BenchmarkGEMM(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		b.Run(fmt.Sprintf("M=N=K=%d", n), func(b *testing.B) {
			a, bb, c := benchTensor(b, gpu.F32, n, n), benchTensor(b, gpu.F32, n, n), benchOut(b, gpu.F32, n, n)
			benchOp(b, func(s *gpu.Stream) error { return GEMM(s, c, a, bb, GEMMOptions{}) })
		})
	}
}

func BenchmarkEltwise(b *testing.B) {
	const n = 1 << 24
	x, y, out := benchTensor(b, gpu.F32, n), benchTensor(b, gpu.F32, n), benchOut(b, gpu.F32, n)
	b.Run("add/N=16M", func(b *testing.B) { benchOp(b, func(s *gpu.Stream) error { return Add(s, out, x, y) }) })
	b.Run("silu/N=16M", func(b *testing.B) { benchOp(b, func(s *gpu.Stream) error { return Unary(s, out, x, SiLU) }) })
	b.Run("softplus/N=16M", func(b *testing.B) { benchOp(b, func(s *gpu.Stream) error { return Unary(s, out, x, Softplus) }) })
}

func BenchmarkRows(b *testing.B) {
	const r, c = 16384, 1024
	x, w, out, sum := benchTensor(b, gpu.F32, r, c), benchTensor(b, gpu.F32, c), benchOut(b, gpu.F32, r, c), benchOut(b, gpu.F32, r)
	b.Run("rmsnorm/R=16384_C=1024", func(b *testing.B) {
		benchOp(b, func(s *gpu.Stream) error { return RMSNorm(s, out, x, w, 1e-5) })
	})
	b.Run("rowsum/R=16384_C=1024", func(b *testing.B) { benchOp(b, func(s *gpu.Stream) error { return RowSum(s, sum, x) }) })
}

// linearAttnSizes are the GLA and delta-rule bench shapes: the T sweep at H=4 and the peer shape.
var linearAttnSizes = []struct{ B, T, H, K, V int }{{1, 512, 4, 64, 64}, {1, 2048, 4, 64, 64}, {1, 8192, 4, 64, 64}, {1, 512, 32, 64, 64}}

func BenchmarkGLA(b *testing.B) {
	for _, z := range linearAttnSizes {
		b.Run(fmt.Sprintf("B=%d_T=%d_H=%d_K=%d_V=%d", z.B, z.T, z.H, z.K, z.V), func(b *testing.B) {
			q, k, v := benchTensor(b, gpu.F32, z.B, z.T, z.H, z.K), benchTensor(b, gpu.F32, z.B, z.T, z.H, z.K), benchTensor(b, gpu.F32, z.B, z.T, z.H, z.V)
			g := benchNeg(b, z.B, z.T, z.H, z.K)
			o, fin := benchOut(b, gpu.F32, z.B, z.T, z.H, z.V), benchOut(b, gpu.F32, z.B, z.H, z.K, z.V)
			ws := NewWorkspace(device(b))
			defer ws.Close()
			b.Run("chunked", func(b *testing.B) {
				benchOp(b, func(s *gpu.Stream) error { return GLA(s, ws, o, q, k, v, g, GLAOptions{FinalState: fin}) })
			})
			b.Run("recurrent", func(b *testing.B) {
				benchOp(b, func(s *gpu.Stream) error {
					if err := s.Fill(fin, 0); err != nil {
						return err
					}
					return GLARecurrent(s, o, fin, q, k, v, g, GLARecurrentOptions{})
				})
			})
		})
	}
}

func BenchmarkDeltaRule(b *testing.B) {
	for _, z := range linearAttnSizes {
		b.Run(fmt.Sprintf("B=%d_T=%d_H=%d_K=%d_V=%d", z.B, z.T, z.H, z.K, z.V), func(b *testing.B) {
			q, k, v := benchTensor(b, gpu.F32, z.B, z.T, z.H, z.K), benchTensor(b, gpu.F32, z.B, z.T, z.H, z.K), benchTensor(b, gpu.F32, z.B, z.T, z.H, z.V)
			beta, g := benchTensor(b, gpu.F32, z.B, z.T, z.H), benchNeg(b, z.B, z.T, z.H)
			o, fin := benchOut(b, gpu.F32, z.B, z.T, z.H, z.V), benchOut(b, gpu.F32, z.B, z.H, z.K, z.V)
			ws := NewWorkspace(device(b))
			defer ws.Close()
			b.Run("chunked", func(b *testing.B) {
				benchOp(b, func(s *gpu.Stream) error {
					return DeltaRule(s, ws, o, q, k, v, beta, g, DeltaRuleOptions{UseQKL2Norm: true, FinalState: fin})
				})
			})
			b.Run("recurrent", func(b *testing.B) {
				benchOp(b, func(s *gpu.Stream) error {
					if err := s.Fill(fin, 0); err != nil {
						return err
					}
					return DeltaRuleRecurrent(s, o, fin, q, k, v, beta, g, DeltaRuleRecurrentOptions{UseQKL2Norm: true})
				})
			})
		})
	}
}

func BenchmarkSelectiveScan(b *testing.B) {
	const bs, dim, n = 1, 1536, 16
	for _, l := range []int{512, 2048, 8192} {
		b.Run(fmt.Sprintf("B=%d_D=%d_L=%d_N=%d", bs, dim, l, n), func(b *testing.B) {
			u, delta, out := benchTensor(b, gpu.F32, bs, dim, l), benchTensor(b, gpu.F32, bs, dim, l), benchOut(b, gpu.F32, bs, dim, l)
			A, B, C := benchNeg(b, dim, n), benchTensor(b, gpu.F32, bs, 1, n, l), benchTensor(b, gpu.F32, bs, 1, n, l)
			benchOp(b, func(s *gpu.Stream) error {
				return SelectiveScan(s, out, u, delta, A, B, C, SelectiveScanOptions{DtSoftplus: true})
			})
		})
	}
	b.Run("decode/B=1_D=1536_N=16", func(b *testing.B) {
		x, dt, out := benchTensor(b, gpu.F32, bs, dim), benchTensor(b, gpu.F32, bs, dim), benchOut(b, gpu.F32, bs, dim)
		A, B, C := benchNeg(b, dim, n), benchTensor(b, gpu.F32, bs, 1, n), benchTensor(b, gpu.F32, bs, 1, n)
		state := benchTensor(b, gpu.F32, bs, dim, n)
		benchOp(b, func(s *gpu.Stream) error {
			return SelectiveStateUpdate(s, out, state, x, dt, A, B, C, StateUpdateOptions{DtSoftplus: true})
		})
	})
}

func BenchmarkSSD(b *testing.B) {
	const bs, h, p, g, n = 1, 24, 64, 1, 128
	for _, l := range []int{512, 2048} {
		b.Run(fmt.Sprintf("B=%d_L=%d_H=%d_P=%d_N=%d", bs, l, h, p, n), func(b *testing.B) {
			x, dt, out := benchTensor(b, gpu.F32, bs, l, h, p), benchTensor(b, gpu.F32, bs, l, h), benchOut(b, gpu.F32, bs, l, h, p)
			A, B, C := benchNeg(b, h), benchTensor(b, gpu.F32, bs, l, g, n), benchTensor(b, gpu.F32, bs, l, g, n)
			ws := NewWorkspace(device(b))
			defer ws.Close()
			benchOp(b, func(s *gpu.Stream) error { return SSD(s, ws, out, x, dt, A, B, C, SSDOptions{DtSoftplus: true}) })
		})
	}
}

func BenchmarkCausalConv1D(b *testing.B) {
	for _, z := range []struct{ B, D, L, W int }{{1, 3328, 515, 4}, {1, 1536, 8192, 4}} {
		b.Run(fmt.Sprintf("B=%d_D=%d_L=%d_W=%d", z.B, z.D, z.L, z.W), func(b *testing.B) {
			x, w, out := benchTensor(b, gpu.F32, z.B, z.D, z.L), benchTensor(b, gpu.F32, z.D, z.W), benchOut(b, gpu.F32, z.B, z.D, z.L)
			benchOp(b, func(s *gpu.Stream) error { return CausalConv1D(s, out, x, w, CausalConv1DOptions{}) })
		})
	}
}
