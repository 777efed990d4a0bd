package reference

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/tensorio"
)

// flaFixtures are the folders written by testdata/models/make_fla_fixtures.py.
var flaFixtures = []string{"gla", "gla_old", "delta_net", "gated_deltanet", "gated_deltanet_gva"}

// loadFLAFixture reads a fixture folder: config, weights, input ids [2, T] and
// the PyTorch logits [2, T, vocab].
func loadFLAFixture(t *testing.T, name string) (FLAConfig, map[string]FLAWeight, []int, []float32, int) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "models", name)
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseFLAConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tensorio.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]FLAWeight{}
	for _, n := range f.Names() {
		tt, _ := f.Get(n)
		w[n] = FLAWeight{Shape: tt.Shape, Data: ToFloat64(tt.F32)}
	}
	io, err := tensorio.ReadFile(filepath.Join(dir, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids32, err := io.Int32("input_ids", 2, tensorio.Any)
	if err != nil {
		t.Fatal(err)
	}
	T := len(ids32) / 2
	logits, err := io.Float32("logits", 2, T, cfg.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(ids32))
	for i, v := range ids32 {
		ids[i] = int(v)
	}
	return cfg, w, ids, logits, T
}

// prefix returns the first t of T steps of each of the B rows of x [B, T, n].
func flaPrefix[E any](x []E, B, T, t, n int) []E {
	out := make([]E, 0, B*t*n)
	for b := range B {
		out = append(out, x[b*T*n:(b*T+t)*n]...)
	}
	return out
}

// TestFLAModelFixtures: the float64 models, run one token at a time, give
// the logits of the independent PyTorch implementation (whole-sequence,
// float64, stored as float32) at T = 1, 63 and 200 with B = 2.
func TestFLAModelFixtures(t *testing.T) {
	for _, name := range flaFixtures {
		t.Run(name, func(t *testing.T) {
			cfg, w, ids, want, T := loadFLAFixture(t, name)
			m, err := NewFLAModel(cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Forward(ids, 2, T)
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []int{1, 63, T} {
				e := RelErr(flaPrefix(want, 2, T, tt, cfg.Vocab), flaPrefix(got, 2, T, tt, cfg.Vocab))
				t.Logf("T=%d rel err %.3g", tt, e)
				if !(e <= 1e-6) { // float32 rounding of the stored logits
					t.Errorf("T=%d: rel err %.3g vs PyTorch, want <= 1e-6", tt, e)
				}
			}
		})
	}
}

// TestFLAModelErrors: a missing or mis-shaped tensor, an unsupported option,
// a bad id and the older fused-MLP rule.
func TestFLAModelErrors(t *testing.T) {
	cfg, w, _, _, _ := loadFLAFixture(t, "gla")
	drop := func(name string) map[string]FLAWeight {
		c := map[string]FLAWeight{}
		for k, v := range w {
			if k != name {
				c[k] = v
			}
		}
		return c
	}
	if _, err := NewFLAModel(cfg, drop("model.layers.1.attn.gk_proj.1.bias")); err == nil || !strings.Contains(err.Error(), "gk_proj.1.bias") {
		t.Errorf("missing tensor: err = %v", err)
	}
	if _, err := NewFLAModel(cfg, drop("lm_head.weight")); err == nil || !strings.Contains(err.Error(), "lm_head.weight") {
		t.Errorf("missing lm_head, untied: err = %v", err)
	}
	bad := drop("")
	bad["model.norm.weight"] = FLAWeight{Shape: []int{cfg.Hidden + 1}, Data: make([]float64, cfg.Hidden+1)}
	if _, err := NewFLAModel(cfg, bad); err == nil || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Errorf("mis-shaped tensor: err = %v", err)
	}
	m, err := NewFLAModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Step(m.NewState(1), []int{cfg.Vocab}); err == nil {
		t.Error("id = vocab accepted")
	}
	for key, val := range map[string]any{"attn": map[string]any{"layers": []any{1.0}}, "attnres_block_size": 2.0,
		"feature_map": "relu", "hidden_act": "gelu", "model_type": "mamba", "num_heads": 3.0} {
		raw := map[string]any{"model_type": "gla", "hidden_size": 32.0, "num_heads": 2.0, "vocab_size": 8.0}
		raw[key] = val
		if _, err := ParseFLAConfig(raw); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %s = %v: err = %v", key, val, err)
		}
	}
}
