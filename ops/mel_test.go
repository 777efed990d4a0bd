package ops

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// TestMelSpectrogram runs STFT → power → mel → log-mel on the GPU against the float64 chain
// (torchaudio's filterbank and librosa's, power 2 and magnitude), with the binding range lowered
// once so that the projection runs in batch groups.
func TestMelSpectrogram(t *testing.T) {
	d := device(t)
	r := newRand(t)
	defer func() { testBindLimit = 0 }()
	for _, c := range []struct {
		n, hop, mels, sr int
		power            float32
		librosa          bool
		limit            uint64
	}{{400, 160, 80, 16000, 2, false, 0}, {512, 128, 64, 16000, 1, true, 0}, {1024, 256, 128, 22050, 2, true, 0}, {64, 16, 8, 8000, 2, false, 12 << 10}} {
		b, l := 3, 6*c.n+11
		opt := DefaultSTFTOptions(c.n)
		opt.HopLength = c.hop
		x := rounded(randn(r, b*l, 1))
		spec, f, frames, err := reference.STFT(x, b, l, opt)
		if err != nil {
			t.Fatal(err)
		}
		// the GPU side uses ops' filterbank, the float64 side reference's (librosa's, transposed,
		// for the Slaney case): each computed from the formulas on its own
		var fb []float64
		var ofb FilterBank
		if c.librosa {
			w, err := reference.LibrosaMel(float64(c.sr), c.n, c.mels, 0, 0, false, "slaney")
			if err != nil {
				t.Fatal(err)
			}
			fb = transpose(w, c.mels, f)
			ofb, err = MelFBanks(f, 0, float32(c.sr/2), c.mels, c.sr, "slaney", "slaney")
			if err != nil {
				t.Fatal(err)
			}
		} else {
			fb, err = reference.MelFBanks(f, 0, float64(c.sr/2), c.mels, c.sr, "", "htk")
			if err != nil {
				t.Fatal(err)
			}
			ofb, err = MelFBanks(f, 0, float32(c.sr/2), c.mels, c.sr, "", "htk")
			if err != nil {
				t.Fatal(err)
			}
		}
		pow, _ := reference.PowerSpectrogram(spec, b, f, frames, float64(c.power))
		wantMel, _ := reference.MelSpectrogram(pow, b, f, frames, fb, c.mels)

		m, err := NewMel(d, ofb)
		if err != nil {
			t.Fatal(err)
		}
		testBindLimit = c.limit
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		xt := upload(t, d, gpu.F32, x, b, l)
		st := poisoned(t, d, gpu.F32, b, f, frames, 2)
		mel := poisoned(t, d, gpu.F32, b, c.mels, frames)
		logm := poisoned(t, d, gpu.F32, b, c.mels, frames)
		s := stream(t, d)
		if err := pl.Forward(s, st, xt); err != nil {
			t.Fatal(err)
		}
		if err := m.Spectrogram(s, mel, st, c.power); err != nil {
			t.Fatal(err)
		}
		if err := LogMel(s, logm, mel, 1e-10); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		gotMel, gotLog := read(t, mel), read(t, logm)
		checkErr(t, "mel", gotMel, wantMel, tolF32)
		// log-mel: the logarithm amplifies the relative error of small mel values (a mel bin over
		// one or two frequency bins whose power is near zero by chance carries the STFT's float32
		// rounding at full weight), so the op is checked on its own input, and the chain in mel
		// space (exp of the log-mel against the floored reference mel)
		logOfGot, _ := reference.LogMel(reference.ToFloat64(gotMel), 1e-10)
		checkErr(t, "log-mel of the GPU mel", gotLog, logOfGot, tolF32)
		expLog := make([]float32, len(gotLog))
		for i, x := range gotLog {
			expLog[i] = float32(math.Exp(float64(x)))
		}
		checkErr(t, "exp(log-mel) vs the floored mel", expLog, floorAt(wantMel, 1e-10), tolF32)

		// back to linear frequencies: the transpose, and the pseudo-inverse, whose mel projection
		// gives back the mel spectrogram
		lin := poisoned(t, d, gpu.F32, b, f, frames)
		lin2 := poisoned(t, d, gpu.F32, b, f, frames)
		if err := m.ToLinear(s, lin, mel, false); err != nil {
			t.Fatal(err)
		}
		if err := m.ToLinear(s, lin2, mel, true); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		melVals := reference.ToFloat64(read(t, mel))
		wantLin := make([]float64, b*f*frames)
		for bb := 0; bb < b; bb++ {
			for q := 0; q < f; q++ {
				for mm := 0; mm < frames; mm++ {
					acc := 0.0
					for j := 0; j < c.mels; j++ {
						acc += fb[q*c.mels+j] * melVals[(bb*c.mels+j)*frames+mm]
					}
					wantLin[(bb*f+q)*frames+mm] = acc
				}
			}
		}
		checkErr(t, "mel → linear (transpose)", read(t, lin), wantLin, tolF32)
		// pseudo-inverse: against the reference's float64 pinv(fbᵀ)·mel
		pinv, err := reference.PseudoInverse(transpose(fb, f, c.mels), c.mels, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantPinv := applyPinv(pinv, melVals, b, f, c.mels, frames)
		if e, tol, ok := checkPinv(read(t, lin2), wantPinv, fb, f, c.mels); !ok {
			t.Errorf("mel → linear (pseudo-inverse): relative error %.3g > %.3g", e, tol)
		} else {
			t.Logf("mel → linear (pseudo-inverse): relative error %.3g (tolerance %.3g)", e, tol)
		}
		testBindLimit = 0
		pl.Close()
		m.Close()
	}
}

func TestMelErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	if _, err := NewMel(d, FilterBank{Freqs: 2, Mels: 3, Data: make([]float64, 5)}); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "fb") {
		t.Errorf("short fb: %v", err)
	}
	if _, err := MelFBanks(0, 0, 8000, 10, 16000, "", ""); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "n_freqs") {
		t.Errorf("n_freqs 0: %v", err)
	}
	m, err := NewMel(d, FilterBank{Freqs: 9, Mels: 4, Data: make([]float64, 9*4)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	spec := poisoned(t, d, gpu.F32, 2, 9, 5, 2)
	for _, c := range []struct {
		err  error
		want string
	}{
		{m.Spectrogram(s, poisoned(t, d, gpu.F32, 2, 4, 5), spec, 0), "power"},
		{m.Spectrogram(s, poisoned(t, d, gpu.F32, 2, 4, 5), poisoned(t, d, gpu.F32, 2, 8, 5, 2), 2), "spec has shape"},
		{m.Spectrogram(s, poisoned(t, d, gpu.F32, 2, 5, 5), spec, 2), "out has shape"},
		{LogMel(s, poisoned(t, d, gpu.F32, 3), poisoned(t, d, gpu.F32, 3), 0), "floor"},
		{LogMel(s, poisoned(t, d, gpu.F32, 4), poisoned(t, d, gpu.F32, 3), 1), "out has shape"},
		{m.ToLinear(s, poisoned(t, d, gpu.F32, 2, 9, 5), poisoned(t, d, gpu.F32, 2, 3, 5), false), "mel has shape"},
	} {
		if !errors.Is(c.err, ErrInvalidArgument) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want ErrInvalidArgument naming %q", c.err, c.want)
		}
	}
}

// floorAt returns max(x, floor) element by element.
func floorAt(x []float64, floor float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Max(v, floor)
	}
	return out
}

// applyPinv returns pinv [f, mels] applied to mel [b, mels, frames]: [b, f, frames].
func applyPinv(pinv, mel []float64, b, f, mels, frames int) []float64 {
	out := make([]float64, b*f*frames)
	for bb := 0; bb < b; bb++ {
		for q := 0; q < f; q++ {
			for mm := 0; mm < frames; mm++ {
				acc := 0.0
				for j := 0; j < mels; j++ {
					acc += pinv[q*mels+j] * mel[(bb*mels+j)*frames+mm]
				}
				out[(bb*f+q)*frames+mm] = acc
			}
		}
	}
	return out
}

// checkPinv checks Mel.ToLinear's pseudo-inverse output got against the float64 want for the
// filterbank fb [f, mels]: float32 rounding is amplified by the filterbank's condition number κ
// (torchaudio's 80 HTK mels on 201 bins: κ ≈ 5e6, measured error ≈ 4e-3), so the tolerance is
// 1e-5 · max(1, κ/1e3), capped at 2e-2: a zero output (relative error 1) always fails.
func checkPinv(got []float32, want, fb []float64, f, mels int) (rel, tol float64, ok bool) {
	var sv mat.SVD
	sv.Factorize(mat.NewDense(f, mels, fb), mat.SVDNone)
	vals := sv.Values(nil)
	cond := 1.0 // of the singular values the pseudo-inverse keeps
	for _, v := range vals {
		if v > float64(max(f, mels))*2.220446049250313e-16*vals[0] {
			cond = vals[0] / v
		}
	}
	tol = min(tolF32*max(1, cond/1e3), 2e-2)
	rel = reference.RelErr(got, want)
	return rel, tol, rel <= tol
}

// TestMelPinvCheckFails feeds an all-zero output (and a 10% error) through the pseudo-inverse
// check of TestMelSpectrogram, at its worst-conditioned case (n_fft 400, 80 HTK mels), and
// asserts that the check fails; the exact answer passes.
func TestMelPinvCheckFails(t *testing.T) {
	const f, mels, b, frames = 201, 80, 2, 7
	fb, err := reference.MelFBanks(f, 0, 8000, mels, 16000, "", "htk")
	if err != nil {
		t.Fatal(err)
	}
	pinv, err := reference.PseudoInverse(transpose(fb, f, mels), mels, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(t)
	mel := make([]float64, b*mels*frames)
	for i := range mel {
		mel[i] = math.Abs(r.NormFloat64())
	}
	want := applyPinv(pinv, mel, b, f, mels, frames)
	zero := make([]float32, len(want))
	if e, tol, ok := checkPinv(zero, want, fb, f, mels); ok {
		t.Errorf("an all-zero output passes the pseudo-inverse check (error %.3g, tolerance %.3g)", e, tol)
	}
	off := reference.ToFloat32(want)
	for i := range off {
		off[i] *= 1.1
	}
	if e, tol, ok := checkPinv(off, want, fb, f, mels); ok {
		t.Errorf("an output 10%% off passes the pseudo-inverse check (error %.3g, tolerance %.3g)", e, tol)
	}
	if e, tol, ok := checkPinv(reference.ToFloat32(want), want, fb, f, mels); !ok {
		t.Errorf("the float64 answer rounded to float32 fails the check (error %.3g, tolerance %.3g)", e, tol)
	}
}
