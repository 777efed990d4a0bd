package ops

import (
	"fmt"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestSSDExplore times SSD's tile shapes and its recurrent form (-explore), with the first run
// (pipeline compilation) separately.
func TestSSDExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	c := ssdCase{B: 1, L: 1024, H: 8, P: 64, G: 1, N: 128, skip: true, gate: true, softplus: true, ini: true}
	_, ts := ssdInputs(t, d, gpu.F32, c)
	out := poisoned(t, d, gpu.F32, c.B, c.L, c.H, c.P)
	ws := NewWorkspace(d)
	defer ws.Close()
	flops := 2 * float64(c.B*c.L*c.H) * float64(c.P) * (2*float64(c.N) + 64/2)
	for _, tile := range []ssdTile{

		{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 16, StN: 16, OutI: 16, OutP: 16},
	} {
		tile := tile
		ts.opt.tile = &tile
		rec := func(s *gpu.Stream) error { return SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, ts.opt) }
		t0 := time.Now()
		timeStream(t, d, 0, rec)
		comp := time.Since(t0)
		med := timeStream(t, d, 3, rec)
		s, _ := d.NewStream(gpu.WithTimestamps(64))
		rec(s)
		s.Run()
		var per string
		for _, tm := range s.Timings() {
			per += fmt.Sprintf(" %s %.1fms", tm.Name, float64(tm.Duration.Microseconds())/1e3)
		}
		s.Close()
		t.Logf("%+v: %v (%.2f GFLOP/s), first run %v;%s", tile, med, flops/med.Seconds()/1e9, comp, per)
	}
	state := upload(t, d, gpu.F32, make([]float64, c.B*c.H*c.P*c.N), c.B, c.H, c.P, c.N)
	rec := func(s *gpu.Stream) error {
		return SSDStateUpdate(s, out, state, ts.x, ts.dt, ts.A, ts.B, ts.C, StateUpdateOptions{D: ts.opt.D, Z: ts.opt.Z, DtSoftplus: true})
	}
	t0 := time.Now()
	timeStream(t, d, 0, rec)
	comp := time.Since(t0)
	med := timeStream(t, d, 3, rec)
	t.Logf("recurrent: %v, first run %v", med, comp)
}
