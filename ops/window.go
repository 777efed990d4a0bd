package ops

import (
	"math"

	"github.com/vkseq/vkseq/stftopt"
)

// HannWindow returns torch.hann_window(n, periodic) rounded to float32 (computed in float64):
//
//	periodic:  w[k] = 0.5 − 0.5 cos(2πk / n)
//	symmetric: w[k] = 0.5 − 0.5 cos(2πk / (n − 1))
//
// for k < n. As torch, n = 1 gives [1] and n = 0 an empty window. n < 0 is an error wrapping
// ErrInvalidArgument.
func HannWindow(n int, periodic bool) ([]float32, error) {
	if n < 0 {
		return nil, shapeErr("hann_window", "window_length = %d, want >= 0", n)
	}
	return toF32(hann(n, periodic)), nil
}

// STFTWindow returns the [NFFT] window that STFT and ISTFT apply for opt, rounded to float32:
// opt.Window, or the window named by opt.WindowKind, of length WinLength, zero-padded on both sides
// to NFFT with (NFFT − WinLength)/2 zeros on the left, as torch.stft does. Errors are those of
// NewSTFTPlan's option checks.
func STFTWindow(opt STFTOptions) ([]float32, error) {
	p, err := resolveSTFT("stft_window", opt)
	if err != nil {
		return nil, err
	}
	return toF32(p.window), nil
}

// hann is the Hann window of length n in float64.
func hann(n int, periodic bool) []float64 {
	w := make([]float64, n)
	if n == 1 {
		w[0] = 1
		return w
	}
	den := float64(n)
	if !periodic {
		den = float64(n - 1)
	}
	for k := range w {
		w[k] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(k)/den)
	}
	return w
}

// paddedWindow is the [NFFT] float64 window of resolved options: the window of length Win placed
// at (NFFT − Win)/2 in zeros.
func paddedWindow(p stftopt.Params) []float64 {
	var w []float64
	switch p.Kind {
	case stftopt.KindGiven:
		w = p.Window
	case stftopt.KindOnes:
		w = make([]float64, p.Win)
		for i := range w {
			w[i] = 1
		}
	default:
		w = hann(p.Win, true)
	}
	out := make([]float64, p.NFFT)
	copy(out[(p.NFFT-p.Win)/2:], w)
	return out
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
