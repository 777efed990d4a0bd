package reference

import (
	"fmt"
	"math"
)

// HannWindow returns torch.hann_window(n, periodic) in float64:
//
//	periodic:  w[k] = 0.5 − 0.5 cos(2πk / n)
//	symmetric: w[k] = 0.5 − 0.5 cos(2πk / (n − 1))
//
// for k < n. As in torch, n = 1 gives [1] and n = 0 an empty window; n < 0 is
// an error.
func HannWindow(n int, periodic bool) ([]float64, error) {
	if n < 0 {
		return nil, fmt.Errorf("reference: hann_window: window_length = %d, want >= 0", n)
	}
	w := make([]float64, n)
	if n == 1 {
		w[0] = 1
		return w, nil
	}
	den := float64(n)
	if !periodic {
		den = float64(n - 1)
	}
	for k := range w {
		w[k] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(k)/den)
	}
	return w, nil
}

// STFTWindow returns the length-NFFT analysis window that STFT and ISTFT
// apply for these options: opt.Window, or the window named by
// opt.WindowKind, of length WinLength, zero-padded on both sides to NFFT
// with (NFFT − WinLength)/2 (rounded down) zeros on the left, as torch.stft
// does. Errors are those of STFT's option checks.
func STFTWindow(opt STFTOptions) ([]float64, error) {
	p, err := stftResolve("stft_window", opt)
	if err != nil {
		return nil, err
	}
	return p.window, nil
}
