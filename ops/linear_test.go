package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestLinear(t *testing.T) {
	d := device(t)
	r := newRand(t)
	// M < 16 is the GEMV path (linear_gemv: N not a multiple of its invocations' weight rows, K of
	// its 8-half vectors; an LM head's N), M ≥ 16 the GEMM.
	shapes := [][3]int{{1, 1, 1}, {1, 37, 13}, {1, 300, 64}, {1, 1003, 776}, {1, 50280, 24}, {2, 65, 100}, {3, 129, 7}, {5, 128, 768},
		{9, 70, 36}, {15, 261, 132}, {33, 17, 20}, {70, 50, 36}, {32, 64, 128}, {48, 40, 764},
		{1, 45, 136}, {2, 260, 512}} // the last two: linear_gemv_f16t for f16 weights on CPU devices (K ≥ 128)
	if *long { // an LM head beyond lavapipe's 128 MiB binding range in f32, on both paths
		shapes = append(shapes, [3]int{1, 50280, 768}, [3]int{2, 50280, 768}, [3]int{24, 50280, 768})
	}
	for _, dt := range dtypes(d) {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, withBias := range []bool{true, false} {
				t.Run(fmt.Sprintf("%v_M%d_N%d_K%d_bias%v", dt, m, n, k, withBias), func(t *testing.T) {
					runLinear(t, d, r, dt, m, n, k, withBias)
				})
			}
		}
	}
}

// TestLinearGEMVGPUShape runs the GEMV path with the GPU kernel shape (one weight row per
// invocation: gemvPlanFor with gpuTilesOnCPU) on this device.
func TestLinearGEMVGPUShape(t *testing.T) {
	d := device(t)
	gpuTilesOnCPU = true
	t.Cleanup(func() { gpuTilesOnCPU = false })
	r := newRand(t)
	for _, dt := range dtypes(d) {
		for _, sh := range [][3]int{{1, 37, 13}, {1, 1003, 776}, {3, 129, 7}, {15, 261, 132}} {
			m, n, k := sh[0], sh[1], sh[2]
			t.Run(fmt.Sprintf("%v_M%d_N%d_K%d", dt, m, n, k), func(t *testing.T) { runLinear(t, d, r, dt, m, n, k, true) })
		}
	}
}

// runLinear checks Linear on fresh random inputs of one shape against the reference.
func runLinear(t *testing.T, d *gpu.Device, r *rand.Rand, dt gpu.DType, m, n, k int, withBias bool) {
	runLinearFn(t, d, r, dt, m, n, k, withBias, false)
}

// runLinearFn checks Linear (gelu false) or LinearGELU on fresh random inputs of one shape against
// the reference.
func runLinearFn(t *testing.T, d *gpu.Device, r *rand.Rand, dt gpu.DType, m, n, k int, withBias, gelu bool) {
	x := rounded(randn(r, m*k, 1))
	xt := upload(t, d, gpu.F32, x, m, k)
	wt, w := uploadAs(t, d, dt, randn(r, n*k, 0.2), n, k)
	var bt *gpu.Tensor
	var b []float64
	if withBias {
		b = rounded(randn(r, n, 1))
		bt = upload(t, d, gpu.F32, b, n)
	}
	out := poisoned(t, d, gpu.F32, m, n)
	s := stream(t, d)
	run, name := Linear, "linear"
	if gelu {
		run, name = LinearGELU, "linear_gelu"
	}
	if err := run(s, out, xt, wt, bt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	want, err := reference.Linear(x, w, b, m, n, k)
	if err != nil {
		t.Fatal(err)
	}
	if gelu {
		for i, v := range want {
			want[i] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
	}
	checkErr(t, name, read(t, out), want, tolF32)
}

// TestLinearWindows binds the weight, x and out in windows, as an LM head beyond the device's
// binding range is.
func TestLinearWindows(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, dt := range dtypes(d) {
		for _, sh := range [][3]int{{1, 200, 64}, {6, 97, 36}, {3, 50, 13}, {16, 200, 128}, {21, 77, 100}, {32, 96, 64}} {
			m, n, k := sh[0], sh[1], sh[2]
			t.Run(fmt.Sprintf("%v_M%d_N%d_K%d", dt, m, n, k), func(t *testing.T) {
				x, w, b, xt, wt, bt, out := linearOperands(t, d, r, dt, m, n, k)
				s := stream(t, d)
				limit := uint64(8*k*4 + 512)
				if m >= 16 { // the GEMM path: x and out bound whole, the weight in blocks
					limit = uint64(4*max(m*k, m*n) + 256)
				}
				withBindLimit(limit, func() {
					if err := Linear(s, out, xt, wt, bt); err != nil {
						t.Fatal(err)
					}
				})
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				want, _ := reference.Linear(x, w, b, m, n, k)
				checkErr(t, "linear in windows", read(t, out), want, tolF32)
			})
		}
	}
}

func TestLinearExtreme(t *testing.T) {
	d := device(t)
	r := newRand(t)
	m, n, k := 2, 40, 64
	x := rounded(randn(r, m*k, 1e4))
	w := rounded(randn(r, n*k, 1e3))
	xt, wt := upload(t, d, gpu.F32, x, m, k), upload(t, d, gpu.F32, w, n, k)
	out := poisoned(t, d, gpu.F32, m, n)
	s := stream(t, d)
	if err := Linear(s, out, xt, wt, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	want, _ := reference.Linear(x, w, nil, m, n, k)
	checkErr(t, "linear large values", read(t, out), want, tolF32)
}

func TestLinearErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	x := poisoned(t, d, gpu.F32, 3, 8)
	w := poisoned(t, d, gpu.F32, 5, 8)
	out := poisoned(t, d, gpu.F32, 3, 5)
	for name, err := range map[string]error{
		"nil weight": Linear(s, out, x, nil, nil),
		"K mismatch": Linear(s, out, poisoned(t, d, gpu.F32, 3, 7), w, nil),
		"out shape":  Linear(s, poisoned(t, d, gpu.F32, 3, 4), x, w, nil),
		"bias shape": Linear(s, out, x, w, poisoned(t, d, gpu.F32, 4)),
		"x dtype":    Linear(s, out, poisoned(t, d, gpu.I32, 3, 8), w, nil),
		"w dtype":    Linear(s, out, x, poisoned(t, d, gpu.I32, 5, 8), nil),
		"w 1-D":      Linear(s, out, x, poisoned(t, d, gpu.F32, 40), nil),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}

// TestLinearGELU checks LinearGELU (the GELU in the GEMM's epilogue for M ≥ 16, an AddBias pass
// on the GEMV path) against the float64 reference, with this device's tiles and with the GPU
// tiles (gpuTilesOnCPU). On CPU devices the shapes past the first take the 32×32 vec4 tile, whose
// GELU builds each take 30-60 s of LLVM on lavapipe with a cold cache, so without -long they run
// with the bias only: the epilogue's GELU code is the same with and without it, and the first
// shape (the 8×8 tile) checks the GELU without a bias.
func TestLinearGELU(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, gpuTiles := range []bool{false, true} {
		gpuTilesOnCPU = gpuTiles
		t.Cleanup(func() { gpuTilesOnCPU = false })
		for _, dt := range dtypes(d) {
			// k = 764 and 508: not multiples of 8, so the k block stays 4 (TestLinearWideKBlock
			// builds the k block of 8: each of its variants takes about 20 s to build, once).
			for _, sh := range [][3]int{{3, 129, 7}, {33, 17, 20}, {48, 40, 764}, {64, 1536, 508}} {
				m, n, k := sh[0], sh[1], sh[2]
				for _, withBias := range []bool{true, false} {
					if !withBias && m != 3 && !gpuTiles && cpuTiles(d.Info()) && !*long {
						continue
					}
					t.Run(fmt.Sprintf("gpu%v_%v_M%d_N%d_K%d_bias%v", gpuTiles, dt, m, n, k, withBias), func(t *testing.T) {
						runLinearGELU(t, d, r, dt, m, n, k, withBias)
					})
				}
			}
		}
	}
}

// runLinearGELU checks LinearGELU on fresh random inputs of one shape against the reference.
func runLinearGELU(t *testing.T, d *gpu.Device, r *rand.Rand, dt gpu.DType, m, n, k int, withBias bool) {
	runLinearFn(t, d, r, dt, m, n, k, withBias, true)
}

// linearOperands makes Linear's random operands for M×K by N×K (weight of dt, bias F32): their
// host values as the device holds them, the tensors, and a poisoned out [M, N].
func linearOperands(t *testing.T, d *gpu.Device, r *rand.Rand, dt gpu.DType, m, n, k int) (x, w, b []float64, xt, wt, bt, out *gpu.Tensor) {
	x = rounded(randn(r, m*k, 1))
	xt = upload(t, d, gpu.F32, x, m, k)
	wt, w = uploadAs(t, d, dt, randn(r, n*k, 0.2), n, k)
	b = rounded(randn(r, n, 1))
	bt = upload(t, d, gpu.F32, b, n)
	return x, w, b, xt, wt, bt, poisoned(t, d, gpu.F32, m, n)
}

// TestLinearWideKBlock checks Linear's GEMM at k = 512, where CPU devices take a k block of 8
// (linearWideKBMinK): float32 weight with bias, Vocos's pwconv2 and head. The GELU build of it
// (pwconv1) is left out: it differs only in the epilogue, which the k block of 4 builds test, and
// its LLVM build takes 36 s on a cold cache against 18 s for this one.
func TestLinearWideKBlock(t *testing.T) {
	d := device(t)
	r := newRand(t)
	runLinearFn(t, d, r, gpu.F32, 20, 40, linearWideKBMinK, true, false)
}
