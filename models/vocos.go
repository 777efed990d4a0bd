package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/tensorio"
)

// vocosKernel is the kernel size of Vocos's embedding and depthwise convolutions (padding 3).
const vocosKernel = 7

// vocosMagClip is ISTFTHead's clip on the magnitude exp(x).
const vocosMagClip = 100

// vocosLogFloor is safe_log's clamp of the mel features.
const vocosLogFloor = 1e-7

type vocosBlock struct {
	dwW, dwB, normW, normB, pw1W, pw1B, pw2W, pw2B, gamma *gpu.Tensor
}

// Vocos is a Vocos vocoder (gemelo-ai/vocos: mel features → Conv1d embed → ConvNeXt blocks →
// LayerNorm → ISTFTHead) with its weights on a device, in float32. It is safe for concurrent use
// (each call records on its own stream); Close frees its tensors.
type Vocos struct {
	Config VocosConfig

	d                  *gpu.Device
	embedW, embedB     *gpu.Tensor
	normW, normB       *gpu.Tensor
	blocks             []vocosBlock
	finalW, finalB     *gpu.Tensor
	outW, outB, window *gpu.Tensor
	window64           []float64
	melFB              ops.FilterBank
	irfft              *ops.RFFTPlan
	mel                *ops.Mel
	owned              []*gpu.Tensor
}

// vocosSource yields a checkpoint's tensors by name: values (converted to float32) and whether
// the tensor is present.
type vocosSource func(name string, shape ...int) ([]float32, bool, error)

// LoadVocos loads a Vocos checkpoint folder: dir/config.yaml (Vocos's class_path / init_args) and
// dir/model.safetensors with Vocos's state-dict names (F32, F16 or BF16, converted to float32).
// Buffers the checkpoint may hold (head.istft.window, the feature extractor's window and mel
// filterbank) must agree with what the model computes. Errors wrap ErrVocosCheckpoint and name
// the file, key or tensor.
func LoadVocos(d *gpu.Device, dir string) (*Vocos, error) {
	cfg, err := LoadVocosConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "model.safetensors")
	f, err := tensorio.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrVocosCheckpoint, path, err)
	}
	if err := f.CheckKnown(vocosNames(cfg)...); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrVocosCheckpoint, path, err)
	}
	src := func(name string, shape ...int) ([]float32, bool, error) {
		v, ok, err := f.OptionalFloat32(name, shape...)
		if err != nil {
			err = fmt.Errorf("%w: %s: %w", ErrVocosCheckpoint, path, err)
		}
		return v, ok, err
	}
	return newVocos(d, cfg, src)
}

// NewVocosRandom builds a Vocos with random weights in cfg's shapes (seeded; convolution and
// linear weights N(0, 0.02²) as Vocos's init, LayerNorm weights 1 and biases 0, layer scale
// 1/NumLayers), for benchmarks and tests.
func NewVocosRandom(d *gpu.Device, cfg VocosConfig, seed uint64) (*Vocos, error) {
	c, err := ParseVocosConfig([]byte(cfg.yamlText()))
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x766f636f73))
	src := func(name string, shape ...int) ([]float32, bool, error) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		v := make([]float32, n)
		switch {
		case name == "head.istft.window" || strings.HasPrefix(name, "feature_extractor."):
			return nil, false, nil
		case strings.HasSuffix(name, "norm.weight"):
			for i := range v {
				v[i] = 1
			}
		case strings.HasSuffix(name, "gamma"):
			for i := range v {
				v[i] = 1 / float32(c.NumLayers)
			}
		case strings.HasSuffix(name, ".weight"):
			for i := range v {
				v[i] = float32(r.NormFloat64() * 0.02)
			}
		}
		return v, true, nil
	}
	return newVocos(d, c, src)
}

// vocosNames lists every tensor name a checkpoint of cfg may hold.
func vocosNames(cfg VocosConfig) []string {
	names := []string{"backbone.embed.weight", "backbone.embed.bias", "backbone.norm.weight", "backbone.norm.bias",
		"backbone.final_layer_norm.weight", "backbone.final_layer_norm.bias", "head.out.weight", "head.out.bias",
		"head.istft.window", "feature_extractor.mel_spec.spectrogram.window", "feature_extractor.mel_spec.mel_scale.fb"}
	for j := range cfg.NumLayers {
		for _, s := range []string{"dwconv.weight", "dwconv.bias", "norm.weight", "norm.bias", "pwconv1.weight", "pwconv1.bias", "pwconv2.weight", "pwconv2.bias", "gamma"} {
			names = append(names, fmt.Sprintf("backbone.convnext.%d.%s", j, s))
		}
	}
	return names
}

func newVocos(d *gpu.Device, cfg VocosConfig, src vocosSource) (v *Vocos, err error) {
	if d == nil {
		return nil, fmt.Errorf("%w: device is nil", gpu.ErrInvalid)
	}
	v = &Vocos{Config: cfg, d: d}
	defer func() {
		if err != nil {
			v.Close()
			v = nil
		}
	}()
	D, I, M, n := cfg.Dim, cfg.IntermediateDim, cfg.NMels, cfg.NFFT
	load := func(name string, required bool, upload []int, shape ...int) (*gpu.Tensor, error) {
		vals, ok, err := src(name, shape...)
		if err != nil {
			return nil, err
		}
		if !ok {
			if required {
				return nil, vocosErr("tensor %q %v is missing", name, shape)
			}
			return nil, nil
		}
		for i, x := range vals {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, vocosErr("tensor %q holds %v at element %d", name, x, i)
			}
		}
		if upload == nil {
			upload = shape
		}
		t, err := d.FromFloat32(vals, upload...)
		if err != nil {
			return nil, fmt.Errorf("models: vocos: uploading %q: %w", name, err)
		}
		v.owned = append(v.owned, t)
		return t, nil
	}
	req := func(dst **gpu.Tensor, name string, upload []int, shape ...int) {
		if err != nil {
			return
		}
		*dst, err = load(name, true, upload, shape...)
	}
	req(&v.embedW, "backbone.embed.weight", nil, D, M, vocosKernel)
	req(&v.embedB, "backbone.embed.bias", nil, D)
	req(&v.normW, "backbone.norm.weight", nil, D)
	req(&v.normB, "backbone.norm.bias", nil, D)
	v.blocks = make([]vocosBlock, cfg.NumLayers)
	for j := range v.blocks {
		b := &v.blocks[j]
		p := fmt.Sprintf("backbone.convnext.%d.", j)
		req(&b.dwW, p+"dwconv.weight", []int{D, vocosKernel}, D, 1, vocosKernel)
		req(&b.dwB, p+"dwconv.bias", nil, D)
		req(&b.normW, p+"norm.weight", nil, D)
		req(&b.normB, p+"norm.bias", nil, D)
		req(&b.pw1W, p+"pwconv1.weight", nil, I, D)
		req(&b.pw1B, p+"pwconv1.bias", nil, I)
		req(&b.pw2W, p+"pwconv2.weight", nil, D, I)
		req(&b.pw2B, p+"pwconv2.bias", nil, D)
		if err == nil {
			b.gamma, err = load(p+"gamma", false, nil, D) // absent when layer_scale_init_value ≤ 0
		}
	}
	req(&v.finalW, "backbone.final_layer_norm.weight", nil, D)
	req(&v.finalB, "backbone.final_layer_norm.bias", nil, D)
	if err != nil {
		return nil, err
	}
	// head.out is stored with its rows padded to a multiple of 4 (zeros), so that the head's GEMM
	// takes the vec4 path; Polar reads the first n+2 columns.
	np := vocosRound4(n + 2)
	for _, h := range []struct {
		dst   **gpu.Tensor
		name  string
		shape []int
	}{{&v.outW, "head.out.weight", []int{n + 2, D}}, {&v.outB, "head.out.bias", []int{n + 2}}} {
		vals, ok, err := src(h.name, h.shape...)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, vocosErr("tensor %q %v is missing", h.name, h.shape)
		}
		cols := len(vals) / (n + 2)
		padded := make([]float32, np*cols)
		copy(padded, vals)
		for i, x := range vals {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, vocosErr("tensor %q holds %v at element %d", h.name, x, i)
			}
		}
		shape := []int{np, cols}
		if len(h.shape) == 1 {
			shape = []int{np}
		}
		if *h.dst, err = d.FromFloat32(padded, shape...); err != nil {
			return nil, err
		}
		v.owned = append(v.owned, *h.dst)
	}
	w32, err := ops.HannWindow(n, true)
	if err != nil {
		return nil, err
	}
	v.window64 = make([]float64, n)
	for i, x := range w32 {
		v.window64[i] = float64(x)
	}
	freqs := n/2 + 1
	if v.melFB, err = ops.MelFBanks(freqs, 0, float32(cfg.SampleRate)/2, M, cfg.SampleRate, "none", "htk"); err != nil {
		return nil, vocosErr("mel filterbank: %v", err)
	}
	// Buffers, when present, must be what the model computes.
	for _, buf := range []struct {
		name  string
		want  []float64
		shape []int
	}{
		{"head.istft.window", v.window64, []int{n}},
		{"feature_extractor.mel_spec.spectrogram.window", v.window64, []int{n}},
		{"feature_extractor.mel_spec.mel_scale.fb", v.melFB.Data, []int{freqs, M}},
	} {
		got, ok, err := src(buf.name, buf.shape...)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for i, g := range got {
			if e := math.Abs(float64(g) - buf.want[i]); !(e <= 1e-5) {
				return nil, vocosErr("buffer %q element %d is %v, want %v (the model computes it: periodic Hann window, HTK mel filterbank without norm)", buf.name, i, g, buf.want[i])
			}
		}
	}
	if v.window, err = d.FromFloat32(w32, n); err != nil {
		return nil, err
	}
	v.owned = append(v.owned, v.window)
	if err := vocosCheckNOLA(v.window64, cfg); err != nil {
		return nil, err
	}
	if v.irfft, err = ops.NewRFFTPlan(d, n); err != nil {
		return nil, err
	}
	if v.mel, err = ops.NewMel(d, v.melFB); err != nil {
		return nil, err
	}
	return v, nil
}

// vocosCheckNOLA checks that the hop-periodic squared-window envelope (every frame that could
// cover a sample present) is nonzero; the edges are checked per call by ops.OverlapAdd.
func vocosCheckNOLA(w []float64, cfg VocosConfig) error {
	for pos := vocosStart(cfg); pos < vocosStart(cfg)+cfg.NFFT; pos++ {
		e := 0.0
		for k := pos % cfg.HopLength; k < len(w); k += cfg.HopLength {
			e += w[k] * w[k]
		}
		if !(e >= 1e-11) {
			return vocosErr("n_fft %d and hop_length %d: the Hann envelope is %g at offset %d (NOLA fails)", cfg.NFFT, cfg.HopLength, e, pos)
		}
	}
	return nil
}

// Close frees the model's device tensors and plans. It is safe to call more than once.
func (v *Vocos) Close() error {
	if v == nil {
		return nil
	}
	var errs []error
	for _, t := range v.owned {
		errs = append(errs, t.Close())
	}
	v.owned = nil
	if v.irfft != nil {
		errs = append(errs, v.irfft.Close())
		v.irfft = nil
	}
	if v.mel != nil {
		errs = append(errs, v.mel.Close())
		v.mel = nil
	}
	return errors.Join(errs...)
}

// vocosStart is the padded position of the first output sample: n_fft/2 with "center",
// (n_fft − hop)/2 with "same".
func vocosStart(cfg VocosConfig) int {
	if cfg.Padding == "center" {
		return cfg.NFFT / 2
	}
	return (cfg.NFFT - cfg.HopLength) / 2
}

// AudioLength is the number of samples vocoding the given number of mel frames gives:
// hop·(frames−1) with "center" padding (torch.istft), hop·(frames−1) + n_fft − 2·((n_fft−hop)/2)
// with "same" (hop·frames for an even n_fft − hop).
func (c VocosConfig) AudioLength(frames int) int {
	if frames < 1 {
		return 0
	}
	return c.HopLength*(frames-1) + c.NFFT - 2*vocosStart(c)
}

// frames records the backbone and the head up to the inverse FFT: mel [B, NMels, T] into
// unwindowed iFFT frames [B, T, NFFT] (stream scratch).
func (v *Vocos) frames(s *gpu.Stream, mel *gpu.Tensor) (*gpu.Tensor, error) {
	c := v.Config
	B, T := mel.Shape()[0], mel.Shape()[2]
	D, I, n := c.Dim, c.IntermediateDim, c.NFFT
	// Rows (B·T frames) are padded to a multiple of 4 for the GEMMs' vec4 path; the padding rows
	// start at 0 and are never read by a real row (every op but the convolutions is row-wise, and
	// those read the [B, T, D] view).
	M := vocosRound4(B * T)
	temps := make([]*gpu.Tensor, 6)
	for i, sh := range [][]int{{M, D}, {M, D}, {M, I}, {M, vocosRound4(n + 2)}, {M, n/2 + 1, 2}, {M, n}} {
		t, err := s.Temp(gpu.F32, sh...)
		if err != nil {
			return nil, err
		}
		temps[i] = t
	}
	x2, h2, u, y, cs, fr := temps[0], temps[1], temps[2], temps[3], temps[4], temps[5]
	var err error
	view := func(t *gpu.Tensor, shape ...int) *gpu.Tensor {
		if err != nil {
			return nil
		}
		var w *gpu.Tensor
		if w, err = t.Window(0, shape[0]*shape[1]*shape[2]); err == nil {
			w, err = w.Reshape(shape...)
		}
		return w
	}
	x, h, frB := view(x2, B, T, D), view(h2, B, T, D), view(fr, B, T, n)
	if err != nil {
		return nil, err
	}
	if err := s.Fill(x2, 0); err != nil {
		return nil, err
	}
	if err := s.Fill(h2, 0); err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error {
			return ops.Conv1D(s, x, mel, v.embedW, v.embedB, ops.Conv1DOptions{Padding: vocosKernel / 2, TimeMajor: true, Im2Col: true})
		},
		func() error { return ops.LayerNorm(s, x, x, v.normW, v.normB, 1e-6) },
	}
	for _, b := range v.blocks {
		steps = append(steps,
			func() error {
				return ops.DepthwiseConv1D(s, h, x, b.dwW, b.dwB, ops.DepthwiseConv1DOptions{Padding: vocosKernel / 2, ChannelsLast: true})
			},
			func() error { return ops.LayerNorm(s, h, h, b.normW, b.normB, 1e-6) },
			func() error { return ops.LinearGELU(s, u, h2, b.pw1W, b.pw1B) },
			func() error { return ops.Linear(s, h2, u, b.pw2W, b.pw2B) },
			func() error { return ops.ScaleResidual(s, x2, x2, h2, nil, b.gamma) },
		)
	}
	steps = append(steps,
		func() error { return ops.LayerNorm(s, x, x, v.finalW, v.finalB, 1e-6) },
		func() error { return ops.Linear(s, y, x2, v.outW, v.outB) },
		func() error { return ops.Polar(s, cs, y, vocosMagClip) },
		func() error { return v.irfft.Inverse(s, fr, cs) },
	)
	for _, f := range steps {
		if err := f(); err != nil {
			return nil, err
		}
	}
	return frB, nil
}

func vocosRound4(n int) int { return (n + 3) &^ 3 }

// DecodeTensor records the vocoding of mel [B, NMels, T] (F32, log-mel features, T ≥ 1) into
// audio [B, Config.AudioLength(T)] (F32) on s. mel is not modified; values are not checked for
// NaN here (Decode does).
func (v *Vocos) DecodeTensor(s *gpu.Stream, audio, mel *gpu.Tensor) error {
	c := v.Config
	if v.irfft == nil {
		return fmt.Errorf("models: vocos: %w", gpu.ErrClosed)
	}
	if mel == nil || len(mel.Shape()) != 3 || mel.Shape()[1] != c.NMels || mel.Shape()[0] < 1 || mel.Shape()[2] < 1 {
		return fmt.Errorf("%w: models: vocos: mel has shape %v, want [B ≥ 1, %d, frames ≥ 1]", ops.ErrInvalidArgument, shapeOf(mel), c.NMels)
	}
	B, T := mel.Shape()[0], mel.Shape()[2]
	L := c.AudioLength(T)
	if audio == nil || len(audio.Shape()) != 2 || audio.Shape()[0] != B || audio.Shape()[1] != L {
		return fmt.Errorf("%w: models: vocos: audio has shape %v, want [%d, %d]", ops.ErrInvalidArgument, shapeOf(audio), B, L)
	}
	fr, err := v.frames(s, mel)
	if err != nil {
		return err
	}
	if L == 0 {
		return nil
	}
	return ops.OverlapAdd(s, audio, fr, v.window, L, v.window64, ops.OverlapAddOptions{Hop: c.HopLength, Frames: T, Start: vocosStart(c)})
}

func shapeOf(t *gpu.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}

// checkMel validates host mel features [B, NMels, T].
func (c VocosConfig) checkMel(mel []float32, batch, frames int) error {
	if batch < 1 || frames < 1 {
		return fmt.Errorf("%w: models: vocos: batch %d, frames %d: want both ≥ 1", ops.ErrInvalidArgument, batch, frames)
	}
	if len(mel) != batch*c.NMels*frames {
		return fmt.Errorf("%w: models: vocos: %d mel values for batch %d and %d frames, want batch·n_mels·frames = %d (n_mels = %d)", ops.ErrInvalidArgument, len(mel), batch, frames, batch*c.NMels*frames, c.NMels)
	}
	for i, x := range mel {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: models: vocos: mel value %d (batch %d, mel %d, frame %d) is %v", ops.ErrInvalidArgument, i, i/(c.NMels*frames), i/frames%c.NMels, i%frames, x)
		}
	}
	return nil
}

// vocosChunkBytes bounds the largest activation of one submission; longer inputs are vocoded in
// chunks of frames through a VocosStream (same samples), so that no tensor exceeds the device's
// binding limit (128 MiB on lavapipe). Tests lower it.
var vocosChunkBytes = 32 << 20

// chunkFrames is the number of frames (with their look-ahead context) one submission may take.
func (v *Vocos) chunkFrames(batch int) int {
	c := v.Config
	widest := max(c.IntermediateDim, vocosRound4(c.NFFT+2), c.NMels*vocosKernel)
	return max(vocosChunkBytes/(4*batch*widest)-2*c.LookAhead(), 1)
}

// Decode vocodes host mel features [batch, NMels, frames] (row-major) and returns the audio
// [batch, Config.AudioLength(frames)]. NaN or infinite features, or a length that is not
// batch·NMels·frames, are errors wrapping ops.ErrInvalidArgument. Long inputs go through the GPU in chunks
// of frames (VocosStream), with the same samples.
func (v *Vocos) Decode(ctx context.Context, mel []float32, batch, frames int) ([]float32, error) {
	if err := v.Config.checkMel(mel, batch, frames); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	L := v.Config.AudioLength(frames)
	if L == 0 {
		return []float32{}, nil
	}
	if chunk := v.chunkFrames(batch); frames > chunk {
		return v.decodeChunked(ctx, mel, batch, frames, chunk)
	}
	mt, err := v.d.FromFloat32(mel, batch, v.Config.NMels, frames)
	if err != nil {
		return nil, err
	}
	defer mt.Close()
	at, err := v.d.NewTensor(gpu.F32, batch, L)
	if err != nil {
		return nil, err
	}
	defer at.Close()
	if err := v.run(func(s *gpu.Stream) error { return v.DecodeTensor(s, at, mt) }); err != nil {
		return nil, err
	}
	return at.ReadFloat32()
}

func (v *Vocos) decodeChunked(ctx context.Context, mel []float32, batch, frames, chunk int) ([]float32, error) {
	c := v.Config
	st, err := NewVocosStream(v, batch)
	if err != nil {
		return nil, err
	}
	rows := make([][]float32, batch)
	add := func(y []float32, n int) {
		for b := range batch {
			rows[b] = append(rows[b], y[b*n:(b+1)*n]...)
		}
	}
	for t0 := 0; t0 < frames; t0 += chunk {
		k := min(chunk, frames-t0)
		blk := make([]float32, batch*c.NMels*k)
		for i := range batch * c.NMels {
			copy(blk[i*k:(i+1)*k], mel[i*frames+t0:i*frames+t0+k])
		}
		y, n, err := st.Push(ctx, blk, k)
		if err != nil {
			return nil, err
		}
		add(y, n)
	}
	y, n, err := st.Flush(ctx)
	if err != nil {
		return nil, err
	}
	add(y, n)
	out := make([]float32, 0, batch*c.AudioLength(frames))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out, nil
}

func (v *Vocos) run(rec func(s *gpu.Stream) error) error {
	s, err := v.d.NewStream()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := rec(s); err != nil {
		return err
	}
	return s.Run()
}
