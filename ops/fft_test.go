package ops

import (
	"errors"
	"math"
	"math/cmplx"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestFactorSmooth(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
		ok   bool
	}{
		{1, nil, true}, {2, []int{2}, true}, {4, []int{4}, true}, {8, []int{8}, true}, {16, []int{8, 2}, true},
		{32, []int{8, 4}, true}, {512, []int{8, 8, 8}, true}, {1024, []int{8, 8, 8, 2}, true},
		{200, []int{8, 5, 5}, true}, {441, []int{3, 3, 7, 7}, true}, {11, nil, false}, {0, nil, false}, {2 * 97, nil, false},
	} {
		got, ok := factorSmooth(c.n)
		if ok != c.ok || (ok && !equalInts(got, c.want)) {
			t.Errorf("factorSmooth(%d) = %v, %v; want %v, %v", c.n, got, ok, c.want, c.ok)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPlanFFT checks the plans' invariants for every size up to 4500 and both lane policies.
func TestPlanFFT(t *testing.T) {
	classes := []int{64, 128, 256, 512}
	for _, few := range []bool{true, false} {
		for n := 1; n <= 4500; n++ {
			pl, err := planFFT(n, 8, classes, few)
			if err != nil {
				// the large path must take it
				info := gpu.DeviceInfo{Type: gpu.CPU, SubgroupSize: 8, SubgroupInCompute: true, SubgroupOps: []string{"shuffle"}}
				if !few {
					info.Type = gpu.Discrete
				}
				b, err := planBig(info, n)
				switch {
				case err != nil:
					t.Errorf("planFFT(%d) and planBig: %v", n, err)
				case b.p1.N*b.p2.N != b.M || b.M < n || (b.blue && b.M < 2*n-1) || (!b.blue && b.M != n):
					t.Errorf("planBig(%d) = %+v: inconsistent", n, b)
				}
				continue
			}
			prod := 1
			for _, r := range pl.radices {
				prod *= r
			}
			switch {
			case prod != pl.E || pl.P*pl.E != pl.M || pl.E > pl.emax || pl.N != n:
				t.Errorf("planFFT(%d) = %+v: inconsistent", n, pl)
			case pl.blue && pl.M < 2*n-1:
				t.Errorf("planFFT(%d) = %+v: Bluestein size below 2N-1", n, pl)
			case !pl.blue && pl.M != n:
				t.Errorf("planFFT(%d) = %+v: direct plan of another size", n, pl)
			case len(pl.radices) > fftMaxPasses:
				t.Errorf("planFFT(%d) = %+v: too many passes", n, pl)
			}
		}
	}
	if _, err := planFFT(0, 8, classes, true); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("planFFT(0): %v", err)
	}
}

// TestFFTTables checks the float64-computed tables: twiddles and the Bluestein chirp (whose
// phase π j²/N is reduced with j² mod 2N in integers) against direct float64 formulas, and the
// filter spectrum against a direct DFT.
func TestFFTTables(t *testing.T) {
	for _, n := range []int{97, 1009, 4093} {
		pl, err := planFFT(n, 8, []int{64, 128, 256, 512, 1024}, true)
		if err != nil || !pl.blue {
			t.Fatalf("planFFT(%d) = %+v, %v; want Bluestein", n, pl, err)
		}
		tab := fftTables(pl, n, nil)
		c := func(i int) complex128 { return complex(float64(tab[2*i]), float64(tab[2*i+1])) }
		maxErr := 0.0
		for j := 0; j < pl.M; j++ {
			want := cmplx.Exp(complex(0, -2*math.Pi*float64(j)/float64(pl.M)))
			maxErr = math.Max(maxErr, cmplx.Abs(c(pl.E+j)-want))
		}
		oChirp := pl.E + pl.M + n
		for j := 0; j < n; j++ {
			// the chirp in big.Float-free form: exact reduction, then float64 sincos
			q := (j * j) % (2 * n)
			want := cmplx.Exp(complex(0, -math.Pi*float64(q)/float64(n)))
			maxErr = math.Max(maxErr, cmplx.Abs(c(oChirp+j)-want))
		}
		if maxErr > 1e-7 {
			t.Errorf("n=%d: table error %.3g (want float32 rounding)", n, maxErr)
		}
		// B̂/M: DFT of b at a few bins
		oBh := pl.E + pl.M + 2*n
		for _, k := range []int{0, 1, pl.M / 3, pl.M - 1} {
			var s complex128
			for j := 0; j < pl.M; j++ {
				var b complex128
				switch {
				case j < n:
					b = cmplx.Conj(cmplx.Exp(complex(0, -math.Pi*float64((j*j)%(2*n))/float64(n))))
				case pl.M-j < n:
					jj := pl.M - j
					b = cmplx.Conj(cmplx.Exp(complex(0, -math.Pi*float64((jj*jj)%(2*n))/float64(n))))
				}
				s += b * cmplx.Exp(complex(0, -2*math.Pi*float64((j*k)%pl.M)/float64(pl.M)))
			}
			s /= complex(float64(pl.M), 0)
			if e := cmplx.Abs(c(oBh+k) - s); e > 1e-6 {
				t.Errorf("n=%d: B̂[%d] error %.3g", n, k, e)
			}
		}
	}
}

// refRFFT is the direct float64 DFT of the rows of x [batch, n], bins 0..n/2.
func refRFFT(x []float64, batch, n int) []float64 {
	f := n/2 + 1
	out := make([]float64, batch*f*2)
	for b := 0; b < batch; b++ {
		for k := 0; k < f; k++ {
			var re, im float64
			for j := 0; j < n; j++ {
				s, c := math.Sincos(-2 * math.Pi * float64((j*k)%n) / float64(n))
				re += x[b*n+j] * c
				im += x[b*n+j] * s
			}
			out[(b*f+k)*2], out[(b*f+k)*2+1] = re, im
		}
	}
	return out
}

// TestRFFT checks the batched real FFT and its inverse against direct DFTs, odd batches of odd
// sizes included (two frames share a unit there).
func TestRFFT(t *testing.T) {
	for _, m := range fftRegModes {
		t.Run(m.name, func(t *testing.T) {
			testFFTRegTabOff, testFFTRegInOff = m.tabOff, m.inOff
			defer func() { testFFTRegTabOff, testFFTRegInOff = false, false }()
			testRFFT(t, m.name != "texel")
		})
	}
}

// fftRegModes are the ways fft_reg.comp reads its table and input on lavapipe: texels for both
// (fft_reg_tt.comp, the default), texels for the table (fft_reg_t.comp), storage buffers.
var fftRegModes = []struct {
	name          string
	tabOff, inOff bool
}{{"texel", false, false}, {"tab_texel", false, true}, {"ssbo", true, true}}

// TestFFTRegTab checks the STFT and iSTFT (Hann window, centred, reflect padding) at sizes that
// take fft_reg.comp on lavapipe, in each of fftRegModes.
func TestFFTRegTab(t *testing.T) {
	d := device(t)
	r := newRand(t)
	defer func() { testFFTRegTabOff, testFFTRegInOff = false, false }()
	for _, n := range []int{64, 1024, 2048} {
		for _, m := range fftRegModes {
			testFFTRegTabOff, testFFTRegInOff = m.tabOff, m.inOff
			opt := DefaultSTFTOptions(n)
			b, l := 2, 3*n+5
			x := rounded(randn(r, b*l, 1))
			want, _, frames, err := reference.STFT(x, b, l, opt)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := runSTFT(t, d, pl, x, b, l)
			if e := reference.RelErr(got, want); !(e <= tolF32) {
				t.Errorf("n=%d %s: stft relative error %.3g > %.0e", n, m.name, e, tolF32)
			}
			ro := opt
			ro.Length = l
			y := runISTFT(t, d, pl, reference.ToFloat64(got), b, frames, l)
			if e := reference.MaxAbsErr(y, x); !(e <= 1e-4) {
				t.Errorf("n=%d %s: istft(stft(x)) max error %.3g", n, m.name, e)
			}
			pl.Close()
		}
	}
}

// testRFFT is TestRFFT in one of fftRegModes; few skips the sizes whose fft_reg pipelines
// unroll everything (n_fft 128 to 512), which take a minute to build with storage-buffer reads.
func testRFFT(t *testing.T, few bool) {
	d := device(t)
	r := newRand(t)
	for _, c := range []struct{ n, batch int }{{1, 3}, {2, 5}, {7, 5}, {16, 33}, {20, 7}, {64, 17}, {97, 3}, {128, 5}, {256, 3}, {441, 3}, {512, 9}, {1000, 2}, {1024, 4}, {2048, 2}} {
		if few && c.n >= 128 && c.n <= 512 {
			continue
		}
		x := rounded(randn(r, c.batch*c.n, 1))
		pl, err := NewRFFTPlan(d, c.n)
		if err != nil {
			t.Fatal(err)
		}
		f := c.n/2 + 1
		xt := upload(t, d, gpu.F32, x, c.batch, c.n)
		out := poisoned(t, d, gpu.F32, c.batch, f, 2)
		y := poisoned(t, d, gpu.F32, c.batch, c.n)
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
		checkErr(t, "rfft", read(t, out), refRFFT(x, c.batch, c.n), tolF32)
		checkErr(t, "irfft(rfft)", read(t, y), x, tolF32)
		pl.Close()
	}
	if _, err := NewRFFTPlan(d, 0); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "n = 0") {
		t.Errorf("n = 0: %v", err)
	}
	_ = reference.RelErr
}
