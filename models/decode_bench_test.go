package models

import (
	"testing"

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
