package suite

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

const stftParamsDoc = "n_fft, hop_length (default n_fft/4), win_length (default n_fft), window (hann, ones; or the window input), " +
	"center (default 1), pad_mode (reflect, constant), normalized (0/1), onesided (default 1)"

func init() {
	Register(Op{
		Name:      "stft",
		Summary:   "torch.stft: framing, padding and window fused into a real FFT (radix 2-8 Stockham, Bluestein for other primes), float32",
		Inputs:    "x [B,L], [window [win_length]]",
		Outputs:   "out [B,F,frames,2] (re, im as torch.view_as_real)",
		ParamsDoc: stftParamsDoc + "; bench: B, L, n_fft, hop_length, sr (sets L = 60 s), variant=rfft or irfft (batched real FFT or its inverse, B rows of n_fft)",
		Verify:    verifySTFT,
		Bench:     benchSTFT,
		Run:       runSTFT,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 300)}, Params{"n_fft": "64", "hop_length": "16"}
		},
	})
	Register(Op{
		Name:      "istft",
		Summary:   "torch.istft: inverse real FFT, window, overlap-add as a gather, envelope division (NOLA checked on the host), float32",
		Inputs:    "spec [B,F,frames,2], [window [win_length]]",
		Outputs:   "y [B,L]",
		ParamsDoc: stftParamsDoc + ", length; bench: as stft",
		Verify:    verifyISTFT,
		Bench:     benchISTFT,
		Run:       runISTFT,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("spec", 1, 2, 33, 20, 2)}, Params{"n_fft": "64", "hop_length": "16"}
		},
	})
}

// stftOptions reads the STFT parameters of p (window values from the optional input).
func stftOptions(op string, p Params, window []float32) (ops.STFTOptions, error) {
	var o ops.STFTOptions
	var err error
	if o.NFFT, err = p.Int("n_fft", 0); err != nil {
		return o, err
	}
	if o.NFFT < 1 {
		return o, fmt.Errorf("%s: parameter n_fft is required (>= 1)", op)
	}
	if o.HopLength, err = p.Int("hop_length", 0); err != nil {
		return o, err
	}
	if o.WinLength, err = p.Int("win_length", 0); err != nil {
		return o, err
	}
	if o.Center, err = p.Bool("center", true); err != nil {
		return o, err
	}
	if o.Normalized, err = p.Bool("normalized", false); err != nil {
		return o, err
	}
	if o.Onesided, err = p.Bool("onesided", true); err != nil {
		return o, err
	}
	if o.Length, err = p.Int("length", 0); err != nil {
		return o, err
	}
	o.PadMode = p.String("pad_mode", "reflect")
	if window != nil {
		if _, ok := p["window"]; ok {
			return o, fmt.Errorf("%s: both the window input and parameter window=%s; give one", op, p["window"])
		}
		o.Window = reference.ToFloat64(window)
	} else {
		o.WindowKind = p.String("window", "hann")
	}
	return o, nil
}

type stftCase struct {
	b, l int
	opt  ops.STFTOptions
}

func stftCaseName(c stftCase) string {
	o := c.opt
	s := fmt.Sprintf("B=%d L=%d n_fft=%d hop=%d", c.b, c.l, o.NFFT, o.HopLength)
	if o.WinLength != 0 {
		s += fmt.Sprintf(" win=%d", o.WinLength)
	}
	if o.Window != nil {
		s += " window=given"
	} else if o.WindowKind != "hann" {
		s += " window=" + o.WindowKind
	}
	if !o.Center {
		s += " center=0"
	} else if o.PadMode == "constant" {
		s += " pad=constant"
	}
	if o.Normalized {
		s += " normalized"
	}
	if !o.Onesided {
		s += " two-sided"
	}
	if o.Length != 0 {
		s += fmt.Sprintf(" length=%d", o.Length)
	}
	return s
}

// stftVerifyCases covers the sizes people use, odd sizes (two frames per FFT), Bluestein primes,
// every option; long adds the largest sizes.
func stftVerifyCases(long bool) []stftCase {
	def := func(n, hop int) ops.STFTOptions {
		o := ops.DefaultSTFTOptions(n)
		o.HopLength = hop
		return o
	}
	var cs []stftCase
	add := func(b, l int, o ops.STFTOptions) { cs = append(cs, stftCase{b, l, o}) }
	add(2, 4000, def(16, 4))
	add(2, 4000, def(20, 5))
	add(2, 16000, def(400, 160))
	o := def(441, 147)
	o.PadMode, o.Normalized = "constant", true
	add(3, 9000, o)
	o = def(512, 256)
	o.Onesided, o.Center = false, false
	add(2, 8000, o)
	o = def(1024, 256)
	o.WinLength, o.WindowKind = 800, "ones"
	add(1, 12000, o)
	add(1, 16000, def(1280, 320))
	add(1, 22050, def(2048, 441))
	o = def(97, 24)
	o.Window = make([]float64, 97)
	for i := range o.Window {
		o.Window[i] = 0.5 + 0.5*math.Sin(float64(i))
	}
	o.WindowKind = ""
	add(2, 3000, o)
	add(2, 6000, def(257, 64))
	if long {
		add(1, 40000, def(4096, 1024))
		add(1, 60000, def(8192, 2048))
		add(1, 20000, def(1009, 252))
	}
	return cs
}

func verifySTFT(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	r := Rand()
	for _, c := range stftVerifyCases(long) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := VerifyResult{Op: "stft", Case: stftCaseName(c), DType: "f32", Tol: 1e-5}
		if err := verifyMem(d, c.b, c.l, c.opt); err != nil {
			res.Err = err.Error()
			report(res)
			continue
		}
		x := Randn(r, c.b*c.l, 1)
		want, f, frames, err := reference.STFT(x, c.b, c.l, c.opt)
		if err == nil {
			var got []float32
			got, err = gpuSTFT(d, x, c.b, c.l, f, frames, c.opt)
			res.RelErr = reference.RelErr(got, want)
		}
		if err != nil {
			res.Err = err.Error()
		}
		report(res)
	}
	return nil
}

// gpuSTFT runs the STFT of x [b, l] and returns out [b, f, frames, 2].
func gpuSTFT(d *gpu.Device, x []float64, b, l, f, frames int, opt ops.STFTOptions) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, b, l)
	if err != nil {
		return nil, err
	}
	out, err := ts.Output(gpu.F32, b, f, frames, 2)
	if err != nil {
		return nil, err
	}
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	if err := RunStream(d, func(s *gpu.Stream) error { return pl.Forward(s, out, xt) }); err != nil {
		return nil, err
	}
	return out.ReadFloat32()
}

// gpuISTFT runs the iSTFT of spec [b, f, frames, 2] and returns y.
func gpuISTFT(d *gpu.Device, spec []float64, b, f, frames int, opt ops.STFTOptions) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	st, err := ts.Upload(gpu.F32, spec, b, f, frames, 2)
	if err != nil {
		return nil, err
	}
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	y, err := ts.Output(gpu.F32, b, pl.ISTFTLength(frames))
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return pl.Inverse(s, y, st) }); err != nil {
		return nil, err
	}
	return y.ReadFloat32()
}

func verifyISTFT(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	r := Rand()
	for i, c := range stftVerifyCases(long) {
		if err := ctx.Err(); err != nil {
			return err
		}
		opt := c.opt
		if opt.WinLength != 0 || !opt.Center {
			// a shorter window or no centring leaves zero envelope at the ends (NOLA)
			opt.WinLength, opt.WindowKind, opt.Center = 0, "hann", true
			opt.Window = nil
		}
		if i%3 == 1 {
			opt.Length = c.l - 7
		}
		// random spectra, then the round trip of a signal
		f, frames, err := ops.STFTShape(c.l, opt)
		res := VerifyResult{Op: "istft", Case: stftCaseName(stftCase{c.b, c.l, opt}), DType: "f32", Tol: 1e-5}
		if err == nil {
			err = verifyMem(d, c.b, c.l, opt)
		}
		if err == nil {
			spec := Randn(r, c.b*f*frames*2, 1)
			var want []float64
			if want, _, err = reference.ISTFT(spec, c.b, f, frames, opt); err == nil {
				var got []float32
				got, err = gpuISTFT(d, spec, c.b, f, frames, opt)
				res.RelErr = reference.RelErr(got, want)
			}
		}
		if err != nil {
			res.Err = err.Error()
		}
		report(res)

		rt := VerifyResult{Op: "istft", Case: "round trip, max error / peak: " + res.Case, DType: "f32", Tol: 1e-5}
		opt.Length = c.l
		x := Randn(r, c.b*c.l, 1)
		spec, err := gpuSTFT(d, x, c.b, c.l, f, frames, opt)
		if err == nil {
			var y []float32
			if y, err = gpuISTFT(d, reference.ToFloat64(spec), c.b, f, frames, opt); err == nil {
				peak := 0.0
				for _, v := range x {
					peak = math.Max(peak, math.Abs(v))
				}
				rt.RelErr = reference.MaxAbsErr(y, x) / peak
			}
		}
		if err != nil {
			rt.Err = err.Error()
		}
		report(rt)
	}
	return nil
}

// stftBenchShape is one benchmarked STFT: n_fft, hop, signal length (samples), batch.
type stftBenchShape struct{ n, hop, l, b int }

func stftBenchShapes(b *Bencher, p Params) ([]stftBenchShape, error) {
	if len(p) == 0 {
		if b.Quick {
			// batch 1, 10 s
			return []stftBenchShape{{512, 256, 160000, 1}, {1024, 256, 160000, 1}, {2048, 441, 441000, 1}}, nil
		}
		// batch 8, 60 s at 16 kHz (44.1 kHz for 2048/441)
		return []stftBenchShape{{16, 4, 960000, 8}, {400, 160, 960000, 8}, {512, 256, 960000, 8}, {1024, 256, 960000, 8},
			{1280, 320, 960000, 8}, {2048, 441, 2646000, 8}}, nil
	}
	var sh stftBenchShape
	var err error
	if sh.n, err = p.Int("n_fft", 512); err != nil {
		return nil, err
	}
	if sh.hop, err = p.Int("hop_length", max(sh.n/4, 1)); err != nil {
		return nil, err
	}
	sr, err := p.Int("sr", 16000)
	if err != nil {
		return nil, err
	}
	if sh.b, err = p.Int("B", 1); err != nil {
		return nil, err
	}
	if sh.l, err = p.Int("L", 60*sr); err != nil {
		return nil, err
	}
	if sh.n < 1 || sh.hop < 1 || sh.b < 1 || sh.l <= sh.n/2 {
		return nil, fmt.Errorf("stft: n_fft=%d hop_length=%d B=%d L=%d: want n_fft, hop_length, B >= 1 and L > n_fft/2", sh.n, sh.hop, sh.b, sh.l)
	}
	return []stftBenchShape{sh}, nil
}

// fftFlops counts 2.5·n·log2(n) per real transform of length n (VkFFT's and FFTW's convention).
func fftFlops(n int) float64 { return 2.5 * float64(n) * math.Log2(float64(max(n, 2))) }

// cpuSTFT is a float64 STFT through gonum's FFT (for timing: the direct-DFT reference would take
// minutes at the benchmark's sizes).
func cpuSTFT(x []float64, b, l int, opt ops.STFTOptions) error {
	win, err := reference.STFTWindow(opt)
	if err != nil {
		return err
	}
	n, hop, pad := opt.NFFT, opt.HopLength, opt.NFFT/2
	fft := fourier.NewFFT(n)
	frame := make([]float64, n)
	coef := make([]complex128, n/2+1)
	frames := 1 + (l+2*pad-n)/hop
	for r := 0; r < b; r++ {
		sig := x[r*l : (r+1)*l]
		for m := 0; m < frames; m++ {
			for k := 0; k < n; k++ {
				i := m*hop + k - pad
				if i < 0 {
					i = -i
				}
				if i >= l {
					i = 2*(l-1) - i
				}
				frame[k] = sig[i] * win[k]
			}
			fft.Coefficients(coef, frame)
		}
	}
	return nil
}

func benchSTFT(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("stft", "B", "L", "n_fft", "hop_length", "sr", "variant"); err != nil {
		return err
	}
	if v := p.String("variant", ""); v == "rfft" || v == "irfft" {
		n, err := p.Int("n_fft", 512)
		if err != nil {
			return err
		}
		batch, err := p.Int("B", 4096)
		if err != nil {
			return err
		}
		if v == "irfft" {
			return benchIRFFT(ctx, b, n, batch)
		}
		return benchRFFT(ctx, b, n, batch)
	}
	shapes, err := stftBenchShapes(b, p)
	if err != nil {
		return err
	}
	for _, sh := range shapes {
		if err := benchSTFTShape(ctx, b, sh, false); err != nil {
			return err
		}
	}
	if len(p) == 0 {
		for _, s := range [][2]int{{512, 4096}, {1024, 2048}, {2048, 1024}, {16, 65536}} {
			if err := benchRFFT(ctx, b, s[0], s[1]); err != nil {
				return err
			}
		}
		if err := benchIRFFT(ctx, b, 512, 4096); err != nil {
			return err
		}
	}
	return nil
}

func benchISTFT(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("istft", "B", "L", "n_fft", "hop_length", "sr"); err != nil {
		return err
	}
	shapes, err := stftBenchShapes(b, p)
	if err != nil {
		return err
	}
	for _, sh := range shapes {
		if err := benchSTFTShape(ctx, b, sh, true); err != nil {
			return err
		}
	}
	return nil
}

// benchSTFTShape measures the STFT (or the iSTFT of its output) at one shape.
func benchSTFTShape(ctx context.Context, b *Bencher, sh stftBenchShape, inverse bool) error {
	d := b.Device
	l := sh.l
	opt := ops.DefaultSTFTOptions(sh.n)
	opt.HopLength = sh.hop
	f, frames, err := ops.STFTShape(l, opt)
	if err != nil {
		return err
	}
	// x in float64 and float32 on the host; x, the spectrum (and y) on the device
	mem := stftMem{host: 12 * f64(sh.b, l), dev: 4*f64(sh.b, l) + 8*f64(sh.b, f, frames) + stftScratch}
	if inverse {
		mem.dev += 4 * f64(sh.b, l)
	}
	if err := mem.check(fmt.Sprintf("%s B=%d L=%d n_fft=%d", map[bool]string{false: "stft", true: "istft"}[inverse], sh.b, l, sh.n), d); err != nil {
		return err
	}
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return err
	}
	defer pl.Close()
	r := Rand()
	x := Randn(r, sh.b*l, 1)
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.Upload(gpu.F32, x, sh.b, l)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, sh.b, f, frames, 2)
	if err != nil {
		return err
	}
	op, rec := "stft", func(s *gpu.Stream) error { return pl.Forward(s, out, xt) }
	if inverse {
		y, err := ts.Output(gpu.F32, sh.b, l)
		if err != nil {
			return err
		}
		if err := RunStream(d, rec); err != nil {
			return err
		}
		op, rec = "istft", func(s *gpu.Stream) error { return pl.Inverse(s, y, out) }
	}
	med, mn, err := b.Measure(ctx, rec)
	if err != nil {
		return fmt.Errorf("%s n_fft=%d: %w", op, sh.n, err)
	}
	var refT time.Duration
	if !inverse {
		refT, err = TimeCPU(func() error { return cpuSTFT(x, sh.b, l, opt) })
		if err != nil {
			return err
		}
	}
	nf := float64(sh.b * frames)
	shape := map[string]int{"B": sh.b, "L": l, "n_fft": sh.n, "hop_length": sh.hop}
	note := fmt.Sprintf("%.3g frames/s", nf/med.Seconds())
	if !inverse {
		note += "; reference: gonum float64 FFT STFT"
	}
	b.Add(Result{Op: op, Variant: "fused", DType: "f32", Shape: shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(),
		ReferenceNS: refT.Nanoseconds(), Note: note},
		nf*fftFlops(sh.n), float64(sh.b)*(float64(l)*4+float64(f*frames)*8))
	return nil
}

// benchRFFT measures the batched real FFT at one of VkFFT's shapes (n × batch); peers are compared
// on the same device and in the same run by vkbench compare (docs/benchmarks.md), never by scaling
// a figure from another machine.
func benchRFFT(ctx context.Context, b *Bencher, n, batch int) error {
	d := b.Device
	if n < 1 || batch < 1 {
		return fmt.Errorf("rfft: n_fft = %d, B = %d, want both >= 1", n, batch)
	}
	if err := (stftMem{host: 12 * f64(batch, n), dev: 4*f64(batch, n) + 8*f64(batch, n/2+1) + stftScratch}).check(fmt.Sprintf("rfft B=%d n=%d", batch, n), d); err != nil {
		return err
	}
	pl, err := ops.NewRFFTPlan(d, n)
	if err != nil {
		return err
	}
	defer pl.Close()
	ts := NewTensors(d)
	defer ts.Close()
	r := Rand()
	x := Randn(r, batch*n, 1)
	xt, err := ts.Upload(gpu.F32, x, batch, n)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, batch, n/2+1, 2)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return pl.Forward(s, out, xt) })
	if err != nil {
		return fmt.Errorf("rfft n=%d: %w", n, err)
	}
	refT, err := TimeCPU(func() error {
		fft := fourier.NewFFT(n)
		coef := make([]complex128, n/2+1)
		for i := 0; i < batch; i++ {
			fft.Coefficients(coef, x[i*n:(i+1)*n])
		}
		return nil
	})
	if err != nil {
		return err
	}
	fps := float64(batch) / med.Seconds()
	note := fmt.Sprintf("%.3g frames/s", fps)
	b.Add(Result{Op: "stft", Variant: "rfft", DType: "f32", Shape: map[string]int{"n_fft": n, "B": batch}, MedianNS: med.Nanoseconds(),
		MinNS: mn.Nanoseconds(), ReferenceNS: refT.Nanoseconds(), Note: note + "; reference: gonum float64 FFT"},
		float64(batch)*fftFlops(n), float64(batch)*(float64(n)*4+float64(n/2+1)*8))
	return nil
}

// benchIRFFT measures the batched inverse real FFT (C2R) at n × batch (VkFFT's C2R case is
// compared by vkbench compare, docs/benchmarks.md).
func benchIRFFT(ctx context.Context, b *Bencher, n, batch int) error {
	d := b.Device
	if err := (stftMem{host: 24 * f64(batch, n/2+1), dev: 4*f64(batch, n) + 8*f64(batch, n/2+1) + stftScratch}).check(fmt.Sprintf("irfft B=%d n=%d", batch, n), d); err != nil {
		return err
	}
	pl, err := ops.NewRFFTPlan(d, n)
	if err != nil {
		return err
	}
	defer pl.Close()
	ts := NewTensors(d)
	defer ts.Close()
	spec, err := ts.Upload(gpu.F32, Randn(Rand(), batch*(n/2+1)*2, 1), batch, n/2+1, 2)
	if err != nil {
		return err
	}
	y, err := ts.Output(gpu.F32, batch, n)
	if err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return pl.Inverse(s, y, spec) })
	if err != nil {
		return fmt.Errorf("irfft n=%d: %w", n, err)
	}
	fps := float64(batch) / med.Seconds()
	note := fmt.Sprintf("%.3g frames/s", fps)
	b.Add(Result{Op: "stft", Variant: "irfft", DType: "f32", Shape: map[string]int{"n_fft": n, "B": batch}, MedianNS: med.Nanoseconds(),
		MinNS: mn.Nanoseconds(), Note: note}, float64(batch)*fftFlops(n), float64(batch)*(float64(n)*4+float64(n/2+1)*8))
	return nil
}

// stftWindowInput reads the optional window input.
func stftWindowInput(in *tensorio.File) ([]float32, error) {
	w, ok, err := in.OptionalFloat32("window", tensorio.Any)
	if err != nil || !ok {
		return nil, err
	}
	return w, nil
}

func runSTFT(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "stft"
	if err := p.Check(op, "n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "normalized", "onesided"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown("x", "window"); err != nil {
		return nil, err
	}
	w, err := stftWindowInput(in)
	if err != nil {
		return nil, err
	}
	opt, err := stftOptions(op, p, w)
	if err != nil {
		return nil, err
	}
	x, err := in.Float32("x", tensorio.Any, tensorio.Any)
	if err != nil {
		return nil, err
	}
	xs, _ := in.Shape("x")
	f, frames, err := ops.STFTShape(xs[1], opt)
	if err != nil {
		return nil, err
	}
	// the spectrum read back and written out on the host; x and the spectrum on the device
	if err := (stftMem{host: 8 * f64(xs[0], f, frames, 2), dev: 4*f64(xs...) + 8*f64(xs[0], f, frames) + stftScratch}).check(op, d); err != nil {
		return nil, err
	}
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.UploadF32(x, xs...)
	if err != nil {
		return nil, err
	}
	out, err := ts.Output(gpu.F32, xs[0], f, frames, 2)
	if err != nil {
		return nil, err
	}
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	if err := RunStream(d, func(s *gpu.Stream) error { return pl.Forward(s, out, xt) }); err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: []int{xs[0], f, frames, 2}, F32: o}}, nil
}

func runISTFT(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "istft"
	if err := p.Check(op, "n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "normalized", "onesided", "length"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown("spec", "window"); err != nil {
		return nil, err
	}
	w, err := stftWindowInput(in)
	if err != nil {
		return nil, err
	}
	opt, err := stftOptions(op, p, w)
	if err != nil {
		return nil, err
	}
	spec, err := in.Float32("spec", tensorio.Any, tensorio.Any, tensorio.Any, 2)
	if err != nil {
		return nil, err
	}
	ss, _ := in.Shape("spec")
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	defer pl.Close()
	if ss[1] != pl.Freqs() {
		return nil, fmt.Errorf("%s: input tensor \"spec\" has shape %v, want [B, %d, frames, 2] for n_fft=%d onesided=%v", op, ss, pl.Freqs(), opt.NFFT, opt.Onesided)
	}
	if ss[2] < 1 {
		return nil, fmt.Errorf("%s: input tensor \"spec\" has shape %v, want at least one frame", op, ss)
	}
	outLen := pl.ISTFTLength(ss[2])
	if err := (stftMem{host: 8 * f64(ss[0], outLen), dev: 4*f64(ss...) + 4*f64(ss[0], outLen) + stftScratch}).check(op, d); err != nil {
		return nil, err
	}
	ts := NewTensors(d)
	defer ts.Close()
	st, err := ts.UploadF32(spec, ss...)
	if err != nil {
		return nil, err
	}
	y, err := ts.Output(gpu.F32, ss[0], outLen)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return pl.Inverse(s, y, st) }); err != nil {
		return nil, err
	}
	o, err := y.ReadFloat32()
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "y", DType: tensorio.F32, Shape: []int{ss[0], outLen}, F32: o}}, nil
}

// verifyMem refuses a verified case whose allocations exceed memory: the signal, its spectrum and
// the iSTFT's output, in float64 (reference) and float32 (host and device), twice over for the
// round trip.
func verifyMem(d *gpu.Device, b, l int, opt ops.STFTOptions) error {
	f, frames, err := ops.STFTShape(l, opt)
	if err != nil {
		return err
	}
	sig, spec := 2*f64(b, l), 2*f64(b, f, frames)
	return stftMem{host: 2 * 12 * (sig + spec), dev: 2*4*(sig+spec) + stftScratch}.check("verify", d)
}
