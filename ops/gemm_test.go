package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestGEMM(t *testing.T) {
	d := device(t)
	r := newRand(t)
	cases := []reference.GEMMShape{
		{Batch: 1, M: 1, N: 1, K: 1},
		{Batch: 1, M: 64, N: 64, K: 64},
		{Batch: 1, M: 37, N: 29, K: 13},
		{Batch: 1, M: 100, N: 132, K: 68},
		{Batch: 3, M: 17, N: 40, K: 33},
		{Batch: 2, M: 128, N: 96, K: 256},
		{Batch: 1, M: 7, N: 1, K: 300},
		{Batch: 1, M: 257, N: 129, K: 5},
	}
	for _, c := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				c := c
				c.TransA, c.TransB = ta, tb
				t.Run(fmt.Sprintf("%dx%dx%dx%d_ta%v_tb%v", c.Batch, c.M, c.N, c.K, ta, tb), func(t *testing.T) {
					a := rounded(randn(r, c.Batch*c.M*c.K, 1))
					b := rounded(randn(r, c.Batch*c.K*c.N, 1))
					want, err := reference.GEMM(a, b, c)
					if err != nil {
						t.Fatal(err)
					}
					ashape := []int{c.Batch, c.M, c.K}
					if ta {
						ashape = []int{c.Batch, c.K, c.M}
					}
					bshape := []int{c.Batch, c.K, c.N}
					if tb {
						bshape = []int{c.Batch, c.N, c.K}
					}
					at := upload(t, d, gpu.F32, a, ashape...)
					bt := upload(t, d, gpu.F32, b, bshape...)
					ct := poisoned(t, d, gpu.F32, c.Batch, c.M, c.N)
					s := stream(t, d)
					if err := GEMM(s, ct, at, bt, GEMMOptions{TransA: ta, TransB: tb}); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					checkErr(t, "gemm", read(t, ct), want, tolF32)
				})
			}
		}
	}
}

func TestGEMMSharedB(t *testing.T) {
	d := device(t)
	r := newRand(t)
	const batch, m, n, k = 3, 20, 24, 16
	a := rounded(randn(r, batch*m*k, 1))
	b := rounded(randn(r, k*n, 1))
	var want []float64
	for i := 0; i < batch; i++ {
		w, err := reference.GEMM(a[i*m*k:(i+1)*m*k], b, reference.GEMMShape{Batch: 1, M: m, N: n, K: k})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w...)
	}
	ct := poisoned(t, d, gpu.F32, batch, m, n)
	s := stream(t, d)
	if err := GEMM(s, ct, upload(t, d, gpu.F32, a, batch, m, k), upload(t, d, gpu.F32, b, k, n), GEMMOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "gemm shared b", read(t, ct), want, tolF32)
}

func TestGEMMErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	f := func(shape ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, shape...) }
	cases := []struct {
		name    string
		c, a, b *gpu.Tensor
		opt     GEMMOptions
	}{
		{"inner", f(4, 4), f(4, 3), f(4, 4), GEMMOptions{}},
		{"out", f(4, 5), f(4, 4), f(4, 4), GEMMOptions{}},
		{"rank", f(4, 4), f(4), f(4, 4), GEMMOptions{}},
		{"batch", f(2, 4, 4), f(2, 4, 4), f(3, 4, 4), GEMMOptions{}},
		{"trans", f(4, 4), f(4, 3), f(4, 4), GEMMOptions{TransA: true}},
		{"dtype", poisoned(t, d, gpu.F16, 4, 4), f(4, 4), f(4, 4), GEMMOptions{}},
		{"nil", nil, f(4, 4), f(4, 4), GEMMOptions{}},
	}
	for _, c := range cases {
		err := GEMM(s, c.c, c.a, c.b, c.opt)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

// TestGEMMTileExplore times tile shapes at 1024³ (lavapipe, measured here: 8×16 1.6, 16×16 2.3,
// 32×16 3.1, 32×32 4.5, 64×32 6.0 GFLOP/s; the FMA ceiling was about 8.5).
func TestGEMMTileExplore(t *testing.T) {
	if testing.Short() || !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	const n = 1024
	a := upload(t, d, gpu.F32, randn(r, n*n, 1), n, n)
	b := upload(t, d, gpu.F32, randn(r, n*n, 1), n, n)
	c := poisoned(t, d, gpu.F32, n, n)
	s, _ := d.NewStream(gpu.WithTimestamps(16))
	defer s.Close()
	for _, tile := range []gemmTile{{8, 1, 8, 16}, {8, 1, 16, 16}, {8, 1, 32, 16}, {8, 1, 32, 32}, {8, 1, 64, 32}} {
		tile := tile
		for i := 0; i < 2; i++ {
			if err := GEMM(s, c, a, b, GEMMOptions{tile: &tile}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
		}
		el := s.Elapsed()
		t.Logf("tile %+v: %.1f ms, %.1f GFLOP/s", tile, float64(el.Microseconds())/1000, 2*n*n*n/el.Seconds()/1e9)
	}
}
