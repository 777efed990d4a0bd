package models

import (
	"context"
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// FeatureFrames is the number of mel frames Features gives for audio of the given length:
// 1 + samples/hop with "center" padding, 1 + (samples + 2·((n_fft−hop)/2) − n_fft)/hop with "same".
func (c VocosConfig) FeatureFrames(samples int) int {
	if c.FeaturePadding == "center" {
		return 1 + samples/c.HopLength
	}
	return 1 + (samples+2*((c.NFFT-c.HopLength)/2)-c.NFFT)/c.HopLength
}

// vocosSTFT records the magnitude STFT Vocos's features use (torch.stft with a periodic Hann
// window, no centring: the caller reflect-pads): x [B, L] into spec [B, n_fft/2+1, frames, 2].
// This is the model's only call into the STFT API.
func vocosSTFT(s *gpu.Stream, spec, x *gpu.Tensor, c VocosConfig) error {
	opt := ops.DefaultSTFTOptions(c.NFFT)
	opt.HopLength = c.HopLength
	opt.Center = false
	return ops.STFT(s, spec, x, opt)
}

// Features computes Vocos's MelSpectrogramFeatures of host audio [batch, samples]:
// log(max(mel, 1e-7)) of torchaudio's MelSpectrogram(power=1, center = FeaturePadding=="center",
// periodic Hann, reflect padding, HTK mel scale without norm), "same" padding first
// reflect-padding (n_fft−hop)/2 samples on each side. It returns mel [batch, NMels, frames] and
// frames. Audio must be finite and longer than the reflect padding (n_fft/2 samples with
// "center"). The signal is reflect-padded on the host and long inputs go through the GPU in chunks
// of frames.
func (v *Vocos) Features(ctx context.Context, audio []float32, batch, samples int) ([]float32, int, error) {
	c := v.Config
	if v.mel == nil {
		return nil, 0, fmt.Errorf("models: vocos: %w", gpu.ErrClosed)
	}
	pad := c.NFFT / 2
	if c.FeaturePadding == "same" {
		pad = (c.NFFT - c.HopLength) / 2
	}
	if batch < 1 || samples <= pad || len(audio) != batch*samples {
		return nil, 0, fmt.Errorf("%w: models: vocos features: %d values for batch %d × %d samples: want batch ≥ 1 and more than %d samples (the reflect padding)", ops.ErrInvalidArgument, len(audio), batch, samples, pad)
	}
	for i, x := range audio {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, 0, fmt.Errorf("%w: models: vocos features: audio sample %d is %v", ops.ErrInvalidArgument, i, x)
		}
	}
	L := samples + 2*pad
	x := make([]float32, batch*L)
	for b := range batch {
		for i := range L {
			j := i - pad
			if j < 0 {
				j = -j
			} else if j >= samples {
				j = 2*(samples-1) - j
			}
			x[b*L+i] = audio[b*samples+j]
		}
	}
	frames := c.FeatureFrames(samples)
	freqs := c.NFFT/2 + 1
	chunk := max(vocosChunkBytes/(8*batch*freqs), 1)
	out := make([]float32, batch*c.NMels*frames)
	for f0 := 0; f0 < frames; f0 += chunk {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		k := min(chunk, frames-f0)
		n := (k-1)*c.HopLength + c.NFFT
		part := make([]float32, batch*n)
		for b := range batch {
			copy(part[b*n:(b+1)*n], x[b*L+f0*c.HopLength:])
		}
		m, err := v.featureChunk(part, batch, n, k)
		if err != nil {
			return nil, 0, err
		}
		for i := range batch * c.NMels {
			copy(out[i*frames+f0:i*frames+f0+k], m[i*k:(i+1)*k])
		}
	}
	return out, frames, nil
}

// featureChunk computes the log-mel features of padded audio [batch, n] with frames frames.
func (v *Vocos) featureChunk(x []float32, batch, n, frames int) ([]float32, error) {
	c := v.Config
	xt, err := v.d.FromFloat32(x, batch, n)
	if err != nil {
		return nil, err
	}
	defer xt.Close()
	mel, err := v.d.NewTensor(gpu.F32, batch, c.NMels, frames)
	if err != nil {
		return nil, err
	}
	defer mel.Close()
	err = v.run(func(s *gpu.Stream) error {
		spec, err := s.Temp(gpu.F32, batch, c.NFFT/2+1, frames, 2)
		if err != nil {
			return err
		}
		if err := vocosSTFT(s, spec, xt, c); err != nil {
			return err
		}
		if err := v.mel.Spectrogram(s, mel, spec, 1); err != nil {
			return err
		}
		return ops.LogMel(s, mel, mel, vocosLogFloor)
	})
	if err != nil {
		return nil, err
	}
	return mel.ReadFloat32()
}
