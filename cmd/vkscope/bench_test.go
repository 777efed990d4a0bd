package main

import (
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// BenchmarkFrame measures one headless frame of the app's default settings (n_fft 1024, hop 256,
// 128 mels, 800×400 pixels, 1/60 s of a 16 kHz signal per frame): the STFT push, and the stream
// with the mel projection, log, ring update and render. It reports the stream's GPU time per frame.
func BenchmarkFrame(b *testing.B) {
	d, err := gpu.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	sig := source{name: "test", x: testSignal(16000), rate: 16000}
	sk, err := newStack(d, scopeConfig{SampleRate: 16000, NFFT: 1024, Hop: 256, Mels: 128, History: 5, Colormap: "viridis"}, []source{sig})
	if err != nil {
		b.Fatal(err)
	}
	defer sk.Close()
	s, err := newStream(d)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	img, err := d.NewTensor(gpu.I32, 400, 800)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	var gpuTime time.Duration
	pos := 0
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		next := pos + 16000/60
		if _, err := frame(s, sk, pos, next, img, false); err != nil {
			b.Fatal(err)
		}
		pos = next
		if err := s.Wait(); err != nil {
			b.Fatal(err)
		}
		gpuTime += s.Elapsed()
	}
	b.ReportMetric(float64(gpuTime.Microseconds())/1000/float64(b.N), "gpu-ms/frame")
}
