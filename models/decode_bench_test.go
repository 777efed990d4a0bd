package models

import (
	"runtime"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// BenchmarkDecode times one greedy token (sample, step, read back the ids) of small fixture models
// at B = 1, recorded per token on a stream (per-token) and replayed from a Generator (replayed);
// -benchmem shows the Go allocations of each.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"mamba_hf", "mamba2_hf", "gla"} {
		d := device(b)
		m, err := Load(d, fixtureDir(name), LoadOptions{DType: gpu.F32})
		if err != nil {
			b.Fatal(err)
		}
		c, err := m.NewCache(1)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Prefill(b.Context(), nil2stream(b, d), c, []int32{1, 2, 3}, 3, nil, nil); err != nil {
			b.Fatal(err)
		}
		opt := ops.SampleOptions{VocabLimit: m.Info().VocabSize}
		b.Run(name+"/per-token", func(b *testing.B) {
			s := nil2stream(b, d)
			next, err := d.NewTensor(gpu.I32, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer next.Close()
			b.ReportAllocs()
			for b.Loop() {
				if err := ops.Sample(s, next, c.Logits, opt); err != nil {
					b.Fatal(err)
				}
				if err := m.Step(s, c, next); err != nil {
					b.Fatal(err)
				}
				if err := s.Run(); err != nil {
					b.Fatal(err)
				}
				if _, err := next.ReadInt32(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/replayed", func(b *testing.B) {
			g, err := NewGenerator(m, c, opt)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			ids := make([]int32, 1)
			if err := g.Next(ids); err != nil { // records
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := g.Next(ids); err != nil {
					b.Fatal(err)
				}
			}
		})
		c.Close()
		m.Close()
	}
}

func nil2stream(b *testing.B, d *gpu.Device) *gpu.Stream {
	s, err := d.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkDecodeHost measures the host's share of one greedy decode token of the published
// mamba-130m shape (random weights, f16, B = 1): host-ns/token is the wall time of the host calls
// only (recording and submitting, or writing the counter and submitting; then reading back the
// id), not the wait for the device; host-cpu-ns/token is the CPU time of the calling thread over
// the same calls (CLOCK_THREAD_CPUTIME_ID, Linux), which time spent waiting for a core does not inflate.
func BenchmarkDecodeHost(b *testing.B) {
	d := device(b)
	w, err := Published("mamba-130m")
	if err != nil {
		b.Fatal(err)
	}
	m, err := Build(d, w, LoadOptions{DType: gpu.F16})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	c, err := m.NewCache(1)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s := nil2stream(b, d)
	if err := m.Prefill(b.Context(), s, c, []int32{1, 2, 3}, 3, nil, nil); err != nil {
		b.Fatal(err)
	}
	opt := ops.SampleOptions{VocabLimit: m.Info().VocabSize}
	b.Run("per-token", func(b *testing.B) {
		next, err := d.NewTensor(gpu.I32, 1)
		if err != nil {
			b.Fatal(err)
		}
		defer next.Close()
		var host, cpu time.Duration
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		for b.Loop() {
			t0, c0 := time.Now(), threadCPU()
			if err := ops.Sample(s, next, c.Logits, opt); err != nil {
				b.Fatal(err)
			}
			if err := m.Step(s, c, next); err != nil {
				b.Fatal(err)
			}
			if err := s.Submit(); err != nil {
				b.Fatal(err)
			}
			host, cpu = host+time.Since(t0), cpu+threadCPU()-c0
			if err := s.Wait(); err != nil {
				b.Fatal(err)
			}
			t1, c1 := time.Now(), threadCPU()
			if _, err := next.ReadInt32(); err != nil {
				b.Fatal(err)
			}
			host, cpu = host+time.Since(t1), cpu+threadCPU()-c1
		}
		b.ReportMetric(float64(host.Nanoseconds())/float64(b.N), "host-ns/token")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "host-cpu-ns/token")
	})
	b.Run("replayed", func(b *testing.B) {
		g, err := NewGenerator(m, c, opt)
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		ids := make([]int32, 1)
		if err := g.Next(ids); err != nil { // records
			b.Fatal(err)
		}
		var host, cpu time.Duration
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		for b.Loop() {
			t0, c0 := time.Now(), threadCPU()
			g.ctrv[0]++
			if err := g.ctr.WriteInt32(g.ctrv[:]); err != nil {
				b.Fatal(err)
			}
			if err := g.graph.Submit(); err != nil {
				b.Fatal(err)
			}
			host, cpu = host+time.Since(t0), cpu+threadCPU()-c0
			if err := g.graph.Wait(); err != nil {
				b.Fatal(err)
			}
			t1, c1 := time.Now(), threadCPU()
			if err := g.out.ReadInt32Into(ids); err != nil {
				b.Fatal(err)
			}
			host, cpu = host+time.Since(t1), cpu+threadCPU()-c1
		}
		b.ReportMetric(float64(host.Nanoseconds())/float64(b.N), "host-ns/token")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "host-cpu-ns/token")
	})
}
