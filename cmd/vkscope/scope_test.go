package main

import (
	"errors"
	"image"
	"math"
	"runtime"
	"testing"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/vkseq/vkseq/display"
	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// The known signal: 1 s of silence, 1 s of a 1 kHz tone, 1 s of an exponential sweep 200 Hz → 6 kHz,
// at 16 kHz; the plot shows the last 3 s, so the three thirds of the image are the three parts.
const (
	testRate              = 16000
	sweepLo, sweepHi      = 200.0, 6000.0
	testW, testH          = 400, 200
	testNFFT, testHop     = 1024, 256
	testMels              = 64
	testHistory           = 3.0
	partSilence, partTone = 0, 1 // seconds at which each part starts
	partSweep             = 2
)

func testConfig() scopeConfig {
	return scopeConfig{SampleRate: testRate, NFFT: testNFFT, Hop: testHop, Mels: testMels, History: testHistory, Colormap: "viridis"}
}

func knownSignal() source {
	var x []float32
	x = append(x, make([]float32, testRate)...)
	x = append(x, tone(1000, 0.5, testRate, testRate)...)
	x = append(x, sweep(sweepLo, sweepHi, 0.5, testRate, testRate)...)
	return source{name: "known", x: x, rate: testRate}
}

func checkValidation(t *testing.T) {
	t.Helper()
	msgs, n := gpu.ValidationMessages()
	for _, m := range msgs {
		t.Errorf("%v", m)
	}
	if n > len(msgs) {
		t.Errorf("... and %d more validation messages", n-len(msgs))
	}
}

// TestWindowSpectrogram plays the known signal in a real window (Xvfb under make test) at 60
// frames per second of signal, reads back the presented swapchain image and checks its pixels; then
// renders the same frames headless and checks that the image is the same.
func TestWindowSpectrogram(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	win, err := display.Open(display.Options{Title: "vkscope test", Width: testW, Height: testH, Hidden: true})
	if errors.Is(err, display.ErrNoDisplay) {
		t.Fatalf("a display server is needed (make test runs the tests under tools/with-display.sh, which starts Xvfb): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer checkValidation(t)
	defer win.Close()
	d := win.Device()
	sig := knownSignal()
	cfg := testConfig()
	sk, err := newStack(d, cfg, []source{sig})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	sc := sk.scs[0]
	s, err := newStream(d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, h, err := win.Extent()
	if err != nil || w != testW || h != testH {
		t.Fatalf("Extent %dx%d (%v), want %dx%d", w, h, err, testW, testH)
	}
	var imgs [display.FramesInFlight]*gpu.Tensor
	for i := range imgs {
		if imgs[i], err = d.NewTensor(gpu.I32, h, w); err != nil {
			t.Fatal(err)
		}
		defer imgs[i].Close()
	}
	frames := 3 * 60
	var got *image.RGBA
	pos := 0
	for k := 0; k < frames; k++ {
		win.Poll()
		next := (k + 1) * testRate / 60
		img := imgs[k%len(imgs)]
		if _, err := frame(s, sk, pos, next, img, win.BGRA()); err != nil {
			t.Fatal(err)
		}
		pos = next
		if k < frames-1 {
			_, err = win.Present(img)
		} else {
			got, err = win.PresentCapture(img)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil {
		t.Fatal("the last frame was not presented")
	}
	checkSpectrogram(t, got, sc.frames, sc.cols)

	// The headless mode's image of the same frames is the same, pixel for pixel.
	head, _, err := renderFrames(d, cfg, []source{sig}, frames, testW, testH)
	if err != nil {
		t.Fatal(err)
	}
	for i := range head.Pix {
		if head.Pix[i] != got.Pix[i] {
			t.Fatalf("headless and windowed images differ at pixel %d (%d, %d): %v vs %v", i/4, i/4%testW, i/4/testW,
				head.Pix[i/4*4:i/4*4+4], got.Pix[i/4*4:i/4*4+4])
		}
	}
}

// TestHeadless checks the headless image alone (no display server needed).
func TestHeadless(t *testing.T) {
	d, err := gpu.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer checkValidation(t)
	defer d.Close()
	sc, err := newScope(d, testConfig()) // for the frame count and ring size the render used
	if err != nil {
		t.Fatal(err)
	}
	cols := sc.cols
	sc.Close()
	im, st, err := renderFrames(d, testConfig(), []source{knownSignal()}, 180, testW, testH)
	if err != nil {
		t.Fatal(err)
	}
	// STFTStream returns a frame once the samples it covers are known: 1 + (n - n_fft/2) / hop.
	checkSpectrogram(t, im, 1+(3*testRate-testNFFT/2)/testHop, cols)
	if st.frames != 180 {
		t.Errorf("%d frames rendered, want 180", st.frames)
	}
}

// checkSpectrogram checks the image of the known signal: frames frames were pushed into a ring of cols.
func checkSpectrogram(t *testing.T, im *image.RGBA, frames, cols int) {
	t.Helper()
	lut := colormaps["viridis"]
	index := map[uint32]int{}
	for i, c := range lut {
		index[c] = i
	}
	ph, pw := testH-marginBottom, testW-marginLeft
	// level returns the colour-map index of a plot pixel (-1 for a colour not in the map).
	level := func(x, y int) int {
		p := im.Pix[4*(y*testW+x):]
		if p[3] != 0xff {
			return -1
		}
		if i, ok := index[uint32(p[0])<<16|uint32(p[1])<<8|uint32(p[2])]; ok {
			return i
		}
		return -1
	}
	// timeOf is the centre time (s) of the frame shown at plot column x.
	timeOf := func(x int) float64 {
		c := (x - marginLeft) * cols / pw
		return float64(frames-cols+c) * testHop / testRate
	}
	binOfRow := func(y int) int { return (ph - 1 - y) * testMels / ph }
	// brightest returns the band of the brightest pixel of column x (the lowest such row's band).
	brightest := func(x int) (int, int) {
		best, by := -1, -1
		for y := ph - 1; y >= 1; y-- { // row 0 may hold nothing but the top band
			if l := level(x, y); l > best {
				best, by = l, y
			}
		}
		return binOfRow(by), best
	}
	fb, err := ops.MelFBanks(testNFFT/2+1, 0, testRate/2, testMels, testRate, "", "htk")
	if err != nil {
		t.Fatal(err)
	}
	// peakBand is the band whose filter weighs the frequency bin nearest f most.
	peakBand := func(f float64) int {
		k := int(math.Round(f * testNFFT / testRate))
		best := 0
		for j := 0; j < testMels; j++ {
			if fb.Data[k*testMels+j] > fb.Data[k*testMels+best] {
				best = j
			}
		}
		return best
	}
	margin := 0.1 // s: frames whose window reaches across a boundary are not checked
	var silence, toneCols, sweepCols int
	lastBand, firstBand := -1, -1
	for x := marginLeft; x < testW; x++ {
		tc := timeOf(x)
		switch {
		case tc >= partSilence+margin && tc <= partTone-margin:
			silence++
			for y := 0; y < ph; y++ {
				if l := level(x, y); l != 0 {
					t.Fatalf("silence at t=%.2f s: pixel (%d, %d) has colour-map level %d, want the floor 0", tc, x, y, l)
				}
			}
		case tc >= partTone+margin && tc <= partSweep-margin:
			toneCols++
			b, l := brightest(x)
			if want := peakBand(1000); b != want {
				t.Fatalf("1 kHz tone at t=%.2f s: brightest band %d (level %d), want band %d", tc, b, l, want)
			}
			if l < 200 {
				t.Errorf("1 kHz tone at t=%.2f s: brightest level %d, want near full scale (>= 200)", tc, l)
			}
		case tc >= partSweep+margin && tc <= partSweep+1-margin:
			sweepCols++
			b, _ := brightest(x)
			f := sweepLo * math.Exp((tc-partSweep)*math.Log(sweepHi/sweepLo))
			if want := peakBand(f); b < want-1 || b > want+1 {
				t.Errorf("sweep at t=%.2f s (%.0f Hz): brightest band %d, want %d ± 1", tc, f, b, want)
			}
			if b < lastBand-1 {
				t.Errorf("sweep at t=%.2f s: band %d fell from %d", tc, b, lastBand)
			}
			if firstBand < 0 {
				firstBand = b
			}
			lastBand = b
		}
	}
	if silence < 20 || toneCols < 20 || sweepCols < 20 {
		t.Fatalf("too few columns checked: silence %d, tone %d, sweep %d", silence, toneCols, sweepCols)
	}
	if lastBand-firstBand < testMels/3 {
		t.Errorf("the sweep's line rose from band %d to %d only", firstBand, lastBand)
	}
	// The axes: the frequency axis line is drawn in the axis colour.
	if p := im.Pix[4*(10*testW+marginLeft-1):]; uint32(p[0])<<16|uint32(p[1])<<8|uint32(p[2]) != axisColour {
		t.Errorf("frequency axis pixel is %v, want %#x", p[:4], axisColour)
	}
}

func TestKeys(t *testing.T) {
	p := &player{cfg: scopeConfig{NFFT: 1024, Hop: 256, Mels: 128}}
	press := func(k glfw.Key) { p.key(nil, k, 0, glfw.Press, 0) }
	press(glfw.KeySpace)
	if !p.paused {
		t.Error("space did not pause")
	}
	press(glfw.KeySpace)
	if p.paused {
		t.Error("space did not resume")
	}
	press(glfw.KeyRight)
	if p.cfg.NFFT != 2048 || p.cfg.Hop != 512 || !p.reset {
		t.Errorf("right: %+v reset %v, want n_fft 2048 hop 512", p.cfg, p.reset)
	}
	press(glfw.KeyLeft)
	press(glfw.KeyLeft)
	if p.cfg.NFFT != 512 || p.cfg.Hop != 128 {
		t.Errorf("left twice: %+v, want n_fft 512 hop 128", p.cfg)
	}
	press(glfw.KeyUp)
	if p.cfg.Mels != 256 {
		t.Errorf("up: mels %d, want 256", p.cfg.Mels)
	}
	press(glfw.KeyDown)
	press(glfw.KeyDown)
	if p.cfg.Mels != 64 {
		t.Errorf("down twice: mels %d, want 64", p.cfg.Mels)
	}
	press(glfw.KeyQ)
	if !p.quit {
		t.Error("q did not quit")
	}
}

// TestWindowedResize runs the app's window loop while the window is resized, minimised, restored
// and a key changes the FFT size: no error, no validation message, and the loop keeps presenting.
func TestWindowedResize(t *testing.T) {
	cfg := scopeConfig{SampleRate: testRate, NFFT: 512, Hop: 128, Mels: 32, History: 2, Colormap: "magma"}
	windowedResize(t, cfg, knownSignal(), "")
}

// windowedResize plays sig in the window loop (with the Vocos model vocos when not empty) through
// resizes (odd widths included) and a minimise.
func windowedResize(t *testing.T, cfg scopeConfig, sig source, vocos string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer checkValidation(t)
	var iconified, restored bool
	o := options{frames: 60, width: 320, height: 160, vsync: true, vocos: vocos, onLoop: func(k int, win *display.Window) {
		g := win.GLFW()
		switch {
		case k == 10:
			g.SetSize(421, 221)
		case k == 20:
			g.SetSize(200, 120)
		case k == 30:
			g.Iconify()
			iconified = true
		case k == 35:
			g.Restore()
			restored = true
		case k == 40:
			g.SetSize(300, 200)
		}
	}}
	st, err := windowed(cfg, sig, o)
	if errors.Is(err, display.ErrNoDisplay) {
		t.Fatalf("a display server is needed (make test runs the tests under tools/with-display.sh): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.frames != 60 || !iconified || !restored {
		t.Errorf("%d frames presented (want 60), iconified %v, restored %v", st.frames, iconified, restored)
	}
}
