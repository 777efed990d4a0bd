package ops

import (
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// Go benchmarks of the STFT family (STFT, ISTFT, the mel spectrogram) at `vkbench bench`'s sizes:
// 60 s of 16 kHz audio, n_fft 512 hop 128 (see bench_test.go for what they report).

func BenchmarkSTFT(b *testing.B) {
	const sr, nfft, hop = 16000, 512, 128
	for _, batch := range []int{1, 8} {
		l := 60 * sr
		opt := DefaultSTFTOptions(nfft)
		opt.HopLength = hop
		f, frames, err := STFTShape(l, opt)
		if err != nil {
			b.Fatal(err)
		}
		x, spec := benchTensor(b, gpu.F32, batch, l), benchOut(b, gpu.F32, batch, f, frames, 2)
		b.Run(fmt.Sprintf("stft/B=%d_L=%d_n_fft=%d_hop=%d", batch, l, nfft, hop), func(b *testing.B) {
			benchOp(b, func(s *gpu.Stream) error { return STFT(s, spec, x, opt) })
		})
		b.Run(fmt.Sprintf("istft/B=%d_L=%d_n_fft=%d_hop=%d", batch, l, nfft, hop), func(b *testing.B) {
			// A spectrum of a real signal, so that the inverse is well defined.
			s0, err := device(b).NewStream()
			if err != nil {
				b.Fatal(err)
			}
			defer s0.Close()
			if err := STFT(s0, spec, x, opt); err != nil {
				b.Fatal(err)
			}
			if err := s0.Run(); err != nil {
				b.Fatal(err)
			}
			n, err := ISTFTShape(frames, opt)
			if err != nil {
				b.Fatal(err)
			}
			y := benchOut(b, gpu.F32, batch, n)
			benchOp(b, func(s *gpu.Stream) error { return ISTFT(s, y, spec, opt) })
		})
	}
}

func BenchmarkMelSpectrogram(b *testing.B) {
	const sr, nfft, hop, mels = 16000, 512, 128, 80
	l := 60 * sr
	opt := DefaultSTFTOptions(nfft)
	opt.HopLength = hop
	f, frames, err := STFTShape(l, opt)
	if err != nil {
		b.Fatal(err)
	}
	fb, err := MelFBanks(f, 0, float32(sr)/2, mels, sr, "", "htk")
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMel(device(b), fb)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	x, spec, mel := benchTensor(b, gpu.F32, 1, l), benchOut(b, gpu.F32, 1, f, frames, 2), benchOut(b, gpu.F32, 1, mels, frames)
	b.Run(fmt.Sprintf("stft+mel/B=1_L=%d_n_fft=%d_hop=%d_mels=%d", l, nfft, hop, mels), func(b *testing.B) {
		benchOp(b, func(s *gpu.Stream) error {
			if err := STFT(s, spec, x, opt); err != nil {
				return err
			}
			if err := m.Spectrogram(s, mel, spec, 2); err != nil {
				return err
			}
			return LogMel(s, mel, mel, 1e-10)
		})
	})
}
