package ops

import (
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/internal/stftfixture"
	"github.com/vkseq/vkseq/reference"
)

func loadFixture(t *testing.T) *stftfixture.Fixture {
	t.Helper()
	fx, err := stftfixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestHostWindowsTorch checks HannWindow (periodic and symmetric) and STFTWindow (hann, ones, a
// window shorter than n_fft placed in zeros) against torch's numbers, without a device.
func TestHostWindowsTorch(t *testing.T) {
	fx := loadFixture(t)
	byName := map[string][]float32{}
	for _, w := range fx.Windows {
		got, err := HannWindow(w.N, w.Periodic)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbs32(got, w.Values); e > 1e-7 {
			t.Errorf("%s: max |ops − torch| = %.3g", w.Name, e)
		}
		byName[w.Name] = w.Values
	}
	// STFTWindow: torch pads a window of win_length centred in n_fft zeros
	for _, c := range []struct {
		opt  STFTOptions
		base string // the torch window of length win_length, "" for ones
	}{
		{STFTOptions{NFFT: 400, WindowKind: "hann"}, "hann_400_periodic"},
		{STFTOptions{NFFT: 512, WinLength: 400}, "hann_400_periodic"},
		{STFTOptions{NFFT: 16, WinLength: 7}, "hann_7_periodic"},
		{STFTOptions{NFFT: 17, WinLength: 16}, "hann_16_periodic"},
		{STFTOptions{NFFT: 16, WinLength: 7, WindowKind: "ones"}, ""},
		{STFTOptions{NFFT: 9, WinLength: 7, Window: reference.ToFloat64(byName["hann_7_symmetric"])}, "hann_7_symmetric"},
	} {
		got, err := STFTWindow(c.opt)
		if err != nil {
			t.Fatal(err)
		}
		win := c.opt.WinLength
		if win == 0 {
			win = c.opt.NFFT
		}
		want := make([]float32, c.opt.NFFT)
		left := (c.opt.NFFT - win) / 2
		for i := 0; i < win; i++ {
			want[left+i] = 1
			if c.base != "" {
				want[left+i] = byName[c.base][i]
			}
		}
		if e := maxAbs32(got, want); e > 1e-7 {
			t.Errorf("STFTWindow(%+v): max |ops − torch| = %.3g", c.opt, e)
		}
	}
}

// TestMelFBanksTorch checks MelFBanks against torchaudio.functional.melscale_fbanks (HTK without
// norm; Slaney scale and norm, which is librosa.filters.mel; HTK with Slaney norm).
func TestMelFBanksTorch(t *testing.T) {
	fx := loadFixture(t)
	for _, b := range fx.FBanks {
		fb, err := MelFBanks(b.NFreqs, float32(b.FMin), float32(b.FMax), b.NMels, b.SampleRate, b.Norm, b.MelScale)
		if err != nil {
			t.Fatal(err)
		}
		if fb.Freqs != b.NFreqs || fb.Mels != b.NMels {
			t.Fatalf("%s: filterbank [%d, %d], want [%d, %d]", b.Name, fb.Freqs, fb.Mels, b.NFreqs, b.NMels)
		}
		// torchaudio computes in float32: about 2e-6 of rounding in its band edges
		if e := reference.RelErr(b.Values, fb.Data); !(e <= 1e-5) {
			t.Errorf("%s: relative error %.3g against torchaudio", b.Name, e)
		} else {
			t.Logf("%s: relative error %.3g against torchaudio", b.Name, e)
		}
	}
}

// TestSTFTTorch runs the fixture's torch.stft and torch.istft cases on the GPU (plans and the
// one-shot calls).
func TestSTFTTorch(t *testing.T) {
	d := device(t)
	fx := loadFixture(t)
	for _, c := range fx.Cases {
		opt := c.Options()
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		got := runSTFT(t, d, pl, reference.ToFloat64(c.X), c.Batch, c.Length)
		checkErr(t, c.Name+" stft vs torch", got, reference.ToFloat64(c.STFT), tolF32)
		if c.ISTFT != nil {
			y := runISTFT(t, d, pl, reference.ToFloat64(c.ISTFTSpec), c.Batch, c.Frames, opt.Length)
			checkErr(t, c.Name+" istft vs torch", y, reference.ToFloat64(c.ISTFT), tolF32)
			// the one-shot call, its tables in stream temporaries
			s := stream(t, d)
			spec := upload(t, d, gpu.F32, reference.ToFloat64(c.ISTFTSpec), c.Batch, c.Freqs, c.Frames, 2)
			out := poisoned(t, d, gpu.F32, c.Batch, c.ISTFTN)
			if err := ISTFT(s, out, spec, opt); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, c.Name+" one-shot istft vs torch", read(t, out), reference.ToFloat64(c.ISTFT), tolF32)
		}
		pl.Close()
	}
}

func maxAbs32(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
