package ops

import (
	"os"
	"sort"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// gpuTime records rec on a timestamped stream reps+1 times and returns the median GPU time.
func gpuTime(t *testing.T, d *gpu.Device, reps int, rec func(s *gpu.Stream) error) time.Duration {
	t.Helper()
	s, err := d.NewStream(gpu.WithTimestamps(256))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ts []time.Duration
	for i := 0; i <= reps; i++ {
		if err := rec(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			ts = append(ts, s.Elapsed())
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[0] // the minimum: the machine is shared and noisy
}

// TestSTFTExplore times the STFT at a few sizes (frames/s).
func TestSTFTExplore(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	for _, c := range []struct{ n, hop, sr, secs, b int }{{512, 256, 16000, 10, 1}, {1024, 256, 16000, 10, 1}, {2048, 441, 44100, 10, 1}, {16, 4, 16000, 10, 1}} {
		l := c.sr * c.secs
		opt := DefaultSTFTOptions(c.n)
		opt.HopLength = c.hop
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		f, frames, _ := pl.Shape(l)
		x := upload(t, d, gpu.F32, randn(r, c.b*l, 1), c.b, l)
		out := poisoned(t, d, gpu.F32, c.b, f, frames, 2)
		el := gpuTime(t, d, 3, func(s *gpu.Stream) error { return pl.Forward(s, out, x) })
		nf := float64(c.b * frames)
		t.Logf("stft n=%d hop=%d B=%d L=%d: %v, %.3g frames/s, plan %+v", c.n, c.hop, c.b, l, el, nf/el.Seconds(), pl.pl)
		y := poisoned(t, d, gpu.F32, c.b, pl.ISTFTLength(frames))
		el = gpuTime(t, d, 3, func(s *gpu.Stream) error { return pl.Inverse(s, y, out) })
		t.Logf("istft: %v, %.3g frames/s", el, nf/el.Seconds())
		pl.Close()
	}
}

// TestSTFTExploreParts times the STFT kernel with parts of its program removed.
func TestSTFTExploreParts(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	defer func() { testFFTProg, testFFTK = nil, 0 }()
	for _, n := range []int{512, 16} {
		l := 160000
		opt := DefaultSTFTOptions(n)
		opt.HopLength = n / 2
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		f, frames, _ := pl.Shape(l)
		x := upload(t, d, gpu.F32, randn(r, l, 1), 1, l)
		out := poisoned(t, d, gpu.F32, 1, f, frames, 2)
		for _, k := range []int{16} {
			for _, fl := range []uint32{0} {
				for _, prog := range []*[2]uint32{nil, {0, 0}} {
					testFFTProg, testFFTK, testFFTFlags = prog, k, fl
					el := gpuTime(t, d, 5, func(s *gpu.Stream) error { return pl.Forward(s, out, x) })
					t.Logf("n=%d K=%d flags=%d prog=%v: %v, %.3g µs/frame", n, k, fl, prog, el, el.Seconds()*1e6/float64(frames))
				}
			}
		}
		testFFTFlags = 0
		pl.Close()
	}
}

// TestFFTExploreAB times the embedded fft.comp against the SPIR-V in $FFT_ALT (another build of
// it), interleaved in one process so that the shared machine's load affects both alike.
func TestFFTExploreAB(t *testing.T) {
	alt := os.Getenv("FFT_ALT")
	if !*explore || alt == "" {
		t.Skip("-explore and FFT_ALT=file.spv")
	}
	code, err := os.ReadFile(alt)
	if err != nil {
		t.Fatal(err)
	}
	d := device(t)
	r := newRand(t)
	defer func() { testFFTAlt = nil }()
	for _, c := range []struct{ n, hop int }{{512, 256}, {1024, 256}, {16, 4}, {2048, 441}, {441, 147}} {
		l := 160000
		opt := DefaultSTFTOptions(c.n)
		opt.HopLength = c.hop
		pl, err := NewSTFTPlan(d, opt)
		if err != nil {
			t.Fatal(err)
		}
		f, frames, _ := pl.Shape(l)
		x := upload(t, d, gpu.F32, randn(r, l, 1), 1, l)
		out := poisoned(t, d, gpu.F32, 1, f, frames, 2)
		y := poisoned(t, d, gpu.F32, 1, l)
		best := [2][2]time.Duration{}
		for rep := 0; rep < 4; rep++ {
			for v := 0; v < 2; v++ {
				testFFTAlt = nil
				if v == 1 {
					testFFTAlt = code
				}
				for dir := 0; dir < 2; dir++ {
					el := gpuTime(t, d, 2, func(s *gpu.Stream) error {
						if dir == 0 {
							return pl.Forward(s, out, x)
						}
						return withLength(pl, l).Inverse(s, y, out)
					})
					if best[v][dir] == 0 || el < best[v][dir] {
						best[v][dir] = el
					}
				}
			}
		}
		t.Logf("n=%d hop=%d: stft %v → alt %v (%.2fx); istft %v → alt %v (%.2fx)", c.n, c.hop, best[0][0], best[1][0],
			best[0][0].Seconds()/best[1][0].Seconds(), best[0][1], best[1][1], best[0][1].Seconds()/best[1][1].Seconds())
		pl.Close()
	}
}
