package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// TestReadWAV writes a 16-bit stereo WAV with go-audio's encoder and reads its first channel back.
func TestReadWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const n, sr = 1000, 22050
	data := make([]int, 2*n)
	for i := 0; i < n; i++ {
		data[2*i] = int(math.Round(20000 * math.Sin(float64(i)/7)))
		data[2*i+1] = -7 // the second channel is ignored
	}
	enc := wav.NewEncoder(f, sr, 16, 2, 1)
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 2, SampleRate: sr}, Data: data, SourceBitDepth: 16}
	if err := enc.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x, rate, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != sr || len(x) != n {
		t.Fatalf("got %d samples at %d Hz, want %d at %d", len(x), rate, n, sr)
	}
	for i := range x {
		if want := float32(float64(data[2*i]) / 32768); x[i] != want {
			t.Fatalf("sample %d = %v, want %v", i, x[i], want)
		}
	}
	if _, _, err := readWAV(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("a missing file was read")
	}
	bad := filepath.Join(t.TempDir(), "bad.wav")
	os.WriteFile(bad, []byte("not a wav file at all"), 0o644)
	if _, _, err := readWAV(bad); err == nil || !strings.Contains(err.Error(), "not a valid WAV") {
		t.Errorf("a text file: err %v, want 'not a PCM WAV'", err)
	}
}

func TestRunRejects(t *testing.T) {
	for _, c := range []struct {
		o    options
		args []string
		want string
	}{
		{options{vocos: "no-such-dir", nfft: 1024, headless: true}, nil, "no-such-dir"},
		{options{pngPath: "x.png", nfft: 1024}, nil, "-png needs -headless"},
		{options{nfft: 1024}, []string{"a.wav", "b.wav"}, "at most one"},
	} {
		err := run(c.o, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%+v, %v) = %v, want an error containing %q", c.o, c.args, err, c.want)
		}
	}
}
