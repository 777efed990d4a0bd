// Package bench measures vkseq's kernels: the device's two ceilings (copy bandwidth and FMA rate),
// GPU-timestamp medians per op, and the CPU reference's time in the same run.
package bench

import (
	"fmt"
	"sort"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// Ceilings are the device's measured limits: each the best of several kernel variants (Variants),
// so that no kernel of the library should exceed them.
type Ceilings struct {
	CopyGBps  float64 `json:"copy_gbps"`  // bytes read + written per second by the best copy variant, 1e9
	FMAGFLOPs float64 `json:"fma_gflops"` // FLOP/s of the best FMA variant (2 FLOP per FMA lane), 1e9
	// CopyKernel and FMAKernel name the variants that won, e.g. "vec4 x1 16MiB" or "scalar chains=32".
	CopyKernel string `json:"copy_kernel,omitempty"`
	FMAKernel  string `json:"fma_kernel,omitempty"`
	// Variants lists every variant measured with its rate (GB/s for copy, GFLOP/s for fma).
	Variants []Variant `json:"variants,omitempty"`
}

// Variant is one measured ceiling kernel.
type Variant struct {
	Ceiling string  `json:"ceiling"` // "copy" or "fma"
	Kernel  string  `json:"kernel"`  // e.g. "vec4 x4 64MiB" (width, elements per invocation, buffer); "scalar chains=8", "vec4 chains=16"
	Rate    float64 `json:"rate"`    // GB/s (copy) or GFLOP/s (fma), from the fastest run
	Best    bool    `json:"best,omitempty"`
}

// copyVariant is a copy kernel: WIDTH floats per element, ELEMS elements per invocation, over a
// buffer of mib MiB (the smaller ones fit in the caches of some devices, as an op's tensors may).
type copyVariant struct{ width, elems, mib int }

// fmaVariant is an FMA kernel: chains independent chains of width lanes per invocation.
type fmaVariant struct{ chains, width int }

var (
	copyVariants = []copyVariant{{1, 1, 64}, {2, 1, 64}, {4, 1, 64}, {4, 4, 64}, {4, 16, 64}, {4, 1, 16}, {4, 4, 16}, {4, 1, 4}}
	fmaVariants  = []fmaVariant{{8, 1}, {16, 1}, {32, 1}, {8, 4}, {16, 4}, {32, 4}}
)

func (v copyVariant) String() string {
	w := map[int]string{1: "float", 2: "vec2", 4: "vec4"}[v.width]
	return fmt.Sprintf("%s x%d %dMiB", w, v.elems, v.mib)
}

func (v fmaVariant) String() string {
	w := "scalar"
	if v.width == 4 {
		w = "vec4"
	}
	return fmt.Sprintf("%s chains=%d", w, v.chains)
}

func loadKernel(d *gpu.Device, name string, bindings []gpu.Access, push int, spec ...uint32) (*gpu.Kernel, error) {
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	return d.Kernel(gpu.KernelSpec{Name: name, SPIRV: code, Bindings: bindings, PushSize: push, Spec: spec})
}

// medianOf runs record+submit reps times on a timestamped stream and returns the median GPU time.
func medianOf(s *gpu.Stream, reps int, record func() error) (median, minimum time.Duration, err error) {
	var ts []time.Duration
	for i := 0; i < reps; i++ {
		if err := record(); err != nil {
			return 0, 0, err
		}
		if err := s.Run(); err != nil {
			return 0, 0, err
		}
		ts = append(ts, s.Elapsed())
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[len(ts)/2], ts[0], nil
}

// MeasureCeilings measures the copy bandwidth and the FMA rate of d, each the best over its
// variants of the fastest of 5 timed runs (after one untimed run).
//
// Copy: 64, 16 or 4 MiB read and as much written, local size 128, elements of 1, 2 or 4 floats, 1
// to 16 elements per invocation. FMA: 8, 16 or 32 independent chains of scalars or vec4s per invocation,
// local size 64, 16Ki invocations on a CPU device and 1Mi elsewhere (enough to fill every core of
// the largest GPUs), the same FMA count per invocation in every variant.
func MeasureCeilings(d *gpu.Device) (Ceilings, error) {
	var c Ceilings
	s, err := d.NewStream(gpu.WithTimestamps(4))
	if err != nil {
		return c, err
	}
	defer s.Close()
	// A ceiling is the best the device does: the fastest of the runs, not their median, so that a
	// burst of load on a shared machine lowers it less.
	const reps = 6

	const maxBytes = 64 << 20
	src, err := d.NewTensor(gpu.F32, maxBytes/4)
	if err != nil {
		return c, err
	}
	defer src.Close()
	dst, err := d.NewTensor(gpu.F32, maxBytes/4)
	if err != nil {
		return c, err
	}
	defer dst.Close()
	if err := src.Fill(1); err != nil {
		return c, err
	}
	const copyLocal = 128
	for _, v := range copyVariants {
		k, err := loadKernel(d, "copy", []gpu.Access{gpu.Read, gpu.Write}, 4, copyLocal, uint32(v.width), uint32(v.elems))
		if err != nil {
			return c, fmt.Errorf("copy ceiling %v: %w", v, err)
		}
		copyBytes := v.mib << 20
		n := copyBytes / 4 / v.width
		per := copyLocal * v.elems
		groups := fold(d, (n+per-1)/per)
		_, best, err := medianOf(s, reps, func() error { return s.Dispatch(k, groups, gpu.Push(uint32(n)), src, dst) })
		if err != nil {
			return c, fmt.Errorf("copy ceiling %v: %w", v, err)
		}
		rate := 2 * float64(copyBytes) / best.Seconds() / 1e9
		c.Variants = append(c.Variants, Variant{Ceiling: "copy", Kernel: v.String(), Rate: rate})
		if rate > c.CopyGBps {
			c.CopyGBps, c.CopyKernel = rate, v.String()
		}
	}

	const fmaLocal = 64
	invocations, fmas := 1<<20, 1<<17 // FMA lanes per invocation
	if d.Info().Type == gpu.CPU {
		invocations, fmas = 16<<10, 8<<10
	}
	out, err := d.NewTensor(gpu.F32, invocations)
	if err != nil {
		return c, err
	}
	defer out.Close()
	groups := fold(d, invocations/fmaLocal)
	for _, v := range fmaVariants {
		k, err := loadKernel(d, "fma", []gpu.Access{gpu.Write}, 16, fmaLocal, uint32(v.chains), uint32(v.width))
		if err != nil {
			return c, fmt.Errorf("fma ceiling %v: %w", v, err)
		}
		iters := fmas / (v.chains * v.width)
		_, best, err := medianOf(s, reps, func() error {
			return s.Dispatch(k, groups, gpu.Push(uint32(invocations), uint32(iters), float32(0.999), float32(1e-3)), out)
		})
		if err != nil {
			return c, fmt.Errorf("fma ceiling %v: %w", v, err)
		}
		rate := 2 * float64(v.chains*v.width) * float64(iters) * float64(invocations) / best.Seconds() / 1e9
		c.Variants = append(c.Variants, Variant{Ceiling: "fma", Kernel: v.String(), Rate: rate})
		if rate > c.FMAGFLOPs {
			c.FMAGFLOPs, c.FMAKernel = rate, v.String()
		}
	}
	for i := range c.Variants {
		v := &c.Variants[i]
		v.Best = (v.Ceiling == "copy" && v.Kernel == c.CopyKernel) || (v.Ceiling == "fma" && v.Kernel == c.FMAKernel)
	}
	return c, nil
}

// fold spreads g workgroups over x and y within the device's grid limits.
func fold(d *gpu.Device, g int) [3]uint32 {
	maxX := int(d.Info().MaxWorkgroupCount[0])
	if g <= maxX {
		return [3]uint32{uint32(g), 1, 1}
	}
	y := (g + maxX - 1) / maxX
	return [3]uint32{uint32((g + y - 1) / y), uint32(y), 1}
}
