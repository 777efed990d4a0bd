package main

import (
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// scopeConfig are the spectrogram's parameters.
type scopeConfig struct {
	SampleRate int     // Hz
	NFFT, Hop  int     // STFT frame and hop, samples
	Mels       int     // mel bands
	History    float64 // seconds shown across the plot
	Colormap   string  // "viridis" or "magma"
}

// Layout of the image: margins for the axes.
const (
	marginLeft   = 40 // frequency labels
	marginBottom = 16 // time labels
	background   = 0x101010
	axisColour   = 0xd0d0d0
)

// scope keeps the last cols log-mel frames in a ring on the device and renders them: everything
// from the log-mel to the pixels stays on the device.
type scope struct {
	cfg        scopeConfig
	dev        *gpu.Device
	fe         *melFrontEnd
	cols, head int
	frames     int         // frames pushed so far
	ring       *gpu.Tensor // [cols, mels]
	lut        *gpu.Tensor // [256] 0xRRGGBB
	dummy      *gpu.Tensor // bound to the bindings a mode does not use
	kPush      *gpu.Kernel
	kRender    *gpu.Kernel
	vmin, vmax float32

	overlay    *gpu.Tensor // [height, width] axes and labels, remade when the size changes
	ovW, ovH   int
	cleared    bool
	lutColours [256]uint32
}

func newScope(d *gpu.Device, cfg scopeConfig) (*scope, error) {
	lutc, ok := colormaps[cfg.Colormap]
	if !ok {
		return nil, fmt.Errorf("colour map %q: want viridis or magma", cfg.Colormap)
	}
	if cfg.SampleRate <= 0 || cfg.NFFT < 2 || cfg.Hop <= 0 || cfg.Mels <= 0 || cfg.History <= 0 {
		return nil, fmt.Errorf("bad scope parameters %+v: want positive sample rate, hop, mels, history and n_fft >= 2", cfg)
	}
	sc := &scope{cfg: cfg, dev: d, lutColours: lutc}
	sc.cols = max(2, int(math.Round(cfg.History*float64(cfg.SampleRate)/float64(cfg.Hop))))
	// Full scale: a unit sine's peak bin has |X| = n_fft/4 with a Hann window; show 80 dB below it.
	sc.vmax = float32(2 * math.Log(float64(cfg.NFFT)/4))
	sc.vmin = sc.vmax - float32(80/(10*math.Log10(math.E)))
	var err error
	if sc.fe, err = newMelFrontEnd(d, cfg.SampleRate, cfg.NFFT, cfg.Hop, cfg.Mels); err != nil {
		return nil, err
	}
	fail := func(err error) (*scope, error) { sc.Close(); return nil, err }
	if sc.ring, err = d.NewTensor(gpu.F32, sc.cols, cfg.Mels); err != nil {
		return fail(err)
	}
	lut := make([]int32, 256)
	for i, c := range lutc {
		lut[i] = int32(c)
	}
	if sc.lut, err = d.FromInt32(lut, 256); err != nil {
		return fail(err)
	}
	if sc.dummy, err = d.NewTensor(gpu.I32, 1); err != nil {
		return fail(err)
	}
	code, err := shaders.SPIRV("spectro")
	if err != nil {
		return fail(err)
	}
	binds := []gpu.Access{gpu.ReadWrite, gpu.Read, gpu.Read, gpu.Read, gpu.Write}
	if sc.kPush, err = d.Kernel(gpu.KernelSpec{Name: "spectro_push", SPIRV: code, Bindings: binds, PushSize: 48, Spec: []uint32{0}}); err != nil {
		return fail(err)
	}
	if sc.kRender, err = d.Kernel(gpu.KernelSpec{Name: "spectro_render", SPIRV: code, Bindings: binds, PushSize: 48, Spec: []uint32{1}}); err != nil {
		return fail(err)
	}
	return sc, nil
}

func (sc *scope) renderPush(width, height int, bgra bool) []byte {
	b := uint32(0)
	if bgra {
		b = 1
	}
	return gpu.Push(uint32(sc.cols), uint32(sc.cfg.Mels), uint32(sc.head), uint32(0),
		uint32(width), uint32(height), uint32(marginLeft), uint32(marginBottom), sc.vmin, sc.vmax, b, uint32(background))
}

// feed runs the STFT of the next block of samples and records on s the log-mel of its new frames
// and their move into the ring.
func (sc *scope) feed(s *gpu.Stream, x []float32) error {
	if !sc.cleared { // the empty history shows as the colour map's floor
		if err := s.Fill(sc.ring, float32(math.Log(logFloor))); err != nil {
			return err
		}
		sc.cleared = true
	}
	lm, n, err := sc.fe.push(s, x)
	if err != nil || n == 0 {
		return err
	}
	start := max(0, n-sc.cols) // more frames than the ring holds: the last ones win
	cnt := n - start
	groups := [3]uint32{uint32((cnt + 15) / 16), uint32((sc.cfg.Mels + 15) / 16), 1}
	pc := gpu.Push(uint32(sc.cols), uint32(sc.cfg.Mels), uint32(sc.head), uint32(cnt), uint32(n), uint32(0), uint32(start),
		uint32(0), sc.vmin, sc.vmax, uint32(0), uint32(0))
	if err := s.Dispatch(sc.kPush, groups, pc, sc.ring, lm, sc.lut, sc.dummy, sc.dummy); err != nil {
		return err
	}
	sc.head = (sc.head + cnt) % sc.cols
	sc.frames += n
	return nil
}

// render records drawing the spectrogram into img, an I32 tensor [height, width] of packed pixels.
func (sc *scope) render(s *gpu.Stream, img *gpu.Tensor, bgra bool) error {
	sh := img.Shape()
	if len(sh) != 2 || img.DType() != gpu.I32 {
		return fmt.Errorf("render target %v: want an i32 tensor [height, width]", img)
	}
	h, w := sh[0], sh[1]
	if w <= marginLeft+1 || h <= marginBottom+1 {
		return fmt.Errorf("render target %dx%d: want more than %dx%d pixels", w, h, marginLeft+1, marginBottom+1)
	}
	if sc.overlay == nil || sc.ovW != w || sc.ovH != h {
		if sc.overlay != nil {
			sc.overlay.Close()
			sc.overlay = nil
		}
		ov, err := sc.dev.FromInt32(axesOverlay(sc.cfg, sc.cols, w, h), h, w)
		if err != nil {
			return err
		}
		sc.overlay, sc.ovW, sc.ovH = ov, w, h
	}
	if !sc.cleared {
		if err := s.Fill(sc.ring, float32(math.Log(logFloor))); err != nil {
			return err
		}
		sc.cleared = true
	}
	groups := [3]uint32{uint32((w + 15) / 16), uint32((h + 15) / 16), 1}
	return s.Dispatch(sc.kRender, groups, sc.renderPush(w, h, bgra), sc.ring, sc.lut, sc.lut, sc.overlay, img)
}

// Close frees the scope's tensors and its STFT.
func (sc *scope) Close() error {
	var err error
	if sc.fe != nil {
		err = sc.fe.Close()
	}
	for _, t := range []*gpu.Tensor{sc.ring, sc.lut, sc.dummy, sc.overlay} {
		if t != nil {
			t.Close()
		}
	}
	return err
}
