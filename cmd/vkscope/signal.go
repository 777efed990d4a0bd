package main

import (
	"math"

	"github.com/vkseq/vkseq/internal/wavio"
)

// readWAV reads a WAV file (integer PCM of 8 to 32 bits or 32-bit float) and returns its first
// channel as float32 in [-1, 1] and its sample rate.
func readWAV(path string) ([]float32, int, error) {
	a, err := wavio.Read(path)
	if err != nil {
		return nil, 0, err
	}
	return a.Channel(0), a.Rate, nil
}

// tone is a sine of f Hz and amplitude a, n samples at rate sr.
func tone(f, a float64, n, sr int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(a * math.Sin(2*math.Pi*f*float64(i)/float64(sr)))
	}
	return out
}

// sweep is an exponential sine sweep from f0 to f1 Hz over n samples at rate sr, amplitude a.
func sweep(f0, f1, a float64, n, sr int) []float32 {
	out := make([]float32, n)
	T := float64(n) / float64(sr)
	k := math.Log(f1 / f0)
	for i := range out {
		t := float64(i) / float64(sr)
		phase := 2 * math.Pi * f0 * T / k * (math.Exp(t/T*k) - 1)
		out[i] = float32(a * math.Sin(phase))
	}
	return out
}

// testSignal is the generated signal played when no WAV is given: 1 s of silence, 2 s of a
// 1 kHz tone, a 4 s sweep from 100 Hz to 7 kHz (or 0.45·sr when that is lower, so that it does
// not alias), then a chord, at sr Hz (16 kHz, or the Vocos model's rate).
func testSignal(sr int) []float32 {
	var x []float32
	x = append(x, make([]float32, sr)...)
	x = append(x, tone(1000, 0.5, 2*sr, sr)...)
	x = append(x, sweep(100, min(7000, 0.45*float64(sr)), 0.5, 4*sr, sr)...)
	chord := tone(220, 0.3, 2*sr, sr)
	for i, v := range tone(1320, 0.2, 2*sr, sr) {
		chord[i] += v
	}
	return append(x, chord...)
}
