package ops

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// stftCase runs the STFT of a random [b, l] signal and compares it with the float64 reference;
// it returns the relative error.
func stftCase(t *testing.T, d *gpu.Device, b, l int, opt STFTOptions) float64 {
	t.Helper()
	r := newRand(t)
	x := rounded(randn(r, b*l, 1))
	want, f, frames, err := reference.STFT(x, b, l, opt)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := NewSTFTPlan(d, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	xt := upload(t, d, gpu.F32, x, b, l)
	out := poisoned(t, d, gpu.F32, b, f, frames, 2)
	s := stream(t, d)
	if err := pl.Forward(s, out, xt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return reference.RelErr(read(t, out), want)
}

func optString(o STFTOptions) string {
	s := fmt.Sprintf("n_fft=%d hop=%d win=%d", o.NFFT, o.HopLength, o.WinLength)
	if o.WindowKind != "" {
		s += " " + o.WindowKind
	}
	if o.Window != nil {
		s += " window"
	}
	if o.Center {
		s += " center"
	}
	if o.PadMode != "" {
		s += " " + o.PadMode
	}
	if o.Normalized {
		s += " normalized"
	}
	if !o.Onesided {
		s += " twosided"
	}
	return s
}

func TestSTFTSmoke(t *testing.T) {
	d := device(t)
	for _, n := range []int{1, 2, 3, 4, 5, 8, 16, 17, 20, 37, 64, 97, 400, 441, 512} {
		opt := DefaultSTFTOptions(n)
		opt.HopLength = max(n/4, 1)
		t0 := time.Now()
		e := stftCase(t, d, 2, 3*n+5, opt)
		pl, _ := planUnit(d.Info(), n)
		t.Logf("%s: rel err %.3g (%v) plan %+v", optString(opt), e, time.Since(t0), pl)
		if !(e <= tolF32) {
			t.Errorf("%s: relative error %.3g", optString(opt), e)
		}
	}
}

var _ = errors.Is
var _ = math.Abs
var _ = strings.Contains
