package suite

import (
	"math"
	"testing"

	"github.com/vkseq/vkseq/bench"
)

// TestAddCeilingFraction checks the fraction, the ceiling it names, and the over-ceiling flag.
func TestAddCeilingFraction(t *testing.T) {
	b := &Bencher{Ceilings: bench.Ceilings{FMAGFLOPs: 10, CopyGBps: 2}, Runs: 1}
	for _, c := range []struct {
		name         string
		flops, bytes float64 // per 1 s run
		host         bool
		frac         float64
		ceiling      string
		over         bool
	}{
		{"fma-bound", 5e9, 0.5e9, false, 0.5, "fma", false},
		{"copy-bound", 1e9, 1.5e9, false, 0.75, "copy", false},
		{"above the fma ceiling", 20e9, 0, false, 2, "fma", true},
		{"above the copy ceiling", 0, 3e9, false, 1.5, "copy", true},
		{"host peer", 20e9, 0, true, 0, "", false},
	} {
		b.Results = nil
		b.Add(Result{Op: c.name, MedianNS: 1e9, Host: c.host}, c.flops, c.bytes)
		r := b.Results[0]
		if math.Abs(r.CeilingFraction-c.frac) > 1e-12 || r.Ceiling != c.ceiling || r.OverCeiling() != c.over {
			t.Errorf("%s: fraction %g of %q, over %v; want %g of %q, over %v", c.name, r.CeilingFraction, r.Ceiling,
				r.OverCeiling(), c.frac, c.ceiling, c.over)
		}
	}
}
