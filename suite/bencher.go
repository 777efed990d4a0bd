package suite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vkseq/vkseq/bench"
	"github.com/vkseq/vkseq/gpu"
)

// Result is one benchmarked op at one shape (the JSON schema of docs/design.md §11).
type Result struct {
	Op              string         `json:"op"`
	Variant         string         `json:"variant"` // e.g. "chunked", "recurrent", "vec4"
	DType           string         `json:"dtype"`
	Shape           map[string]int `json:"shape"`
	MedianNS        int64          `json:"median_ns"`
	MinNS           int64          `json:"min_ns"`
	Runs            int            `json:"runs"`
	GFLOPs          float64        `json:"gflops"`
	GBps            float64        `json:"gbps"`
	CeilingFraction float64        `json:"ceiling_fraction"`       // of the nearer ceiling: max(GFLOP/s ÷ FMA, GB/s ÷ copy)
	ReferenceNS     int64          `json:"reference_ns,omitempty"` // the CPU reference's time at the same shape
	Note            string         `json:"note,omitempty"`
	// Ceiling names the ceiling CeilingFraction is taken of ("fma" or "copy"); empty for host results.
	Ceiling string `json:"ceiling,omitempty"`
	// Host marks a measurement on the host CPU (a CPU peer such as gonum), not a device kernel:
	// it has no ceiling fraction, since the ceilings are the device's.
	Host bool `json:"host,omitempty"`
}

// OverCeiling reports whether r ran faster than the device ceiling it is reported against, which
// means the ceiling is not a ceiling (or the op's FLOP or byte count is wrong).
func (r Result) OverCeiling() bool { return !r.Host && r.CeilingFraction > 1 }

// Speedup is the CPU reference time over the GPU median (0 when the reference was not run).
func (r Result) Speedup() float64 {
	if r.ReferenceNS == 0 || r.MedianNS == 0 {
		return 0
	}
	return float64(r.ReferenceNS) / float64(r.MedianNS)
}

// Bencher measures ops on one device; ops call Measure and Add.
type Bencher struct {
	Device   *gpu.Device
	Ceilings bench.Ceilings
	Runs     int // timed repetitions per measurement (median reported)
	// Quick asks each op for a short set of default sizes (vkbench bench -quick, make bench):
	// the shapes an issue names, not whole sweeps.
	Quick   bool
	MaxRef  time.Duration // skip the CPU reference at shapes whose reference would take longer (estimated)
	Results []Result
	// Progress, when set, is told of each finished measurement.
	Progress func(r Result)
}

// Measure records the op with record on a timestamped stream, runs it once to warm up (compiling
// pipelines), then b.Runs times, and returns the median and minimum GPU time from timestamps.
func (b *Bencher) Measure(ctx context.Context, record func(s *gpu.Stream) error) (median, minimum time.Duration, err error) {
	s, err := b.Device.NewStream(gpu.WithTimestamps(4096))
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	runs := max(b.Runs, 1)
	var ts []time.Duration
	for i := 0; i <= runs; i++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if err := record(s); err != nil {
			return 0, 0, err
		}
		if err := s.Run(); err != nil {
			return 0, 0, err
		}
		if i > 0 {
			ts = append(ts, s.Elapsed())
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[len(ts)/2], ts[0], nil
}

// TimeCPU runs f once and returns its wall time (for the float64 reference).
func TimeCPU(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}

// Add completes r's rates from flops and bytes (the op's arithmetic and the bytes it must move)
// and appends it.
func (b *Bencher) Add(r Result, flops, bytes float64) {
	r.Runs = max(b.Runs, 1)
	if r.MedianNS > 0 {
		sec := float64(r.MedianNS) / 1e9
		r.GFLOPs = flops / sec / 1e9
		r.GBps = bytes / sec / 1e9
		if b.Ceilings.FMAGFLOPs > 0 && b.Ceilings.CopyGBps > 0 && !r.Host {
			f, c := r.GFLOPs/b.Ceilings.FMAGFLOPs, r.GBps/b.Ceilings.CopyGBps
			r.CeilingFraction, r.Ceiling = f, "fma"
			if c > f {
				r.CeilingFraction, r.Ceiling = c, "copy"
			}
		}
	}
	b.Results = append(b.Results, r)
	if b.Progress != nil {
		b.Progress(r)
	}
}

// ShapeString formats a shape map in a stable order.
func ShapeString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	order := map[string]int{"B": 0, "Batch": 0, "T": 1, "L": 1, "H": 2, "M": 3, "N": 4, "K": 5, "V": 6, "D": 7, "P": 8, "G": 9, "W": 10}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := order[keys[i]]
		oj, jok := order[keys[j]]
		if iok && jok && oi != oj {
			return oi < oj
		}
		if iok != jok {
			return iok
		}
		return keys[i] < keys[j]
	})
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s=%d", k, m[k])
	}
	return s
}
