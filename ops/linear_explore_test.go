package ops

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestLinearGEMVExplore times the shapes of Linear's few-rows kernel (linear_gemv: rows of x and
// weight rows per invocation, GEMV_VARIANTS dtype:MRxNR[t],...; t: the texel-buffer kernel linear_gemv_f16t) against each other, interleaved, on decode shapes with f16 and f32 weights (GEMV_SHAPES: MxNxK,...).
func TestLinearGEMVExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	shapes := [][3]int{{1, 3072, 768}, {1, 50280, 768}, {4, 3072, 768}, {1, 1024, 2816}}
	if e := os.Getenv("GEMV_SHAPES"); e != "" {
		shapes = nil
		for _, f := range splitComma(e) {
			var m, n, k int
			if _, err := fmt.Sscanf(f, "%dx%dx%d", &m, &n, &k); err != nil {
				t.Fatal(err)
			}
			shapes = append(shapes, [3]int{m, n, k})
		}
	}
	texel, tpl := gemvTexel, gemvTPL
	t.Cleanup(func() { gemvForce, gemvTexel, gemvTPL = gemvPlan{}, texel, tpl })
	// dtype:MRxNR
	variants := []string{"f16:1x1", "f16:1x2", "f16:1x4", "f16:1x8", "f32:1x1", "f32:1x4", "f32:1x8"}
	if e := os.Getenv("GEMV_VARIANTS"); e != "" {
		variants = splitComma(e)
	}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		x := poisoned(t, d, gpu.F32, m, k)
		x.Fill(0.5)
		ws := map[gpu.DType]*gpu.Tensor{}
		for _, dt := range []gpu.DType{gpu.F16, gpu.F32} {
			ws[dt] = poisoned(t, d, dt, n, k)
			ws[dt].Fill(0.25)
		}
		out := poisoned(t, d, gpu.F32, m, n)
		s := stream(t, d)
		wall, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
		const reps = 4
		for it := 0; it < 6; it++ {
			for _, v := range variants {
				dt := gpu.F32
				if strings.HasPrefix(v, "f16:") {
					dt = gpu.F16
				}
				spec, tpl, tex := strings.Cut(v[4:], "t") // a trailing tN: the texel-buffer kernel, N texels per lane and step
				gemvTexel = tex
				gemvTPL, _ = strconv.Atoi(tpl)
				mr, nr, _ := strings.Cut(spec, "x")
				gemvForce.MR, _ = strconv.Atoi(mr)
				gemvForce.NR, _ = strconv.Atoi(nr)
				for i := 0; i < reps; i++ {
					if err := Linear(s, out, x, ws[dt], nil); err != nil {
						t.Fatal(err)
					}
				}
				c0 := cpuTime()
				t0 := time.Now()
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				if it > 0 {
					wall[v] = append(wall[v], time.Since(t0)/reps)
					cpu[v] = append(cpu[v], (cpuTime()-c0)/reps)
				}
			}
		}
		t.Logf("M%d N%d K%d:", m, n, k)
		for _, v := range variants {
			bytes := float64(n * k * 2)
			if v[:3] == "f32" {
				bytes *= 2
			}
			ws, cs := wall[v], cpu[v]
			slices.Sort(ws)
			slices.Sort(cs)
			t.Logf("  %-22s wall %9v (%.2f GB/s)  cpu %9v (%.2f GB/s per core-second)", v, ws[len(ws)/2].Round(time.Microsecond),
				bytes/ws[len(ws)/2].Seconds()/1e9, cs[len(cs)/2].Round(time.Microsecond), bytes/cs[len(cs)/2].Seconds()/1e9)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func splitComma(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
