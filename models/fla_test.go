package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

// flaNoValidation fails t if the validation layer reported anything.
func flaNoValidation(t *testing.T) {
	t.Helper()
	if msgs, n := gpu.ValidationMessages(); n > 0 {
		for _, m := range msgs {
			t.Log(m.String())
		}
		t.Errorf("%d validation messages", n)
	}
}

type flaCase struct {
	dir    string
	cfg    reference.FLAConfig
	ids    []int32 // [2, Tmax]
	logits []float32
	T, V   int
	ref    *reference.FLAModel
}

var flaFixtureNames = []string{"gla", "gla_old", "delta_net", "gated_deltanet", "gated_deltanet_gva"}

func loadFLACase(t *testing.T, name string) *flaCase {
	t.Helper()
	dir := filepath.Join("..", "testdata", "models", name)
	cfg, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := reference.ParseFLAConfig(cfg.Raw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tensorio.ReadFile(filepath.Join(dir, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.Int32("input_ids", 2, tensorio.Any)
	if err != nil {
		t.Fatal(err)
	}
	T := len(ids) / 2
	lg, err := f.Float32("logits", 2, T, rc.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := tensorio.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]reference.FLAWeight{}
	for _, n := range wf.Names() {
		tt, _ := wf.Get(n)
		w[n] = reference.FLAWeight{Shape: tt.Shape, Data: reference.ToFloat64(tt.F32)}
	}
	ref, err := reference.NewFLAModel(rc, w)
	if err != nil {
		t.Fatal(err)
	}
	return &flaCase{dir: dir, cfg: rc, ids: ids, logits: lg, T: T, V: rc.Vocab, ref: ref}
}

// prefix returns the first t positions of both rows of x [2, T, n].
func flaRows[E any](x []E, T, t, n int) []E {
	return append(append([]E(nil), x[:t*n]...), x[T*n:(T+t)*n]...)
}

// TestFLAForward: every fla fixture through the GPU model (Load, Prefill) at T in {1, 63, 200},
// B = 2, against the PyTorch logits and the float64 reference: ≤ 1e-4 with f32 storage, ≤ 1e-2
// with f16. The prefill segment is 80 positions, so T = 200 carries the states across segments.
func TestFLAForward(t *testing.T) {
	d := device(t)
	for _, name := range flaFixtureNames {
		c := loadFLACase(t, name)
		for _, dt := range []gpu.DType{gpu.F32, gpu.F16} {
			t.Run(fmt.Sprintf("%s/%v", name, dt), func(t *testing.T) {
				tol := 1e-4
				if dt == gpu.F16 {
					if !d.Info().Float16Storage {
						t.Skip("no 16-bit storage")
					}
					tol = 1e-2
				}
				m, err := Load(d, c.dir, LoadOptions{DType: dt, Segment: 80})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				s, err := d.NewStream()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for _, T := range []int{1, 63, c.T} {
					ids := flaRows(c.ids, c.T, T, 1)
					cache, err := m.NewCache(2)
					if err != nil {
						t.Fatal(err)
					}
					all := make([]float32, 2*T*c.V)
					for i := range all {
						all[i] = float32(nanF)
					}
					err = m.Prefill(context.Background(), s, cache, ids, T, nil, all)
					cache.Close()
					if err != nil {
						t.Fatal(err)
					}
					want := flaRows(c.logits, c.T, T, c.V)
					e := reference.RelErr(all, reference.ToFloat64(want))
					ints := make([]int, len(ids))
					for i, v := range ids {
						ints[i] = int(v)
					}
					ref, err := c.ref.Forward(ints, 2, T)
					if err != nil {
						t.Fatal(err)
					}
					er := reference.RelErr(all, ref)
					t.Logf("T=%d: rel err %.3g vs PyTorch, %.3g vs reference", T, e, er)
					if !(e <= tol) || !(er <= tol) {
						t.Errorf("T=%d: rel err %.3g vs PyTorch, %.3g vs reference, want <= %g", T, e, er, tol)
					}
				}
			})
		}
	}
	flaNoValidation(t)
}

var nanF = func() float64 { var z float64; return z / z }()

// TestFLADecode: prefill(T−k) then k decode steps give the logits of prefill(T) (the fixture's),
// for T = 63 and k = 3, and T = 200 and k = 2, with f32 storage.
func TestFLADecode(t *testing.T) {
	d := device(t)
	for _, name := range flaFixtureNames {
		c := loadFLACase(t, name)
		t.Run(name, func(t *testing.T) {
			m, err := Load(d, c.dir, LoadOptions{DType: gpu.F32, Segment: 80})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			idt, err := d.NewTensor(gpu.I32, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer idt.Close()
			for _, tk := range [][2]int{{63, 3}, {c.T, 2}} {
				T, k := tk[0], tk[1]
				cache, err := m.NewCache(2)
				if err != nil {
					t.Fatal(err)
				}
				defer cache.Close()
				if err := m.Prefill(context.Background(), s, cache, flaRows(c.ids, c.T, T-k, 1), T-k, nil, nil); err != nil {
					t.Fatal(err)
				}
				for p := T - k; p < T; p++ {
					if err := idt.WriteInt32([]int32{c.ids[p], c.ids[c.T+p]}); err != nil {
						t.Fatal(err)
					}
					if err := cache.Logits.Fill(float32(nanF)); err != nil {
						t.Fatal(err)
					}
					if err := m.Step(s, cache, idt); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					got, err := cache.Logits.ReadFloat32()
					if err != nil {
						t.Fatal(err)
					}
					want := append(append([]float32(nil), c.logits[p*c.V:(p+1)*c.V]...), c.logits[(c.T+p)*c.V:(c.T+p+1)*c.V]...)
					if e := reference.RelErr(got, reference.ToFloat64(want)); !(e <= 1e-4) {
						t.Errorf("T=%d, step at position %d: rel err %.3g vs PyTorch, want <= 1e-4", T, p, e)
					} else if p == T-1 {
						t.Logf("T=%d k=%d: last step rel err %.3g", T, k, e)
					}
				}
			}
		})
	}
	flaNoValidation(t)
}

// TestFLALoadErrors: a missing tensor, a mis-shaped tensor and unsupported options are errors
// naming them; the stray attn.D is skipped.
func TestFLALoadErrors(t *testing.T) {
	d := device(t)
	ck, err := OpenCheckpoint(filepath.Join("..", "testdata", "models", "gla"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for key, val := range map[string]any{"attn": map[string]any{"layers": []any{1.0}}, "clamp_min": -0.1,
		"feature_map": "relu", "hidden_act": "gelu", "attnres_block_size": 4.0} {
		raw := map[string]any{}
		for k, v := range ck.Config().Raw {
			raw[k] = v
		}
		raw[key] = val
		_, err := Build(d, &flaSwapConfig{ck, NewConfig("test", raw)}, LoadOptions{})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %v: err = %v, want ErrConfig naming it", key, val, err)
		}
	}
	raw := map[string]any{}
	for k, v := range ck.Config().Raw {
		raw[k] = v
	}
	raw["hidden_size"] = 48.0
	if _, err := Build(d, &flaSwapConfig{ck, NewConfig("test", raw)}, LoadOptions{}); !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), "model.embeddings.weight") {
		t.Errorf("config contradicting the weights: err = %v", err)
	}
	raw["hidden_size"] = 32.0
	raw["model_type"] = "delta_net"
	if _, err := Build(d, &flaSwapConfig{ck, NewConfig("test", raw)}, LoadOptions{}); !errors.Is(err, ErrWeights) {
		t.Errorf("gla weights as delta_net: err = %v", err)
	}
	flaNoValidation(t)
}

// flaSwapConfig is a Weights with another config.
type flaSwapConfig struct {
	*Checkpoint
	cfg *Config
}

func (f *flaSwapConfig) Config() *Config { return f.cfg }

// TestFLAValueSplit: delta-rule value heads wider than the kernels' limit run as several kernel
// heads (here with the limit lowered to half the fixtures' head_v_dim), prefill and decode.
func TestFLAValueSplit(t *testing.T) {
	d := device(t)
	defer func(v int) { flaSplitV = v }(flaSplitV)
	for _, name := range []string{"delta_net", "gated_deltanet", "gated_deltanet_gva"} {
		c := loadFLACase(t, name)
		flaSplitV = c.cfg.HeadV / 2
		t.Run(name, func(t *testing.T) {
			m, err := Load(d, c.dir, LoadOptions{DType: gpu.F32, Segment: 80})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			mix := m.(*Decoder).Blocks[0].Mixer.(*DeltaNetAttention)
			if mix.VDim != c.cfg.HeadV/2 || mix.Heads != 2*c.cfg.NumVHeads {
				t.Fatalf("kernel heads %d of V = %d, want %d of %d", mix.Heads, mix.VDim, 2*c.cfg.NumVHeads, c.cfg.HeadV/2)
			}
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cache, err := m.NewCache(2)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close()
			const T = 100
			all := make([]float32, 2*T*c.V)
			if err := m.Prefill(context.Background(), s, cache, flaRows(c.ids, c.T, T, 1), T, nil, all); err != nil {
				t.Fatal(err)
			}
			e := reference.RelErr(all, reference.ToFloat64(flaRows(c.logits, c.T, T, c.V)))
			idt, err := d.FromInt32([]int32{c.ids[T], c.ids[c.T+T]}, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer idt.Close()
			if err := m.Step(s, cache, idt); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			got, err := cache.Logits.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]float32(nil), c.logits[T*c.V:(T+1)*c.V]...), c.logits[(c.T+T)*c.V:(c.T+T+1)*c.V]...)
			es := reference.RelErr(got, reference.ToFloat64(want))
			t.Logf("prefill T=%d rel err %.3g, step %.3g", T, e, es)
			if !(e <= 1e-4) || !(es <= 1e-4) {
				t.Errorf("rel err prefill %.3g, step %.3g, want <= 1e-4", e, es)
			}
		})
	}
	flaNoValidation(t)
}

// TestFLAPublished: the published fla configurations build (random weights) with the upstream
// sizes, and one decode step gives finite logits.
func TestFLAPublished(t *testing.T) {
	if !*long {
		t.Skip("builds 340M-parameter models: -long")
	}
	d := device(t)
	// Parameters held on the device, computed from the configs: gla 341.7M (tied), delta_net 374.4M;
	// gated_deltanet 511.6M upstream plus 67.3M of q/k rows copied for its split 512-wide value heads.
	for name, params := range map[string][2]int64{"gla-340m": {341e6, 342e6}, "delta_net-340m": {374e6, 375e6},
		"gated_deltanet-340m": {578e6, 579e6}} {
		t.Run(name, func(t *testing.T) {
			w, err := Published(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Build(d, w, LoadOptions{DType: gpu.F16})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			info := m.Info()
			t.Logf("%s: %d params, %d MB weights, %d MB read per decode step", name, info.Params, info.WeightBytes>>20, info.DecodeBytes>>20)
			if info.Params < params[0] || info.Params > params[1] {
				t.Errorf("%d params, want in [%d, %d]", info.Params, params[0], params[1])
			}
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := m.NewCache(1)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			idt, err := d.FromInt32([]int32{7}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer idt.Close()
			if err := m.Step(s, c, idt); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			lg, err := c.Logits.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range lg {
				if v != v || v > 1e30 || v < -1e30 {
					t.Fatalf("logit %d = %v", i, v)
				}
			}
		})
	}
	flaNoValidation(t)
}

// TestFLARows: rows of different lengths (prefill with lens), then a decode step per row from its
// own position, then a reset of one row (it starts over while the other continues), for a model
// with short convs (every state kind), against the PyTorch logits.
func TestFLARows(t *testing.T) {
	d := device(t)
	for _, name := range []string{"gla", "gated_deltanet"} {
		c := loadFLACase(t, name)
		t.Run(name, func(t *testing.T) {
			m, err := Load(d, c.dir, LoadOptions{DType: gpu.F32, Segment: 80})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cache, err := m.NewCache(2)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close()
			const T = 63
			lens := []int{T, 40}
			all := make([]float32, 2*T*c.V)
			if err := m.Prefill(context.Background(), s, cache, flaRows(c.ids, c.T, T, 1), T, lens, all); err != nil {
				t.Fatal(err)
			}
			V := c.V
			row := func(b, p int) []float32 { return c.logits[(b*c.T+p)*V : (b*c.T+p+1)*V] }
			var got, want []float32
			for b, n := range lens {
				got = append(got, all[b*T*V:(b*T+n)*V]...)
				want = append(want, c.logits[b*c.T*V:(b*c.T+n)*V]...)
			}
			if e := reference.RelErr(got, reference.ToFloat64(want)); !(e <= 1e-4) {
				t.Errorf("prefill with lens %v: rel err %.3g", lens, e)
			}
			step := func(id0, id1 int32, want []float32, what string) {
				idt, err := d.FromInt32([]int32{id0, id1}, 2)
				if err != nil {
					t.Fatal(err)
				}
				defer idt.Close()
				if err := m.Step(s, cache, idt); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				got, err := cache.Logits.ReadFloat32()
				if err != nil {
					t.Fatal(err)
				}
				e := reference.RelErr(got, reference.ToFloat64(want))
				t.Logf("%s: rel err %.3g", what, e)
				if !(e <= 1e-4) {
					t.Errorf("%s: rel err %.3g", what, e)
				}
			}
			step(c.ids[T], c.ids[c.T+40], append(append([]float32(nil), row(0, T)...), row(1, 40)...), "step after rows of 63 and 40")
			if err := cache.ResetRow(1); err != nil {
				t.Fatal(err)
			}
			step(c.ids[T+1], c.ids[c.T], append(append([]float32(nil), row(0, T+1)...), row(1, 0)...), "step after resetting row 1")
		})
	}
	flaNoValidation(t)
}

// flaRandWeights is a Weights source for option tests: every tensor a loader asks for, with values
// of a trained model's scale (unlike Random's 0.02, which would hide the mixer behind the
// embedding), recorded so that the float64 reference can be built from the same values.
type flaRandWeights struct {
	cfg  *Config
	seen map[string]reference.FLAWeight
}

func (r *flaRandWeights) Config() *Config { return r.cfg }
func (r *flaRandWeights) Has(name string) bool {
	return name != "lm_head.weight" || r.cfg.Raw["tie_word_embeddings"] != true
}
func (r *flaRandWeights) Shape(name string) ([]int, bool) {
	w, ok := r.seen[name]
	return w.Shape, ok
}
func (r *flaRandWeights) Skip(...string)   {}
func (r *flaRandWeights) Unused() []string { return nil }
func (r *flaRandWeights) Float32(name string, shape ...int) ([]float32, error) {
	if !r.Has(name) {
		return nil, fmt.Errorf("%w: missing %s", ErrWeights, name)
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	h := uint64(1469598103934665603)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	rng := splitmix{h}
	gauss := func() float64 {
		u1, u2 := rng.float(), rng.float()
		return math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
	}
	v := make([]float32, n)
	for i := range v {
		var x float64
		switch {
		case strings.HasSuffix(name, "A_log"):
			x = math.Log(1+15*rng.float()) - 3
		case strings.HasSuffix(name, "dt_bias"):
			x = 0.5 * gauss()
		case strings.HasSuffix(name, "gk_proj.1.bias"):
			x = 2 + gauss()
		case strings.Contains(name, "norm"):
			x = 1 + 0.1*gauss()
		case strings.Contains(name, "conv1d"):
			x = 0.5 * gauss()
		case strings.Contains(name, "embeddings"):
			x = gauss()
		default:
			x = gauss() / math.Sqrt(float64(shape[len(shape)-1]))
		}
		v[i] = float32(x)
	}
	r.seen[name] = reference.FLAWeight{Shape: append([]int(nil), shape...), Data: reference.ToFloat64(v)}
	return v, nil
}

// TestFLAOptions: configuration options the fixtures do not cover, GPU (f32) vs the float64
// reference on the same weights, prefill T = 70 and one decode step, B = 2.
func TestFLAOptions(t *testing.T) {
	d := device(t)
	base := func(mt string, kv ...any) map[string]any {
		c := map[string]any{"model_type": mt, "hidden_size": 32.0, "num_hidden_layers": 2.0, "intermediate_size": 40.0,
			"vocab_size": 40.0, "norm_eps": 1e-5}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	cases := map[string]map[string]any{
		"gla no output gate, 4 heads on 2 kv heads, short conv": base("gla", "num_heads", 4.0, "num_kv_heads", 2.0,
			"expand_k", 1.0, "expand_v", 1.0, "use_output_gate", false, "use_short_conv", true, "conv_size", 3.0),
		"gla unfused norm (g_norm) with gate, tied": base("gla", "num_heads", 2.0, "fuse_norm", false, "tie_word_embeddings", true),
		"delta_net no conv, no beta, negative eigenvalues, gate": base("delta_net", "num_heads", 2.0, "use_short_conv", false,
			"use_beta", false, "allow_neg_eigval", true, "use_gate", true, "expand_v", 0.5),
		"gated_deltanet no gate": base("gated_deltanet", "num_heads", 2.0, "head_dim", 8.0, "expand_v", 1.0, "use_gate", false),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			w := &flaRandWeights{cfg: NewConfig(name, raw), seen: map[string]reference.FLAWeight{}}
			m, err := Build(d, w, LoadOptions{DType: gpu.F32, Segment: 32})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			rc, err := reference.ParseFLAConfig(raw)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := reference.NewFLAModel(rc, w.seen)
			if err != nil {
				t.Fatal(err)
			}
			const T = 71
			ids := make([]int32, 2*T)
			ints := make([]int, 2*T)
			for i := range ids {
				ids[i] = int32((i*7 + i/T*3) % rc.Vocab)
				ints[i] = int(ids[i])
			}
			want, err := ref.Forward(ints, 2, T)
			if err != nil {
				t.Fatal(err)
			}
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cache, err := m.NewCache(2)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close()
			V := rc.Vocab
			all := make([]float32, 2*(T-1)*V)
			if err := m.Prefill(context.Background(), s, cache, flaRows(ids, T, T-1, 1), T-1, nil, all); err != nil {
				t.Fatal(err)
			}
			e := reference.RelErr(all, flaRows(want, T, T-1, V))
			idt, err := d.FromInt32([]int32{ids[T-1], ids[2*T-1]}, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer idt.Close()
			if err := m.Step(s, cache, idt); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			got, err := cache.Logits.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			es := reference.RelErr(got, append(append([]float64(nil), want[(T-1)*V:T*V]...), want[(2*T-1)*V:]...))
			t.Logf("prefill rel err %.3g, step %.3g", e, es)
			if !(e <= 1e-4) || !(es <= 1e-4) {
				t.Errorf("rel err prefill %.3g, step %.3g, want <= 1e-4", e, es)
			}
		})
	}
	flaNoValidation(t)
}

// TestGLAFusedStep: a GLA layer without short convs whose projections start aligned (as gla-340m's
// do) keeps q, k, v, g and gk_proj.0 as one weight, and a one-row decode step runs them as one GEMV;
// prefill + k decode steps give the logits of the whole prefill (random weights, f32 and f16, with
// and without the output gate, with grouped key/value heads).
func TestGLAFusedStep(t *testing.T) {
	d := device(t)
	for _, gate := range []bool{true, false} {
		for _, dt := range []gpu.DType{gpu.F32, gpu.F16} {
			if dt == gpu.F16 && !d.Info().Float16Storage {
				continue
			}
			raw := map[string]any{"model_type": "gla", "hidden_size": 64.0, "hidden_ratio": 4.0, "norm_eps": 1e-6,
				"hidden_act": "swish", "vocab_size": 40.0, "num_heads": 4.0, "num_kv_heads": 2.0, "num_hidden_layers": 2.0,
				"expand_k": 0.5, "expand_v": 1.0, "use_short_conv": false, "use_output_gate": gate, "fuse_norm": true,
				"tie_word_embeddings": true}
			m, err := Build(d, NewRandom(NewConfig("test gla", raw), "lm_head.weight"), LoadOptions{DType: dt})
			if err != nil {
				t.Fatal(err)
			}
			fused := 0
			for _, b := range m.(*Decoder).Blocks {
				if a, ok := b.Mixer.(*GLAAttention); ok && a.fused != nil {
					fused++
				}
			}
			if fused != 2 {
				t.Fatalf("gate %v %v: %d of 2 layers fused, want 2 (alignment %d)", gate, dt, fused, d.Info().StorageAlignment)
			}
			checkStepsMatchPrefill(t, m, []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 35, 8, 9, 7, 9, 3, 2, 38}, fmt.Sprintf("gate %v %v", gate, dt))
			m.Close()
		}
	}
}

// TestDeltaNetFusedStep: DeltaNet and gated DeltaNet layers whose projections start aligned keep
// q, k, v, b, a and g_proj as one weight, and a one-row decode step runs them as one GEMV; prefill
// + k decode steps give the logits of the whole prefill (random weights, f32 and f16; with and
// without short convs, beta, the output gate; negative eigenvalues; grouped value heads).
func TestDeltaNetFusedStep(t *testing.T) {
	d := device(t)
	base := func(mt string, kv ...any) map[string]any {
		c := map[string]any{"model_type": mt, "hidden_size": 64.0, "num_hidden_layers": 2.0, "intermediate_size": 40.0,
			"vocab_size": 40.0, "norm_eps": 1e-5, "tie_word_embeddings": true}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	cases := map[string]map[string]any{
		"delta_net, short conv, beta":                   base("delta_net", "num_heads", 4.0),
		"delta_net, no conv, no beta, neg eigval, gate": base("delta_net", "num_heads", 4.0, "use_short_conv", false, "use_beta", false, "allow_neg_eigval", true, "use_gate", true),
		"gated_deltanet":                                base("gated_deltanet", "num_heads", 4.0, "head_dim", 16.0, "expand_v", 1.0),
		"gated_deltanet, grouped value heads, no gate":  base("gated_deltanet", "num_heads", 2.0, "num_v_heads", 4.0, "head_dim", 16.0, "expand_v", 1.0, "use_gate", false),
	}
	for name, raw := range cases {
		for _, dt := range []gpu.DType{gpu.F32, gpu.F16} {
			if dt == gpu.F16 && !d.Info().Float16Storage {
				continue
			}
			t.Run(fmt.Sprintf("%s_%v", name, dt), func(t *testing.T) {
				m, err := Build(d, NewRandom(NewConfig(name, raw), "lm_head.weight"), LoadOptions{DType: dt})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				fused := 0
				for _, b := range m.(*Decoder).Blocks {
					if a, ok := b.Mixer.(*DeltaNetAttention); ok && a.fused != nil {
						fused++
					}
				}
				if fused != 2 {
					t.Fatalf("%d of 2 layers fused, want 2 (alignment %d)", fused, d.Info().StorageAlignment)
				}
				checkStepsMatchPrefill(t, m, []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 35, 8, 9, 7, 9, 3, 2, 38}, name)
			})
		}
	}
}
