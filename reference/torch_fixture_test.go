package reference_test

import (
	"math"
	"testing"

	"github.com/vkseq/vkseq/internal/stftfixture"
	"github.com/vkseq/vkseq/reference"
)

// TestTorchFixture checks HannWindow, STFTWindow, MelFBanks, LibrosaMel (the Slaney filterbanks),
// STFT and ISTFT against PyTorch's and torchaudio's numbers (testdata/make_stft_fixtures.py).
func TestTorchFixture(t *testing.T) {
	fx, err := stftfixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range fx.Windows {
		got, err := reference.HannWindow(w.N, w.Periodic)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbs(got, w.Values); e > 1e-7 {
			t.Errorf("%s: max |reference − torch| = %.3g", w.Name, e)
		}
	}
	for _, b := range fx.FBanks {
		got, err := reference.MelFBanks(b.NFreqs, b.FMin, b.FMax, b.NMels, b.SampleRate, b.Norm, b.MelScale)
		if err != nil {
			t.Fatal(err)
		}
		// torchaudio computes in float32: about 2e-6 of rounding in its band edges
		if e := reference.RelErr(b.Values, got); !(e <= 1e-5) {
			t.Errorf("%s: relative error %.3g against torchaudio", b.Name, e)
		}
		if b.Norm == "slaney" && b.MelScale == "slaney" && b.SampleRate%2 == 0 {
			// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) is the same bank, transposed
			nfft := 2 * (b.NFreqs - 1)
			lw, err := reference.LibrosaMel(float64(b.SampleRate), nfft, b.NMels, b.FMin, b.FMax, false, "slaney")
			if err != nil {
				t.Fatal(err)
			}
			tr := make([]float64, len(lw))
			for j := 0; j < b.NMels; j++ {
				for q := 0; q < b.NFreqs; q++ {
					tr[q*b.NMels+j] = lw[j*b.NFreqs+q]
				}
			}
			if e := reference.RelErr(b.Values, tr); !(e <= 1e-5) {
				t.Errorf("%s: LibrosaMel transposed: relative error %.3g against torchaudio's slaney/slaney", b.Name, e)
			}
		}
	}
	for _, c := range fx.Cases {
		opt := c.Options()
		x := reference.ToFloat64(c.X)
		got, f, frames, err := reference.STFT(x, c.Batch, c.Length, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if f != c.Freqs || frames != c.Frames {
			t.Fatalf("%s: STFT shape [%d, %d], torch [%d, %d]", c.Name, f, frames, c.Freqs, c.Frames)
		}
		if e := reference.RelErr(c.STFT, got); !(e <= 1e-6) {
			t.Errorf("%s: stft relative error %.3g against torch", c.Name, e)
		} else {
			t.Logf("%s: stft relative error %.3g against torch", c.Name, e)
		}
		if c.ISTFT == nil {
			continue
		}
		y, n, err := reference.ISTFT(reference.ToFloat64(c.ISTFTSpec), c.Batch, f, frames, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if n != c.ISTFTN {
			t.Fatalf("%s: ISTFT length %d, torch %d", c.Name, n, c.ISTFTN)
		}
		if e := reference.RelErr(c.ISTFT, y); !(e <= 1e-6) {
			t.Errorf("%s: istft relative error %.3g against torch", c.Name, e)
		} else {
			t.Logf("%s: istft relative error %.3g against torch", c.Name, e)
		}
	}
}

func maxAbs(a []float64, b []float32) float64 {
	m := math.Inf(1)
	if len(a) == len(b) {
		m = 0
		for i := range a {
			m = math.Max(m, math.Abs(a[i]-float64(b[i])))
		}
	}
	return m
}
