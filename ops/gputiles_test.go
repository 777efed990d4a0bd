package ops

import (
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// TestGPUTiles runs the GPU tile shapes (tuning.go: small register tiles, 64-lane workgroups,
// the output kernel's 16-row tiles) on this device, so that the code paths real GPUs take are
// checked against the float64 references even where no GPU is at hand: GEMM, GLA and the delta
// rule (chunked and recurrent), causal conv1d and the STFT (the scans and SSD test their GPU
// tiles explicitly: TestSelectiveScanShapes, TestSSDTiles).
func TestGPUTiles(t *testing.T) {
	d := device(t)
	gpuTilesOnCPU = true
	t.Cleanup(func() { gpuTilesOnCPU = false })
	r := newRand(t)

	for _, c := range []reference.GEMMShape{{Batch: 1, M: 64, N: 64, K: 64}, {Batch: 2, M: 37, N: 29, K: 13, TransA: true}, {Batch: 1, M: 100, N: 132, K: 68, TransB: true}} {
		t.Run(fmt.Sprintf("gemm_%dx%dx%dx%d", c.Batch, c.M, c.N, c.K), func(t *testing.T) {
			a, b := rounded(randn(r, c.Batch*c.M*c.K, 1)), rounded(randn(r, c.Batch*c.K*c.N, 1))
			want, err := reference.GEMM(a, b, c)
			if err != nil {
				t.Fatal(err)
			}
			as, bs := []int{c.Batch, c.M, c.K}, []int{c.Batch, c.K, c.N}
			if c.TransA {
				as = []int{c.Batch, c.K, c.M}
			}
			if c.TransB {
				bs = []int{c.Batch, c.N, c.K}
			}
			ct := poisoned(t, d, gpu.F32, c.Batch, c.M, c.N)
			s := stream(t, d)
			if err := GEMM(s, ct, upload(t, d, gpu.F32, a, as...), upload(t, d, gpu.F32, b, bs...), GEMMOptions{TransA: c.TransA, TransB: c.TransB}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "gemm", read(t, ct), want, tolF32)
		})
	}
	for _, c := range []glaCase{
		{B: 2, T: 130, H: 2, K: 64, V: 64, gateN: 1, h0: true},
		{B: 1, T: 75, H: 2, K: 33, V: 21, gateN: 16, cu: []int32{0, 5, 5, 75}},
		{B: 1, T: 100, H: 1, K: 128, V: 100, gateN: 0.1, h0: true},
	} {
		t.Run("gla_"+c.String(), func(t *testing.T) {
			in := glaMake(t, r, c)
			runGLAPrefill(t, d, c, in, FormChunked)
			runGLARecurrent(t, d, c, in)
		})
	}
	for _, c := range []convCase{{B: 2, D: 8, L: 64, W: 4, bias: true, init: true, silu: true}, {B: 3, D: 17, L: 301, W: 6, silu: true}} {
		t.Run("conv1d_"+c.String(), func(t *testing.T) { runConv(t, d, gpu.F32, c) })
	}
	for i, n := range []int{16, 400, 512, 1000} {
		opt := stftVariant(n, i, r)
		t.Run("stft_"+optString(opt), func(t *testing.T) {
			b, l := 2, n+3*opt.HopLength+5
			x := rounded(randn(r, b*l, 1))
			want, _, _, err := reference.STFT(x, b, l, opt)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			checkErr(t, "stft", runSTFT(t, d, pl, x, b, l), want, tolF32)
		})
	}
	cases := []deltaCase{
		{B: 2, T: 130, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 81, H: 2, K: 100, V: 36, gate: 0, l2: true, cu: []int32{0, 0, 1, 40, 81}},
		{B: 1, T: 70, H: 1, K: 128, V: 128, gate: 1, h0: true, l2: true},
	}
	if d.Info().Float16Storage {
		cases = append(cases, deltaCase{B: 1, T: 100, H: 2, K: 64, V: 64, gate: 1, h0: true, f16: true})
	}
	for _, c := range cases {
		t.Run("delta_"+c.String(), func(t *testing.T) {
			deltaRun(t, c, true)
			deltaRun(t, c, false)
		})
	}
}
