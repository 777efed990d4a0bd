package wavio

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.wav")
	in := []float32{0, 0.5, -0.5, 1, -1, 2, -2, 0.25}
	if err := WriteMono16(path, in, 8000); err != nil {
		t.Fatal(err)
	}
	a, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Channels != 1 || a.Rate != 8000 || a.Frames() != len(in) {
		t.Fatalf("read %d channels at %d Hz, %d frames; want 1, 8000, %d", a.Channels, a.Rate, a.Frames(), len(in))
	}
	for i, v := range in {
		want := math.Max(-1, math.Min(1, float64(v))) // clipped on write
		if got := float64(a.Channel(0)[i]); math.Abs(got-want) > 1.0/32767 {
			t.Errorf("sample %d: %v, want %v", i, got, want)
		}
	}
	empty := filepath.Join(dir, "empty.wav")
	if err := WriteMono16(empty, nil, 8000); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFF not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{empty, "no audio samples"},
		{bad, "not a valid WAV"},
		{filepath.Join(dir, "missing.wav"), "missing.wav"},
	} {
		if _, err := Read(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(%s) = %v, want an error containing %q", c.path, err, c.want)
		}
	}
	if err := WriteMono16(filepath.Join(dir, "r.wav"), in, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}
