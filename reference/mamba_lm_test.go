package reference

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkseq/vkseq/tensorio"
)

// mambaFixtures are the folders written by testdata/models/make_mamba_fixtures.py.
var mambaFixtures = []string{"mamba_hf", "mamba_ssm", "mamba2_ssm", "mamba2_hf"}

// loadMambaFixture reads a fixture folder (one file or shards): config, weights, input ids [2, T]
// and the PyTorch logits [2, T, vocab].
func loadMambaFixture(t *testing.T, name string) (MambaConfig, map[string]FLAWeight, []int, []float32, int) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "models", name)
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeConfigJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseMambaConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"model.safetensors"}
	if b, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		files = nil
		for _, f := range idx.WeightMap {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	w := map[string]FLAWeight{}
	for _, fn := range files {
		f, err := tensorio.ReadFile(filepath.Join(dir, fn))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range f.Names() {
			tt, _ := f.Get(n)
			w[n] = FLAWeight{Shape: tt.Shape, Data: ToFloat64(tt.F32)}
		}
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

// TestMambaModelFixtures: the float64 Mamba and Mamba-2 models, one token at a time, give the
// logits of the independent whole-sequence PyTorch implementation (selective_scan_ref; chunked
// ssd_minimal) at T = 1, 63 and 200 with B = 2, for both config and tensor-name spellings.
func TestMambaModelFixtures(t *testing.T) {
	for _, name := range mambaFixtures {
		t.Run(name, func(t *testing.T) {
			cfg, w, ids, want, T := loadMambaFixture(t, name)
			m, err := NewMambaModel(cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []int{1, 63, 200} {
				sub := flaPrefix(ids, 2, T, tt, 1)
				got, err := m.Forward(sub, 2, tt)
				if err != nil {
					t.Fatal(err)
				}
				e := RelErr(flaPrefix(want, 2, T, tt, cfg.Vocab), got)
				t.Logf("T=%d rel err %.2e", tt, e)
				if e > 1e-6 {
					t.Errorf("T=%d: rel err %.3e vs PyTorch, want ≤ 1e-6", tt, e)
				}
			}
		})
	}
}

// TestMambaModelErrors: missing and mis-shaped tensors and bad ids are errors.
func TestMambaModelErrors(t *testing.T) {
	cfg, w, _, _, _ := loadMambaFixture(t, "mamba_hf")
	bad := map[string]FLAWeight{}
	for k, v := range w {
		bad[k] = v
	}
	delete(bad, "backbone.layers.1.mixer.A_log")
	if _, err := NewMambaModel(cfg, bad); err == nil {
		t.Error("missing A_log accepted")
	}
	bad["backbone.layers.1.mixer.A_log"] = FLAWeight{Shape: []int{3}, Data: make([]float64, 3)}
	if _, err := NewMambaModel(cfg, bad); err == nil {
		t.Error("mis-shaped A_log accepted")
	}
	m, err := NewMambaModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Step(m.NewState(1), []int{cfg.Vocab}); err == nil {
		t.Error("id = vocab accepted")
	}
	if _, err := ParseMambaConfig(map[string]any{"d_model": 8.0, "n_layer": 1.0, "attn_layer_idx": []any{0.0}}); err == nil {
		t.Error("attention layers accepted")
	}
}
