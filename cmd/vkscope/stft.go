package main

// Every call into ops is in this file, so that a change of the STFT API (plans that record on a
// stream) touches only it.

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// melFrontEnd turns blocks of samples into log-mel frames: the streaming STFT (ops.STFTStream,
// torch.stft's frames with a periodic Hann window, centred, reflect padding), the power
// spectrogram's mel projection (ops.Mel, HTK mel scale from 0 Hz to Nyquist, peak-1 triangles)
// and the natural log with a floor of 1e-10 (ops.LogMel).
type melFrontEnd struct {
	stft  *ops.STFTStream
	mel   *ops.Mel
	freqs int
	mels  int
	// centres are the centre frequencies (Hz) of the mel bands, for the axis and the tests.
	centres []float64
}

const logFloor = 1e-10

func newMelFrontEnd(d *gpu.Device, sampleRate, nfft, hop, mels int) (*melFrontEnd, error) {
	opt := ops.DefaultSTFTOptions(nfft)
	opt.HopLength = hop
	st, err := ops.NewSTFTStream(d, opt, 1)
	if err != nil {
		return nil, fmt.Errorf("STFT (n_fft %d, hop %d): %w", nfft, hop, err)
	}
	freqs := st.Freqs()
	fb, err := ops.MelFBanks(freqs, 0, float32(sampleRate)/2, mels, sampleRate, "", "htk")
	if err != nil {
		st.Close()
		return nil, err
	}
	mel, err := ops.NewMel(d, fb)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &melFrontEnd{stft: st, mel: mel, freqs: freqs, mels: mels, centres: melCentres(sampleRate, mels)}, nil
}

// push runs the STFT of a block of samples (one GPU submission, waited for) and records on s the
// log-mel of the frames that became complete, into a scratch tensor of s: logmel [mels, frames].
// It returns nil when no frame was completed.
func (fe *melFrontEnd) push(s *gpu.Stream, x []float32) (*gpu.Tensor, int, error) {
	spec, frames, err := fe.stft.Push(x)
	if err != nil || frames == 0 {
		return nil, 0, err
	}
	sp, err := s.Temp(gpu.F32, 1, fe.freqs, frames, 2)
	if err != nil {
		return nil, 0, err
	}
	if err := sp.WriteFloat32(spec); err != nil {
		return nil, 0, err
	}
	lm, err := s.Temp(gpu.F32, 1, fe.mels, frames)
	if err != nil {
		return nil, 0, err
	}
	if err := fe.mel.Spectrogram(s, lm, sp, 2); err != nil {
		return nil, 0, err
	}
	if err := ops.LogMel(s, lm, lm, logFloor); err != nil {
		return nil, 0, err
	}
	return lm, frames, nil
}

func (fe *melFrontEnd) Close() error {
	err := fe.stft.Close()
	if err2 := fe.mel.Close(); err == nil {
		err = err2
	}
	return err
}
