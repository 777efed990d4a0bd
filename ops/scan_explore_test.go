package ops

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// timeStream runs record on a timestamped stream reps times and returns the median GPU time.
func timeStream(t *testing.T, d *gpu.Device, reps int, record func(s *gpu.Stream) error) time.Duration {
	s, err := d.NewStream(gpu.WithTimestamps(256))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ts []time.Duration
	for i := 0; i <= reps; i++ {
		if err := record(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			ts = append(ts, s.Elapsed())
		}
	}
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			if ts[j] < ts[i] {
				ts[i], ts[j] = ts[j], ts[i]
			}
		}
	}
	if len(ts) == 0 {
		return 0
	}
	return ts[len(ts)/2]
}

var (
	scanFew    = flag.Bool("scanfew", false, "TestScanExplore: few channels, long L")
	scanDecode = flag.Bool("scandecode", false, "TestScanExplore: one token of mamba-130m's shape (D 1536, N 16)")
)

// TestScanExplore times the selective scan's kernel shapes (-explore).
func TestScanExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	c := scanCase{B: 1, D: 512, L: 2048, N: 16, G: 1, skip: true, gate: true, bias: true, softplus: true, ini: true}
	tiles := []scanTile{{TL: 1, CL: 8, K: 8, DT: 8, NV: 4}, {TL: 1, CL: 8, K: 16, DT: 4, NV: 4}}
	if *scanFew {
		// Few channels: the time axis must be split for the device to be used.
		c = scanCase{B: 1, D: 8, L: 16384, N: 16, G: 1, skip: true, gate: true, bias: true, softplus: true, ini: true}
		tiles = []scanTile{{TL: 1, CL: 8, K: 8, DT: 8, NV: 4}, {TL: 1, CL: 8, K: 8, DT: 1, NV: 4}, {TL: 8, CL: 1, K: 8, DT: 1, NV: 4}, {TL: 8, CL: 1, K: 8, DT: 2, NV: 4}}
	}
	if *scanDecode {
		c = scanCase{B: 1, D: 1536, L: 1, N: 16, G: 1, skip: true, gate: true, bias: true, softplus: true, ini: true}
		tiles = nil
		for _, dt := range []int{1, 2, 4, 8} {
			for _, cl := range []int{8, 16, 64} {
				tiles = append(tiles, scanTile{TL: 1, CL: cl, K: 4, DT: dt, NV: 4})
			}
		}
	}
	_, ts, opt := scanInputs(t, d, gpu.F32, c)
	out := poisoned(t, d, gpu.F32, c.B, c.D, c.L)
	for _, tile := range tiles {
		tile := tile
		opt.tile = &tile
		rec := func(s *gpu.Stream) error { return SelectiveScan(s, out, ts[0], ts[1], ts[2], ts[3], ts[4], opt) }
		t0 := time.Now()
		timeStream(t, d, 0, rec)
		comp := time.Since(t0)
		reps := 3
		if *scanDecode {
			reps = 41
		}
		med := timeStream(t, d, reps, rec)
		steps := float64(c.B * c.D * c.L * c.N)
		t.Logf("%s: %v (%.1f ns per step·state), first run %v", fmt.Sprintf("%+v", tile), med, float64(med.Nanoseconds())/steps, comp)
	}
}
