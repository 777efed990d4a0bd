package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/internal/wavio"
	"github.com/vkseq/vkseq/models"
	"github.com/vkseq/vkseq/suite"
	"github.com/vkseq/vkseq/tensorio"
)

// vocosRandomName is the published Vocos configuration vkbench builds with random weights.
const vocosRandomName = "vocos-mel-24khz"

// loadVocosModel loads a Vocos checkpoint folder, or builds vocos-mel-24khz with random weights.
func loadVocosModel(d *gpu.Device, model string) (*models.Vocos, error) {
	if model == "" {
		return nil, fmt.Errorf("-model is required: a Vocos checkpoint folder or %s", vocosRandomName)
	}
	if model == vocosRandomName {
		return models.NewVocosRandom(d, models.VocosMel24kHz, 1)
	}
	return models.LoadVocos(d, model)
}

// cmdVocode is `vkbench vocode -model DIR -in a.wav -out b.wav`: WAV → Vocos features → Vocos →
// WAV (16-bit PCM), printing the real-time factor.
func cmdVocode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vocode", stderr)
	model := fs.String("model", "", "Vocos checkpoint folder (config.yaml + model.safetensors) or "+vocosRandomName+" (random weights)")
	in := fs.String("in", "", "input WAV: mono, 16/24/32-bit PCM or 32-bit float, at the model's sample rate")
	out := fs.String("out", "", "output WAV (mono 16-bit PCM)")
	sel := fs.String("device", "", "device index or name substring")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	samples, rate, err := readWAV(*in)
	if err != nil {
		return err
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	v, err := loadVocosModel(d, *model)
	if err != nil {
		return err
	}
	defer v.Close()
	if rate != v.Config.SampleRate {
		return fmt.Errorf("%s: sample rate %d Hz, the model wants %d Hz (resample first, e.g. sox %s -r %d out.wav)", *in, rate, v.Config.SampleRate, *in, v.Config.SampleRate)
	}
	start := time.Now()
	mel, frames, err := v.Features(ctx, samples, 1, len(samples))
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	audioOut, err := v.Decode(ctx, mel, 1, frames)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := writeWAV(*out, audioOut, v.Config.SampleRate); err != nil {
		return err
	}
	secs := float64(len(samples)) / float64(rate)
	fmt.Fprintf(stdout, "%s: %.2f s of audio, %d mel frames → %s (%d samples) in %.3f s: real-time factor %.3f (%.2f× real time)\n",
		*in, secs, frames, *out, len(audioOut), elapsed.Seconds(), elapsed.Seconds()/secs, secs/elapsed.Seconds())
	return validationErrors()
}

// readWAV reads a mono WAV file as float32 samples in [−1, 1] and its sample rate.
func readWAV(path string) ([]float32, int, error) {
	a, err := wavio.Read(path)
	if err != nil {
		return nil, 0, err
	}
	if a.Channels != 1 {
		return nil, 0, fmt.Errorf("%s: %d channels, want mono (e.g. sox %s -c 1 mono.wav)", path, a.Channels, path)
	}
	return a.Samples, a.Rate, nil
}

// writeWAV writes mono 16-bit PCM, clipping to [−1, 1].
func writeWAV(path string, samples []float32, rate int) error {
	return wavio.WriteMono16(path, samples, rate)
}

// forwardVocos is `vkbench forward` for a Vocos model (docs/design.md §13): it reads `mel`
// (F32 [B, n_mels, frames]) or `audio` (F32 [B, samples], turned into Vocos's mel features first)
// from in and writes `audio` (F32 [B, samples]) to out.
func forwardVocos(ctx context.Context, d *gpu.Device, model, in, out string) error {
	v, err := loadVocosModel(d, model)
	if err != nil {
		return err
	}
	defer v.Close()
	f, err := tensorio.ReadFile(in)
	if err != nil {
		return err
	}
	if err := f.CheckKnown("mel", "audio"); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	_, hasMel := f.Shape("mel")
	_, hasAudio := f.Shape("audio")
	if hasMel == hasAudio {
		return fmt.Errorf("%s: want exactly one of \"mel\" [B, %d, frames] and \"audio\" [B, samples]", in, v.Config.NMels)
	}
	var mel []float32
	var B, T int
	if hasMel {
		sh, _ := f.Shape("mel")
		if len(sh) != 3 || sh[1] != v.Config.NMels {
			return fmt.Errorf("%s: tensor \"mel\" has shape %v, want [B, %d, frames]", in, sh, v.Config.NMels)
		}
		if mel, err = f.Float32("mel", sh...); err != nil {
			return err
		}
		B, T = sh[0], sh[2]
	} else {
		sh, _ := f.Shape("audio")
		if len(sh) != 2 {
			return fmt.Errorf("%s: tensor \"audio\" has shape %v, want [B, samples]", in, sh)
		}
		a, err := f.Float32("audio", sh...)
		if err != nil {
			return err
		}
		B = sh[0]
		if mel, T, err = v.Features(ctx, a, sh[0], sh[1]); err != nil {
			return fmt.Errorf("%s: tensor \"audio\": %w", in, err)
		}
	}
	y, err := v.Decode(ctx, mel, B, T)
	if err != nil {
		return fmt.Errorf("%s: tensor \"mel\": %w", in, err)
	}
	if err := tensorio.WriteFile(out, []tensorio.Tensor{{Name: "audio", DType: tensorio.F32, Shape: []int{B, v.Config.AudioLength(T)}, F32: y}}, nil); err != nil {
		return err
	}
	return validationErrors()
}

// benchVocos measures Vocos's real-time factor: the wall time of vocoding B rows of T random
// mel frames on the device (upload, one submission, read back; median of runs) as a row of
// docs/design.md §11 with op "model". Note holds audio seconds per second and the RTF.
func benchVocos(ctx context.Context, d *gpu.Device, model string, B, T, runs int) (suite.Result, error) {
	if B < 1 || T < 1 || runs < 1 {
		return suite.Result{}, fmt.Errorf("vocos bench: B=%d T=%d runs=%d, want all ≥ 1", B, T, runs)
	}
	v, err := loadVocosModel(d, model)
	if err != nil {
		return suite.Result{}, err
	}
	defer v.Close()
	r := suite.Rand()
	mel := make([]float32, B*v.Config.NMels*T)
	for i := range mel {
		mel[i] = float32(r.NormFloat64()*2 - 4)
	}
	if _, err := v.Decode(ctx, mel, B, T); err != nil { // warm-up: pipelines compiled and cached
		return suite.Result{}, err
	}
	times := make([]time.Duration, runs)
	for i := range times {
		t0 := time.Now()
		if _, err := v.Decode(ctx, mel, B, T); err != nil {
			return suite.Result{}, err
		}
		times[i] = time.Since(t0)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[runs/2]
	audioSecs := float64(B*v.Config.AudioLength(T)) / float64(v.Config.SampleRate)
	name := model
	if model != vocosRandomName {
		name = "vocos"
	}
	c := v.Config
	flops := float64(B*T) * 2 * float64(c.Dim*c.NMels*7+c.NumLayers*(c.Dim*7+2*c.Dim*c.IntermediateDim)+c.Dim*(c.NFFT+2))
	return suite.Result{
		Op: "model", Variant: name, DType: "f32", Shape: map[string]int{"B": B, "T": T},
		MedianNS: med.Nanoseconds(), MinNS: times[0].Nanoseconds(), Runs: runs,
		GFLOPs: flops / med.Seconds() / 1e9,
		Note:   fmt.Sprintf("%.3f audio s/s, real-time factor %.4f (wall time incl. transfers)", audioSecs/med.Seconds(), med.Seconds()/audioSecs),
	}, nil
}
