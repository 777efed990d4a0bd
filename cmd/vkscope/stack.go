package main

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// stack is one or more spectrograms drawn one above the other in the same image, each fed its own
// signal in sync (the same sample positions): the input alone, or the input above its Vocos
// resynthesis. Every panel has its own scope (STFT stream → mel → log-mel → ring → spectro.comp).
type stack struct {
	sigs []source
	scs  []*scope
}

func newStack(d *gpu.Device, cfg scopeConfig, sigs []source) (*stack, error) {
	if len(sigs) == 0 {
		return nil, fmt.Errorf("no signal to show")
	}
	st := &stack{sigs: sigs}
	for range sigs {
		sc, err := newScope(d, cfg)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.scs = append(st.scs, sc)
	}
	return st, nil
}

// feed records on s the STFT, log-mel and ring update of samples [from, to) of every panel's signal.
func (st *stack) feed(s *gpu.Stream, from, to int) error {
	for i, sc := range st.scs {
		if err := sc.feed(s, st.sigs[i].block(from, to)); err != nil {
			return err
		}
	}
	return nil
}

// splits returns the first row of each panel in an image of width w and height h, and h last:
// equal heights, each panel's first row rounded down so that its offset in the image tensor keeps
// the device's storage-buffer alignment (the panels are bound as views of the image).
func (st *stack) splits(d *gpu.Device, w, h int) []int {
	n := len(st.scs)
	step := 1 // rows: (step·w) elements of 4 bytes are a multiple of the alignment
	if a := int(d.Info().StorageAlignment); a > 4 {
		for (step*w*4)%a != 0 {
			step++
		}
	}
	rows := make([]int, n+1)
	for i := 1; i < n; i++ {
		rows[i] = i * h / n / step * step
	}
	rows[n] = h
	return rows
}

// tooSmall reports whether an image of w×h pixels cannot hold the panels (a minimised window).
func (st *stack) tooSmall(d *gpu.Device, w, h int) bool {
	if w <= marginLeft+1 || h <= marginBottom+1 {
		return true
	}
	rows := st.splits(d, w, h)
	for i := 1; i < len(rows); i++ {
		if rows[i]-rows[i-1] <= marginBottom+1 {
			return true
		}
	}
	return false
}

// render records drawing the panels into img, an I32 tensor [height, width] of packed pixels.
func (st *stack) render(s *gpu.Stream, img *gpu.Tensor, bgra bool) error {
	if len(st.scs) == 1 {
		return st.scs[0].render(s, img, bgra)
	}
	sh := img.Shape()
	if len(sh) != 2 || img.DType() != gpu.I32 {
		return fmt.Errorf("render target %v: want an i32 tensor [height, width]", img)
	}
	h, w := sh[0], sh[1]
	if st.tooSmall(img.Device(), w, h) {
		return fmt.Errorf("render target %dx%d: too small for %d panels", w, h, len(st.scs))
	}
	rows := st.splits(img.Device(), w, h)
	for i, sc := range st.scs {
		win, err := img.Window(rows[i]*w, (rows[i+1]-rows[i])*w)
		if err != nil {
			return err
		}
		view, err := win.Reshape(rows[i+1]-rows[i], w)
		if err != nil {
			return err
		}
		if err := sc.render(s, view, bgra); err != nil {
			return err
		}
	}
	return nil
}

// Close frees every panel's scope.
func (st *stack) Close() error {
	var err error
	for _, sc := range st.scs {
		if e := sc.Close(); err == nil {
			err = e
		}
	}
	return err
}
