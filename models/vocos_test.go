package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

const vocosTol = 1e-4 // relative L2 of float32 audio (issue 12)

// vocosDevice opens a device for one test; validation messages fail it.
func vocosDevice(t *testing.T) *gpu.Device {
	t.Helper()
	d, err := gpu.Open()
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
			t.Skip("no Vulkan device:", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		msgs, n := gpu.ValidationMessages()
		for _, m := range msgs {
			t.Error(m.String())
		}
		if n > 0 {
			t.Errorf("%d validation messages", n)
		}
	})
	return d
}

func vocosDir(padding string) string { return filepath.Join("..", "testdata", "vocos", padding) }

// vocosRefWeights reads a checkpoint into the float64 reference's weights.
func vocosRefWeights(t *testing.T, dir string) (VocosConfig, reference.VocosParams, *reference.VocosWeights) {
	t.Helper()
	cfg, err := LoadVocosConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := tensorio.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float64 {
		v, ok, err := f.OptionalFloat32(name)
		if err != nil || !ok {
			t.Fatalf("%s: %v (present %v)", name, err, ok)
		}
		return reference.ToFloat64(v)
	}
	w := &reference.VocosWeights{
		EmbedW: get("backbone.embed.weight"), EmbedB: get("backbone.embed.bias"),
		NormW: get("backbone.norm.weight"), NormB: get("backbone.norm.bias"),
		FinalNormW: get("backbone.final_layer_norm.weight"), FinalNB: get("backbone.final_layer_norm.bias"),
		OutW: get("head.out.weight"), OutB: get("head.out.bias"),
	}
	for j := range cfg.NumLayers {
		p := fmt.Sprintf("backbone.convnext.%d.", j)
		w.Blocks = append(w.Blocks, reference.VocosBlock{
			DwW: get(p + "dwconv.weight"), DwB: get(p + "dwconv.bias"), NormW: get(p + "norm.weight"), NormB: get(p + "norm.bias"),
			Pw1W: get(p + "pwconv1.weight"), Pw1B: get(p + "pwconv1.bias"), Pw2W: get(p + "pwconv2.weight"), Pw2B: get(p + "pwconv2.bias"),
			Gamma: get(p + "gamma"),
		})
	}
	return cfg, vocosParams(cfg), w
}

func vocosParams(c VocosConfig) reference.VocosParams {
	return reference.VocosParams{NMels: c.NMels, Dim: c.Dim, Intermediate: c.IntermediateDim, Layers: c.NumLayers, NFFT: c.NFFT, Hop: c.HopLength, Padding: c.Padding}
}

// TestVocosFixture vocodes the PyTorch fixture's mels (B = 2, T = 1, 7, 300; center and same)
// and compares with PyTorch's audio and the float64 reference; the reference itself must match
// PyTorch (float64 both) to 1e-9, and the features likewise.
func TestVocosFixture(t *testing.T) {
	d := vocosDevice(t)
	for _, padding := range []string{"center", "same"} {
		t.Run(padding, func(t *testing.T) {
			dir := vocosDir(padding)
			cfg, p, w := vocosRefWeights(t, dir)
			v, err := LoadVocos(d, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			exp, err := tensorio.ReadFile(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{1, 7, 300} {
				mel, err := exp.Float32(fmt.Sprintf("mel_T%d", T), 2, cfg.NMels, T)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.Decode(context.Background(), mel, 2, T)
				if err != nil {
					t.Fatal(err)
				}
				L := cfg.AudioLength(T)
				if len(got) != 2*L || L != reference.VocosAudioLength(p, T) {
					t.Fatalf("T=%d: %d samples, want 2×%d", T, len(got), L)
				}
				want, err := reference.Vocos(p, w, reference.ToFloat64(mel), 2, T)
				if err != nil {
					t.Fatal(err)
				}
				if L > 0 {
					e := reference.RelErr(got, want)
					t.Logf("T=%d: GPU vs float64 reference %.3g", T, e)
					if !(e <= vocosTol) {
						t.Errorf("T=%d: GPU vs reference: relative error %.3g > %g", T, e, vocosTol)
					}
				}
				torchAudio, ok := exp.Get(fmt.Sprintf("audio_T%d", T))
				if !ok {
					if L != 0 {
						t.Fatalf("fixture has no audio_T%d", T)
					}
					continue
				}
				tw := reference.ToFloat64(torchAudio.F32)
				if e := reference.RelErr64(want, tw); !(e <= 1e-6) {
					t.Errorf("T=%d: float64 reference vs PyTorch float64: %.3g", T, e)
				}
				e := reference.RelErr(got, tw)
				t.Logf("T=%d: GPU vs PyTorch %.3g", T, e)
				if !(e <= vocosTol) {
					t.Errorf("T=%d: GPU vs PyTorch: relative error %.3g > %g", T, e, vocosTol)
				}
			}
			in, err := exp.Float32("features_in", 2, tensorio.Any)
			if err != nil {
				t.Fatal(err)
			}
			S := len(in) / 2
			feat, frames, err := v.Features(context.Background(), in, 2, S)
			if err != nil {
				t.Fatal(err)
			}
			tf, err := exp.Float32("features_out", 2, cfg.NMels, frames)
			if err != nil {
				t.Fatal(err)
			}
			rf, rframes, err := reference.VocosFeatures(vocosFeatureParams(cfg), cfg.SampleRate, reference.ToFloat64(in), 2, S)
			if err != nil || rframes != frames {
				t.Fatalf("reference features: %v, %d frames, want %d", err, rframes, frames)
			}
			if e := reference.RelErr64(rf, reference.ToFloat64(tf)); !(e <= 1e-6) {
				t.Errorf("reference features vs torchaudio: %.3g", e)
			}
			if e := reference.RelErr(feat, rf); !(e <= 1e-5) {
				t.Errorf("GPU features vs reference: %.3g", e)
			}
		})
	}
}

func vocosFeatureParams(c VocosConfig) reference.VocosParams {
	p := vocosParams(c)
	p.Padding = c.FeaturePadding
	return p
}

// TestVocosRoundTrip: mel → audio → mel on the GPU equals the same chain in the reference.
func TestVocosRoundTrip(t *testing.T) {
	d := vocosDevice(t)
	for _, padding := range []string{"center", "same"} {
		dir := vocosDir(padding)
		cfg, p, w := vocosRefWeights(t, dir)
		v, err := LoadVocos(d, dir)
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := tensorio.ReadFile(filepath.Join(dir, "expected.safetensors"))
		mel, _ := exp.Float32("mel_T300", 2, cfg.NMels, 300)
		audio, err := v.Decode(context.Background(), mel, 2, 300)
		if err != nil {
			t.Fatal(err)
		}
		L := cfg.AudioLength(300)
		back, frames, err := v.Features(context.Background(), audio, 2, L)
		if err != nil {
			t.Fatal(err)
		}
		refAudio, _ := reference.Vocos(p, w, reference.ToFloat64(mel), 2, 300)
		refBack, rframes, err := reference.VocosFeatures(vocosFeatureParams(cfg), cfg.SampleRate, refAudio, 2, L)
		if err != nil || rframes != frames {
			t.Fatalf("%s: reference round trip: %v (%d frames, GPU %d)", padding, err, rframes, frames)
		}
		e := reference.RelErr(back, refBack)
		t.Logf("%s: mel → audio → mel (%d frames): GPU vs reference %.3g", padding, frames, e)
		if !(e <= vocosTol) {
			t.Errorf("%s: round trip relative error %.3g > %g", padding, e, vocosTol)
		}
		v.Close()
	}
}

func copyVocos(t *testing.T, padding string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.yaml", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(vocosDir(padding), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestVocosErrors: bad checkpoints and inputs give errors that name what was wrong.
func TestVocosErrors(t *testing.T) {
	d := vocosDevice(t)
	dir := copyVocos(t, "same")
	model := filepath.Join(dir, "model.safetensors")
	full, _ := os.ReadFile(model)
	cfgText, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	f, _ := tensorio.ReadFile(model)
	var all []tensorio.Tensor
	for _, n := range f.Names() {
		tt, _ := f.Get(n)
		all = append(all, tt)
	}
	writeWithout := func(drop string, reshape bool) {
		var ts []tensorio.Tensor
		for _, tt := range all {
			if tt.Name == drop {
				if !reshape {
					continue
				}
				tt.Shape = []int{len(tt.F32)}
			}
			ts = append(ts, tt)
		}
		if err := tensorio.WriteFile(model, ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, want string
		prep       func()
	}{
		{"truncated", "model.safetensors", func() { os.WriteFile(model, full[:len(full)-100], 0o644) }},
		{"missing tensor", "backbone.convnext.1.pwconv2.weight", func() { writeWithout("backbone.convnext.1.pwconv2.weight", false) }},
		{"mis-shaped tensor", "head.out.weight", func() { writeWithout("head.out.weight", true) }},
		{"bad config", "dim", func() {
			os.WriteFile(model, full, 0o644)
			os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(strings.Replace(string(cfgText), "dim: 16", "dim: -4", 1)), 0o644)
		}},
		{"bad yaml", "config.yaml", func() { os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("backbone: [\n"), 0o644) }},
		{"wrong buffer", "head.istft.window", func() {
			os.WriteFile(filepath.Join(dir, "config.yaml"), cfgText, 0o644)
			var ts []tensorio.Tensor
			for _, tt := range all {
				if tt.Name == "head.istft.window" {
					w := append([]float32(nil), tt.F32...)
					w[3] += 0.01
					tt.F32 = w
				}
				ts = append(ts, tt)
			}
			tensorio.WriteFile(model, ts, nil)
		}},
	}
	for _, c := range cases {
		c.prep()
		v, err := LoadVocos(d, dir)
		if err == nil {
			v.Close()
			t.Errorf("%s: loaded", c.name)
			continue
		}
		if !errors.Is(err, ErrVocosCheckpoint) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q: want ErrVocosCheckpoint naming %q", c.name, err, c.want)
		}
	}
	v, err := LoadVocos(d, vocosDir("same"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Decode(ctx, make([]float32, 2*9*5), 2, 5); !errors.Is(err, ops.ErrInvalidArgument) || !strings.Contains(err.Error(), "n_mels = 8") {
		t.Errorf("wrong mel count: %v", err)
	}
	mel := make([]float32, 8*3)
	mel[5] = float32(math.NaN())
	if _, err := v.Decode(ctx, mel, 1, 3); !errors.Is(err, ops.ErrInvalidArgument) || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN mel: %v", err)
	}
	if _, _, err := v.Features(ctx, nil, 1, 0); !errors.Is(err, ops.ErrInvalidArgument) {
		t.Errorf("empty audio: %v", err)
	}
}

// TestVocosStream: blocks of random sizes (1 included) give the samples of one Decode.
func TestVocosStream(t *testing.T) {
	d := vocosDevice(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	for _, padding := range []string{"center", "same"} {
		dir := vocosDir(padding)
		v, err := LoadVocos(d, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		cfg := v.Config
		exp, _ := tensorio.ReadFile(filepath.Join(dir, "expected.safetensors"))
		for _, T := range []int{1, 7, 300} {
			mel, _ := exp.Float32(fmt.Sprintf("mel_T%d", T), 2, cfg.NMels, T)
			whole, err := v.Decode(context.Background(), mel, 2, T)
			if err != nil {
				t.Fatal(err)
			}
			L := cfg.AudioLength(T)
			for trial := range 3 {
				st, err := NewVocosStream(v, 2)
				if err != nil {
					t.Fatal(err)
				}
				got := [2][]float32{}
				add := func(y []float32, n int, err error) {
					if err != nil {
						t.Fatal(err)
					}
					for b := range 2 {
						got[b] = append(got[b], y[b*n:(b+1)*n]...)
					}
				}
				var sizes []int
				for t0 := 0; t0 < T; {
					k := 1
					if trial > 0 {
						k = 1 + r.IntN(min(T-t0, 40))
					}
					k = min(k, T-t0)
					sizes = append(sizes, k)
					blk := make([]float32, 2*cfg.NMels*k)
					for i := range 2 * cfg.NMels {
						copy(blk[i*k:(i+1)*k], mel[i*T+t0:i*T+t0+k])
					}
					y, n, err := st.Push(context.Background(), blk, k)
					if n > 0 && len(got[0])+n > (t0+k-cfg.LookAhead())*cfg.HopLength {
						t.Fatalf("%s T=%d: %d samples out after %d frames: more than final", padding, T, len(got[0])+n, t0+k)
					}
					add(y, n, err)
					t0 += k
				}
				add(st.Flush(context.Background()))
				flat := append(append([]float32{}, got[0]...), got[1]...)
				if len(flat) != 2*L {
					t.Fatalf("%s T=%d blocks %v: %d samples, want 2×%d", padding, T, sizes, len(flat), L)
				}
				if L == 0 {
					continue
				}
				if e := reference.RelErr(flat, reference.ToFloat64(whole)); !(e <= 1e-6) {
					t.Errorf("%s T=%d blocks %v: stream vs whole %.3g > 1e-6", padding, T, sizes, e)
				}
			}
		}
	}
}

// TestVocosChunked: with a small chunk budget, Decode and Features go through the GPU in chunks
// and give the same values as in one piece.
func TestVocosChunked(t *testing.T) {
	d := vocosDevice(t)
	for _, padding := range []string{"center", "same"} {
		v, err := LoadVocos(d, vocosDir(padding))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		exp, _ := tensorio.ReadFile(filepath.Join(vocosDir(padding), "expected.safetensors"))
		mel, _ := exp.Float32("mel_T300", 2, v.Config.NMels, 300)
		in, _ := exp.Float32("features_in", 2, tensorio.Any)
		ctx := context.Background()
		whole, err := v.Decode(ctx, mel, 2, 300)
		if err != nil {
			t.Fatal(err)
		}
		wholeF, frames, err := v.Features(ctx, in, 2, len(in)/2)
		if err != nil {
			t.Fatal(err)
		}
		saved := vocosChunkBytes
		vocosChunkBytes = 4 * 2 * 36 * (2*v.Config.LookAhead() + 37) // 37 frames per chunk
		got, err := v.Decode(ctx, mel, 2, 300)
		gotF, framesC, errF := v.Features(ctx, in, 2, len(in)/2)
		vocosChunkBytes = saved
		if err != nil || errF != nil {
			t.Fatal(err, errF)
		}
		if e := reference.RelErr(got, reference.ToFloat64(whole)); len(got) != len(whole) || !(e <= 1e-6) {
			t.Errorf("%s: chunked decode: %d samples (want %d), error %.3g", padding, len(got), len(whole), e)
		}
		if e := reference.RelErr(gotF, reference.ToFloat64(wholeF)); framesC != frames || !(e <= 1e-6) {
			t.Errorf("%s: chunked features: %d frames (want %d), error %.3g", padding, framesC, frames, e)
		}
	}
}
