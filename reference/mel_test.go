package reference_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

func TestHzToMelKnownValues(t *testing.T) {
	for _, c := range []struct {
		hz, mel float64
		htk     bool
	}{
		{0, 0, true},
		{700, 2595 * math.Log10(2), true},
		{6300, 2595, true}, // 1 + 6300/700 = 10
		{0, 0, false},
		{500, 7.5, false},
		{1000, 15, false},
		{6400, 42, false}, // 15 + ln(6.4) / (ln(6.4)/27)
		{1000 * 6.4 * 6.4, 69, false},
	} {
		if got := reference.HzToMel(c.hz, c.htk); math.Abs(got-c.mel) > 1e-12*math.Max(1, c.mel) {
			t.Errorf("HzToMel(%v, htk=%v) = %.17g, want %v", c.hz, c.htk, got, c.mel)
		}
		if got := reference.MelToHz(c.mel, c.htk); math.Abs(got-c.hz) > 1e-9*math.Max(1, c.hz) {
			t.Errorf("MelToHz(%v, htk=%v) = %.17g, want %v", c.mel, c.htk, got, c.hz)
		}
	}
	// Continuity of the Slaney scale at 1000 Hz.
	if d := reference.HzToMel(1000, false) - reference.HzToMel(math.Nextafter(1000, 0), false); d > 1e-12 {
		t.Errorf("Slaney scale jumps by %g at 1000 Hz", d)
	}
}

func TestMelFBanksSlaneyLinearRegion(t *testing.T) {
	// Slaney scale below 1000 Hz is linear: f_min 0, f_max 1000 (mel 15) and
	// 14 filters put the band edges at k·200/3 Hz, k = 0..15. With
	// sample_rate 2000 and 16 frequencies the bins are at i·1000/15 = i·200/3
	// Hz too, so filter j is 1 at bin j+1 and 0 elsewhere (its feet are bins
	// j and j+2); Slaney norm scales it by 2 / (400/3) = 0.015.
	for _, norm := range []string{"", "slaney"} {
		fb, err := reference.MelFBanks(16, 0, 1000, 14, 2000, norm, "slaney")
		if err != nil {
			t.Fatal(err)
		}
		peak := 1.0
		if norm == "slaney" {
			peak = 0.015
		}
		want := make([]float64, 16*14)
		for j := 0; j < 14; j++ {
			want[(j+1)*14+j] = peak
		}
		auNear(t, "fb "+norm, fb, want, 1e-13)
	}
}

func TestMelFBanksHTKPeakAndShape(t *testing.T) {
	// One HTK filter with feet at 500 Hz and fMax, centred at 1000 Hz in mels:
	// mel(fMax) = 2 mel(1000) − mel(500). Bins are every 500 Hz (16 kHz, 17
	// frequencies), so the filter is 0 at 500, exactly 1 at 1000, and on the
	// falling side (fMax − f)/(fMax − 1000).
	fMax := reference.MelToHz(2*reference.HzToMel(1000, true)-reference.HzToMel(500, true), true)
	if !(fMax > 1500 && fMax < 2000) {
		t.Fatalf("fMax = %v", fMax)
	}
	fb, err := reference.MelFBanks(17, 500, fMax, 1, 16000, "none", "htk")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 17)
	want[2] = 1
	want[3] = (fMax - 1500) / (fMax - 1000)
	auNear(t, "htk filter", fb, want, 1e-12)
	// Slaney norm divides by half the base: (fMax − 500)/2.
	fbn, err := reference.MelFBanks(17, 500, fMax, 1, 16000, "slaney", "htk")
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] *= 2 / (fMax - 500)
	}
	auNear(t, "htk filter, slaney norm", fbn, want, 1e-14)
}

func TestMelFBanksPartitionAndArea(t *testing.T) {
	// Adjacent triangles share edges, so between the first and last centre
	// the filters sum to 1 at every frequency; with Slaney norm every filter
	// has unit area (checked by the trapezoid rule on a fine grid).
	for _, scale := range []string{"htk", "slaney"} {
		nFreqs, nMels, sr := 20001, 24, 16000
		fMin, fMax := 30.0, 7600.0
		fb, err := reference.MelFBanks(nFreqs, fMin, fMax, nMels, sr, "", scale)
		if err != nil {
			t.Fatal(err)
		}
		m0, m1 := reference.HzToMel(fMin, scale == "htk"), reference.HzToMel(fMax, scale == "htk")
		lo := reference.MelToHz(m0+(m1-m0)/float64(nMels+1), scale == "htk")
		hi := reference.MelToHz(m0+(m1-m0)*float64(nMels)/float64(nMels+1), scale == "htk")
		df := float64(sr/2) / float64(nFreqs-1)
		for i := 0; i < nFreqs; i++ {
			f := float64(i) * df
			s := 0.0
			for j := 0; j < nMels; j++ {
				s += fb[i*nMels+j]
			}
			switch {
			case f >= lo && f <= hi:
				if math.Abs(s-1) > 1e-12 {
					t.Fatalf("%s: filters sum to %.15g at %g Hz", scale, s, f)
				}
			case f < fMin || f > fMax:
				if s != 0 {
					t.Fatalf("%s: non-zero response %g outside [f_min, f_max] at %g Hz", scale, s, f)
				}
			}
		}
		fbn, err := reference.MelFBanks(nFreqs, fMin, fMax, nMels, sr, "slaney", scale)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < nMels; j++ {
			area := 0.0
			for i := 0; i+1 < nFreqs; i++ {
				area += (fbn[i*nMels+j] + fbn[(i+1)*nMels+j]) / 2 * df
			}
			if math.Abs(area-1) > 2e-4 {
				t.Errorf("%s: Slaney-normalised filter %d has area %g", scale, j, area)
			}
		}
	}
}

func TestLibrosaMel(t *testing.T) {
	// librosa's documented example: filters.mel(sr=22050, n_fft=2048) starts
	// [[0., 0.016, ...]. By hand: Slaney mel(11025) = 15 + ln(11.025)·27/ln(6.4),
	// f_pts[1] = mel⁻¹(that/129) ≈ 25.79 Hz, bin 1 at 22050/2048 Hz, value
	// (bin/f_pts[1]) · 2/f_pts[2] ≈ 0.01618.
	w, err := reference.LibrosaMel(22050, 2048, 128, 0, 0, false, "slaney")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 128*1025 {
		t.Fatalf("len %d", len(w))
	}
	if w[0] != 0 || math.Abs(w[1]-0.016) > 5e-4 {
		t.Errorf("w[0, 0:2] = %v, %v, want 0, 0.016", w[0], w[1])
	}
	m := 15 + math.Log(11.025)*27/math.Log(6.4)
	f1, f2 := m/129*200/3, 2*m/129*200/3
	bin := 22050.0 / 2048
	if want := bin / f1 * 2 / f2; math.Abs(w[1]-want) > 1e-13 {
		t.Errorf("w[0,1] = %.17g, want %.17g", w[1], want)
	}

	// Even n_fft and even sample rate: the same matrix as torchaudio's, transposed.
	for _, c := range []struct {
		htk  bool
		norm string
	}{{false, "slaney"}, {true, ""}, {true, "slaney"}, {false, "none"}} {
		scale := "slaney"
		if c.htk {
			scale = "htk"
		}
		lw, err := reference.LibrosaMel(16000, 400, 80, 20, 7000, c.htk, c.norm)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := reference.MelFBanks(201, 20, 7000, 80, 16000, c.norm, scale)
		if err != nil {
			t.Fatal(err)
		}
		tr := make([]float64, len(fb))
		for f := 0; f < 201; f++ {
			for j := 0; j < 80; j++ {
				tr[j*201+f] = fb[f*80+j]
			}
		}
		auNear(t, "librosa vs torchaudio "+scale+" "+c.norm, lw, tr, 1e-13)
	}

	// Odd n_fft: librosa's bins are k·sr/n_fft (top bin 1000 Hz for sr 3000,
	// n_fft 3), torchaudio's grid would end at sr//2 = 1500. Slaney linear
	// region: one filter with edges 0, 500, 1000 Hz (f_max 1000).
	lw, err := reference.LibrosaMel(3000, 3, 1, 0, 1000, false, "")
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "odd n_fft", lw, []float64{0, 0}, 1e-15)
	lw, err = reference.LibrosaMel(3000, 3, 1, 0, 1500, false, "")
	if err != nil {
		t.Fatal(err)
	}
	// Edges 0, c, 1500 Hz with c = mel⁻¹(mel(1500)/2) ≈ 697 Hz: bin 1 (1000 Hz)
	// is on the falling side; torchaudio's bin at 1500 Hz would give 0.
	c := reference.MelToHz(reference.HzToMel(1500, false)/2, false)
	auNear(t, "odd n_fft, f_max 1500", lw, []float64{0, (1500 - 1000) / (1500 - c)}, 1e-13)
	// Odd sample rate: torchaudio's grid stops at sample_rate // 2.
	fb, err := reference.MelFBanks(3, 0, 1000, 1, 2001, "", "slaney")
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "sample_rate // 2", fb, []float64{0, 1, 0}, 1e-13)
}

func TestMelSpectrogramHelpers(t *testing.T) {
	// PowerSpectrogram of [B=1, F=2, frames=2, 2].
	spec := []float64{3, 4, 0, -2, 1, 0, -0.5, 0}
	p2, err := reference.PowerSpectrogram(spec, 1, 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "power 2", p2, []float64{25, 4, 1, 0.25}, 0)
	p1, err := reference.PowerSpectrogram(spec, 1, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "power 1", p1, []float64{5, 2, 1, 0.5}, 1e-15)

	// mel[j, m] = Σ_f spec[f, m] fb[f, j] with fb = [[1, 0, 2], [0.5, 1, 0]].
	mel, err := reference.MelSpectrogram(p2, 1, 2, 2, []float64{1, 0, 2, 0.5, 1, 0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "mel", mel, []float64{25.5, 4.125, 1, 0.25, 50, 8}, 1e-15)

	// Random: batch rows are independent and the map is the matrix product.
	rng := rand.New(rand.NewPCG(41, 42))
	bs, f, fr, nm := 2, 5, 3, 4
	s := auRandn(rng, bs*f*fr)
	fb := auRandn(rng, f*nm)
	got, err := reference.MelSpectrogram(s, bs, f, fr, fb, nm)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < bs; b++ {
		for j := 0; j < nm; j++ {
			for m := 0; m < fr; m++ {
				want := 0.0
				for k := 0; k < f; k++ {
					want += fb[k*nm+j] * s[b*f*fr+k*fr+m]
				}
				if d := math.Abs(got[(b*nm+j)*fr+m] - want); d > 1e-13 {
					t.Errorf("mel[%d,%d,%d] off by %g", b, j, m, d)
				}
			}
		}
	}

	lm, err := reference.LogMel([]float64{0, 1e-12, 1, math.E, -3}, 1e-10)
	if err != nil {
		t.Fatal(err)
	}
	fl := math.Log(1e-10)
	auNear(t, "log mel", lm, []float64{fl, fl, 0, 1, fl}, 1e-15)
}

func TestMelErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		words []string
	}{
		{"n_freqs", melErr(reference.MelFBanks(0, 0, 100, 4, 16000, "", "htk")), []string{"n_freqs"}},
		{"n_mels", melErr(reference.MelFBanks(10, 0, 100, 0, 16000, "", "htk")), []string{"n_mels"}},
		{"sample_rate", melErr(reference.MelFBanks(10, 0, 100, 4, 0, "", "htk")), []string{"sample_rate"}},
		{"f_min", melErr(reference.MelFBanks(10, -1, 100, 4, 16000, "", "htk")), []string{"f_min"}},
		{"f_max", melErr(reference.MelFBanks(10, 100, 100, 4, 16000, "", "htk")), []string{"f_max"}},
		{"f_max NaN", melErr(reference.MelFBanks(10, 0, math.NaN(), 4, 16000, "", "htk")), []string{"f_max"}},
		{"norm", melErr(reference.MelFBanks(10, 0, 100, 4, 16000, "l2", "htk")), []string{"norm", "l2"}},
		{"mel_scale", melErr(reference.MelFBanks(10, 0, 100, 4, 16000, "", "kaldi")), []string{"mel_scale", "kaldi"}},
		{"sr", melErr(reference.LibrosaMel(0, 512, 4, 0, 0, false, "slaney")), []string{"sr"}},
		{"n_fft", melErr(reference.LibrosaMel(16000, 0, 4, 0, 0, false, "slaney")), []string{"n_fft"}},
		{"librosa f_max", melErr(reference.LibrosaMel(16000, 512, 4, 9000, 100, false, "slaney")), []string{"f_max"}},
		{"power", melErr(reference.PowerSpectrogram(make([]float64, 4), 1, 1, 2, 0)), []string{"power"}},
		{"power spec", melErr(reference.PowerSpectrogram(make([]float64, 3), 1, 1, 2, 2)), []string{"spec"}},
		{"mel spec", melErr(reference.MelSpectrogram(make([]float64, 3), 1, 2, 2, make([]float64, 4), 2)), []string{"spec"}},
		{"mel fb", melErr(reference.MelSpectrogram(make([]float64, 4), 1, 2, 2, make([]float64, 3), 2)), []string{"fb", "[F,n_mels]"}},
		{"floor", melErr(reference.LogMel([]float64{1}, 0)), []string{"floor"}},
	} {
		auWantErr(t, c.name, c.err, c.words...)
	}
}

func melErr(_ []float64, err error) error { return err }
