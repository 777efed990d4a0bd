package ops

import (
	"os"
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
