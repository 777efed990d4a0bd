package reference

import (
	"fmt"
	"math"

	"github.com/vkseq/vkseq/stftopt"
)

// STFTOptions are the parameters of STFT and ISTFT, named after torch.stft / torch.istft (see
// stftopt.Options: the zero value of a field means its default; DefaultSTFTOptions gives torch's
// defaults). The options type and the resolution of its defaults are shared with ops; the window
// values are computed here, from the formulas (HannWindow).
type STFTOptions = stftopt.Options

// DefaultSTFTOptions returns torch.stft's defaults for a real signal with the Hann window of
// docs/design.md §9: HopLength NFFT/4, WinLength NFFT, periodic Hann, Center true, PadMode
// "reflect", Normalized false, Onesided true.
func DefaultSTFTOptions(nfft int) STFTOptions { return stftopt.Default(nfft) }

// stftParams are resolved options with the window.
type stftParams struct {
	nfft, hop, win int
	window         []float64 // length nfft, padded
	center         bool
	reflect        bool
	normalized     bool
	onesided       bool
	freqs          int
	sp             stftopt.Params
}

func stftResolve(op string, o STFTOptions) (stftParams, error) {
	var p stftParams
	sp, err := stftopt.Resolve(o)
	if err != nil {
		return p, fmt.Errorf("reference: %s: %v", op, err)
	}
	p.sp = sp
	p.nfft, p.hop, p.win = sp.NFFT, sp.Hop, sp.Win
	var w []float64
	switch sp.Kind {
	case stftopt.KindGiven:
		w = sp.Window
	case stftopt.KindHann:
		w, _ = HannWindow(p.win, true)
	case stftopt.KindOnes:
		w = make([]float64, p.win)
		for i := range w {
			w[i] = 1
		}
	}
	p.window = make([]float64, p.nfft)
	copy(p.window[(p.nfft-p.win)/2:], w)
	p.reflect = sp.Reflect
	p.center, p.normalized, p.onesided = sp.Center, sp.Normalized, sp.Onesided
	p.freqs = sp.Freqs
	return p, nil
}

// frames returns the frame count for a signal of the given length, or an
// error naming n_fft or pad_mode.
func (p stftParams) frames(op string, length int) (int, error) {
	n, err := p.sp.Frames(length)
	if err != nil {
		return 0, fmt.Errorf("reference: %s: %v", op, err)
	}
	return n, nil
}

// STFTShape returns the frequency and frame counts of STFT for one signal of
// the given length: F = NFFT/2+1 if Onesided, else NFFT; frames = 1 +
// (L_pad − NFFT)/HopLength (rounded down) with L_pad = length + 2·(NFFT/2)
// when Center, else length.
func STFTShape(length int, opt STFTOptions) (freqs, frames int, err error) {
	p, err := stftResolve("stft", opt)
	if err != nil {
		return 0, 0, err
	}
	if length < 0 {
		return 0, 0, fmt.Errorf("reference: stft: length = %d, want >= 0", length)
	}
	frames, err = p.frames("stft", length)
	return p.freqs, frames, err
}

// STFT is torch.stft(x, ..., return_complex=True) viewed as real, in float64,
// computed with a direct O(n_fft²) DFT per frame. x is [batch, length]; the
// result is [batch, freqs, frames, 2] (re, im interleaved), freqs and frames
// as in STFTShape:
//
//	X[b, f, m] = s Σ_{k<NFFT} window[k] xp[b, m·hop + k] e^{−2πi f k / NFFT}
//
// where xp is x padded by NFFT/2 on each side when Center (reflect or zeros),
// window is STFTWindow(opt), and s = 1/sqrt(NFFT) if Normalized, else 1.
// x is not modified. Errors name the bad parameter: n_fft (< 1, or longer than
// the padded signal), hop_length, win_length, window, pad_mode (reflect
// needing more samples than the signal has), x (wrong length).
func STFT(x []float64, batch, length int, opt STFTOptions) (out []float64, freqs, frames int, err error) {
	const op = "stft"
	p, err := stftResolve(op, opt)
	if err != nil {
		return nil, 0, 0, err
	}
	if batch < 0 || length < 0 {
		return nil, 0, 0, fmt.Errorf("reference: %s: batch = %d, length = %d, want both >= 0", op, batch, length)
	}
	if len(x) != batch*length {
		return nil, 0, 0, fmt.Errorf("reference: %s: x has %d elements, want [B,L] = [%d,%d] = %d", op, len(x), batch, length, batch*length)
	}
	frames, err = p.frames(op, length)
	if err != nil {
		return nil, 0, 0, err
	}
	n, nf := p.nfft, p.freqs
	cosT, sinT := dftTables(n)
	scale := 1.0
	if p.normalized {
		scale = 1 / math.Sqrt(float64(n))
	}
	pad := 0
	if p.center {
		pad = n / 2
	}
	out = make([]float64, batch*nf*frames*2)
	fr := make([]float64, n)
	for b := 0; b < batch; b++ {
		sig := x[b*length : (b+1)*length]
		for m := 0; m < frames; m++ {
			for k := 0; k < n; k++ {
				fr[k] = p.window[k] * stftPadded(sig, m*p.hop+k-pad, p.reflect)
			}
			for f := 0; f < nf; f++ {
				var re, im float64
				for k := 0; k < n; k++ {
					j := (f * k) % n
					re += fr[k] * cosT[j]
					im -= fr[k] * sinT[j]
				}
				o := ((b*nf+f)*frames + m) * 2
				out[o], out[o+1] = scale*re, scale*im
			}
		}
	}
	return out, nf, frames, nil
}

// stftPadded reads sample i of sig extended on both sides by reflection
// (numpy 'reflect': sig[-j] = sig[j]) or by zeros. Callers keep i within
// one reflection of the signal.
func stftPadded(sig []float64, i int, reflect bool) float64 {
	l := len(sig)
	if i >= 0 && i < l {
		return sig[i]
	}
	if !reflect {
		return 0
	}
	if i < 0 {
		return sig[-i]
	}
	return sig[2*(l-1)-i]
}

// dftTables returns cos(2πj/n) and sin(2πj/n) for j < n.
func dftTables(n int) (cosT, sinT []float64) {
	cosT, sinT = make([]float64, n), make([]float64, n)
	for j := 0; j < n; j++ {
		a := 2 * math.Pi * float64(j) / float64(n)
		cosT[j], sinT[j] = math.Cos(a), math.Sin(a)
	}
	return cosT, sinT
}

// ISTFT is torch.istft(spec, ..., return_complex=False) in float64. spec is
// [batch, freqs, frames, 2] (re, im), with freqs = NFFT/2+1 if Onesided,
// else NFFT; the result is y [batch, outLen].
//
// Each frame is inverted as torch's real inverse FFT (irfft, n = NFFT) of
// the bins 0..NFFT/2 — for a two-sided spec the bins above NFFT/2 are
// ignored, as torch does — i.e. the spectrum is completed by Hermitian
// symmetry, X[NFFT−f] = conj(X[f]), with the imaginary parts of the DC bin
// and (NFFT even) the Nyquist bin taken as 0:
//
//	frame[k] = s Σ_{f<NFFT} Re(X[f] e^{2πi f k / NFFT}),   s = 1/NFFT (1/sqrt(NFFT) if Normalized)
//
// Frames are multiplied by the window, overlap-added at multiples of
// HopLength over NFFT + HopLength·(frames−1) samples, and divided by the
// overlap-added squared window (the envelope). The kept samples start at
// NFFT/2 when Center (else 0) and run for Length samples if given, else to
// the end less NFFT/2 when Center; samples past the overlap-added signal are
// zeros (torch pads them). The envelope must be >= 1e-11 everywhere in the
// kept range, else the error names NOLA. As torch, HopLength must not exceed
// WinLength (frames would not overlap, so NOLA fails between them).
//
// Where torch differs: with NFFT = 1, Center and no Length torch slices to
// an empty signal and fails; here the kept range is [0, frames).
func ISTFT(spec []float64, batch, freqs, frames int, opt STFTOptions) (y []float64, outLen int, err error) {
	const op = "istft"
	p, err := stftResolve(op, opt)
	if err != nil {
		return nil, 0, err
	}
	if p.hop > p.win {
		return nil, 0, fmt.Errorf("reference: %s: hop_length = %d, want 0 < hop_length <= win_length = %d (as torch.istft: with hop_length > win_length frames do not overlap and the window envelope is zero between them, failing NOLA)", op, p.hop, p.win)
	}
	if opt.Length < 0 {
		return nil, 0, fmt.Errorf("reference: %s: length = %d, want >= 0 (0 means not given)", op, opt.Length)
	}
	if freqs != p.freqs {
		side := "n_fft when onesided is false"
		if p.onesided {
			side = "n_fft/2+1 when onesided is true"
		}
		return nil, 0, fmt.Errorf("reference: %s: spec has %d frequencies, want %d (%s)", op, freqs, p.freqs, side)
	}
	if batch < 0 || frames < 1 {
		return nil, 0, fmt.Errorf("reference: %s: spec has batch = %d, frames = %d, want batch >= 0 and frames >= 1", op, batch, frames)
	}
	if len(spec) != batch*freqs*frames*2 {
		return nil, 0, fmt.Errorf("reference: %s: spec has %d elements, want [B,F,frames,2] = [%d,%d,%d,2] = %d", op, len(spec), batch, freqs, frames, batch*freqs*frames*2)
	}
	n, hop := p.nfft, p.hop
	total := n + hop*(frames-1)
	env := make([]float64, total)
	for m := 0; m < frames; m++ {
		for k := 0; k < n; k++ {
			env[m*hop+k] += p.window[k] * p.window[k]
		}
	}
	start, end := 0, total
	if p.center {
		start = n / 2
		end = total - n/2
	}
	if opt.Length > 0 {
		end = start + opt.Length
	}
	kept := min(end, total) - start
	for i := start; i < start+kept; i++ {
		if !(math.Abs(env[i]) >= 1e-11) {
			return nil, 0, fmt.Errorf("reference: %s: window overlap-add envelope is %.3g at sample %d of the kept range (want >= 1e-11): the window and hop_length = %d fail NOLA", op, env[i], i-start, hop)
		}
	}
	outLen = end - start

	cosT, sinT := dftTables(n)
	scale := 1 / float64(n)
	if p.normalized {
		scale = 1 / math.Sqrt(float64(n))
	}
	y = make([]float64, batch*outLen)
	ola := make([]float64, total)
	full := make([]complex128, n)
	frame := make([]float64, n)
	for b := 0; b < batch; b++ {
		clear(ola)
		for m := 0; m < frames; m++ {
			bin := func(f int) complex128 {
				o := ((b*freqs+f)*frames + m) * 2
				return complex(spec[o], spec[o+1])
			}
			// Hermitian completion from bins 0..n/2.
			full[0] = complex(real(bin(0)), 0)
			for f := 1; f <= n/2; f++ {
				v := bin(f)
				if 2*f == n {
					v = complex(real(v), 0)
				}
				full[f] = v
				full[n-f] = complex(real(v), -imag(v))
			}
			for k := 0; k < n; k++ {
				acc := 0.0
				for f := 0; f < n; f++ {
					j := (f * k) % n
					acc += real(full[f])*cosT[j] - imag(full[f])*sinT[j]
				}
				frame[k] = scale * acc
			}
			for k := 0; k < n; k++ {
				ola[m*hop+k] += frame[k] * p.window[k]
			}
		}
		row := y[b*outLen : (b+1)*outLen]
		for i := 0; i < kept; i++ {
			row[i] = ola[start+i] / env[start+i]
		}
	}
	return y, outLen, nil
}
