package reference

import (
	"fmt"
	"math"
)

// VocosParams are the sizes of a Vocos vocoder (gemelo-ai/vocos VocosBackbone + ISTFTHead).
type VocosParams struct {
	NMels, Dim, Intermediate, Layers int
	NFFT, Hop                        int    // the head's iSTFT (win_length = NFFT, periodic Hann)
	Padding                          string // "center" (torch.istft) or "same" (Vocos's ISTFT)
}

// VocosBlock holds one ConvNeXt block's weights in PyTorch's layouts.
type VocosBlock struct {
	DwW, DwB               []float64 // [Dim, 7], [Dim]
	NormW, NormB           []float64 // [Dim]
	Pw1W, Pw1B, Pw2W, Pw2B []float64 // [Intermediate, Dim], [Intermediate], [Dim, Intermediate], [Dim]
	Gamma                  []float64 // [Dim], nil when the checkpoint has no layer scale
}

// VocosWeights hold a Vocos vocoder's weights in PyTorch's layouts.
type VocosWeights struct {
	EmbedW, EmbedB      []float64 // [Dim, NMels, 7], [Dim]
	NormW, NormB        []float64
	Blocks              []VocosBlock
	FinalNormW, FinalNB []float64
	OutW, OutB          []float64 // [NFFT+2, Dim], [NFFT+2]
}

// VocosAudioLength is the number of samples Vocos's ISTFT head gives for the given frame count:
// Hop·(frames−1) with "center", Hop·(frames−1) + NFFT − 2·((NFFT−Hop)/2) with "same".
func VocosAudioLength(p VocosParams, frames int) int {
	if p.Padding == "center" {
		return p.Hop * (frames - 1)
	}
	return p.Hop*(frames-1) + p.NFFT - 2*((p.NFFT-p.Hop)/2)
}

// Vocos returns the audio [B, VocosAudioLength] of mel features [B, NMels, T] (log-mel):
// Conv1d embed (k 7, pad 3) → LayerNorm(1e-6) → ConvNeXt blocks (depthwise conv k 7 pad 3,
// LayerNorm, Linear, exact GELU, Linear, layer scale, residual) → final LayerNorm → Linear to
// NFFT+2 → magnitude min(exp(·), 100) and phase → inverse real DFT (imaginary parts of DC and
// Nyquist ignored) × periodic Hann → overlap-add ÷ the squared-window envelope → trim (NFFT/2 each
// side with "center", (NFFT−Hop)/2 with "same"). Every step is computed directly from its
// definition in float64 (the inverse DFT as a sum, O(NFFT²) per frame).
func Vocos(p VocosParams, w *VocosWeights, mel []float64, B, T int) ([]float64, error) {
	if B < 1 || T < 1 || len(mel) != B*p.NMels*T {
		return nil, fmt.Errorf("reference: vocos: len(mel) = %d with B=%d T=%d, want B·%d·T and B, T ≥ 1", len(mel), B, T, p.NMels)
	}
	if p.Padding != "center" && p.Padding != "same" {
		return nil, fmt.Errorf("reference: vocos: padding %q, want center or same", p.Padding)
	}
	D, I, n := p.Dim, p.Intermediate, p.NFFT
	x, _, err := Conv1D(mel, w.EmbedW, w.EmbedB, B, p.NMels, T, D, 7, 3)
	if err != nil {
		return nil, err
	}
	x = Transpose12(x, B, D, T) // [B, T, D]
	if x, err = LayerNorm(x, w.NormW, w.NormB, B*T, D, 1e-6); err != nil {
		return nil, err
	}
	linear := func(in, wt, b []float64, rows, k, m int) []float64 {
		out := make([]float64, rows*m)
		for r := range rows {
			for j := range m {
				s := b[j]
				for i := range k {
					s += in[r*k+i] * wt[j*k+i]
				}
				out[r*m+j] = s
			}
		}
		return out
	}
	for _, blk := range w.Blocks {
		h, _, err := DepthwiseConv1D(Transpose12(x, B, T, D), blk.DwW, blk.DwB, B, D, T, 7, 3)
		if err != nil {
			return nil, err
		}
		h = Transpose12(h, B, D, T)
		if h, err = LayerNorm(h, blk.NormW, blk.NormB, B*T, D, 1e-6); err != nil {
			return nil, err
		}
		u := GELU(linear(h, blk.Pw1W, blk.Pw1B, B*T, D, I))
		h = linear(u, blk.Pw2W, blk.Pw2B, B*T, I, D)
		for i := range x {
			g := 1.0
			if blk.Gamma != nil {
				g = blk.Gamma[i%D]
			}
			x[i] += g * h[i]
		}
	}
	if x, err = LayerNorm(x, w.FinalNormW, w.FinalNB, B*T, D, 1e-6); err != nil {
		return nil, err
	}
	y := linear(x, w.OutW, w.OutB, B*T, D, n+2)
	F := n/2 + 1
	win, err := HannWindow(n, true)
	if err != nil {
		return nil, err
	}
	total := n + p.Hop*(T-1)
	pad := n / 2
	if p.Padding == "same" {
		pad = (n - p.Hop) / 2
	}
	L := VocosAudioLength(p, T)
	audio := make([]float64, B*L)
	frame := make([]float64, n)
	for b := range B {
		acc, env := make([]float64, total), make([]float64, total)
		for m := range T {
			row := y[(b*T+m)*(n+2):]
			// irfft: x[k] = (1/n) Σ_f c_f Re(X_f e^{2πi f k/n}), c = 1 for DC and Nyquist, 2 otherwise;
			// Im of DC and Nyquist do not enter (Re(i·s·e^{0}) = 0 at f = 0; sin(πk) = 0 at f = n/2).
			for k := range n {
				s := 0.0
				for f := range F {
					mag := math.Min(math.Exp(row[f]), 100)
					ph := row[F+f]
					re, im := mag*math.Cos(ph), mag*math.Sin(ph)
					if f == 0 || (n%2 == 0 && f == n/2) {
						im = 0
					}
					ang := 2 * math.Pi * float64(f*k%n) / float64(n)
					c := 2.0
					if f == 0 || (n%2 == 0 && f == n/2) {
						c = 1
					}
					s += c * (re*math.Cos(ang) - im*math.Sin(ang))
				}
				frame[k] = s / float64(n)
			}
			for k := range n {
				acc[m*p.Hop+k] += frame[k] * win[k]
				env[m*p.Hop+k] += win[k] * win[k]
			}
		}
		for i := range L {
			e := env[pad+i]
			if !(e > 1e-11) {
				return nil, fmt.Errorf("reference: vocos: window envelope %g at sample %d fails NOLA", e, i)
			}
			audio[b*L+i] = acc[pad+i] / e
		}
	}
	return audio, nil
}

// VocosFeatures returns Vocos's MelSpectrogramFeatures of audio [B, S]: torchaudio's
// MelSpectrogram(sample_rate, n_fft, hop, n_mels, center = padding=="center", power=1) (periodic
// Hann, reflect padding, HTK mel scale, no norm, f_min 0, f_max sr/2), with "same" first
// reflect-padding (NFFT−Hop)/2 samples each side; then log(max(mel, 1e-7)). Out [B, NMels, T].
func VocosFeatures(p VocosParams, sampleRate int, audio []float64, B, S int) ([]float64, int, error) {
	opt := DefaultSTFTOptions(p.NFFT)
	opt.HopLength = p.Hop
	x := audio
	if p.Padding == "same" {
		pad := (p.NFFT - p.Hop) / 2
		if pad >= S {
			return nil, 0, fmt.Errorf("reference: vocos features: %d samples, want more than the padding %d", S, pad)
		}
		x = make([]float64, B*(S+2*pad))
		for b := range B {
			for i := range S + 2*pad {
				j := i - pad
				if j < 0 {
					j = -j
				} else if j >= S {
					j = 2*(S-1) - j
				}
				x[b*(S+2*pad)+i] = audio[b*S+j]
			}
		}
		S += 2 * pad
		opt.Center = false
	}
	spec, freqs, frames, err := STFT(x, B, S, opt)
	if err != nil {
		return nil, 0, err
	}
	mag, err := PowerSpectrogram(spec, B, freqs, frames, 1)
	if err != nil {
		return nil, 0, err
	}
	fb, err := MelFBanks(freqs, 0, float64(sampleRate)/2, p.NMels, sampleRate, "none", "htk")
	if err != nil {
		return nil, 0, err
	}
	mel, err := MelSpectrogram(mag, B, freqs, frames, fb, p.NMels)
	if err != nil {
		return nil, 0, err
	}
	out, err := LogMel(mel, 1e-7)
	return out, frames, err
}
