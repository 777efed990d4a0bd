package ops

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestSSDExplore times SSD's tile shapes and its recurrent form at the peer shape (-explore):
// the variants run interleaved, and each kernel's median and minimum GPU time over the runs is
// reported, with the CPU time the run took (on CPU devices: robust to other load). SSD_EXPLORE_L overrides L.
func TestSSDExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	c := ssdCase{B: 1, L: 512, H: 48, P: 64, G: 1, N: 128, skip: true, bias: true, softplus: true, ini: true}
	if v := os.Getenv("SSD_EXPLORE_L"); v != "" {
		fmt.Sscan(v, &c.L)
	}
	_, ts := ssdInputs(t, d, gpu.F32, c)
	out := poisoned(t, d, gpu.F32, c.B, c.L, c.H, c.P)
	ws := NewWorkspace(d)
	defer ws.Close()
	state := upload(t, d, gpu.F32, make([]float64, c.B*c.H*c.P*c.N), c.B, c.H, c.P, c.N)
	type variant struct {
		name string
		rec  func(s *gpu.Stream) error
	}
	var vs []variant
	for _, tile := range []ssdTile{
		{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 16, StN: 16, OutI: 16, OutP: 8, Coop: true},
		{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 8, StN: 16, OutI: 8, OutP: 8, Coop: true},
		{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 32, StN: 8, OutI: 16, OutP: 4, Coop: true},
		{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 16, StN: 8, OutI: 8, OutP: 16, Coop: true},
		{Local: 8, Q: 32, CBI: 16, CBJ: 16, StP: 16, StN: 16, OutI: 16, OutP: 8, Coop: true},
	} {
		tile := tile
		o := ts.opt
		o.tile = &tile
		o.Form = FormChunked
		vs = append(vs, variant{fmt.Sprintf("%+v", tile), func(s *gpu.Stream) error { return SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, o) }})
	}
	if os.Getenv("SSD_EXPLORE_TEXEL") != "" { // the default tile with and without texel buffers
		for _, texel := range []bool{false, true} {
			texel := texel
			vs = append(vs, variant{fmt.Sprintf("default tile texel=%v", texel), func(s *gpu.Stream) error {
				defer func(old bool) { ssdChunkTexel = old }(ssdChunkTexel)
				ssdChunkTexel = texel
				o := ts.opt
				o.Form = FormChunked
				return SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, o)
			}})
		}
		vs = vs[len(vs)-2:]
	}
	vs = append(vs, variant{"recurrent", func(s *gpu.Stream) error {
		o := ts.opt
		o.Form = FormRecurrent
		return SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, o)
	}})
	if os.Getenv("SSD_EXPLORE_DECODE") != "" {
		one := func(sh ...int) *gpu.Tensor {
			n := 1
			for _, v := range sh {
				n *= v
			}
			return upload(t, d, gpu.F32, make([]float64, n), sh...)
		}
		x1, z1, o1, dt1, b1, c1 := one(c.B, c.H, c.P), one(c.B, c.H, c.P), one(c.B, c.H, c.P), one(c.B, c.H), one(c.B, c.G, c.N), one(c.B, c.G, c.N)
		for _, tile := range []ssdTile{{Local: 8, RecT: 1, RecP: 8}, {Local: 8, RecT: 1, RecP: 16}, {Local: 8, RecT: 1, RecP: 4}, {Local: 4, RecT: 1, RecP: 16}} {
			tile := tile
			vs = append(vs, variant{fmt.Sprintf("decode Local=%d RecT=%d RecP=%d", tile.Local, tile.RecT, tile.RecP), func(s *gpu.Stream) error {
				ssdRecTile = &tile
				defer func() { ssdRecTile = nil }()
				return SSDStateUpdate(s, o1, state, x1, dt1, ts.A, b1, c1, StateUpdateOptions{Z: z1, DtSoftplus: true})
			}})
		}
	}
	s, err := d.NewStream(gpu.WithTimestamps(256))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	per := make([]map[string][]time.Duration, len(vs))
	for i, v := range vs {
		t0 := time.Now()
		if err := v.rec(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: first run %v", v.name, time.Since(t0))
		per[i] = map[string][]time.Duration{}
	}
	// The process's CPU time (lavapipe's worker threads run in it) is robust to other load on the
	// machine, where the GPU timestamps (wall time) are not.
	cpuTime := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	reps := 9
	if v := os.Getenv("SSD_EXPLORE_REPS"); v != "" {
		fmt.Sscan(v, &reps)
	}
	for r := 0; r < reps; r++ {
		for i, v := range vs {
			if err := v.rec(s); err != nil {
				t.Fatal(err)
			}
			c0 := cpuTime()
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			per[i]["cpu"] = append(per[i]["cpu"], cpuTime()-c0)
			var sum time.Duration
			for _, tm := range s.Timings() {
				per[i][tm.Name] = append(per[i][tm.Name], tm.Duration)
				sum += tm.Duration
			}
			per[i]["total"] = append(per[i]["total"], sum)
		}
	}
	for i, v := range vs {
		var names []string
		for n := range per[i] {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			x := per[i][n]
			sort.Slice(x, func(a, b int) bool { return x[a] < x[b] })
			fmt.Fprintf(&b, " %s %.2f/%.2fms", n, float64(x[len(x)/2].Microseconds())/1e3, float64(x[0].Microseconds())/1e3)
		}
		t.Logf("%s (median/min):%s", v.name, b.String())
	}
}
