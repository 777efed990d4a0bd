// Command vkscope is a live spectrogram: it plays a WAV file (or a generated test signal) in real
// time through vkseq's streaming STFT and log-mel on the GPU and scrolls the spectrogram across a
// window, with the image drawn and presented on the device (package display).
//
//	vkscope [flags] [file.wav]
//
// Keys: space pauses, left/right halve/double the FFT size (hop n_fft/4), down/up halve/double the
// mel count, q or Escape quits. The title shows the frame time, the GPU time of the frame's
// stream (mel, log, ring, render) and the STFT's wall time. "Plays" means the signal advances in
// real time; vkscope has no audio output.
//
// -headless renders the same frames with the same kernels into an offscreen tensor (no window,
// no display server), 60 frames per second of signal, and -png writes the last one:
//
//	vkscope -headless -frames 300 -png out.png
//
// -stats prints frame-time, frame-interval and GPU-time statistics at exit; with VKSCOPE_TIMINGS=1
// the headless mode also prints every 30th frame's per-kernel GPU times.
//
// -vocos DIR (a Vocos checkpoint folder: config.yaml + model.safetensors) or -vocos vocos-mel-24khz
// (that configuration with random weights) also shows the Vocos resynthesis of the input below it:
// Vocos's own mel features of the whole input → Vocos → audio, vocoded once at start (not
// streamed, so no latency: both panels show the same instants), then played in sync with the input
// through the same STFT, log-mel and rendering path. The input must be at the model's sample rate
// (a WAV at another rate is an error naming both); the test signal is generated at that rate.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/vkseq/vkseq/display"
	"github.com/vkseq/vkseq/gpu"
)

func init() { runtime.LockOSThread() } // GLFW wants the main thread

type options struct {
	nfft, hop, mels int
	history         float64
	colormap        string
	width, height   int
	headless        bool
	frames          int
	pngPath         string
	vsync           bool
	fps             float64
	stats           bool
	vocos           string
	// onLoop, when set (tests), runs at the start of every iteration of the window loop.
	onLoop func(iteration int, win *display.Window)
}

func main() {
	var o options
	flag.IntVar(&o.nfft, "nfft", 1024, "STFT frame length n_fft (samples)")
	flag.IntVar(&o.hop, "hop", 0, "STFT hop (samples; 0: n_fft/4)")
	flag.IntVar(&o.mels, "mels", 128, "mel bands")
	flag.Float64Var(&o.history, "history", 5, "seconds of signal across the plot")
	flag.StringVar(&o.colormap, "colormap", "viridis", "viridis or magma")
	flag.IntVar(&o.width, "width", 800, "window / image width (pixels)")
	flag.IntVar(&o.height, "height", 400, "window / image height (pixels)")
	flag.BoolVar(&o.headless, "headless", false, "render offscreen (no window); see -frames and -png")
	flag.IntVar(&o.frames, "frames", 0, "stop after this many frames (0: until the window closes; headless: the whole signal)")
	flag.StringVar(&o.pngPath, "png", "", "headless: write the last frame to this PNG file")
	flag.BoolVar(&o.vsync, "vsync", true, "present in FIFO mode (else mailbox/immediate)")
	flag.Float64Var(&o.fps, "fps", 60, "frame rate the window loop paces itself to (0: as fast as it can)")
	flag.BoolVar(&o.stats, "stats", false, "print frame-time and GPU-time statistics at exit")
	flag.StringVar(&o.vocos, "vocos", "", "Vocos checkpoint folder, or "+vocosRandomName+" (random weights): also show the input's Vocos resynthesis below it")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vkscope [flags] [file.wav]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(o, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "vkscope:", err)
		os.Exit(1)
	}
}

func run(o options, args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("want at most one WAV file, got %d arguments", len(args))
	}
	sig := source{name: "test signal", rate: 16000}
	if o.vocos != "" { // the test signal at the model's rate; a WAV must be at it
		rate, err := vocosRate(o.vocos)
		if err != nil {
			return err
		}
		sig.rate = rate
	}
	if len(args) == 1 {
		x, sr, err := readWAV(args[0])
		if err != nil {
			return err
		}
		if o.vocos != "" && sr != sig.rate {
			return rateMismatch(source{name: args[0], rate: sr}, o.vocos, sig.rate)
		}
		sig = source{name: filepath.Base(args[0]), x: x, rate: sr}
	} else {
		sig.x = testSignal(sig.rate)
	}
	if o.hop == 0 {
		o.hop = o.nfft / 4
	}
	cfg := scopeConfig{SampleRate: sig.rate, NFFT: o.nfft, Hop: o.hop, Mels: o.mels, History: o.history, Colormap: o.colormap}
	if o.headless {
		im, st, err := headless(context.Background(), cfg, sig, o.vocos, o.frames, o.width, o.height)
		if err != nil {
			return err
		}
		if o.stats {
			fmt.Println(st)
		}
		if o.pngPath == "" {
			return nil
		}
		f, err := os.Create(o.pngPath)
		if err != nil {
			return err
		}
		if err := png.Encode(f, im); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if o.pngPath != "" {
		return errors.New("-png needs -headless")
	}
	st, err := windowed(cfg, sig, o)
	if o.stats && st.frames > 0 {
		fmt.Println(st)
	}
	return err
}

// source is the signal being played.
type source struct {
	name string
	x    []float32
	rate int
}

// block returns samples [from, to) of the signal, looping at its end.
func (s source) block(from, to int) []float32 {
	out := make([]float32, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, s.x[i%len(s.x)])
	}
	return out
}

// stats summarises frame times.
type stats struct {
	frames          int
	frame, gpu, fft []time.Duration // per frame: work (feed to presented, excluding pacing sleep), GPU, STFT
	interval        []time.Duration // between frame starts (window loop only)
	wall            time.Duration
}

func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var s time.Duration
	for _, v := range d {
		s += v
	}
	return s / time.Duration(len(d))
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[min(len(c)-1, int(p*float64(len(c))))]
}

func (s stats) String() string {
	fps := 0.0
	if s.wall > 0 {
		fps = float64(s.frames) / s.wall.Seconds()
	}
	return fmt.Sprintf("frames %d in %.2f s: %.1f frames/s; frame time mean %.2f ms, p99 %.2f ms, max %.2f ms; "+
		"GPU time per frame (mel, log, ring, render) mean %.3f ms, p99 %.3f ms; STFT push (wall) mean %.3f ms",
		s.frames, s.wall.Seconds(), fps, ms(mean(s.frame)), ms(pct(s.frame, 0.99)), ms(pct(s.frame, 1)),
		ms(mean(s.gpu)), ms(pct(s.gpu, 0.99)), ms(mean(s.fft))) + s.pacing()
}

// pacing reports the intervals between frames: their mean, p99, and how many exceeded 1.5/60 s.
func (s stats) pacing() string {
	if len(s.interval) == 0 {
		return ""
	}
	late := 0
	for _, d := range s.interval {
		if d > time.Second*3/120 {
			late++
		}
	}
	steady := ""
	if len(s.interval) > 1 {
		// The first interval holds the first frame, which builds the pipelines.
		rest := s.interval[len(s.interval)/10:] // past the warm-up (pipeline builds on first use)
		steady = fmt.Sprintf("; last 90%% of frames %.1f frames/s (interval mean %.2f ms, median %.2f ms)",
			1/mean(rest).Seconds(), ms(mean(rest)), ms(pct(rest, 0.5)))
	}
	return fmt.Sprintf("; frame interval mean %.2f ms, p99 %.2f ms, %d of %d intervals > 25 ms",
		ms(mean(s.interval)), ms(pct(s.interval, 0.99)), late, len(s.interval)) + steady
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// newStream makes the frame stream, timed when the device has timestamps.
func newStream(d *gpu.Device) (*gpu.Stream, error) {
	if d.Info().Timestamps {
		return d.NewStream(gpu.WithTimestamps(64))
	}
	return d.NewStream()
}

// frame feeds samples [from, to) of every panel's signal and records the render into img, then
// submits the stream (not waiting). It returns the STFTs' wall time.
func frame(s *gpu.Stream, sk *stack, from, to int, img *gpu.Tensor, bgra bool) (time.Duration, error) {
	t0 := time.Now()
	if err := sk.feed(s, from, to); err != nil {
		return 0, err
	}
	fft := time.Since(t0)
	if err := sk.render(s, img, bgra); err != nil {
		return 0, err
	}
	return fft, s.Submit()
}
