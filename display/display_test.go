package display_test

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/vkseq/vkseq/display"
	"github.com/vkseq/vkseq/gpu"
)

// openWindow opens a hidden window on the display server. Without one the test fails and says
// why: `make test` runs the tests through tools/with-display.sh, which starts Xvfb.
func openWindow(t *testing.T, w, h int) *display.Window {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	win, err := display.Open(display.Options{Title: t.Name(), Width: w, Height: h, Hidden: true})
	if errors.Is(err, display.ErrNoDisplay) {
		t.Fatalf("a display server is needed (run through tools/with-display.sh, as make test does): %v", err)
	}
	if err != nil {
		t.Fatalf("display.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := win.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		msgs, n := gpu.ValidationMessages()
		for _, m := range msgs {
			t.Errorf("%v", m)
		}
		if n > len(msgs) {
			t.Errorf("... and %d more validation messages", n-len(msgs))
		}
	})
	if os.Getenv("VKSEQ_VALIDATE") != "" && !win.Device().Validating() {
		t.Errorf("VKSEQ_VALIDATE is set but the device does not validate")
	}
	return win
}

// pack makes a pixel in the window's byte order.
func pack(win *display.Window, r, g, b byte) float32 {
	v := uint32(g)<<8 | 0xff<<24
	if win.BGRA() {
		v |= uint32(b) | uint32(r)<<16
	} else {
		v |= uint32(r) | uint32(b)<<16
	}
	return float32(int32(v)) // alpha 0xff: |int32(v)| <= 2^24, exact in float32 (Fill converts back with int32)
}

// frame fills an image of the current extent with one colour on the device and presents it,
// returning the captured swapchain image (nil when minimised or dropped).
func frame(t *testing.T, win *display.Window, s *gpu.Stream, r, g, b byte) (w, h int, got []byte) {
	t.Helper()
	w, h, err := win.Extent()
	if err != nil {
		t.Fatalf("Extent: %v", err)
	}
	if w == 0 {
		return 0, 0, nil
	}
	img, err := win.Device().NewTensor(gpu.I32, h, w)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if err := s.Fill(img, pack(win, r, g, b)); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	im, err := win.PresentCapture(img)
	if err != nil {
		t.Fatalf("PresentCapture: %v", err)
	}
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if im == nil {
		return w, h, nil
	}
	return w, h, im.Pix
}

func TestPresentColour(t *testing.T) {
	win := openWindow(t, 160, 96)
	s, err := win.Device().NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range [][3]byte{{0, 0, 0}, {0, 128, 0}} {
		w, h, pix := frame(t, win, s, c[0], c[1], c[2])
		if pix == nil {
			t.Fatalf("frame of %dx%d was dropped", w, h)
		}
		if w != 160 || h != 96 {
			t.Errorf("extent %dx%d, want 160x96", w, h)
		}
		for i := 0; i < len(pix); i += 4 {
			if pix[i] != c[0] || pix[i+1] != c[1] || pix[i+2] != c[2] {
				t.Fatalf("colour %v: pixel %d is %v", c, i/4, pix[i:i+4])
			}
		}
	}
}

// TestResizeMinimise renders while the window is resized, minimised and restored: every frame
// presented has the new size, minimised frames are skipped, and nothing reaches the validation layer.
func TestResizeMinimise(t *testing.T) {
	win := openWindow(t, 128, 64)
	s, err := win.Device().NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := win.GLFW()
	sizes := [][2]int{{200, 120}, {64, 200}, {300, 50}}
	for _, sz := range sizes {
		g.SetSize(sz[0], sz[1])
		var w, h int
		var pix []byte
		for try := 0; try < 50 && (w != sz[0] || h != sz[1] || pix == nil); try++ {
			win.Poll()
			w, h, pix = frame(t, win, s, 0, 64, 0)
		}
		if w != sz[0] || h != sz[1] || pix == nil {
			t.Fatalf("after SetSize(%d, %d) frames still have %dx%d", sz[0], sz[1], w, h)
		}
	}
	g.Iconify()
	for i := 0; i < 5; i++ {
		win.Poll()
		frame(t, win, s, 0, 0, 0) // skipped or presented: either is fine, no error and no message
	}
	g.Restore()
	var pix []byte
	for try := 0; try < 50 && pix == nil; try++ {
		win.Poll()
		_, _, pix = frame(t, win, s, 0, 32, 0)
	}
	if pix == nil {
		t.Fatalf("no frame presented after Restore")
	}
}
