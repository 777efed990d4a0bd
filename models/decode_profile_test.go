package models

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// TestDecodeProfile (VKSEQ_DECODE_PROFILE=mamba-130m,gla-340m,...) prints the GPU time per kernel
// and the dispatch count of one decode token of each named published model (random weights, f16,
// B = 1): where a decode step's time goes. It then prints the wall time per token of the same
// step on a stream without timestamps (sample, step, submit and wait; min and median of 30). On
// lavapipe a timestamp between dispatches costs a flush, so the timestamped profile overstates
// the short dispatches and the gaps between them: at mamba-130m it summed to 36-40 ms per token
// where the plain stream took 27-30, and taking x_proj's 24 dispatches out of the step saved 0.5-1
// ms of wall time, not the 2.8 ms their timestamps showed. Compare changes on wall time.
func TestDecodeProfile(t *testing.T) {
	names := os.Getenv("VKSEQ_DECODE_PROFILE")
	if names == "" {
		t.Skip("set VKSEQ_DECODE_PROFILE=mamba-130m,gla-340m")
	}
	d := device(t)
	for _, name := range strings.Split(names, ",") {
		w, err := Published(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Build(d, w, LoadOptions{DType: gpu.F16})
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.NewCache(1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.NewStream(gpu.WithTimestamps(4096))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Prefill(t.Context(), s, c, []int32{1, 2, 3}, 3, nil, nil); err != nil {
			t.Fatal(err)
		}
		next, err := d.NewTensor(gpu.I32, 1)
		if err != nil {
			t.Fatal(err)
		}
		opt := ops.SampleOptions{VocabLimit: m.Info().VocabSize}
		for rep := range 3 {
			greedyToken(t, s, m, c, next, opt)
			if rep < 2 {
				continue
			}
			by := map[string]float64{}
			count := map[string]int{}
			var total float64
			tm := s.Timings()
			for _, x := range tm {
				by[x.Name] += x.Duration.Seconds() * 1e3
				count[x.Name]++
				total += x.Duration.Seconds() * 1e3
			}
			// GEMV calls by position within a layer (the layers repeat the same sequence).
			var gemv []float64
			for _, x := range tm {
				if strings.HasPrefix(x.Name, "linear_gemv") {
					gemv = append(gemv, x.Duration.Seconds()*1e3)
				}
			}
			if per := (len(gemv) - 1) / m.Info().Layers; per > 0 {
				pos := make([]float64, per)
				for i := 0; i < per*m.Info().Layers; i++ {
					pos[i%per] += gemv[i]
				}
				t.Logf("%s GEMV by position in a layer (ms over all layers): %.2f; last (LM head) %.2f", name, pos, gemv[len(gemv)-1])
			}
			keys := make([]string, 0, len(by))
			for k := range by {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return by[keys[i]] > by[keys[j]] })
			for _, k := range keys {
				t.Logf("%s %-16s %8.3f ms  %4d dispatches", name, k, by[k], count[k])
			}
			t.Logf("%s GPU total %.2f ms (elapsed first start to last end %.2f ms), %d dispatches", name, total, s.Elapsed().Seconds()*1e3, len(tm))
		}
		wall := decodeWall(t, d, m, c, next, opt, 30)
		t.Logf("%s wall time per token without timestamps: min %.2f ms, median %.2f ms", name, wall[0], wall[len(wall)/2])
		next.Close()
		s.Close()
		c.Close()
		m.Close()
	}
}

// decodeWall times n decode tokens of m (sample, step, submit, wait) on a stream without
// timestamps and returns their wall times in ms, sorted.
func decodeWall(t *testing.T, d *gpu.Device, m LM, c *Cache, next *gpu.Tensor, opt ops.SampleOptions, n int) []float64 {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms := make([]float64, 0, n)
	for range n {
		t0 := time.Now()
		greedyToken(t, s, m, c, next, opt)
		ms = append(ms, time.Since(t0).Seconds()*1e3)
	}
	slices.Sort(ms)
	return ms
}

// greedyToken records on s the sampling of next from c's logits and m's step on it, and runs s.
func greedyToken(t *testing.T, s *gpu.Stream, m LM, c *Cache, next *gpu.Tensor, opt ops.SampleOptions) {
	t.Helper()
	if err := ops.Sample(s, next, c.Logits, opt); err != nil {
		t.Fatal(err)
	}
	if err := m.Step(s, c, next); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
}
