package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// stftSizes are the n_fft the STFT is checked at: every size people use, all of 1..64 and
// 100..130 (every radix mix and many primes), primes for Bluestein; -long adds 4096 and 8192.
func stftSizes() []int {
	var ns []int
	for n := 1; n <= 64; n++ {
		ns = append(ns, n)
	}
	for n := 100; n <= 130; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 400, 441, 512, 1000, 1024, 1280, 2048, 97, 257, 1009)
	if *long {
		ns = append(ns, 4096, 8192)
	}
	return ns
}

func optString(o STFTOptions) string {
	s := fmt.Sprintf("n_fft=%d hop=%d win=%d", o.NFFT, o.HopLength, o.WinLength)
	if o.WindowKind != "" {
		s += " " + o.WindowKind
	}
	if o.Window != nil {
		s += " user-window"
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
		s += " two-sided"
	}
	if o.Length != 0 {
		s += fmt.Sprintf(" length=%d", o.Length)
	}
	return s
}

// stftVariant returns the options of case i at size n: the variants rotate through the window
// kinds, padding modes, centring, normalisation, sidedness and hops (odd ones included).
func stftVariant(n, i int, r *rand.Rand) STFTOptions {
	o := DefaultSTFTOptions(n)
	o.HopLength = max(n/4, 1)
	switch i % 5 {
	case 1:
		o.PadMode, o.Normalized, o.HopLength = "constant", true, n/3+1
	case 2:
		o.Onesided, o.Center, o.HopLength = false, false, max(n/2, 1)
	case 3:
		o.WinLength, o.WindowKind, o.HopLength = n-n/3, "ones", max((n-n/3)/2, 1)
	case 4:
		o.WindowKind = ""
		o.Window = make([]float64, n)
		for k := range o.Window {
			o.Window[k] = 0.25 + r.Float64()
		}
		o.HopLength = max(n/2, 1)
	}
	return o
}

// runSTFT uploads x [b, l], runs the plan's STFT and returns the output.
func runSTFT(t *testing.T, d *gpu.Device, pl *STFTPlan, x []float64, b, l int) []float32 {
	t.Helper()
	f, frames, err := pl.Shape(l)
	if err != nil {
		t.Fatal(err)
	}
	xt := upload(t, d, gpu.F32, x, b, l)
	out := poisoned(t, d, gpu.F32, b, f, frames, 2)
	s := stream(t, d)
	if err := pl.Forward(s, out, xt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, xt); reference.MaxAbsErr(got, x) != 0 {
		t.Fatal("x was modified")
	}
	return read(t, out)
}

// runISTFT uploads spec [b, F, frames, 2], runs the plan's iSTFT and returns y.
func runISTFT(t *testing.T, d *gpu.Device, pl *STFTPlan, spec []float64, b, frames, length int) []float32 {
	t.Helper()
	f := pl.Freqs()
	st := upload(t, d, gpu.F32, spec, b, f, frames, 2)
	pl = withLength(pl, length)
	y := poisoned(t, d, gpu.F32, b, pl.ISTFTLength(frames))
	s := stream(t, d)
	if err := pl.Inverse(s, y, st); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, st); reference.MaxAbsErr(got, spec) != 0 {
		t.Fatal("spec was modified")
	}
	return read(t, y)
}

// TestSTFTSizes checks the STFT against the float64 reference at every size of stftSizes (with
// rotating options), and that the iSTFT of the GPU's STFT recovers the signal to 1e-5 of its peak
// wherever the options satisfy NOLA.
func TestSTFTSizes(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for i, n := range stftSizes() {
		opt := stftVariant(n, i, r)
		t.Run(optString(opt), func(t *testing.T) {
			hop := opt.HopLength
			b, l := 2, n+3*hop+1+r.IntN(7)
			if n > 2048 {
				b, l = 1, n+2*hop
			}
			x := rounded(randn(r, b*l, 1))
			want, _, frames, err := reference.STFT(x, b, l, opt)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			got := runSTFT(t, d, pl, x, b, l)
			e := reference.RelErr(got, want)
			if !(e <= tolF32) {
				t.Errorf("stft: relative error %.3g > %.0e (plan %+v)", e, tolF32, pl.pl)
			}
			// round trip through the GPU's own spectrum
			ro := opt
			ro.Length = l
			if _, _, err := reference.ISTFT(want, b, pl.Freqs(), frames, ro); err != nil {
				t.Logf("stft: relative error %.3g; no round trip (%v)", e, err)
				return
			}
			y := runISTFT(t, d, pl, reference.ToFloat64(got), b, frames, l)
			peak := 0.0
			for _, v := range x {
				peak = math.Max(peak, math.Abs(v))
			}
			rt := reference.MaxAbsErr(y, x) / peak
			if !(rt <= tolF32) {
				t.Errorf("istft(stft(x)): max error %.3g of the peak > %.0e", rt, tolF32)
			}
			t.Logf("stft: relative error %.3g, round trip %.3g of peak (plan P=%d E=%d blue=%v)", e, rt, pl.pl.P, pl.pl.E, pl.pl.blue)
		})
	}
}

// TestISTFTReference checks the iSTFT of random spectra (not the STFT of any signal) against the
// float64 reference, with length cuts and padding, two-sided input and normalisation.
func TestISTFTReference(t *testing.T) {
	d := device(t)
	r := newRand(t)
	sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 16, 17, 20, 31, 64, 97, 100, 257, 400, 441, 512, 1024, 1280, 2048}
	if *long {
		sizes = append(sizes, 1009, 4096, 8192)
	}
	for i, n := range sizes {
		opt := DefaultSTFTOptions(n)
		opt.HopLength = max(n/4, 1)
		switch i % 4 {
		case 1:
			opt.Normalized, opt.Onesided = true, false
			opt.WinLength, opt.HopLength = n-n/4, max((n-n/4)/4, 1)
		case 2:
			opt.Length = 3 * opt.HopLength // cut
		case 3:
			// zero-padded past the end of the overlap-added signal
			opt.PadMode, opt.WindowKind, opt.HopLength = "constant", "ones", max(n/3, 1)
			opt.Length = 9*opt.HopLength + n + 3
		}
		if n == 1 {
			opt.Center = false
		}
		t.Run(optString(opt), func(t *testing.T) {
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			b, frames := 2, 9
			if n > 2048 {
				b = 1
			}
			spec := rounded(randn(r, b*pl.Freqs()*frames*2, 1))
			want, _, err := reference.ISTFT(spec, b, pl.Freqs(), frames, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkErr(t, "istft", runISTFT(t, d, pl, spec, b, frames, opt.Length), want, tolF32)
		})
	}
}

// TestSTFTOneShot checks the one-shot STFT and ISTFT functions, at n_fft from 16 to 9000, and that
// they keep nothing on the device after the submission: their tables are stream temporaries,
// there is no plan cache.
func TestSTFTOneShot(t *testing.T) {
	d := device(t)
	r := newRand(t)
	opt := DefaultSTFTOptions(400)
	opt.HopLength = 160
	b, l := 3, 4000
	x := rounded(randn(r, b*l, 1))
	want, f, frames, err := reference.STFT(x, b, l, opt)
	if err != nil {
		t.Fatal(err)
	}
	xt := upload(t, d, gpu.F32, x, b, l)
	out := poisoned(t, d, gpu.F32, b, f, frames, 2)
	yl, err := ISTFTShape(frames, opt)
	if err != nil || yl != l {
		t.Fatalf("ISTFTShape = %d, %v; want %d", yl, err, l)
	}
	y := poisoned(t, d, gpu.F32, b, yl)
	s := stream(t, d)
	for i := 0; i < 2; i++ {
		if err := STFT(s, out, xt, opt); err != nil {
			t.Fatal(err)
		}
		if err := ISTFT(s, y, out, opt); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, "stft", read(t, out), want, tolF32)
		if e := reference.MaxAbsErr(read(t, y), x); !(e <= 1e-5*4) {
			t.Errorf("round trip: max error %.3g", e)
		}
	}
	_, before := d.MemoryStats()
	for _, n := range []int{16, 400, 512, 1000, 9000} {
		o := DefaultSTFTOptions(n)
		l := 2*n + 5
		f, frames, err := STFTShape(l, o)
		if err != nil {
			t.Fatal(err)
		}
		xs := rounded(randn(r, l, 1))
		want, _, _, err := reference.STFT(xs, 1, l, o)
		if err != nil {
			t.Fatal(err)
		}
		xt := upload(t, d, gpu.F32, xs, 1, l)
		out := poisoned(t, d, gpu.F32, 1, f, frames, 2)
		if err := STFT(s, out, xt, o); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, fmt.Sprintf("one-shot stft n_fft %d", n), read(t, out), want, tolF32)
		xt.Close()
		out.Close()
	}
	if _, after := d.MemoryStats(); after > before {
		t.Errorf("device memory grew from %d to %d bytes over one-shot calls (a plan kept?)", before, after)
	}
}

// TestSTFTWindows binds the tensors in windows (the binding limit lowered) so that the STFT
// splits over rows and frequencies, and the iSTFT over rows and, with a small scratch, over chunks
// of frames.
func TestSTFTWindows(t *testing.T) {
	d := device(t)
	r := newRand(t)
	defer func() { testBindLimit, istftScratch = 0, istftScratchBytes }()
	for _, c := range []struct {
		n, hop, b, l     int
		fwdLimit, invLim uint64
		scratch          int
	}{{64, 16, 5, 3001, 20 << 10, 120 << 10, 30 << 10}, {63, 20, 3, 2500, 20 << 10, 70 << 10, 20 << 10}, {512, 128, 3, 9000, 100 << 10, 600 << 10, 200 << 10}} {
		opt := DefaultSTFTOptions(c.n)
		opt.HopLength = c.hop
		x := rounded(randn(r, c.b*c.l, 1))
		want, f, frames, err := reference.STFT(x, c.b, c.l, opt)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		testBindLimit = c.fwdLimit
		got := runSTFT(t, d, pl, x, c.b, c.l)
		checkErr(t, fmt.Sprintf("stft n=%d limit %d", c.n, c.fwdLimit), got, want, tolF32)
		spec := rounded(randn(r, c.b*f*frames*2, 1))
		wantY, _, err := reference.ISTFT(spec, c.b, f, frames, opt)
		if err != nil {
			t.Fatal(err)
		}
		testBindLimit, istftScratch = c.invLim, c.scratch
		checkErr(t, fmt.Sprintf("istft n=%d limit %d scratch %d", c.n, c.invLim, c.scratch), runISTFT(t, d, pl, spec, c.b, frames, 0), wantY, tolF32)
		pl.Close()
		testBindLimit, istftScratch = 0, istftScratchBytes
	}
}

// TestSTFTErrors checks that bad parameters and tensors give errors wrapping ErrInvalidArgument that name
// what is wrong, and that nothing is recorded for them.
func TestSTFTErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	for _, c := range []struct {
		opt  STFTOptions
		want string
	}{
		{STFTOptions{NFFT: 0}, "n_fft"},
		{STFTOptions{NFFT: 2}, "hop_length"}, // default n/4 = 0
		{STFTOptions{NFFT: 8, HopLength: -1}, "hop_length"},
		{STFTOptions{NFFT: 8, WinLength: 9}, "win_length"},
		{STFTOptions{NFFT: 8, WindowKind: "hamming"}, "window"},
		{STFTOptions{NFFT: 8, Window: []float64{1, 2}}, "window"},
		{STFTOptions{NFFT: 8, Window: make([]float64, 8), WindowKind: "hann"}, "window"},
		{STFTOptions{NFFT: 8, PadMode: "circular"}, "pad_mode"},
		{STFTOptions{NFFT: 8, Length: -1}, "length"},
	} {
		_, err := NewSTFTPlan(d, c.opt)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want ErrInvalidArgument naming %s", c.opt, err, c.want)
		}
		if err := STFT(s, nil, nil, c.opt); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("one-shot %+v: error %v, want ErrInvalidArgument", c.opt, err)
		}
	}

	opt := DefaultSTFTOptions(16)
	pl, err := NewSTFTPlan(d, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	x8 := poisoned(t, d, gpu.F32, 1, 8)
	x100 := poisoned(t, d, gpu.F32, 2, 100)
	out := poisoned(t, d, gpu.F32, 2, 9, 26, 2)
	for _, c := range []struct {
		err  error
		want string
	}{
		{pl.Forward(s, out, x8), "pad_mode reflect"}, // n/2 = 8 >= length 8
		{pl.Forward(s, out, poisoned(t, d, gpu.F32, 200)), "x has shape"},
		{pl.Forward(s, poisoned(t, d, gpu.F32, 2, 9, 25, 2), x100), "out has shape"},
		{pl.Forward(s, out, poisoned(t, d, gpu.F16, 2, 100)), "dtype"},
		{pl.Forward(s, out, nil), "x is nil"},
		{pl.Inverse(s, poisoned(t, d, gpu.F32, 2, 100), poisoned(t, d, gpu.F32, 2, 8, 26, 2)), "frequencies"},
		{pl.Inverse(s, poisoned(t, d, gpu.F32, 2, 100), poisoned(t, d, gpu.F32, 2, 9, 26)), "spec has shape"},
		{pl.Inverse(s, poisoned(t, d, gpu.F32, 2, 99), out), "out has shape"},
		{ISTFT(s, poisoned(t, d, gpu.F32, 2, 100), out, STFTOptions{NFFT: 16, Length: -2}), "length"},
	} {
		if !errors.Is(c.err, ErrInvalidArgument) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want ErrInvalidArgument naming %q", c.err, c.want)
		}
	}
	// constant padding accepts a signal shorter than n/2
	cst := opt
	cst.PadMode = "constant"
	if _, _, err := STFTShape(8, cst); err != nil {
		t.Errorf("constant padding of a short signal: %v", err)
	}
	// without centring the signal must hold one frame
	nc := opt
	nc.Center = false
	if _, _, err := STFTShape(15, nc); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "n_fft") {
		t.Errorf("signal shorter than n_fft: error %v", err)
	}

	// NOLA: a window with a zero at a position no other frame covers
	w := []float64{1, 1, 0, 1, 1, 1, 1, 1}
	nola := STFTOptions{NFFT: 8, HopLength: 8, Window: w, Onesided: true}
	np, err := NewSTFTPlan(d, nola)
	if err != nil {
		t.Fatal(err)
	}
	defer np.Close()
	y := poisoned(t, d, gpu.F32, 1, 24)
	if err := np.Inverse(s, y, poisoned(t, d, gpu.F32, 1, 5, 3, 2)); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "NOLA") {
		t.Errorf("zero envelope: error %v, want ErrInvalidArgument naming NOLA", err)
	}
	// hop longer than the window
	hw := STFTOptions{NFFT: 8, HopLength: 6, WinLength: 4, Onesided: true}
	hp, err := NewSTFTPlan(d, hw)
	if err != nil {
		t.Fatal(err)
	}
	defer hp.Close()
	if err := hp.Inverse(s, poisoned(t, d, gpu.F32, 1, 20), poisoned(t, d, gpu.F32, 1, 5, 3, 2)); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "hop_length") {
		t.Errorf("hop > win_length: error %v", err)
	}
	if err := s.Run(); err != nil { // nothing was recorded
		t.Fatal(err)
	}
}

// TestSTFTLarge checks sizes beyond one lane group's private arrays, which take the four-step
// path through scratch tensors (ops/fft_big.go): odd sizes above 2048, sizes whose half has a
// large prime factor, and (-long) sizes above 8192.
func TestSTFTLarge(t *testing.T) {
	d := device(t)
	r := newRand(t)
	sizes := []int{2049, 4097 * 2}
	if *long {
		sizes = append(sizes, 3001, 4099, 10000, 12289, 16384)
	}
	for i, n := range sizes {
		opt := stftVariant(n, i, r)
		t.Run(optString(opt), func(t *testing.T) {
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			if pl.big == nil {
				t.Fatalf("n_fft %d: expected the large path", n)
			}
			b, l := 2, n+2*opt.HopLength+3
			x := rounded(randn(r, b*l, 1))
			want, _, frames, err := reference.STFT(x, b, l, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := runSTFT(t, d, pl, x, b, l)
			checkErr(t, fmt.Sprintf("stft (M=%d blue=%v, %d×%d)", pl.big.M, pl.big.blue, pl.big.p1.N, pl.big.p2.N), got, want, tolF32)
			spec := rounded(randn(r, b*pl.Freqs()*frames*2, 1))
			if wantY, _, err := reference.ISTFT(spec, b, pl.Freqs(), frames, opt); err == nil {
				checkErr(t, "istft", runISTFT(t, d, pl, spec, b, frames, 0), wantY, tolF32)
			} else {
				t.Logf("no istft: %v", err)
			}
		})
	}
	// the batched real FFT, odd batch of an odd size
	for _, n := range []int{2049} {
		pl, err := NewRFFTPlan(d, n)
		if err != nil {
			t.Fatal(err)
		}
		batch := 3
		x := rounded(randn(r, batch*n, 1))
		xt := upload(t, d, gpu.F32, x, batch, n)
		out := poisoned(t, d, gpu.F32, batch, n/2+1, 2)
		y := poisoned(t, d, gpu.F32, batch, n)
		s := stream(t, d)
		if err := pl.Forward(s, out, xt); err != nil {
			t.Fatal(err)
		}
		if err := pl.Inverse(s, y, out); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, "rfft", read(t, out), refRFFT(x, batch, n), tolF32)
		checkErr(t, "irfft(rfft)", read(t, y), x, tolF32)
		pl.Close()
	}
}

// withLength returns pl with the iSTFT output length set to length (sharing pl's tables; tests
// use it to invert with several lengths through one plan).
func withLength(pl *STFTPlan, length int) *STFTPlan {
	if pl.p.sp.Length == length {
		return pl
	}
	c := &STFTPlan{p: pl.p, pl: pl.pl, tab: pl.tab, ola: pl.ola, big: pl.big}
	c.p.sp.Length = length
	return c
}
