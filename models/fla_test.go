package models

import (
	"context"
	"errors"
	"fmt"
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
