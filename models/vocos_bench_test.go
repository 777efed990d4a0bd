package models

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// BenchmarkVocosMel24kHz vocodes 1 s and 10 s of audio (94 and 938 frames, B = 1) with
// vocos-mel-24khz's shapes (random weights), host mel in and audio out, and reports the
// real-time factor (wall time ÷ audio duration).
func BenchmarkVocosMel24kHz(b *testing.B) {
	for _, T := range []int{94, 938} {
		b.Run(fmt.Sprintf("T=%d", T), func(b *testing.B) { benchVocos(b, T) })
	}
}

func benchVocos(b *testing.B, T int) {
	d, err := gpu.Open()
	if err != nil {
		b.Skip(err)
	}
	defer d.Close()
	v, err := NewVocosRandom(d, VocosMel24kHz, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	mel := make([]float32, v.Config.NMels*T)
	ctx := context.Background()
	if _, err := v.Decode(ctx, mel, 1, T); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := v.Decode(ctx, mel, 1, T); err != nil {
			b.Fatal(err)
		}
	}
	secs := float64(v.Config.AudioLength(T)) / float64(v.Config.SampleRate)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/secs, "RTF")
}

// TestVocosProfile (VKSEQ_VOCOS_PROFILE=1) prints the GPU time per kernel of one vocos-mel-24khz
// forward: where the time goes.
func TestVocosProfile(t *testing.T) {
	if os.Getenv("VKSEQ_VOCOS_PROFILE") == "" {
		t.Skip("set VKSEQ_VOCOS_PROFILE=1")
	}
	d := vocosDevice(t)
	v, err := NewVocosRandom(d, VocosMel24kHz, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	T := 94 // frames; VKSEQ_VOCOS_PROFILE=938 profiles that many
	if n, err := strconv.Atoi(os.Getenv("VKSEQ_VOCOS_PROFILE")); err == nil && n > 1 {
		T = n
	}
	mt, _ := d.NewTensor(gpu.F32, 1, v.Config.NMels, T)
	defer mt.Close()
	at, _ := d.NewTensor(gpu.F32, 1, v.Config.AudioLength(T))
	defer at.Close()
	for range 2 {
		s, err := d.NewStream(gpu.WithTimestamps(200))
		if err != nil {
			t.Fatal(err)
		}
		mt.Fill(0)
		t0 := time.Now()
		if err := v.DecodeTensor(s, at, mt); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		wall := time.Since(t0)
		by := map[string]time.Duration{}
		var total time.Duration
		for _, tm := range s.Timings() {
			by[tm.Name] += tm.Duration
			total += tm.Duration
		}
		names := make([]string, 0, len(by))
		for n := range by {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return by[names[i]] > by[names[j]] })
		for _, n := range names {
			t.Logf("%-14s %8.2f ms", n, by[n].Seconds()*1e3)
		}
		t.Logf("GPU total %.1f ms, wall %.1f ms", total.Seconds()*1e3, wall.Seconds()*1e3)
		s.Close()
	}
}
