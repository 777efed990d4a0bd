package stftopt

import (
	"strings"
	"testing"
)

func TestResolveDefaults(t *testing.T) {
	p, err := Resolve(Default(400))
	if err != nil {
		t.Fatal(err)
	}
	if p.NFFT != 400 || p.Hop != 100 || p.Win != 400 || p.Kind != KindHann || !p.Center || !p.Reflect || p.Normalized || !p.Onesided || p.Freqs != 201 {
		t.Errorf("Default(400) resolves to %+v", p)
	}
	p, err = Resolve(Options{NFFT: 9, WinLength: 3, Window: []float64{1, 2, 3}, PadMode: "constant"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Hop != 2 || p.Win != 3 || p.Kind != KindGiven || p.Reflect || p.Freqs != 9 || p.Pad() != 0 {
		t.Errorf("given window resolves to %+v", p)
	}
}

func TestResolveErrors(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{NFFT: 0}, "n_fft"},
		{Options{NFFT: 3}, "hop_length = 0 defaults"},
		{Options{NFFT: 8, HopLength: -1}, "hop_length"},
		{Options{NFFT: 8, WinLength: 9}, "win_length"},
		{Options{NFFT: 8, Window: []float64{1}}, "window has 1 values"},
		{Options{NFFT: 2, HopLength: 1, Window: []float64{1, 2}, WindowKind: "hann"}, "give one"},
		{Options{NFFT: 8, WindowKind: "kaiser"}, "window = \"kaiser\""},
		{Options{NFFT: 8, PadMode: "circular"}, "pad_mode"},
		{Options{NFFT: 8, Length: -1}, "length"},
	} {
		if _, err := Resolve(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%+v) = %v, want an error naming %q", c.o, err, c.want)
		}
	}
}

func TestFramesAndISTFTLength(t *testing.T) {
	for _, c := range []struct {
		o              Options
		length, frames int
		istft          int
		err            string
	}{
		{Default(16), 100, 26, 100, ""},                     // 1 + (100+16−16)/4
		{Options{NFFT: 16, HopLength: 4}, 100, 22, 100, ""}, // no centring: 1 + 84/4, 16 + 4·21
		{Default(16), 8, 0, 0, "pad_mode reflect"},
		{Options{NFFT: 16, HopLength: 4}, 15, 0, 0, "n_fft = 16 is longer"},
		{Options{NFFT: 16, HopLength: 4, Length: 7}, 100, 22, 7, ""},
		{Options{NFFT: 1, HopLength: 1, Center: true, PadMode: "constant"}, 5, 5, 5, ""},
	} {
		p, err := Resolve(c.o)
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.Frames(c.length)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: Frames(%d) error %v, want %q", c.o, c.length, err, c.err)
			}
			continue
		}
		if err != nil || n != c.frames {
			t.Errorf("%+v: Frames(%d) = %d, %v, want %d", c.o, c.length, n, err, c.frames)
		}
		if got := p.ISTFTLength(n); got != c.istft {
			t.Errorf("%+v: ISTFTLength(%d) = %d, want %d", c.o, n, got, c.istft)
		}
	}
}
