// Package bench measures vkseq's kernels: the device's two ceilings (copy bandwidth and FMA rate),
// GPU-timestamp medians per op, and the CPU reference's time in the same run.
package bench

import (
	"fmt"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// Ceilings are the device's measured limits: each the best of several kernel variants (Variants),
// so that no kernel of the library should exceed them.
type Ceilings struct {
	CopyGBps  float64 `json:"copy_gbps"`  // bytes read + written per second by the best copy or read variant, 1e9
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
	Kernel  string  `json:"kernel"`  // e.g. "vec4 x4 64MiB" (width, elements per invocation, buffer), "read vec4 x4 16MiB"; "scalar chains=8", "vec4 chains=16"
	Rate    float64 `json:"rate"`    // GB/s (copy) or GFLOP/s (fma), from the fastest run
	Best    bool    `json:"best,omitempty"`
}

// copyVariant is a copy kernel: WIDTH floats per element, ELEMS elements per invocation, over a
// buffer of mib MiB (the smaller ones fit in the caches of some devices, as an op's tensors may);
// reduce reads the elements and writes only their sum (vec4 only), as read-heavy ops do.
type copyVariant struct {
	width, elems, mib int
	reduce            bool
	texel             bool // reduce, reading through a texel buffer (gpu.Texel)
}

// fmaVariant is an FMA kernel: chains independent chains of width lanes per invocation.
type fmaVariant struct{ chains, width int }

var (
	copyVariants = []copyVariant{{1, 1, 64, false, false}, {2, 1, 64, false, false}, {4, 1, 64, false, false}, {4, 4, 64, false, false}, {4, 16, 64, false, false},
		{4, 1, 16, false, false}, {4, 4, 16, false, false}, {4, 1, 4, false, false}, {4, 4, 64, true, false}, {4, 4, 16, true, false}, {4, 4, 4, true, false},
		{4, 4, 64, true, true}, {4, 16, 64, true, true}, {4, 4, 16, true, true}}
	fmaVariants = []fmaVariant{{8, 1}, {16, 1}, {32, 1}, {64, 1}, {128, 1}, {8, 4}, {16, 4}, {32, 4}}
)

func (v copyVariant) String() string {
	w := map[int]string{1: "float", 2: "vec2", 4: "vec4"}[v.width]
	if v.texel {
		return fmt.Sprintf("read texel x%d %dMiB", v.elems, v.mib)
	}
	if v.reduce {
		return fmt.Sprintf("read %s x%d %dMiB", w, v.elems, v.mib)
	}
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

// bestOf runs record+submit at least minReps times, and more (up to maxReps) until the runs' GPU
// time reaches minTotal, and returns the fastest GPU time: on a shared machine a short kernel
// needs more tries to find a moment without interference.
func bestOf(s *gpu.Stream, record func() error) (time.Duration, error) {
	const minReps, maxReps, minTotal = 6, 24, 100 * time.Millisecond
	best, total := time.Duration(0), time.Duration(0)
	for i := 0; i < maxReps && (i < minReps || total < minTotal); i++ {
		if err := record(); err != nil {
			return 0, err
		}
		if err := s.Run(); err != nil {
			return 0, err
		}
		t := s.Elapsed()
		total += t
		if best == 0 || t < best {
			best = t
		}
	}
	return best, nil
}

// MeasureCeilings measures the copy bandwidth and the FMA rate of d, each the best over its
// variants of the fastest of 6 to 24 timed runs (at least 100 ms of GPU time per variant).
//
// Copy: 64, 16 or 4 MiB read and as much written, local size 128, elements of 1, 2 or 4 floats, 1
// to 16 elements per invocation; and reads of as much with a quarter of it written (the sums of 4
// vec4s), since reading costs less than writing on some devices; and those reads through a texel
// buffer (gpu.Texel), which lavapipe gathers in far fewer instructions than storage-buffer loads
// (about 2.5x the storage-buffer read rate there), as the ops that read their weights so do. FMA: 8, 16, 32, 64 or 128 independent chains of scalars, or 8, 16 or 32 of
// vec4s, per invocation (lavapipe pays a fixed cost per loop iteration that only many chains hide,
// as a register-tiled GEMM's 64 to 128 accumulators do),
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
		name, in, spec := "copy", gpu.Read, []uint32{copyLocal, uint32(v.width), uint32(v.elems), b2u(v.reduce)}
		if v.texel {
			name, in, spec = "copy_texel", gpu.Read|gpu.Texel, spec[:3]
		}
		k, err := loadKernel(d, name, []gpu.Access{in, gpu.Write}, 4, spec...)
		if err != nil {
			return c, fmt.Errorf("copy ceiling %v: %w", v, err)
		}
		copyBytes := v.mib << 20
		n := copyBytes / 4 / v.width
		per := copyLocal * v.elems
		groups := fold(d, (n+per-1)/per)
		best, err := bestOf(s, func() error { return s.Dispatch(k, groups, gpu.Push(uint32(n)), src, dst) })
		if err != nil {
			return c, fmt.Errorf("copy ceiling %v: %w", v, err)
		}
		moved := 2 * float64(copyBytes) // read and written
		if v.reduce {
			moved = float64(copyBytes) * (1 + 1/float64(v.elems))
		}
		rate := moved / best.Seconds() / 1e9
		c.Variants = append(c.Variants, Variant{Ceiling: "copy", Kernel: v.String(), Rate: rate})
		if rate > c.CopyGBps {
			c.CopyGBps, c.CopyKernel = rate, v.String()
		}
	}

	const fmaLocal = 64
	invocations, fmas := 1<<20, 1<<17 // FMA lanes per invocation
	if d.Info().Type == gpu.CPU {
		invocations, fmas = 16<<10, 32<<10
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
		best, err := bestOf(s, func() error {
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

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
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
