package ops

import (
	"math"
)

// FilterBank is a mel filterbank as Mel uses it: Data [Freqs, Mels] row-major (frequency-major,
// applied as specᵀ·fb), in float64 so that Mel's pseudo-inverse is computed from the exact
// filters (the device copy is float32).
type FilterBank struct {
	Freqs, Mels int
	Data        []float64
}

// Float32 returns Data rounded to float32.
func (fb FilterBank) Float32() []float32 { return toF32(fb.Data) }

// MelFBanks is torchaudio.functional.melscale_fbanks(nFreqs, fMin, fMax, nMels, sampleRate, norm,
// melScale), computed in float64 on the host: fb [nFreqs, nMels] with
//
//	all_freqs = linspace(0, sampleRate // 2, nFreqs)
//	f_pts     = mel⁻¹(linspace(mel(fMin), mel(fMax), nMels + 2))
//	fb[i, j]  = max(0, min((all_freqs[i] − f_pts[j]) / (f_pts[j+1] − f_pts[j]),
//	                       (f_pts[j+2] − all_freqs[i]) / (f_pts[j+2] − f_pts[j+1])))
//
// on the mel scale melScale: "htk" (or "", torchaudio's default: 2595 log10(1 + f/700)) or
// "slaney" (linear below 1 kHz, logarithmic above). norm "slaney" scales filter j by
// 2 / (f_pts[j+2] − f_pts[j]) (unit area); "" or "none" leaves peaks of 1. With norm and melScale
// both "slaney" and nFreqs = n_fft/2+1 this is librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)
// transposed (for even sampleRate). Errors wrap ErrInvalidArgument and name the parameter: n_freqs < 1,
// n_mels < 1, sample_rate <= 0, f_min < 0, f_max <= f_min (or non-finite), norm, mel_scale.
func MelFBanks(nFreqs int, fMin, fMax float32, nMels, sampleRate int, norm, melScale string) (FilterBank, error) {
	const op = "mel_fbanks"
	var fb FilterBank
	switch {
	case nFreqs < 1:
		return fb, shapeErr(op, "n_freqs = %d, want >= 1", nFreqs)
	case nMels < 1:
		return fb, shapeErr(op, "n_mels = %d, want >= 1", nMels)
	case sampleRate <= 0:
		return fb, shapeErr(op, "sample_rate = %d, want > 0", sampleRate)
	case !(fMin >= 0) || math.IsInf(float64(fMin), 1):
		return fb, shapeErr(op, "f_min = %v, want a finite value >= 0", fMin)
	case !(fMax > fMin) || math.IsInf(float64(fMax), 1):
		return fb, shapeErr(op, "f_max = %v, want a finite value > f_min = %v", fMax, fMin)
	}
	var toMel, toHz func(float64) float64
	switch melScale {
	case "", "htk":
		toMel = func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
		toHz = func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	case "slaney":
		// linear (3 per 200 Hz) up to 1 kHz = mel 15, then 27 mels per factor 6.4
		step := math.Log(6.4) / 27
		toMel = func(f float64) float64 {
			if f < 1000 {
				return 3 * f / 200
			}
			return 15 + math.Log(f/1000)/step
		}
		toHz = func(m float64) float64 {
			if m < 15 {
				return 200 * m / 3
			}
			return 1000 * math.Exp(step*(m-15))
		}
	default:
		return fb, shapeErr(op, "mel_scale = %q, want \"htk\" or \"slaney\"", melScale)
	}
	var area bool
	switch norm {
	case "", "none":
	case "slaney":
		area = true
	default:
		return fb, shapeErr(op, "norm = %q, want \"none\" (or \"\") or \"slaney\"", norm)
	}
	mLo, mHi := toMel(float64(fMin)), toMel(float64(fMax))
	pts := make([]float64, nMels+2)
	for i := range pts {
		pts[i] = toHz(mLo + float64(i)*(mHi-mLo)/float64(nMels+1))
	}
	pts[nMels+1] = toHz(mHi)
	nyq := float64(sampleRate / 2)
	fb = FilterBank{Freqs: nFreqs, Mels: nMels, Data: make([]float64, nFreqs*nMels)}
	for i := 0; i < nFreqs; i++ {
		f := 0.0
		if nFreqs > 1 {
			f = nyq * float64(i) / float64(nFreqs-1)
		}
		for j := 0; j < nMels; j++ {
			lo, mid, hi := pts[j], pts[j+1], pts[j+2]
			v := max(0, min((f-lo)/(mid-lo), (hi-f)/(hi-mid)))
			if area {
				v *= 2 / (hi - lo)
			}
			fb.Data[i*nMels+j] = v
		}
	}
	return fb, nil
}
