package ops

import (
	"sort"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestDecodeTexelExplore times the decode steps with their texel variants on and off, the two
// interleaved over several rounds (GPU timestamps, the minimum of 8 runs per round, the median
// over rounds): the delta rule at H=32 K=V=128 gated, SSD at H=48 P=64 N=128 (the peer cases
// delta_decode and ssd_decode) and the Mamba-1 state update at mamba-130m's D=1536 N=16 (-explore).
func TestDecodeTexelExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	f := func(dt gpu.DType, v float32, n ...int) *gpu.Tensor {
		x := poisoned(t, d, dt, n...)
		x.Fill(v)
		return x
	}
	// delta rule
	q, k, v := f(gpu.F32, 0.01, 1, 1, 32, 128), f(gpu.F32, 0.01, 1, 1, 32, 128), f(gpu.F32, 0.01, 1, 1, 32, 128)
	beta, g, o := f(gpu.F32, 0.5, 1, 1, 32), f(gpu.F32, -0.1, 1, 1, 32), f(gpu.F32, 0, 1, 1, 32, 128)
	st := f(gpu.F32, 0.01, 1, 32, 128, 128)
	delta := func(s *gpu.Stream) error {
		return DeltaRuleRecurrent(s, o, st, q, k, v, beta, g, DeltaRuleRecurrentOptions{})
	}
	// SSD
	sx, sz, so := f(gpu.F32, 0.01, 1, 48, 64), f(gpu.F32, 0.01, 1, 48, 64), f(gpu.F32, 0, 1, 48, 64)
	sdt, sA := f(gpu.F32, 0.1, 1, 48), f(gpu.F32, -1, 48)
	sB, sC := f(gpu.F32, 0.01, 1, 1, 128), f(gpu.F32, 0.01, 1, 1, 128)
	sst := f(gpu.F32, 0.01, 1, 48, 64, 128)
	ssd := func(s *gpu.Stream) error {
		return SSDStateUpdate(s, so, sst, sx, sdt, sA, sB, sC, StateUpdateOptions{Z: sz, DtSoftplus: true})
	}
	// Mamba-1
	mx, mz, mo, mdt := f(gpu.F32, 0.01, 1, 1536), f(gpu.F32, 0.01, 1, 1536), f(gpu.F32, 0, 1, 1536), f(gpu.F32, 0.1, 1, 1536)
	mA, mD, mbias := f(gpu.F32, -1, 1536, 16), f(gpu.F32, 1, 1536), f(gpu.F32, 0.1, 1536)
	mB, mC := f(gpu.F32, 0.01, 1, 1, 16), f(gpu.F32, 0.01, 1, 1, 16)
	mst := f(gpu.F32, 0.01, 1, 1536, 16)
	mamba := func(s *gpu.Stream) error {
		return SelectiveStateUpdate(s, mo, mst, mx, mdt, mA, mB, mC, StateUpdateOptions{D: mD, Z: mz, DtBias: mbias, DtSoftplus: true})
	}
	for _, c := range []struct {
		name string
		flag *bool
		rec  func(s *gpu.Stream) error
	}{{"delta H32 K=V=128", &deltaTexel, delta}, {"ssd H48 P64 N128", &ssdTexel, ssd}, {"mamba1 D1536 N16", &scanTexel, mamba}} {
		var on, off []time.Duration
		for round := 0; round < 5; round++ {
			for _, tex := range []bool{false, true} {
				*c.flag = tex
				m := gpuTime(t, d, 8, c.rec)
				if tex {
					on = append(on, m)
				} else {
					off = append(off, m)
				}
			}
		}
		*c.flag = true
		med := func(x []time.Duration) float64 {
			sort.Slice(x, func(i, j int) bool { return x[i] < x[j] })
			return float64(x[len(x)/2].Microseconds()) / 1e3
		}
		t.Logf("%s: texel off %.3f ms, on %.3f ms (medians over 5 rounds of min-of-8)", c.name, med(off), med(on))
	}
}
