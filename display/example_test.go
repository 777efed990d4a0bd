package display_test

import (
	"log"

	"github.com/vkseq/vkseq/display"
	"github.com/vkseq/vkseq/gpu"
)

// A render loop: kernels write an i32 image of packed pixels on a stream, Present copies it into
// the swapchain on the device. One image per frame in flight; Extent follows resizes.
func Example() {
	win, err := display.Open(display.Options{Title: "demo", Width: 640, Height: 360, VSync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer win.Close()
	d := win.Device()
	s, err := d.NewStream()
	if err != nil {
		log.Fatal(err)
	}
	var imgs [display.FramesInFlight]*gpu.Tensor
	for k := 0; !win.ShouldClose(); k++ {
		win.Poll()
		w, h, err := win.Extent()
		if err != nil {
			log.Fatal(err)
		}
		if w == 0 { // minimised
			win.WaitEvents()
			continue
		}
		img := &imgs[k%len(imgs)]
		if *img == nil || (*img).Shape()[0] != h || (*img).Shape()[1] != w {
			if *img != nil {
				(*img).Close()
			}
			if *img, err = d.NewTensor(gpu.I32, h, w); err != nil {
				log.Fatal(err)
			}
		}
		// Any kernel may draw here; this fills the image with one opaque grey.
		if err := s.Fill(*img, float32(int32(-0x7f7f80))); err != nil { // 0xff808080
			log.Fatal(err)
		}
		if err := s.Submit(); err != nil {
			log.Fatal(err)
		}
		if _, err := win.Present(*img); err != nil {
			log.Fatal(err)
		}
		if err := s.Wait(); err != nil {
			log.Fatal(err)
		}
	}
}
