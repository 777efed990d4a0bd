package ops

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
					at, bt, ct := gemmOperands(t, d, c, a, b)
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

// TestGEMMTileExplore times tile shapes (VKSEQ_GEMM_TILES="LX,LY,TM,TN,KB;...", KB = 0 for the
// product-by-product loop) at VKSEQ_GEMM_SHAPE="M,N,K" (default 1024³) with B transposed
// ([N,K], as Linear and Vocos use it; VKSEQ_GEMM_TB=0 for [K,N]), interleaved, and logs the
// median over VKSEQ_GEMM_REPS runs (default 5) of the GPU time and of the process's CPU time (a
// steadier measure when other work shares the cores).
// Measured at 1024³ on a loaded machine (load average 6-9, CPU time per GEMM): 32×32 KB=4
// 138-173 ms against 152-210 ms for KB=0; 64×32 KB=4 149 ms (85 s to build its pipeline).
func TestGEMMTileExplore(t *testing.T) {
	if testing.Short() || !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	m, n, k := 1024, 1024, 1024
	if v := os.Getenv("VKSEQ_GEMM_SHAPE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &m, &n, &k); err != nil {
			t.Fatal(err)
		}
	}
	tiles := []gemmTile{{8, 1, 32, 32, 0}, {8, 1, 32, 32, 4}}
	if v := os.Getenv("VKSEQ_GEMM_TILES"); v != "" {
		tiles = nil
		for _, f := range strings.Split(v, ";") {
			var tl gemmTile
			if _, err := fmt.Sscanf(f, "%d,%d,%d,%d,%d", &tl.LX, &tl.LY, &tl.TM, &tl.TN, &tl.KB); err != nil {
				t.Fatal(err)
			}
			tiles = append(tiles, tl)
		}
	}
	tb := os.Getenv("VKSEQ_GEMM_TB") != "0"
	bs := []int{n, k}
	if !tb {
		bs = []int{k, n}
	}
	a := upload(t, d, gpu.F32, randn(r, m*k, 1), m, k)
	b := upload(t, d, gpu.F32, randn(r, k*n, 1), bs...)
	c := poisoned(t, d, gpu.F32, m, n)
	s, _ := d.NewStream(gpu.WithTimestamps(16))
	defer s.Close()
	// VKSEQ_GEMM_TEXEL: 0 the storage-buffer kernels, 1 the texel kernels, both (default) each.
	var texel []bool
	switch os.Getenv("VKSEQ_GEMM_TEXEL") {
	case "0":
		texel = []bool{false}
	case "1":
		texel = []bool{true}
	default:
		texel = []bool{false, true}
	}
	var modes []bool
	for _, tl := range tiles {
		for _, tx := range texel {
			tiles = append(tiles, tl)
			modes = append(modes, tx)
		}
	}
	tiles = tiles[len(tiles)-len(modes):]
	defer func(v bool) { gemmTexel = v }(gemmTexel)
	times := make([][]float64, len(tiles))
	cpus := make([][]float64, len(tiles))
	for rep := 0; rep <= gemmReps(); rep++ {
		for i := range tiles {
			gemmTexel = modes[i]
			start, cpu0 := time.Now(), cpuSeconds()
			if err := GEMM(s, c, a, b, GEMMOptions{TransB: tb, tile: &tiles[i]}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			if rep == 0 {
				t.Logf("tile %+v texel %v: first run (with the pipeline build) %.1f s", tiles[i], modes[i], time.Since(start).Seconds())
				continue
			}
			times[i] = append(times[i], s.Elapsed().Seconds())
			cpus[i] = append(cpus[i], cpuSeconds()-cpu0)
		}
	}
	flop := 2 * float64(m) * float64(n) * float64(k)
	for i, tl := range tiles {
		sort.Float64s(times[i])
		sort.Float64s(cpus[i])
		med, cpu := times[i][len(times[i])/2], cpus[i][len(cpus[i])/2]
		t.Logf("tile %+v texel %v: %.1f ms, %.1f GFLOP/s; %.1f ms of CPU, %.1f GFLOP per CPU second", tl, modes[i], med*1e3, flop/med/1e9, cpu*1e3, flop/cpu/1e9)
	}
}

// gemmReps is VKSEQ_GEMM_REPS, the timed runs per tile of TestGEMMTileExplore (default 5).
func gemmReps() int {
	if v, err := strconv.Atoi(os.Getenv("VKSEQ_GEMM_REPS")); err == nil && v > 1 {
		return v
	}
	return 5
}

// cpuSeconds is the process's user and system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestGEMMTexel runs the vec4 shapes through the texel builds (gemm_texel, linear_gemm_texel,
// linear_gemm_f16_texel) and through the storage-buffer kernels they fall back to (gemmTexel
// off), transposed or not, batched, split into windows (a bind limit), and Linear's GEMM path with
// float32 and float16 weights, and checks both against the reference.
func TestGEMMTexel(t *testing.T) {
	d := device(t)
	r := newRand(t)
	defer func(v bool) { gemmTexel = v }(gemmTexel)
	for _, tex := range []bool{false, true} {
		gemmTexel = tex
		if tex && !gemmTexelOK(d.Info(), true, upload(t, d, gpu.F32, make([]float64, 4), 4), upload(t, d, gpu.F32, make([]float64, 4), 4)) {
			t.Logf("%s takes no texel builds", d.Info().Name)
		}
		for _, c := range []reference.GEMMShape{
			{Batch: 1, M: 64, N: 64, K: 64},
			{Batch: 1, M: 36, N: 44, K: 12}, // M, N not multiples of the tile
			{Batch: 3, M: 100, N: 132, K: 68},
			{Batch: 1, M: 8, N: 4, K: 516},
			{Batch: 2, M: 37, N: 44, K: 20}, // M not a multiple of 4: vec4 texel path all the same
			{Batch: 1, M: 21, N: 30, K: 64}, // N not either: vec4 with TransB
			{Batch: 1, M: 19, N: 26, K: 13}, // K not either: storage buffers, scalar
		} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, limit := range []uint64{0, uint64(4 * max(c.M*max(c.K, c.N), c.K*c.N))} {
						c := c
						c.TransA, c.TransB = ta, tb
						if ta && limit > 0 {
							continue // a transposed A is not split by rows
						}
						t.Run(fmt.Sprintf("texel%v_%dx%dx%dx%d_ta%v_tb%v_limit%d", tex, c.Batch, c.M, c.N, c.K, ta, tb, limit), func(t *testing.T) {
							a := rounded(randn(r, c.Batch*c.M*c.K, 1))
							b := rounded(randn(r, c.Batch*c.K*c.N, 1))
							want, err := reference.GEMM(a, b, c)
							if err != nil {
								t.Fatal(err)
							}
							at, bt, ct := gemmOperands(t, d, c, a, b)
							s := stream(t, d)
							run := func() {
								if err := GEMM(s, ct, at, bt, GEMMOptions{TransA: ta, TransB: tb}); err != nil {
									t.Fatal(err)
								}
							}
							if limit > 0 {
								withBindLimit(limit, run)
							} else {
								run()
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
		for _, dt := range dtypes(d) {
			for _, sh := range [][3]int{{16, 40, 64}, {32, 96, 72}, {20, 8, 256}, {37, 26, 64}, {18, 35, 33}} {
				m, n, k := sh[0], sh[1], sh[2]
				for _, gelu := range []bool{false, true} {
					// The storage-buffer path's f16 GELU build (30-60 s of LLVM on lavapipe, cold)
					// only with -long: its f32 build checks the same epilogue.
					if gelu && !tex && dt == gpu.F16 && cpuTiles(d.Info()) && !*long {
						continue
					}
					t.Run(fmt.Sprintf("texel%v_linear_%v_M%d_N%d_K%d_gelu%v", tex, dt, m, n, k, gelu), func(t *testing.T) {
						x, w, b, xt, wt, bt, out := linearOperands(t, d, r, dt, m, n, k)
						s := stream(t, d)
						f := Linear
						if gelu {
							f = LinearGELU
						}
						if err := f(s, out, xt, wt, bt); err != nil {
							t.Fatal(err)
						}
						if err := s.Run(); err != nil {
							t.Fatal(err)
						}
						want, _ := reference.Linear(x, w, b, m, n, k)
						if gelu {
							for i := range want {
								want[i] = 0.5 * want[i] * (1 + math.Erf(want[i]/math.Sqrt2))
							}
						}
						checkErr(t, "linear", read(t, out), want, tolF32)
					})
				}
			}
		}
	}
}

// gemmOperands uploads a and b as GEMM's operands for c (shaped by c.TransA and c.TransB) and
// returns them with a poisoned C [Batch, M, N].
func gemmOperands(t *testing.T, d *gpu.Device, c reference.GEMMShape, a, b []float64) (at, bt, ct *gpu.Tensor) {
	ashape, bshape := []int{c.Batch, c.M, c.K}, []int{c.Batch, c.K, c.N}
	if c.TransA {
		ashape = []int{c.Batch, c.K, c.M}
	}
	if c.TransB {
		bshape = []int{c.Batch, c.N, c.K}
	}
	return upload(t, d, gpu.F32, a, ashape...), upload(t, d, gpu.F32, b, bshape...), poisoned(t, d, gpu.F32, c.Batch, c.M, c.N)
}
