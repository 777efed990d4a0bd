package display

import (
	"runtime"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestMinimisedState drives the swapchain through the state a minimised window gives (a 0×0
// framebuffer: Xvfb has no window manager, so Iconify alone does not minimise there): Present
// drops the frame without error, and the next Extent rebuilds the swapchain at the window's size.
func TestMinimisedState(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w, err := Open(Options{Width: 120, Height: 80, Hidden: true})
	if err != nil {
		t.Fatalf("a display server is needed (make test runs the tests under tools/with-display.sh): %v", err)
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		msgs, _ := gpu.ValidationMessages()
		for _, m := range msgs {
			t.Errorf("%v", m)
		}
	}()
	img, err := w.Device().NewTensor(gpu.I32, 80, 120)
	if err != nil {
		t.Fatal(err)
	}
	if err := img.Fill(0); err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Present(img); err != nil || !ok {
		t.Fatalf("Present before minimising: %v, %v", ok, err)
	}
	if err := w.sc.recreate(0, 0); err != nil { // what Extent does for a minimised window
		t.Fatal(err)
	}
	if ok, err := w.Present(img); err != nil || ok {
		t.Fatalf("Present while minimised: presented %v, err %v; want a dropped frame", ok, err)
	}
	ww, hh, err := w.Extent()
	if err != nil || ww != 120 || hh != 80 {
		t.Fatalf("Extent after restoring: %dx%d, %v", ww, hh, err)
	}
	if ok, err := w.Present(img); err != nil || !ok {
		t.Fatalf("Present after restoring: %v, %v", ok, err)
	}
}

// TestAfterClose: every method of a closed window returns an error or does nothing; none panics.
func TestAfterClose(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w, err := Open(Options{Width: 64, Height: 64, Hidden: true})
	if err != nil {
		t.Fatalf("a display server is needed (make test runs the tests under tools/with-display.sh): %v", err)
	}
	img, err := w.Device().NewTensor(gpu.I32, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Present(nil); err == nil {
		t.Error("Present(nil) succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !w.ShouldClose() {
		t.Error("ShouldClose is false after Close")
	}
	w.SetTitle("closed")
	if _, _, err := w.Extent(); err == nil {
		t.Error("Extent after Close succeeded")
	}
	if _, err := w.Present(img); err == nil {
		t.Error("Present after Close succeeded")
	}
	if _, err := w.PresentCapture(img); err == nil {
		t.Error("PresentCapture after Close succeeded")
	}
	if msgs, _ := gpu.ValidationMessages(); len(msgs) > 0 {
		t.Errorf("validation: %v", msgs)
	}
}
