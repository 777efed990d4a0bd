package reference

import (
	"fmt"
	"math"
)

// Slaney mel scale constants (Auditory Toolbox; librosa and torchaudio).
const (
	melSlaneyHzPerMel = 200.0 / 3 // linear part: mel = f / (200/3)
	melSlaneyMinLogHz = 1000.0    // log part starts here, at mel 15
)

var melSlaneyLogStep = math.Log(6.4) / 27

// HzToMel converts a frequency in Hz to mels, on the HTK scale (htk true:
// 2595 log10(1 + f/700)) or the Slaney scale (htk false: f / (200/3) below
// 1000 Hz, 15 + ln(f/1000) / (ln(6.4)/27) from 1000 Hz up), as
// torchaudio's and librosa's hz_to_mel.
func HzToMel(hz float64, htk bool) float64 {
	if htk {
		return 2595 * math.Log10(1+hz/700)
	}
	if hz >= melSlaneyMinLogHz {
		return melSlaneyMinLogHz/melSlaneyHzPerMel + math.Log(hz/melSlaneyMinLogHz)/melSlaneyLogStep
	}
	return hz / melSlaneyHzPerMel
}

// MelToHz is the inverse of HzToMel: HTK 700 (10^(m/2595) − 1); Slaney
// (200/3) m below mel 15, 1000 exp((ln(6.4)/27) (m − 15)) from 15 up.
func MelToHz(mel float64, htk bool) float64 {
	if htk {
		return 700 * (math.Pow(10, mel/2595) - 1)
	}
	minLogMel := melSlaneyMinLogHz / melSlaneyHzPerMel
	if mel >= minLogMel {
		return melSlaneyMinLogHz * math.Exp(melSlaneyLogStep*(mel-minLogMel))
	}
	return melSlaneyHzPerMel * mel
}

// MelFBanks is torchaudio.functional.melscale_fbanks in float64. It returns
// fb [nFreqs, nMels] (frequency-major, to be applied as specᵀ · fb):
//
//	all_freqs = linspace(0, sampleRate/2, nFreqs)   (integer division sampleRate // 2, as torchaudio)
//	f_pts     = mel⁻¹(linspace(mel(fMin), mel(fMax), nMels + 2))
//	fb[i, j]  = max(0, min((all_freqs[i] − f_pts[j]) / (f_pts[j+1] − f_pts[j]),
//	                       (f_pts[j+2] − all_freqs[i]) / (f_pts[j+2] − f_pts[j+1])))
//
// norm "slaney" then multiplies filter j by 2 / (f_pts[j+2] − f_pts[j])
// (unit area); "" or "none" leaves the triangles with peak 1. melScale is
// "htk" (torchaudio's default; "" means htk) or "slaney". linspace(a, b, n)
// is a + i (b − a)/(n − 1) with the last point exactly b ([a] when n = 1).
// Like torchaudio, filters that fall between two bins come out all zero
// (torchaudio warns; this returns them silently).
//
// Errors name the parameter: n_freqs < 1, n_mels < 1, sample_rate <= 0,
// f_min < 0, f_max <= f_min (or non-finite values), an unknown norm or
// mel_scale.
func MelFBanks(nFreqs int, fMin, fMax float64, nMels, sampleRate int, norm, melScale string) ([]float64, error) {
	const op = "mel_fbanks"
	if nFreqs < 1 {
		return nil, fmt.Errorf("reference: %s: n_freqs = %d, want >= 1", op, nFreqs)
	}
	if sampleRate <= 0 {
		return nil, fmt.Errorf("reference: %s: sample_rate = %d, want > 0", op, sampleRate)
	}
	var htk bool
	switch melScale {
	case "", "htk":
		htk = true
	case "slaney":
	default:
		return nil, fmt.Errorf("reference: %s: mel_scale = %q, want \"htk\" or \"slaney\"", op, melScale)
	}
	slaneyNorm, fPts, err := melPoints(op, fMin, fMax, nMels, htk, norm)
	if err != nil {
		return nil, err
	}
	freqs := melLinspace(0, float64(sampleRate/2), nFreqs)
	fb := make([]float64, nFreqs*nMels)
	for i, f := range freqs {
		for j := 0; j < nMels; j++ {
			fb[i*nMels+j] = melTriangle(f, fPts, j, slaneyNorm)
		}
	}
	return fb, nil
}

// LibrosaMel is librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk,
// norm) in float64 (librosa stores float32). It returns weights
// [nMels, 1 + nFFT/2] (mel-major, to be applied as weights · spec).
//
// It differs from MelFBanks only in these points, each taken from librosa:
//   - the frequency grid is that of the real FFT, np.fft.rfftfreq(n_fft,
//     1/sr): bin k is at k·sr/nFFT for k <= nFFT/2. For odd nFFT the top bin
//     lies below sr/2, and sr may be fractional, where MelFBanks spaces
//     nFreqs points evenly from 0 to sampleRate // 2;
//   - the output is transposed: [nMels, freqs] instead of [freqs, nMels];
//   - htk = false (librosa's default) selects the Slaney scale, and fMax = 0
//     means sr/2 (librosa's fmax=None);
//   - the ramps are librosa's lower = −ramps[i]/fdiff[i], upper =
//     ramps[i+2]/fdiff[i+1] with ramps = mel_f − fftfreqs: algebraically the
//     same triangles as torchaudio's slopes (only rounding differs);
//   - norm "slaney" is librosa's default; here "" means "none" as in
//     MelFBanks, so ask for "slaney" explicitly. librosa's p-norm options
//     (a number) are not offered.
//
// Errors name the parameter: sr <= 0, n_fft < 1, n_mels < 1, fmin < 0,
// fmax <= fmin, an unknown norm.
func LibrosaMel(sr float64, nFFT, nMels int, fMin, fMax float64, htk bool, norm string) ([]float64, error) {
	const op = "librosa_mel"
	if !(sr > 0) || math.IsInf(sr, 1) {
		return nil, fmt.Errorf("reference: %s: sr = %v, want a finite value > 0", op, sr)
	}
	if nFFT < 1 {
		return nil, fmt.Errorf("reference: %s: n_fft = %d, want >= 1", op, nFFT)
	}
	if fMax == 0 {
		fMax = sr / 2
	}
	slaneyNorm, melF, err := melPoints(op, fMin, fMax, nMels, htk, norm)
	if err != nil {
		return nil, err
	}
	nf := 1 + nFFT/2
	w := make([]float64, nMels*nf)
	for k := 0; k < nf; k++ {
		f := float64(k) * (sr / float64(nFFT))
		for i := 0; i < nMels; i++ {
			w[i*nf+k] = melTriangle(f, melF, i, slaneyNorm)
		}
	}
	return w, nil
}

// melPoints validates the band parameters and returns whether Slaney
// normalisation is on and the nMels+2 band edges in Hz.
func melPoints(op string, fMin, fMax float64, nMels int, htk bool, norm string) (bool, []float64, error) {
	if nMels < 1 {
		return false, nil, fmt.Errorf("reference: %s: n_mels = %d, want >= 1", op, nMels)
	}
	if !(fMin >= 0) || math.IsInf(fMin, 1) {
		return false, nil, fmt.Errorf("reference: %s: f_min = %v, want a finite value >= 0", op, fMin)
	}
	if !(fMax > fMin) || math.IsInf(fMax, 1) {
		return false, nil, fmt.Errorf("reference: %s: f_max = %v, want a finite value > f_min = %v", op, fMax, fMin)
	}
	var slaney bool
	switch norm {
	case "", "none":
	case "slaney":
		slaney = true
	default:
		return false, nil, fmt.Errorf("reference: %s: norm = %q, want \"none\" (or \"\") or \"slaney\"", op, norm)
	}
	pts := melLinspace(HzToMel(fMin, htk), HzToMel(fMax, htk), nMels+2)
	for i, m := range pts {
		pts[i] = MelToHz(m, htk)
	}
	return slaney, pts, nil
}

// melTriangle is filter j at frequency f for band edges pts.
func melTriangle(f float64, pts []float64, j int, slaneyNorm bool) float64 {
	down := (f - pts[j]) / (pts[j+1] - pts[j])
	up := (pts[j+2] - f) / (pts[j+2] - pts[j+1])
	v := math.Max(0, math.Min(down, up))
	if slaneyNorm {
		v *= 2 / (pts[j+2] - pts[j])
	}
	return v
}

// melLinspace is n evenly spaced points from a to b, the last exactly b.
func melLinspace(a, b float64, n int) []float64 {
	x := make([]float64, n)
	if n == 1 {
		x[0] = a
		return x
	}
	step := (b - a) / float64(n-1)
	for i := range x {
		x[i] = a + float64(i)*step
	}
	x[n-1] = b
	return x
}

// PowerSpectrogram returns |X|^power [batch, freqs, frames] of a complex
// spectrogram spec [batch, freqs, frames, 2] (re, im), as torchaudio's
// Spectrogram(power): power 2 is re² + im², power 1 the magnitude. power
// must be finite and > 0.
func PowerSpectrogram(spec []float64, batch, freqs, frames int, power float64) ([]float64, error) {
	const op = "power_spectrogram"
	if batch < 0 || freqs < 0 || frames < 0 {
		return nil, fmt.Errorf("reference: %s: batch = %d, freqs = %d, frames = %d, want all >= 0", op, batch, freqs, frames)
	}
	if !(power > 0) || math.IsInf(power, 1) {
		return nil, fmt.Errorf("reference: %s: power = %v, want a finite value > 0", op, power)
	}
	n := batch * freqs * frames
	if len(spec) != 2*n {
		return nil, fmt.Errorf("reference: %s: spec has %d elements, want [B,F,frames,2] = [%d,%d,%d,2] = %d", op, len(spec), batch, freqs, frames, 2*n)
	}
	out := make([]float64, n)
	for i := range out {
		re, im := spec[2*i], spec[2*i+1]
		p := re*re + im*im
		if power != 2 {
			p = math.Pow(math.Hypot(re, im), power)
		}
		out[i] = p
	}
	return out, nil
}

// MelSpectrogram applies a filterbank fb [freqs, nMels] (MelFBanks'
// orientation; transpose a LibrosaMel matrix first) to a real spectrogram
// spec [batch, freqs, frames], as torchaudio's MelScale (specᵀ · fb)ᵀ:
//
//	mel[b, j, m] = Σ_f spec[b, f, m] fb[f, j]
//
// and returns mel [batch, nMels, frames].
func MelSpectrogram(spec []float64, batch, freqs, frames int, fb []float64, nMels int) ([]float64, error) {
	const op = "mel_spectrogram"
	if batch < 0 || freqs < 0 || frames < 0 || nMels < 0 {
		return nil, fmt.Errorf("reference: %s: batch = %d, freqs = %d, frames = %d, n_mels = %d, want all >= 0", op, batch, freqs, frames, nMels)
	}
	if len(spec) != batch*freqs*frames {
		return nil, fmt.Errorf("reference: %s: spec has %d elements, want [B,F,frames] = [%d,%d,%d] = %d", op, len(spec), batch, freqs, frames, batch*freqs*frames)
	}
	if len(fb) != freqs*nMels {
		return nil, fmt.Errorf("reference: %s: fb has %d elements, want [F,n_mels] = [%d,%d] = %d", op, len(fb), freqs, nMels, freqs*nMels)
	}
	out := make([]float64, batch*nMels*frames)
	for b := 0; b < batch; b++ {
		for j := 0; j < nMels; j++ {
			for m := 0; m < frames; m++ {
				acc := 0.0
				for f := 0; f < freqs; f++ {
					acc += spec[(b*freqs+f)*frames+m] * fb[f*nMels+j]
				}
				out[(b*nMels+j)*frames+m] = acc
			}
		}
	}
	return out, nil
}

// LogMel returns ln(max(x, floor)) element by element (natural log; divide
// by ln 10 for log10). floor must be finite and > 0. x is not modified.
func LogMel(x []float64, floor float64) ([]float64, error) {
	if !(floor > 0) || math.IsInf(floor, 1) {
		return nil, fmt.Errorf("reference: log_mel: floor = %v, want a finite value > 0", floor)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Log(math.Max(v, floor))
	}
	return out, nil
}
