package main

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"github.com/vkseq/vkseq/gpu"
)

// testVocos is a tiny random Vocos checkpoint (8 kHz, n_fft 32, hop 8, 8 mels, dim 16, 2 layers).
const (
	testVocos     = "../../testdata/vocos/center"
	testVocosRate = 8000
)

func vocosTestConfig() scopeConfig {
	return scopeConfig{SampleRate: testVocosRate, NFFT: 256, Hop: 64, Mels: 32, History: 1, Colormap: "viridis"}
}

// vocosTestSignal is 1 s at 8 kHz: a 1 kHz tone, then a sweep 200 Hz → 3 kHz.
func vocosTestSignal() source {
	x := tone(1000, 0.5, testVocosRate/2, testVocosRate)
	x = append(x, sweep(200, 3000, 0.5, testVocosRate/2, testVocosRate)...)
	return source{name: "known 8 kHz", x: x, rate: testVocosRate}
}

// TestHeadlessVocos renders the input and its resynthesis by the tiny Vocos: the input panel is
// the image without -vocos at the panel's size, pixel for pixel; the resynthesis panel is drawn
// from finite values, is well above the colour map's floor and is not the input's image.
func TestHeadlessVocos(t *testing.T) {
	d, err := gpu.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer checkValidation(t)
	defer d.Close()
	sig := vocosTestSignal()
	re, _, err := resynthesise(context.Background(), d, testVocos, sig)
	if err != nil {
		t.Fatal(err)
	}
	if len(re.x) != len(sig.x) || re.rate != sig.rate {
		t.Fatalf("resynthesis: %d samples at %d Hz, want %d at %d", len(re.x), re.rate, len(sig.x), sig.rate)
	}
	var energy, diff float64
	for i, v := range re.x {
		energy += float64(v) * float64(v)
		diff += math.Abs(float64(v - sig.x[i]))
	}
	if energy == 0 || diff == 0 {
		t.Fatalf("resynthesis: energy %g, difference from the input %g: want both > 0", energy, diff)
	}

	const w, h, frames = 300, 240, 60
	cfg := vocosTestConfig()
	both, _, err := renderFrames(d, cfg, []source{sig, re}, frames, w, h)
	if err != nil {
		t.Fatal(err)
	}
	rows := (&stack{scs: make([]*scope, 2)}).splits(d, w, h)
	if rows[1] < h/2-8 || rows[1] > h/2 {
		t.Fatalf("panel split at row %d of %d, want about half", rows[1], h)
	}
	alone, _, err := renderFrames(d, cfg, []source{sig}, frames, w, rows[1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range alone.Pix {
		if alone.Pix[i] != both.Pix[i] {
			t.Fatalf("input panel differs from the image without -vocos at pixel (%d, %d)", i/4%w, i/4/w)
		}
	}

	index := map[uint32]int{}
	for i, c := range colormaps["viridis"] {
		index[c] = i
	}
	level := func(x, y int) int {
		p := both.Pix[4*(y*w+x):]
		if i, ok := index[uint32(p[0])<<16|uint32(p[1])<<8|uint32(p[2])]; ok && p[3] == 0xff {
			return i
		}
		return -1
	}
	ph := h - rows[1] - marginBottom // plot rows of the bottom panel
	var lit, total, same int
	for y := rows[1]; y < rows[1]+ph; y++ {
		for x := marginLeft; x < w; x++ {
			l := level(x, y)
			if l < 0 {
				t.Fatalf("resynthesis panel pixel (%d, %d) is %v, not a colour-map colour", x, y, both.Pix[4*(y*w+x):4*(y*w+x)+4])
			}
			total++
			if l > 0 {
				lit++
			}
			if yt := y - rows[1]; yt < rows[1]-marginBottom && l == level(x, yt) {
				same++
			}
		}
	}
	if lit < total/2 {
		t.Errorf("resynthesis panel: %d of %d plot pixels above the floor, want at least half", lit, total)
	}
	if same == total {
		t.Error("resynthesis panel is the input panel's image")
	}
	if p := both.Pix[4*((rows[1]+10)*w+marginLeft-1):]; uint32(p[0])<<16|uint32(p[1])<<8|uint32(p[2]) != axisColour {
		t.Errorf("resynthesis panel's frequency axis pixel is %v, want %#x", p[:4], axisColour)
	}
	t.Logf("resynthesis panel: %d of %d plot pixels above the floor; rms %.3g", lit, total, math.Sqrt(energy/float64(len(re.x))))
}

// TestRunVocos runs the command's headless path with -vocos and the generated test signal (made
// at the model's 8 kHz) and reads the PNG back.
func TestRunVocos(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v.png")
	o := options{nfft: 256, hop: 64, mels: 32, history: 1, colormap: "magma", width: 240, height: 200,
		headless: true, frames: 20, pngPath: out, vocos: testVocos}
	if err := run(o, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := im.Bounds(); b.Dx() != 240 || b.Dy() != 200 {
		t.Errorf("PNG is %v, want 240x200", b)
	}
}

// TestVocosRate checks the model rate lookup and the rate-mismatch error, which names both rates.
func TestVocosRate(t *testing.T) {
	for spec, want := range map[string]int{vocosRandomName: 24000, testVocos: testVocosRate} {
		if got, err := vocosRate(spec); err != nil || got != want {
			t.Errorf("vocosRate(%s) = %d, %v; want %d", spec, got, err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "x16k.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := wav.NewEncoder(f, 16000, 16, 1, 1)
	data := make([]int, 1600)
	for i := range data {
		data[i] = int(10000 * math.Sin(float64(i)/5))
	}
	if err := enc.Write(&audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: 16000}, Data: data, SourceBitDepth: 16}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = run(options{nfft: 256, mels: 32, history: 1, colormap: "viridis", width: 200, height: 200, headless: true, vocos: testVocos}, []string{path})
	if err == nil || !strings.Contains(err.Error(), "16000 Hz") || !strings.Contains(err.Error(), "8000 Hz") {
		t.Errorf("a 16 kHz WAV with an 8 kHz model: err %v, want one naming 16000 Hz and 8000 Hz", err)
	}
}

// TestWindowedResizeVocos is TestWindowedResize with the Vocos resynthesis panel.
func TestWindowedResizeVocos(t *testing.T) {
	windowedResize(t, vocosTestConfig(), vocosTestSignal(), testVocos)
}
