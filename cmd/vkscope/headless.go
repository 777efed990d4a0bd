package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// headless renders frames offscreen with the window's kernels: frame k feeds the samples up to
// (k+1)/60 s of the signal. frames 0 renders the whole signal once. With a Vocos model (vocos, see
// resynthesise) the input's resynthesis is drawn below it. It returns the last frame.
func headless(ctx context.Context, cfg scopeConfig, sig source, vocos string, frames, width, height int) (*image.RGBA, stats, error) {
	if frames == 0 {
		frames = (len(sig.x)*60 + sig.rate - 1) / sig.rate
	}
	if frames < 1 || width < 1 || height < 1 {
		return nil, stats{}, fmt.Errorf("headless: want frames >= 1 and a positive size, got %d frames of %dx%d", frames, width, height)
	}
	d, err := gpu.Open()
	if err != nil {
		return nil, stats{}, err
	}
	defer d.Close()
	sigs := []source{sig}
	if vocos != "" {
		re, _, err := resynthesise(ctx, d, vocos, sig)
		if err != nil {
			return nil, stats{}, err
		}
		sigs = append(sigs, re)
	}
	return renderFrames(d, cfg, sigs, frames, width, height)
}

// renderFrames is headless's loop on an open device: the signals are drawn one above the other
// (sigs[0], the input, on top), all of the length and rate of sigs[0].
func renderFrames(d *gpu.Device, cfg scopeConfig, sigs []source, frames, width, height int) (*image.RGBA, stats, error) {
	var st stats
	s, err := newStream(d)
	if err != nil {
		return nil, st, err
	}
	defer s.Close()
	sk, err := newStack(d, cfg, sigs)
	if err != nil {
		return nil, st, err
	}
	defer sk.Close()
	sig := sigs[0]
	img, err := d.NewTensor(gpu.I32, height, width)
	if err != nil {
		return nil, st, err
	}
	defer img.Close()
	start := time.Now()
	pos := 0
	for k := 0; k < frames; k++ {
		t0 := time.Now()
		next := (k + 1) * sig.rate / 60
		fft, err := frame(s, sk, pos, next, img, false)
		if err != nil {
			return nil, st, err
		}
		pos = next
		if err := s.Wait(); err != nil {
			return nil, st, err
		}
		st.frame = append(st.frame, time.Since(t0))
		st.gpu = append(st.gpu, s.Elapsed())
		st.fft = append(st.fft, fft)
		st.frames++
		if os.Getenv("VKSCOPE_TIMINGS") != "" && k%30 == 29 {
			for _, t := range s.Timings() {
				fmt.Fprintf(os.Stderr, "%s %.3f ms; ", t.Name, ms(t.Duration))
			}
			fmt.Fprintln(os.Stderr)
		}
	}
	st.wall = time.Since(start)
	px, err := img.ReadInt32()
	if err != nil {
		return nil, st, err
	}
	im := image.NewRGBA(image.Rect(0, 0, width, height))
	for i, p := range px {
		v := uint32(p)
		copy(im.Pix[4*i:], []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
	}
	return im, st, nil
}
