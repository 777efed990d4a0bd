package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/vkseq/vkseq/display"
	"github.com/vkseq/vkseq/gpu"
)

// player is the windowed app's state.
type player struct {
	cfg    scopeConfig
	sig    source
	paused bool
	quit   bool
	reset  bool // the STFT parameters changed: rebuild the scope
}

func (p *player) key(_ *glfw.Window, k glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
	if action != glfw.Press && action != glfw.Repeat {
		return
	}
	switch k {
	case glfw.KeySpace:
		p.paused = !p.paused
	case glfw.KeyQ, glfw.KeyEscape:
		p.quit = true
	case glfw.KeyRight:
		if p.cfg.NFFT < 8192 {
			p.cfg.NFFT *= 2
			p.cfg.Hop, p.reset = p.cfg.NFFT/4, true
		}
	case glfw.KeyLeft:
		if p.cfg.NFFT > 128 {
			p.cfg.NFFT /= 2
			p.cfg.Hop, p.reset = p.cfg.NFFT/4, true
		}
	case glfw.KeyUp:
		if p.cfg.Mels < 512 {
			p.cfg.Mels *= 2
			p.reset = true
		}
	case glfw.KeyDown:
		if p.cfg.Mels > 16 {
			p.cfg.Mels /= 2
			p.reset = true
		}
	}
}

// windowed plays the signal in real time in a window until it is closed (or o.frames frames).
func windowed(cfg scopeConfig, sig source, o options) (stats, error) {
	var st stats
	win, err := display.Open(display.Options{Title: "vkscope", Width: o.width, Height: o.height, VSync: o.vsync})
	if err != nil {
		return st, err
	}
	defer win.Close()
	d := win.Device()
	p := &player{cfg: cfg, sig: sig}
	win.GLFW().SetKeyCallback(p.key)
	sigs := []source{sig}
	panels := ""
	if o.vocos != "" {
		win.SetTitle("vkscope — vocoding " + sig.name + " with Vocos …")
		re, took, err := resynthesise(context.Background(), d, o.vocos, sig)
		if err != nil {
			return st, err
		}
		sigs = append(sigs, re)
		panels = fmt.Sprintf(" — top: input, bottom: Vocos resynthesis (whole input vocoded at start in %.1f s, in sync, no latency)", took.Seconds())
	}
	s, err := newStream(d)
	if err != nil {
		return st, err
	}
	sk, err := newStack(d, cfg, sigs)
	if err != nil {
		return st, err
	}
	defer func() { sk.Close() }()
	// One image per frame in flight: the copy to the swapchain of frame k may still run while the
	// kernels of frame k+1 draw.
	var imgs [display.FramesInFlight]*gpu.Tensor
	defer func() {
		win.WaitPresented() // the last frames' copies may still read the images; an error here is the window's own
		for _, t := range imgs {
			if t != nil {
				t.Close()
			}
		}
	}()
	var period time.Duration
	if o.fps > 0 {
		period = time.Duration(float64(time.Second) / o.fps)
	}
	start := time.Now()
	last, lastTitle := start, start
	played := 0.0 // seconds of signal played
	var prev time.Time
	pos := 0
	next := start
	for k := 0; !win.ShouldClose() && !p.quit && (o.frames == 0 || st.frames < o.frames); k++ {
		if o.onLoop != nil {
			o.onLoop(k, win)
		}
		win.Poll()
		now := time.Now()
		if !p.paused {
			played += now.Sub(last).Seconds()
		}
		last = now
		if p.reset {
			if err := s.Wait(); err != nil {
				return st, err
			}
			sk.Close()
			if sk, err = newStack(d, p.cfg, sigs); err != nil {
				return st, err
			}
			p.reset = false
		}
		w, h, err := win.Extent()
		if err != nil {
			return st, err
		}
		if sk.tooSmall(d, w, h) { // minimised or too small to draw
			win.WaitEvents()
			continue
		}
		img := &imgs[k%len(imgs)]
		if *img == nil || (*img).Shape()[0] != h || (*img).Shape()[1] != w {
			if *img != nil {
				// The copy of an earlier frame to the swapchain may still read it (the frames
				// skipped while minimised break the FramesInFlight rotation).
				if err := win.WaitPresented(); err != nil {
					return st, err
				}
				(*img).Close()
			}
			if *img, err = d.NewTensor(gpu.I32, h, w); err != nil {
				return st, err
			}
		}
		target := int(played * float64(sig.rate))
		fft, err := frame(s, sk, pos, target, *img, win.BGRA())
		if err != nil {
			return st, err
		}
		pos = target
		if _, err := win.Present(*img); err != nil {
			return st, err
		}
		if err := s.Wait(); err != nil {
			return st, err
		}
		ft := time.Since(now)
		if st.frames > 0 {
			st.interval = append(st.interval, now.Sub(prev))
		}
		prev = now
		st.frame = append(st.frame, ft)
		st.gpu = append(st.gpu, s.Elapsed())
		st.fft = append(st.fft, fft)
		st.frames++
		if time.Since(lastTitle) > 250*time.Millisecond {
			lastTitle = time.Now()
			state := ""
			if p.paused {
				state = " [paused]"
			}
			win.SetTitle(fmt.Sprintf("vkscope — %s %.1f/%.1f s%s — n_fft %d hop %d mels %d — frame %.1f ms (%.0f fps), GPU %.2f ms, STFT %.2f ms%s",
				sig.name, float64(pos%len(sig.x))/float64(sig.rate), float64(len(sig.x))/float64(sig.rate), state,
				p.cfg.NFFT, p.cfg.Hop, p.cfg.Mels, ms(mean(st.frame[max(0, len(st.frame)-30):])),
				1/max(1e-9, mean(st.interval[max(0, len(st.interval)-30):]).Seconds()), ms(s.Elapsed()), ms(fft), panels))
		}
		if period > 0 {
			next = next.Add(period)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			} else if -d > period {
				next = time.Now() // more than a frame late: do not try to catch up
			} // a little late (a present waiting for the vertical blank): keep the schedule, so the mean rate stays 1/period
		}
	}
	st.wall = time.Since(start)
	return st, s.Close()
}
