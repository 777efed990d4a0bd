package suite

import (
	"context"
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:    "mel_fbanks",
		Summary: "torchaudio melscale_fbanks (host, float64 → float32); verify and bench run the GPU log-mel spectrogram with it",
		Inputs:  "none",
		Outputs: "fb [n_freqs, n_mels]",
		ParamsDoc: "n_freqs, f_min (default 0), f_max (default sample_rate/2), n_mels, sample_rate, norm (none, slaney), " +
			"mel_scale (htk, slaney); bench: B, L, n_fft, hop_length, n_mels, sr",
		Verify: verifyMel,
		Bench:  benchMel,
		Run:    runMelFBanks,
		Example: func() ([]tensorio.Tensor, Params) {
			return nil, Params{"n_freqs": "201", "n_mels": "80", "sample_rate": "16000"}
		},
	})
}

func runMelFBanks(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "mel_fbanks"
	if err := p.Check(op, "n_freqs", "f_min", "f_max", "n_mels", "sample_rate", "norm", "mel_scale"); err != nil {
		return nil, err
	}
	if err := in.CheckKnown(); err != nil {
		return nil, err
	}
	nf, err := p.Int("n_freqs", 0)
	if err != nil {
		return nil, err
	}
	nm, err := p.Int("n_mels", 0)
	if err != nil {
		return nil, err
	}
	sr, err := p.Int("sample_rate", 0)
	if err != nil {
		return nil, err
	}
	fmin, err := p.Float("f_min", 0)
	if err != nil {
		return nil, err
	}
	fmax, err := p.Float("f_max", float64(sr)/2)
	if err != nil {
		return nil, err
	}
	norm := p.String("norm", "none")
	if nf > 0 && nm > 0 {
		// float64 filterbank, its float32 copy and the output tensor
		if err := (stftMem{host: 16 * f64(nf, nm)}).check(op, d); err != nil {
			return nil, err
		}
	}
	fb, err := ops.MelFBanks(nf, float32(fmin), float32(fmax), nm, sr, norm, p.String("mel_scale", "htk"))
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "fb", DType: tensorio.F32, Shape: []int{nf, nm}, F32: fb.Float32()}}, nil
}

// melCase is one verified or benchmarked log-mel spectrogram: STFT, power, mel, log.
type melCase struct {
	b, l, n, hop, mels, sr int
	power                  float32
	librosa                bool
}

func (c melCase) name() string {
	fb := "torchaudio htk"
	if c.librosa {
		fb = "librosa slaney"
	}
	return fmt.Sprintf("B=%d L=%d n_fft=%d hop=%d n_mels=%d sr=%d power=%g %s", c.b, c.l, c.n, c.hop, c.mels, c.sr, c.power, fb)
}

// filterbank returns the case's filterbank as ops computes it (torchaudio's HTK, or Slaney scale and
// norm: librosa's).
func (c melCase) filterbank() (ops.FilterBank, error) {
	f := c.n/2 + 1
	if !c.librosa {
		return ops.MelFBanks(f, 0, float32(c.sr)/2, c.mels, c.sr, "", "htk")
	}
	return ops.MelFBanks(f, 0, float32(c.sr)/2, c.mels, c.sr, "slaney", "slaney")
}

// refFilterbank returns the case's filterbank [F, mels] as reference computes it (torchaudio's
// melscale_fbanks, or librosa.filters.mel transposed).
func (c melCase) refFilterbank() ([]float64, error) {
	f := c.n/2 + 1
	if !c.librosa {
		return reference.MelFBanks(f, 0, float64(c.sr)/2, c.mels, c.sr, "", "htk")
	}
	w, err := reference.LibrosaMel(float64(c.sr), c.n, c.mels, 0, 0, false, "slaney")
	if err != nil {
		return nil, err
	}
	fb := make([]float64, len(w))
	for j := 0; j < c.mels; j++ {
		for q := 0; q < f; q++ {
			fb[q*c.mels+j] = w[j*f+q]
		}
	}
	return fb, nil
}

// melProblem holds the device side of a case: x, the spectrum, mel and log-mel.
type melProblem struct {
	pl               *ops.STFTPlan
	m                *ops.Mel
	x, spec, mel, lg *gpu.Tensor
	frames           int
}

func newMelProblem(ts *Tensors, d *gpu.Device, c melCase, x []float64) (*melProblem, error) {
	fb, err := c.filterbank()
	if err != nil {
		return nil, err
	}
	opt := ops.DefaultSTFTOptions(c.n)
	opt.HopLength = c.hop
	pl, err := ops.NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	f, frames, err := pl.Shape(c.l)
	if err != nil {
		pl.Close()
		return nil, err
	}
	m, err := ops.NewMel(d, fb)
	if err != nil {
		pl.Close()
		return nil, err
	}
	pr := &melProblem{pl: pl, m: m, frames: frames}
	if pr.x, err = ts.Upload(gpu.F32, x, c.b, c.l); err == nil {
		if pr.spec, err = ts.Output(gpu.F32, c.b, f, frames, 2); err == nil {
			if pr.mel, err = ts.Output(gpu.F32, c.b, c.mels, frames); err == nil {
				pr.lg, err = ts.Output(gpu.F32, c.b, c.mels, frames)
			}
		}
	}
	if err != nil {
		pr.close()
		return nil, err
	}
	return pr, nil
}

// record records the whole chain; melOnly skips the STFT (the projection and log alone).
func (pr *melProblem) record(s *gpu.Stream, c melCase, melOnly bool) error {
	if !melOnly {
		if err := pr.pl.Forward(s, pr.spec, pr.x); err != nil {
			return err
		}
	}
	if err := pr.m.Spectrogram(s, pr.mel, pr.spec, c.power); err != nil {
		return err
	}
	return ops.LogMel(s, pr.lg, pr.mel, 1e-10)
}

func (pr *melProblem) close() {
	pr.pl.Close()
	pr.m.Close()
}

func verifyMel(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	cases := []melCase{{2, 16000, 400, 160, 80, 16000, 2, false}, {2, 22050, 1024, 256, 128, 22050, 2, true}, {1, 16000, 512, 128, 64, 16000, 1, true}}
	if long {
		cases = append(cases, melCase{1, 44100, 2048, 441, 128, 44100, 2, false})
	}
	r := Rand()
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := VerifyResult{Op: "mel_fbanks", Case: "log-mel spectrogram " + c.name(), DType: "f32", Tol: 1e-5}
		if err := c.checkMemory(d); err != nil {
			res.Err = err.Error()
		} else {
			res.RelErr, res.Err = melVerifyCase(d, c, Randn(r, c.b*c.l, 1))
		}
		report(res)
	}
	return nil
}

func melVerifyCase(d *gpu.Device, c melCase, x []float64) (float64, string) {
	opt := ops.DefaultSTFTOptions(c.n)
	opt.HopLength = c.hop
	spec, f, frames, err := reference.STFT(x, c.b, c.l, opt)
	if err != nil {
		return 0, err.Error()
	}
	fb, err := c.refFilterbank()
	if err != nil {
		return 0, err.Error()
	}
	pow, _ := reference.PowerSpectrogram(spec, c.b, f, frames, float64(c.power))
	mel, _ := reference.MelSpectrogram(pow, c.b, f, frames, fb, c.mels)
	want, _ := reference.LogMel(mel, 1e-10)
	ts := NewTensors(d)
	defer ts.Close()
	pr, err := newMelProblem(ts, d, c, x)
	if err != nil {
		return 0, err.Error()
	}
	defer pr.close()
	if err := RunStream(d, func(s *gpu.Stream) error { return pr.record(s, c, false) }); err != nil {
		return 0, err.Error()
	}
	got, err := pr.lg.ReadFloat32()
	if err != nil {
		return 0, err.Error()
	}
	return reference.RelErr(got, want), ""
}

func benchMel(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("mel_fbanks", "B", "L", "n_fft", "hop_length", "n_mels", "sr"); err != nil {
		return err
	}
	// Whisper's front end (30 s, 80 mels) and a vocoder's (44.1 kHz, 128 mels)
	cases := []melCase{{8, 480000, 400, 160, 80, 16000, 2, false}, {8, 441000, 2048, 512, 128, 44100, 1, true}}
	if b.Quick {
		cases = []melCase{{1, 480000, 400, 160, 80, 16000, 2, false}}
	}
	if len(p) > 0 {
		c := melCase{power: 2}
		var err error
		if err := p.Sizes("mel_fbanks", Size{"B", &c.b, 1}, Size{"sr", &c.sr, 16000}, Size{"n_fft", &c.n, 400}, Size{"hop_length", &c.hop, 160}, Size{"n_mels", &c.mels, 80}); err != nil {
			return err
		}
		if c.l, err = p.Int("L", 30*c.sr); err != nil {
			return err
		}
		cases = []melCase{c}
	}
	for _, c := range cases {
		if err := c.checkMemory(b.Device); err != nil {
			return err
		}
	}
	r := Rand()
	for _, c := range cases {
		ts := NewTensors(b.Device)
		pr, err := newMelProblem(ts, b.Device, c, Randn(r, c.b*c.l, 1))
		if err != nil {
			ts.Close()
			return err
		}
		f := c.n/2 + 1
		for _, melOnly := range []bool{false, true} {
			if melOnly {
				if err := RunStream(b.Device, func(s *gpu.Stream) error { return pr.pl.Forward(s, pr.spec, pr.x) }); err != nil {
					break
				}
			}
			med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return pr.record(s, c, melOnly) })
			if err != nil {
				pr.close()
				ts.Close()
				return err
			}
			nf := float64(c.b * pr.frames)
			flops := nf * (2*float64(f*c.mels) + 4*float64(f))
			bytes := nf * (float64(f)*8 + float64(c.mels)*8)
			variant := "projection"
			if !melOnly {
				variant = "stft+projection"
				flops += nf * 2.5 * float64(c.n) * math.Log2(float64(c.n))
				bytes += float64(c.b * c.l * 4)
			}
			b.Add(Result{Op: "mel_fbanks", Variant: variant, DType: "f32",
				Shape:    map[string]int{"B": c.b, "L": c.l, "n_fft": c.n, "hop_length": c.hop, "n_mels": c.mels},
				MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(), Note: fmt.Sprintf("log-mel, %.3g frames/s", nf/med.Seconds())}, flops, bytes)
		}
		pr.close()
		ts.Close()
	}
	return nil
}

// checkMemory refuses a case whose allocations exceed memory: x in float64 and float32 on the
// host; x, the spectrum, mel and log-mel on the device, with the projection's scratch.
func (c melCase) checkMemory(d *gpu.Device) error {
	name := "mel_fbanks " + c.name()
	if c.n < 1 || c.hop < 1 || c.b < 1 || c.l <= c.n/2 || c.mels < 1 {
		return fmt.Errorf("%s: want n_fft, hop_length, B, n_mels >= 1 and L > n_fft/2", name)
	}
	f, frames := c.n/2+1, 1+c.l/c.hop
	// the projection's two scratch tensors (power spectrum, product) per group of batch rows,
	// each at most one binding
	group := math.Min(float64(d.Info().MaxStorageBufferRange), 4*f64(c.b, f+3, frames+3))
	return stftMem{host: 12 * f64(c.b, c.l), dev: 4*f64(c.b, c.l) + 8*f64(c.b, f, frames) + 8*f64(c.b, c.mels, frames) + 2*group + stftScratch}.check(name, d)
}
