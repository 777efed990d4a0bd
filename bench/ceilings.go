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

// Ceilings are the device's measured limits.
type Ceilings struct {
	CopyGBps  float64 `json:"copy_gbps"`  // bytes read + written per second by a vec4 copy shader, 1e9
	FMAGFLOPs float64 `json:"fma_gflops"` // FLOP/s of independent FMA chains (2 FLOP per FMA), 1e9
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

// MeasureCeilings measures the copy bandwidth (a 64 MiB vec4 copy, local size 128) and the FMA
// rate (8 independent FMA chains per invocation) of d, each the fastest of 7 timed runs.
func MeasureCeilings(d *gpu.Device) (Ceilings, error) {
	var c Ceilings
	s, err := d.NewStream(gpu.WithTimestamps(4))
	if err != nil {
		return c, err
	}
	defer s.Close()

	const copyBytes = 64 << 20
	n4 := copyBytes / 16
	src, err := d.NewTensor(gpu.F32, 4*n4)
	if err != nil {
		return c, err
	}
	defer src.Close()
	dst, err := d.NewTensor(gpu.F32, 4*n4)
	if err != nil {
		return c, err
	}
	defer dst.Close()
	if err := src.Fill(1); err != nil {
		return c, err
	}
	ck, err := loadKernel(d, "copy", []gpu.Access{gpu.Read, gpu.Write}, 4, 128)
	if err != nil {
		return c, err
	}
	groups := fold(d, (n4+127)/128)
	// A ceiling is the best the device does: the fastest of the runs, not their median, so that a
	// burst of load on a shared machine lowers it less.
	_, best, err := medianOf(s, 7, func() error { return s.Dispatch(ck, groups, gpu.Push(uint32(n4)), src, dst) })
	if err != nil {
		return c, fmt.Errorf("copy ceiling: %w", err)
	}
	c.CopyGBps = 2 * copyBytes / best.Seconds() / 1e9

	const chains, local = 8, 64
	invocations := 64 * 1024
	iters := 2048
	if d.Info().Type == gpu.CPU {
		invocations, iters = 16*1024, 1024
	}
	out, err := d.NewTensor(gpu.F32, invocations)
	if err != nil {
		return c, err
	}
	defer out.Close()
	fk, err := loadKernel(d, "fma", []gpu.Access{gpu.Write}, 16, local)
	if err != nil {
		return c, err
	}
	groups = fold(d, invocations/local)
	_, best, err = medianOf(s, 7, func() error {
		return s.Dispatch(fk, groups, gpu.Push(uint32(invocations), uint32(iters), float32(0.999), float32(1e-3)), out)
	})
	if err != nil {
		return c, fmt.Errorf("fma ceiling: %w", err)
	}
	c.FMAGFLOPs = 2 * float64(chains) * float64(iters) * float64(invocations) / best.Seconds() / 1e9
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
