package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/models"
)

// vocosRandomName is the published Vocos configuration -vocos builds with random weights (as vkbench).
const vocosRandomName = "vocos-mel-24khz"

// vocosRate is the sample rate (Hz) of the Vocos model spec (a checkpoint folder or
// vocos-mel-24khz), read from its config.yaml without a device.
func vocosRate(spec string) (int, error) {
	if spec == vocosRandomName {
		return models.VocosMel24kHz.SampleRate, nil
	}
	cfg, err := models.LoadVocosConfig(filepath.Join(spec, "config.yaml"))
	if err != nil {
		return 0, fmt.Errorf("-vocos %s: %w", spec, err)
	}
	return cfg.SampleRate, nil
}

// openVocos loads a Vocos checkpoint folder, or builds vocos-mel-24khz with random weights (seed 1).
func openVocos(d *gpu.Device, spec string) (*models.Vocos, error) {
	if spec == vocosRandomName {
		return models.NewVocosRandom(d, models.VocosMel24kHz, 1)
	}
	v, err := models.LoadVocos(d, spec)
	if err != nil {
		return nil, fmt.Errorf("-vocos %s: %w", spec, err)
	}
	return v, nil
}

// resynthesise vocodes the whole input once: Vocos's own mel features of sig → Vocos → audio,
// trimmed or zero-padded to the input's length so that both play in sync (the same sample
// positions). The model's sample rate must be sig's. It returns the audio and the time it took.
func resynthesise(ctx context.Context, d *gpu.Device, spec string, sig source) (source, time.Duration, error) {
	t0 := time.Now()
	v, err := openVocos(d, spec)
	if err != nil {
		return source{}, 0, err
	}
	defer v.Close()
	if sig.rate != v.Config.SampleRate {
		return source{}, 0, rateMismatch(sig, spec, v.Config.SampleRate)
	}
	mel, frames, err := v.Features(ctx, sig.x, 1, len(sig.x))
	if err != nil {
		return source{}, 0, fmt.Errorf("Vocos features of %s: %w", sig.name, err)
	}
	y, err := v.Decode(ctx, mel, 1, frames)
	if err != nil {
		return source{}, 0, fmt.Errorf("Vocos decode of %s: %w", sig.name, err)
	}
	out := make([]float32, len(sig.x))
	copy(out, y)
	for i, x := range out {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return source{}, 0, fmt.Errorf("Vocos resynthesis of %s: sample %d is %v, want finite audio", sig.name, i, x)
		}
	}
	return source{name: "Vocos resynthesis", x: out, rate: sig.rate}, time.Since(t0), nil
}

// rateMismatch is the error for an input whose sample rate is not the model's.
func rateMismatch(sig source, spec string, want int) error {
	return fmt.Errorf("%s: sample rate %d Hz, the Vocos model %s wants %d Hz (vkscope does not resample; e.g. sox %s -r %d out.wav)",
		sig.name, sig.rate, spec, want, sig.name, want)
}
