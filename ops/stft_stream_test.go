package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// concatFrames appends spectra [b, F, k, 2] along the frame axis.
func concatFrames(acc []float32, accFrames int, spec []float32, k, b, f int) ([]float32, int) {
	if k == 0 {
		return acc, accFrames
	}
	out := make([]float32, b*f*(accFrames+k)*2)
	for r := 0; r < b; r++ {
		for q := 0; q < f; q++ {
			dst := out[((r*f+q)*(accFrames+k))*2:]
			copy(dst, acc[((r*f+q)*accFrames)*2:((r*f+q)*accFrames+accFrames)*2])
			copy(dst[accFrames*2:], spec[((r*f+q)*k)*2:((r*f+q)*k+k)*2])
		}
	}
	return out, accFrames + k
}

// streamOpts are the options the streaming tests run.
func streamOpts() []STFTOptions {
	o1 := DefaultSTFTOptions(16)
	o2 := DefaultSTFTOptions(400)
	o2.HopLength = 160
	o3 := DefaultSTFTOptions(512)
	o3.HopLength = 256
	o4 := DefaultSTFTOptions(441)
	o4.HopLength, o4.PadMode, o4.Normalized = 147, "constant", true
	o5 := DefaultSTFTOptions(7)
	o5.Center, o5.HopLength, o5.WindowKind = false, 3, "ones"
	o6 := DefaultSTFTOptions(20)
	o6.HopLength, o6.Onesided, o6.WinLength = 5, false, 15
	return []STFTOptions{o1, o2, o3, o4, o5, o6}
}

// TestSTFTStream feeds signals in random block sizes (0 and 1 included) and checks that the
// frames equal the one-shot STFT's.
func TestSTFTStream(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, opt := range streamOpts() {
		t.Run(optString(opt), func(t *testing.T) {
			b, l := 2, 9*opt.NFFT+37
			x := rounded(randn(r, b*l, 1))
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			want := runSTFT(t, d, pl, x, b, l)
			st, err := NewSTFTStream(d, opt, b)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			f := st.Freqs()
			var got []float32
			frames := 0
			for pos := 0; pos < l; {
				n := min(l-pos, []int{0, 1, r.IntN(opt.NFFT + 1), r.IntN(5 * opt.NFFT)}[r.IntN(4)])
				blk := make([]float32, 0, b*n)
				for row := 0; row < b; row++ {
					blk = append(blk, reference.ToFloat32(x[row*l+pos:row*l+pos+n])...)
				}
				spec, k, err := st.Push(blk)
				if err != nil {
					t.Fatal(err)
				}
				got, frames = concatFrames(got, frames, spec, k, b, f)
				pos += n
			}
			spec, k, err := st.Flush()
			if err != nil {
				t.Fatal(err)
			}
			got, frames = concatFrames(got, frames, spec, k, b, f)
			checkErr(t, "streaming vs one-shot", got, reference.ToFloat64(want), 1e-6)
			ref, _, refFrames, err := reference.STFT(x, b, l, opt)
			if err != nil {
				t.Fatal(err)
			}
			if frames != refFrames {
				t.Fatalf("streaming gave %d frames, the reference %d", frames, refFrames)
			}
			checkErr(t, "streaming vs float64 reference", got, ref, tolF32)
			if _, _, err := st.Push(nil); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("push after flush: %v", err)
			}
		})
	}
}

// TestISTFTStream feeds spectrograms a random number of frames at a time and checks that the
// samples equal the one-shot iSTFT's, with and without length.
func TestISTFTStream(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for i, opt := range streamOpts() {
		if opt.Center && (opt.WinLength == 0 || opt.WinLength == opt.NFFT) {
			// none, a cut, and zeros past the end of the overlap-added signal
			opt.Length = []int{0, 5 * opt.HopLength, 30 * opt.NFFT}[i%3]
		}
		t.Run(optString(opt), func(t *testing.T) {
			pl, err := NewSTFTPlan(d, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			b, frames, f := 2, 23, pl.Freqs()
			spec := rounded(randn(r, b*f*frames*2, 1))
			want := runISTFT(t, d, pl, spec, b, frames, opt.Length)
			outLen := len(want) / b
			st, err := NewISTFTStream(d, opt, b)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			got := make([][]float32, b)
			add := func(y []float32, n int) {
				for row := 0; row < b; row++ {
					got[row] = append(got[row], y[row*n:(row+1)*n]...)
				}
			}
			sp := reference.ToFloat32(spec)
			for m := 0; m < frames; {
				k := min(frames-m, r.IntN(4))
				blk := make([]float32, 0, b*f*k*2)
				for row := 0; row < b; row++ {
					for q := 0; q < f; q++ {
						o := ((row*f+q)*frames + m) * 2
						blk = append(blk, sp[o:o+2*k]...)
					}
				}
				y, n, err := st.Push(blk)
				if err != nil {
					t.Fatal(err)
				}
				add(y, n)
				m += k
			}
			y, n, err := st.Flush()
			if err != nil {
				t.Fatal(err)
			}
			add(y, n)
			var flat []float32
			for row := 0; row < b; row++ {
				if len(got[row]) != outLen {
					t.Fatalf("row %d: %d samples, want %d", row, len(got[row]), outLen)
				}
				flat = append(flat, got[row]...)
			}
			checkErr(t, "streaming vs one-shot", flat, reference.ToFloat64(want), 1e-6)
			ref, refLen, err := reference.ISTFT(spec, b, f, frames, opt)
			if err != nil {
				t.Fatal(err)
			}
			if refLen != outLen {
				t.Fatalf("streaming gave %d samples per row, the reference %d", outLen, refLen)
			}
			checkErr(t, "streaming vs float64 reference", flat, ref, tolF32)
		})
	}
}

func TestSTFTStreamErrors(t *testing.T) {
	d := device(t)
	if _, err := NewSTFTStream(d, DefaultSTFTOptions(16), 0); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "batch") {
		t.Errorf("batch 0: %v", err)
	}
	st, err := NewSTFTStream(d, DefaultSTFTOptions(16), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.Push(make([]float32, 3)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("odd block: %v", err)
	}
	if _, _, err := st.Push(make([]float32, 8)); err != nil {
		t.Fatal(err)
	}
	// 4 samples per row: reflect padding of 8 needs more
	if _, _, err := st.Flush(); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "pad_mode") {
		t.Errorf("short signal: %v", err)
	}
	is, err := NewISTFTStream(d, DefaultSTFTOptions(16), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	if _, _, err := is.Push(make([]float32, 5)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad spec: %v", err)
	}
	if _, _, err := is.Flush(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty flush: %v", err)
	}
	_ = gpu.F32
}
