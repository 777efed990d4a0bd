package ops

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestRFFTExplore times the batched real FFT (forward, and inverse with FFT_INV=1) at the peer
// sizes (or FFT_SIZES=n,n,...) on fft_reg.comp against fft.comp, interleaved in one process.
func TestRFFTExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	defer func() { testFFTRegOff = false }()
	cases := []struct{ n, b int }{{512, 4096}, {1024, 2048}, {2048, 1024}}
	if e := os.Getenv("FFT_SIZES"); e != "" {
		cases = cases[:0]
		for _, f := range strings.Split(e, ",") {
			n, _ := strconv.Atoi(f)
			cases = append(cases, struct{ n, b int }{n, 1 << 21 / n})
		}
	}
	inv := os.Getenv("FFT_INV") != ""
	for _, c := range cases {
		var pls [2]*RFFTPlan
		for v := range pls {
			testFFTRegOff = v == 1
			pl, err := NewRFFTPlan(d, c.n)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			pls[v] = pl
		}
		f := c.n/2 + 1
		x := upload(t, d, gpu.F32, randn(r, c.b*c.n, 1), c.b, c.n)
		spec := poisoned(t, d, gpu.F32, c.b, f, 2)
		y := poisoned(t, d, gpu.F32, c.b, c.n)
		for v, pl := range pls {
			t0 := time.Now()
			gpuTime(t, d, 1, func(s *gpu.Stream) error { return pl.Forward(s, spec, x) })
			t1 := time.Now()
			if inv {
				gpuTime(t, d, 1, func(s *gpu.Stream) error { return pl.Inverse(s, y, spec) })
			}
			t.Logf("n=%d v%d: first forward (incl. build) %v, inverse %v", c.n, v, t1.Sub(t0), time.Since(t1))
		}
		var best [2][2]time.Duration
		for rep := 0; rep < 3; rep++ {
			for v, pl := range pls {
				el := gpuTime(t, d, 2, func(s *gpu.Stream) error { return pl.Forward(s, spec, x) })
				if best[v][0] == 0 || el < best[v][0] {
					best[v][0] = el
				}
				if inv {
					el = gpuTime(t, d, 2, func(s *gpu.Stream) error { return pl.Inverse(s, y, spec) })
					if best[v][1] == 0 || el < best[v][1] {
						best[v][1] = el
					}
				}
			}
		}
		t.Logf("rfft n=%d B=%d: reg fwd %v inv %v | old fwd %v inv %v", c.n, c.b, best[0][0], best[0][1], best[1][0], best[1][1])
	}
}

// TestRFFTExploreTab times fft_reg.comp with its table read as texels (fft_reg_t.comp) against
// the storage-buffer table, forward and inverse, at n_fft 512 × 4096, 1024 × 2048 and 2048 × 1024
// (or FFT_SIZES), interleaved in one process (FFT_REPS rounds, default 5), with each variant's
// first run (pipeline build included; MESA_SHADER_CACHE_DISABLE=true to build for real).
func TestRFFTExploreTab(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	defer func() { testFFTRegTabOff, testFFTRegInOff = false, false }()
	// FFT_AB=in: fft_reg_tt.comp (input as texels too) against fft_reg_t.comp
	inAB := os.Getenv("FFT_AB") == "in"
	sizes := []int{512, 1024, 2048}
	if e := os.Getenv("FFT_SIZES"); e != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(e, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
		}
	}
	reps := 5
	if e := os.Getenv("FFT_REPS"); e != "" {
		reps, _ = strconv.Atoi(e)
	}
	for _, n := range sizes {
		b := 1 << 21 / n
		pl, err := NewRFFTPlan(d, n)
		if err != nil {
			t.Fatal(err)
		}
		defer pl.Close()
		x := upload(t, d, gpu.F32, randn(r, b*n, 1), b, n)
		spec := poisoned(t, d, gpu.F32, b, n/2+1, 2)
		y := poisoned(t, d, gpu.F32, b, n)
		fwd := func(s *gpu.Stream) error { return pl.Forward(s, spec, x) }
		inv := func(s *gpu.Stream) error { return pl.Inverse(s, y, spec) }
		set := func(v int) {
			if inAB {
				testFFTRegInOff = v == 1
			} else {
				testFFTRegTabOff = v == 1
			}
		}
		for v := 0; v < 2; v++ {
			set(v)
			t0 := time.Now()
			gpuTime(t, d, 1, fwd)
			t1 := time.Now()
			gpuTime(t, d, 1, inv)
			t.Logf("n=%d tab_ssbo=%v: first forward %v, first inverse %v (builds included)", n, testFFTRegTabOff, t1.Sub(t0), time.Since(t1))
		}
		var ts [2][2][]time.Duration
		for rep := 0; rep < reps; rep++ {
			for v := 0; v < 2; v++ {
				set(v)
				ts[v][0] = append(ts[v][0], gpuTime(t, d, 2, fwd))
				ts[v][1] = append(ts[v][1], gpuTime(t, d, 2, inv))
			}
		}
		med := func(a []time.Duration) time.Duration {
			sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
			return a[len(a)/2]
		}
		t.Logf("n=%d B=%d medians: texel fwd %v inv %v | ssbo fwd %v inv %v", n, b, med(ts[0][0]), med(ts[0][1]), med(ts[1][0]), med(ts[1][1]))
	}
}
