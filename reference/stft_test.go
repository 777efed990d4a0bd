package reference_test

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// Helpers shared by stft_test.go and mel_test.go (prefix au).

func auRandn(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// auNear compares element by element: |got − want| <= tol (NaN fails).
func auNear(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.17g, want %.17g", name, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d elements off in all", name, bad)
	}
}

func auWantErr(t *testing.T, name string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", name, err, w)
		}
	}
}

// auBin returns bin (b, f, m) of a [B, F, frames, 2] spectrum.
func auBin(spec []float64, freqs, frames, b, f, m int) complex128 {
	o := ((b*freqs+f)*frames + m) * 2
	return complex(spec[o], spec[o+1])
}

func TestHannWindow(t *testing.T) {
	for _, c := range []struct {
		n        int
		periodic bool
		want     []float64
	}{
		{0, true, []float64{}},
		{1, true, []float64{1}},
		{1, false, []float64{1}},
		{2, true, []float64{0, 1}},
		{3, true, []float64{0, 0.75, 0.75}},
		{4, true, []float64{0, 0.5, 1, 0.5}},
		{5, false, []float64{0, 0.5, 1, 0.5, 0}},
		{8, true, []float64{0, (2 - math.Sqrt2) / 4, 0.5, (2 + math.Sqrt2) / 4, 1, (2 + math.Sqrt2) / 4, 0.5, (2 - math.Sqrt2) / 4}},
	} {
		w, err := reference.HannWindow(c.n, c.periodic)
		if err != nil {
			t.Fatal(err)
		}
		auNear(t, fmt.Sprintf("hann(%d, %v)", c.n, c.periodic), w, c.want, 1e-15)
	}
	_, err := reference.HannWindow(-1, true)
	auWantErr(t, "negative", err, "window_length")
}

func TestSTFTWindowPadding(t *testing.T) {
	for _, c := range []struct {
		opt  reference.STFTOptions
		want []float64
	}{
		{reference.STFTOptions{NFFT: 6, WinLength: 3}, []float64{0, 0, 0.75, 0.75, 0, 0}},
		{reference.STFTOptions{NFFT: 7, WinLength: 4, WindowKind: "ones"}, []float64{0, 1, 1, 1, 1, 0, 0}},
		{reference.STFTOptions{NFFT: 5, WinLength: 2, Window: []float64{3, 4}}, []float64{0, 3, 4, 0, 0}},
		{reference.STFTOptions{NFFT: 4, WinLength: 3, Window: []float64{3, 4, 5}}, []float64{3, 4, 5, 0}},
		{reference.STFTOptions{NFFT: 4}, []float64{0, 0.5, 1, 0.5}},
	} {
		w, err := reference.STFTWindow(c.opt)
		if err != nil {
			t.Fatal(err)
		}
		auNear(t, "padded window", w, c.want, 1e-15)
	}
}

// auDirectSTFT is an independent STFT: pad, frame, window, and sum with
// cmplx.Exp, one bin at a time.
func auDirectSTFT(x []float64, opt reference.STFTOptions, window []float64) [][]complex128 {
	n := opt.NFFT
	xp := slices.Clone(x)
	if opt.Center {
		p := n / 2
		left, right := make([]float64, p), make([]float64, p)
		if opt.PadMode != "constant" {
			for j := 1; j <= p; j++ {
				left[p-j] = x[j]
				right[j-1] = x[len(x)-1-j]
			}
		}
		xp = append(append(left, x...), right...)
	}
	hop := opt.HopLength
	freqs := n
	if opt.Onesided {
		freqs = n/2 + 1
	}
	var out [][]complex128 // [frame][freq]
	for s := 0; s+n <= len(xp); s += hop {
		row := make([]complex128, freqs)
		for f := range row {
			for k := 0; k < n; k++ {
				row[f] += complex(window[k]*xp[s+k], 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(f*k)/float64(n)))
			}
			if opt.Normalized {
				row[f] /= complex(math.Sqrt(float64(n)), 0)
			}
		}
		out = append(out, row)
	}
	return out
}

func TestSTFTMatchesDirectDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []reference.STFTOptions{
		{NFFT: 8, HopLength: 2, WindowKind: "hann", Center: true, PadMode: "reflect", Onesided: true},
		{NFFT: 9, HopLength: 3, WinLength: 6, Center: true, PadMode: "constant", Onesided: true, Normalized: true},
		{NFFT: 7, HopLength: 4, WinLength: 4, WindowKind: "ones", Onesided: false},
		{NFFT: 16, HopLength: 5, WinLength: 11, Center: true, Onesided: false, Normalized: true},
		{NFFT: 1, HopLength: 1, WindowKind: "ones", Center: true, Onesided: true},
		{NFFT: 5, HopLength: 2, Center: true, PadMode: "reflect", Onesided: true},
		{NFFT: 10, HopLength: 3, WinLength: 7, Center: true, Onesided: true},
		{NFFT: 6, HopLength: 7, Window: []float64{1, -2, 3, 0.5, 2, 1}, Center: true, Onesided: true},
	} {
		bs, l := 2, 29
		x := auRandn(rng, bs*l)
		x0 := slices.Clone(x)
		spec, freqs, frames, err := reference.STFT(x, bs, l, c)
		if err != nil {
			t.Fatal(err)
		}
		w, err := reference.STFTWindow(c)
		if err != nil {
			t.Fatal(err)
		}
		if f2, fr2, _ := reference.STFTShape(l, c); f2 != freqs || fr2 != frames {
			t.Errorf("STFTShape = %d, %d, want %d, %d", f2, fr2, freqs, frames)
		}
		for b := 0; b < bs; b++ {
			want := auDirectSTFT(x[b*l:(b+1)*l], c, w)
			if len(want) != frames || len(want[0]) != freqs {
				t.Fatalf("%+v: shape F=%d frames=%d, want F=%d frames=%d", c, freqs, frames, len(want[0]), len(want))
			}
			for m := range want {
				for f := range want[m] {
					if d := cmplx.Abs(auBin(spec, freqs, frames, b, f, m) - want[m][f]); d > 1e-12 {
						t.Errorf("%+v: bin b=%d f=%d m=%d off by %g", c, b, f, m, d)
					}
				}
			}
		}
		auNear(t, "x unchanged", x, x0, 0)
	}
}

func TestSTFTHandDFTs(t *testing.T) {
	rect := func(n, hop int, onesided bool) reference.STFTOptions {
		return reference.STFTOptions{NFFT: n, HopLength: hop, WindowKind: "ones", Onesided: onesided}
	}
	for _, c := range []struct {
		name string
		x    []float64
		opt  reference.STFTOptions
		want []float64 // [F, frames, 2] for one signal
	}{
		// n_fft = 1: X = x, one frame per sample.
		{"n1", []float64{3, -1, 2}, rect(1, 1, true), []float64{3, 0, -1, 0, 2, 0}},
		// n_fft = 2: X0 = x0 + x1, X1 = x0 − x1; frames at 0 and 2.
		{"n2", []float64{1, 2, 5, 3}, rect(2, 2, true), []float64{3, 0, 8, 0, -1, 0, 2, 0}},
		// n_fft = 4: DFT of [1 2 3 4] = [10, −2+2i, −2, −2−2i].
		{"n4 onesided", []float64{1, 2, 3, 4}, rect(4, 1, true), []float64{10, 0, -2, 2, -2, 0}},
		{"n4 twosided", []float64{1, 2, 3, 4}, rect(4, 1, false), []float64{10, 0, -2, 2, -2, 0, -2, -2}},
		{"n4 normalized", []float64{1, 2, 3, 4}, func() reference.STFTOptions { o := rect(4, 1, true); o.Normalized = true; return o }(), []float64{5, 0, -1, 1, -1, 0}},
		// n_fft = 3, a delay of one sample: X_f = e^{−2πi f/3}.
		{"n3", []float64{0, 1, 0}, rect(3, 1, false), []float64{1, 0, -0.5, -math.Sqrt(3) / 2, -0.5, math.Sqrt(3) / 2}},
	} {
		spec, _, _, err := reference.STFT(c.x, 1, len(c.x), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		auNear(t, c.name, spec, c.want, 1e-14)
	}
}

func TestSTFTCenterPadding(t *testing.T) {
	// n_fft 4, hop 1, rectangular: the DC bin of frame m is the sum of padded[m : m+4].
	x := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct {
		mode string
		dc   []float64
	}{
		{"reflect", []float64{8, 8, 10, 14, 16, 16}}, // padded [3 2 1 2 3 4 5 4 3]
		{"constant", []float64{3, 6, 10, 14, 12, 9}}, // padded [0 0 1 2 3 4 5 0 0]
	} {
		opt := reference.STFTOptions{NFFT: 4, HopLength: 1, WindowKind: "ones", Center: true, PadMode: c.mode, Onesided: true}
		spec, freqs, frames, err := reference.STFT(x, 1, len(x), opt)
		if err != nil {
			t.Fatal(err)
		}
		var dc []float64
		for m := 0; m < frames; m++ {
			dc = append(dc, real(auBin(spec, freqs, frames, 0, 0, m)))
		}
		auNear(t, c.mode, dc, c.dc, 1e-14)
	}
}

func TestSTFTCosinePeak(t *testing.T) {
	// x[i] = cos(2π k0 i / N) at an exact bin. For a frame starting at s and a
	// window whose DFT W vanishes at 2k0 (periodic Hann: W is non-zero only
	// at 0, ±1), X[k0] = (Σw / 2) e^{2πi k0 s / N}: the peak magnitude is
	// N/2 × (Σw / N). Σw = N/2 for periodic Hann, N for ones.
	n, k0, hop, l := 32, 5, 7, 200
	x := make([]float64, l)
	for i := range x {
		x[i] = math.Cos(2 * math.Pi * float64(k0*i) / float64(n))
	}
	for _, c := range []struct {
		kind string
		sumW float64
		zero func(f int) bool // bins that must be exactly zero
	}{
		{"hann", float64(n) / 2, func(f int) bool { return f < k0-1 || f > k0+1 }},
		{"ones", float64(n), func(f int) bool { return f != k0 }},
	} {
		opt := reference.STFTOptions{NFFT: n, HopLength: hop, WindowKind: c.kind, Onesided: true}
		spec, freqs, frames, err := reference.STFT(x, 1, l, opt)
		if err != nil {
			t.Fatal(err)
		}
		for m := 0; m < frames; m++ {
			s := m * hop
			want := complex(c.sumW/2, 0) * cmplx.Exp(complex(0, 2*math.Pi*float64(k0*s)/float64(n)))
			if d := cmplx.Abs(auBin(spec, freqs, frames, 0, k0, m) - want); d > 1e-12 {
				t.Errorf("%s frame %d: X[k0] off by %g", c.kind, m, d)
			}
			for f := 0; f < freqs; f++ {
				if c.zero(f) && cmplx.Abs(auBin(spec, freqs, frames, 0, f, m)) > 1e-12 {
					t.Errorf("%s frame %d: bin %d = %v, want 0", c.kind, m, f, auBin(spec, freqs, frames, 0, f, m))
				}
			}
		}
		// Hann's neighbours: X[k0±1] = −(N/8) e^{2πi k0 s/N} (the −¼ e^{∓...} terms of the window).
		if c.kind == "hann" {
			for _, f := range []int{k0 - 1, k0 + 1} {
				want := complex(-float64(n)/8, 0)
				if d := cmplx.Abs(auBin(spec, freqs, frames, 0, f, 0) - want); d > 1e-12 {
					t.Errorf("hann neighbour %d of frame 0 off by %g", f, d)
				}
			}
		}
	}
}

func TestSTFTParsevalAndLinearity(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{1, 2, 5, 8, 15, 16} {
		frames := 4
		l := n * frames
		x := auRandn(rng, l)
		for _, onesided := range []bool{false, true} {
			for _, norm := range []bool{false, true} {
				// Rectangular window, hop = n_fft: frames tile the signal, and per frame
				// Σ_f |X_f|² = N^{norm?0:1} Σ_k x_k² (one-sided bins 1..⌈N/2⌉−1 count twice).
				opt := reference.STFTOptions{NFFT: n, HopLength: n, WindowKind: "ones", Onesided: onesided, Normalized: norm}
				spec, freqs, nfr, err := reference.STFT(x, 1, l, opt)
				if err != nil {
					t.Fatal(err)
				}
				if nfr != frames {
					t.Fatalf("frames = %d, want %d", nfr, frames)
				}
				for m := 0; m < frames; m++ {
					e := 0.0
					for f := 0; f < freqs; f++ {
						w := 1.0
						if onesided && f > 0 && 2*f != n {
							w = 2
						}
						a := cmplx.Abs(auBin(spec, freqs, frames, 0, f, m))
						e += w * a * a
					}
					want := 0.0
					for k := 0; k < n; k++ {
						want += x[m*n+k] * x[m*n+k]
					}
					if !norm {
						want *= float64(n)
					}
					if math.Abs(e-want) > 1e-12*want {
						t.Errorf("n=%d onesided=%v normalized=%v frame %d: energy %g, want %g", n, onesided, norm, m, e, want)
					}
				}
			}
		}
	}
	// Linearity: STFT(a x + b y) = a STFT(x) + b STFT(y).
	opt := reference.DefaultSTFTOptions(12)
	opt.HopLength = 5
	x, y := auRandn(rng, 2*40), auRandn(rng, 2*40)
	a, b := 0.7, -1.9
	mix := make([]float64, len(x))
	for i := range mix {
		mix[i] = a*x[i] + b*y[i]
	}
	sx, _, _, _ := reference.STFT(x, 2, 40, opt)
	sy, _, _, _ := reference.STFT(y, 2, 40, opt)
	sm, _, _, err := reference.STFT(mix, 2, 40, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(sx))
	for i := range want {
		want[i] = a*sx[i] + b*sy[i]
	}
	auNear(t, "linearity", sm, want, 1e-12)
}

func TestISTFTHandCases(t *testing.T) {
	opt := reference.STFTOptions{NFFT: 4, HopLength: 4, WindowKind: "ones", Onesided: true}
	for _, c := range []struct {
		name string
		spec []float64 // [1, 3, 1, 2]
		want []float64
	}{
		{"dc", []float64{4, 0, 0, 0, 0, 0}, []float64{1, 1, 1, 1}},
		{"nyquist", []float64{0, 0, 0, 0, 4, 0}, []float64{1, -1, 1, -1}},
		{"bin 1", []float64{0, 0, 2, 0, 0, 0}, []float64{1, 0, -1, 0}},
		{"bin 1 imag", []float64{0, 0, 0, -2, 0, 0}, []float64{0, 1, 0, -1}},
		// The imaginary parts of DC and Nyquist are ignored, as torch's irfft.
		{"dc, nyquist imag", []float64{4, 9, 0, 0, 0, -7}, []float64{1, 1, 1, 1}},
	} {
		y, n, err := reference.ISTFT(c.spec, 1, 3, 1, opt)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Fatalf("length %d, want 4", n)
		}
		auNear(t, c.name, y, c.want, 1e-15)
	}
}

func TestISTFTIgnoresRedundantBins(t *testing.T) {
	// Two-sided input: torch keeps bins 0..n_fft/2 only; also the imaginary
	// parts of DC and (even n_fft) Nyquist do not matter.
	rng := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{6, 7} {
		opt := reference.DefaultSTFTOptions(n)
		opt.HopLength, opt.Onesided = 2, false
		x := auRandn(rng, 30)
		spec, freqs, frames, err := reference.STFT(x, 1, 30, opt)
		if err != nil {
			t.Fatal(err)
		}
		ref, _, err := reference.ISTFT(spec, 1, freqs, frames, opt)
		if err != nil {
			t.Fatal(err)
		}
		noisy := slices.Clone(spec)
		for m := 0; m < frames; m++ {
			noisy[(0*frames+m)*2+1] += 5 // imag of DC
			if n%2 == 0 {
				noisy[((n/2)*frames+m)*2+1] -= 3 // imag of Nyquist
			}
			for f := n/2 + 1; f < n; f++ {
				noisy[(f*frames+m)*2] += rng.NormFloat64()
				noisy[(f*frames+m)*2+1] += rng.NormFloat64()
			}
		}
		y, _, err := reference.ISTFT(noisy, 1, freqs, frames, opt)
		if err != nil {
			t.Fatal(err)
		}
		auNear(t, "redundant bins", y, ref, 1e-13)
		auNear(t, "round trip", ref, x[:len(ref)], 1e-12)
	}
}

// auEnvelopeOK says whether the overlap-added squared window stays >= 1e-11
// over the samples ISTFT keeps, computed directly.
func auEnvelopeOK(w []float64, hop, frames, start, kept int) bool {
	n := len(w)
	for p := start; p < start+kept; p++ {
		e := 0.0
		for m := 0; m < frames; m++ {
			if k := p - m*hop; k >= 0 && k < n {
				e += w[k] * w[k]
			}
		}
		if e < 1e-11 {
			return false
		}
	}
	return true
}

func TestSTFTRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	tested, nola := 0, 0
	for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 12, 16, 17} {
		for _, win := range []int{n, n - 1, (n + 1) / 2} {
			if win < 1 {
				continue
			}
			for _, hop := range []int{1, 2, win/2 + 1, win} {
				if hop < 1 || hop > win {
					continue
				}
				for _, kind := range []string{"hann", "ones", "custom"} {
					for _, center := range []bool{true, false} {
						for _, mode := range []string{"reflect", "constant"} {
							if !center && mode == "constant" {
								continue
							}
							for _, norm := range []bool{false, true} {
								onesided := (n+hop)%2 == 0
								opt := reference.STFTOptions{NFFT: n, HopLength: hop, WinLength: win, Center: center,
									PadMode: mode, Normalized: norm, Onesided: onesided}
								if kind == "custom" {
									opt.Window = make([]float64, win)
									for i := range opt.Window {
										opt.Window[i] = 0.3 + rng.Float64()
									}
								} else {
									opt.WindowKind = kind
								}
								name := fmt.Sprintf("n=%d win=%d hop=%d %s center=%v %s norm=%v onesided=%v", n, win, hop, kind, center, mode, norm, onesided)
								bs, l := 2, 3*n+11
								x := auRandn(rng, bs*l)
								spec, freqs, frames, err := reference.STFT(x, bs, l, opt)
								if err != nil {
									t.Fatalf("%s: %v", name, err)
								}
								w, _ := reference.STFTWindow(opt)
								total := n + hop*(frames-1)
								start := 0
								if center {
									start = n / 2
								}
								good := min(l, total-start) // samples the frames cover
								opt.Length = l
								y, outLen, err := reference.ISTFT(spec, bs, freqs, frames, opt)
								if !auEnvelopeOK(w, hop, frames, start, good) {
									nola++
									auWantErr(t, name, err, "NOLA")
									continue
								}
								if err != nil {
									t.Fatalf("%s: %v", name, err)
								}
								if outLen != l {
									t.Fatalf("%s: length %d, want %d", name, outLen, l)
								}
								for b := 0; b < bs; b++ {
									want := slices.Clone(x[b*l : (b+1)*l])
									clear(want[good:]) // torch pads the uncovered tail with zeros
									auNear(t, name, y[b*l:(b+1)*l], want, 1e-12)
								}
								tested++
							}
						}
					}
				}
			}
		}
	}
	if tested < 400 || nola < 20 {
		t.Errorf("round trips tested %d, NOLA cases %d: the table lost its coverage", tested, nola)
	}
	t.Logf("%d round trips, %d NOLA failures as predicted", tested, nola)
}

func TestISTFTLengthAndDefaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	opt := reference.DefaultSTFTOptions(8) // hop 2, Hann, center, reflect
	l := 37
	x := auRandn(rng, l)
	spec, freqs, frames, err := reference.STFT(x, 1, l, opt)
	if err != nil {
		t.Fatal(err)
	}
	if freqs != 5 || frames != 1+(l+8-8)/2 {
		t.Fatalf("F = %d, frames = %d", freqs, frames)
	}
	// No length: n_fft + hop (frames − 1) − 2 (n_fft/2) samples.
	y, n, err := reference.ISTFT(spec, 1, freqs, frames, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8+2*(frames-1)-8 {
		t.Fatalf("natural length %d", n)
	}
	auNear(t, "natural", y, x[:n], 1e-12)
	opt.Length = 10
	y, _, err = reference.ISTFT(spec, 1, freqs, frames, opt)
	if err != nil {
		t.Fatal(err)
	}
	auNear(t, "trimmed", y, x[:10], 1e-12)
	// Length past the signal: the frames cover n_fft + hop (frames − 1) − n_fft/2
	// = 40 samples from the start, so samples 37..39 are the reflect padding
	// x[35], x[34], x[33], and torch pads the rest with zeros.
	opt.Length = 50
	y, _, err = reference.ISTFT(spec, 1, freqs, frames, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(x), x[35], x[34], x[33])
	auNear(t, "padded", y, append(want, make([]float64, 10)...), 1e-12)
}

func TestSTFTErrors(t *testing.T) {
	x := make([]float64, 20)
	for _, c := range []struct {
		name  string
		opt   reference.STFTOptions
		l     int
		words []string
	}{
		{"n_fft 0", reference.STFTOptions{NFFT: 0, HopLength: 1}, 20, []string{"n_fft"}},
		{"hop negative", reference.STFTOptions{NFFT: 8, HopLength: -1}, 20, []string{"hop_length"}},
		{"hop default 0", reference.STFTOptions{NFFT: 3}, 20, []string{"hop_length"}},
		{"win_length", reference.STFTOptions{NFFT: 8, WinLength: 9}, 20, []string{"win_length"}},
		{"window length", reference.STFTOptions{NFFT: 8, Window: []float64{1, 2}}, 20, []string{"window", "win_length"}},
		{"window and kind", reference.STFTOptions{NFFT: 4, WinLength: 2, Window: []float64{1, 2}, WindowKind: "hann"}, 20, []string{"window"}},
		{"window kind", reference.STFTOptions{NFFT: 8, WindowKind: "hamming"}, 20, []string{"window", "hamming"}},
		{"pad_mode", reference.STFTOptions{NFFT: 8, Center: true, PadMode: "edge"}, 20, []string{"pad_mode"}},
		{"reflect too short", reference.STFTOptions{NFFT: 8, Center: true}, 4, []string{"pad_mode", "reflect"}},
		{"n_fft too long", reference.STFTOptions{NFFT: 32}, 20, []string{"n_fft"}},
		{"x length", reference.STFTOptions{NFFT: 8}, 19, []string{"x"}},
	} {
		_, _, _, err := reference.STFT(x[:min(len(x), c.l)], 1, c.l, c.opt)
		if c.name == "x length" {
			_, _, _, err = reference.STFT(x, 1, c.l, c.opt)
		}
		auWantErr(t, c.name, err, c.words...)
	}
	// Reflect with n_fft/2 = length − 1 is the longest pad allowed; constant has no limit.
	if _, _, _, err := reference.STFT(x[:5], 1, 5, reference.STFTOptions{NFFT: 8, HopLength: 1, Center: true}); err != nil {
		t.Errorf("reflect pad 4 < 5: %v", err)
	}
	if _, _, _, err := reference.STFT(x[:1], 1, 1, reference.STFTOptions{NFFT: 8, HopLength: 1, Center: true, PadMode: "constant"}); err != nil {
		t.Errorf("constant pad: %v", err)
	}

	opt := reference.STFTOptions{NFFT: 8, HopLength: 2, Center: true, Onesided: true}
	spec := make([]float64, 5*3*2)
	for _, c := range []struct {
		name   string
		edit   func(o *reference.STFTOptions)
		freqs  int
		frames int
		words  []string
	}{
		{"freqs", nil, 8, 3, []string{"frequencies", "n_fft/2+1"}},
		{"twosided freqs", func(o *reference.STFTOptions) { o.Onesided = false }, 5, 3, []string{"frequencies", "n_fft"}},
		{"spec length", nil, 5, 2, []string{"spec", "[B,F,frames,2]"}},
		{"frames 0", nil, 5, 0, []string{"frames"}},
		{"hop > win", func(o *reference.STFTOptions) { o.HopLength = 9; o.WinLength = 8 }, 5, 3, []string{"hop_length", "win_length", "NOLA"}},
		{"length", func(o *reference.STFTOptions) { o.Length = -1 }, 5, 3, []string{"length"}},
		{"n_fft", func(o *reference.STFTOptions) { o.NFFT = -4 }, 5, 3, []string{"n_fft"}},
	} {
		o := opt
		if c.edit != nil {
			c.edit(&o)
		}
		_, _, err := reference.ISTFT(spec, 1, c.freqs, c.frames, o)
		auWantErr(t, c.name, err, c.words...)
	}
}

func TestISTFTNOLA(t *testing.T) {
	// Periodic Hann with hop = win_length = n_fft: w[0] = 0, so the envelope
	// is exactly zero where each frame starts (sample 8 of the padded signal
	// is inside the kept range [4, 36)).
	opt := reference.STFTOptions{NFFT: 8, HopLength: 8, Center: true, Onesided: true}
	x := make([]float64, 32)
	spec, freqs, frames, err := reference.STFT(x, 1, 32, opt)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = reference.ISTFT(spec, 1, freqs, frames, opt)
	auWantErr(t, "hann hop=n_fft", err, "NOLA")
	// A user window with a zero in the middle fails even with overlap when
	// the hop lines the zeros up.
	opt = reference.STFTOptions{NFFT: 4, HopLength: 2, Window: []float64{1, 0, 1, 0}, Onesided: true}
	spec, freqs, frames, _ = reference.STFT(make([]float64, 12), 1, 12, opt)
	_, _, err = reference.ISTFT(spec, 1, freqs, frames, opt)
	auWantErr(t, "zeros lined up", err, "NOLA")
	// Without center the first sample sees only w[0] = 0 of a Hann window.
	opt = reference.STFTOptions{NFFT: 8, HopLength: 2, Onesided: true}
	spec, freqs, frames, _ = reference.STFT(make([]float64, 16), 1, 16, opt)
	_, _, err = reference.ISTFT(spec, 1, freqs, frames, opt)
	auWantErr(t, "hann without center", err, "NOLA")
}
