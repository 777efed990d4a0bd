package models

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/tensorio"
)

// movedIndex is the mamba_ssm fixture's index with backbone.norm_f.weight mapped to the wrong shard.
const movedIndex = "{\"weight_map\": {\"backbone.embedding.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.0.mixer.A_log\": \"model-00002-of-00002.safetensors\", \"backbone.layers.0.mixer.D\": \"model-00001-of-00002.safetensors\", \"backbone.layers.0.mixer.conv1d.bias\": \"model-00002-of-00002.safetensors\", \"backbone.layers.0.mixer.conv1d.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.0.mixer.dt_proj.bias\": \"model-00002-of-00002.safetensors\", \"backbone.layers.0.mixer.dt_proj.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.0.mixer.in_proj.weight\": \"model-00002-of-00002.safetensors\", \"backbone.layers.0.mixer.out_proj.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.0.mixer.x_proj.weight\": \"model-00002-of-00002.safetensors\", \"backbone.layers.0.norm.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.1.mixer.A_log\": \"model-00002-of-00002.safetensors\", \"backbone.layers.1.mixer.D\": \"model-00001-of-00002.safetensors\", \"backbone.layers.1.mixer.conv1d.bias\": \"model-00002-of-00002.safetensors\", \"backbone.layers.1.mixer.conv1d.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.1.mixer.dt_proj.bias\": \"model-00002-of-00002.safetensors\", \"backbone.layers.1.mixer.dt_proj.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.1.mixer.in_proj.weight\": \"model-00002-of-00002.safetensors\", \"backbone.layers.1.mixer.out_proj.weight\": \"model-00001-of-00002.safetensors\", \"backbone.layers.1.mixer.x_proj.weight\": \"model-00002-of-00002.safetensors\", \"backbone.layers.1.norm.weight\": \"model-00001-of-00002.safetensors\", \"backbone.norm_f.weight\": \"model-00001-of-00002.safetensors\"}}"

// TestCheckpointShards: a sharded checkpoint reads every tensor with its stored dtype converted,
// and a broken index is an error naming the shard or tensor.
func TestCheckpointShards(t *testing.T) {
	ck, err := OpenCheckpoint(fixtureDir("mamba_ssm"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ck.Names()); got != 22 {
		t.Errorf("%d tensors, want 22", got)
	}
	if dt := ck.DType("backbone.layers.0.mixer.in_proj.weight"); dt != tensorio.F16 {
		t.Errorf("in_proj stored as %s, want F16", dt)
	}
	if _, err := ck.Float32("backbone.layers.0.mixer.D", 65); !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), "[65]") {
		t.Errorf("mis-shaped read: %v", err)
	}
	if _, err := ck.Float32("nope"); !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing read: %v", err)
	}
	cases := map[string]struct{ index, want string }{
		"missing shard":   {`{"weight_map": {"a": "model-9.safetensors"}}`, "model-9.safetensors"},
		"tensor moved":    {movedIndex, "backbone.norm_f.weight"},
		"path escape":     {`{"weight_map": {"a": "../x.safetensors"}}`, "../x.safetensors"},
		"no weight_map":   {`{}`, "weight_map"},
		"not json at all": {`{"weight_map": `, "weight_map"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
				b, err := os.ReadFile(filepath.Join(fixtureDir("mamba_ssm"), f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, f), b, 0o644)
			}
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(c.index), 0o644)
			_, err := OpenCheckpoint(dir, nil)
			if !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrWeights naming %q", err, c.want)
			}
		})
	}
	if _, err := OpenCheckpoint(t.TempDir(), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("empty folder: %v, want ErrConfig", err)
	}
}

// TestConfig: Python's Infinity reads, accessors take the first present spelling and name a key
// of the wrong type, and mamba_ssm configs resolve their model type.
func TestConfig(t *testing.T) {
	c, err := ReadConfig(fixtureDir("mamba2_hf"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelType() != "mamba2" {
		t.Errorf("model type %q", c.ModelType())
	}
	if v, err := c.Int(0, "d_model", "hidden_size"); v != 32 || err != nil {
		t.Errorf("hidden %d %v", v, err)
	}
	if _, err := c.Bool(false, "hidden_size"); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("wrong type: %v", err)
	}
	if lim, ok := c.Raw["time_step_limit"].([]any); !ok || lim[1] != "Infinity" {
		t.Errorf("time_step_limit %v", c.Raw["time_step_limit"])
	}
	ssm, err := ReadConfig(fixtureDir("mamba2_ssm"))
	if err != nil || ssm.ModelType() != "mamba2" {
		t.Errorf("mamba_ssm Mamba2 config: %q %v", ssm.ModelType(), err)
	}
	if err := NewConfig("x", map[string]any{"a": false, "b": []any{}, "c": 1.0}).Refuse("a", "b", "c", "d"); err == nil || !strings.Contains(err.Error(), "c=1") {
		t.Errorf("Refuse: %v", err)
	}
}

// TestPublishedMamba builds mamba-130m and mamba2-130m with random weights (-long: 130M parameters)
// and checks the parameter counts of the published checkpoints and finite logits.
func TestPublishedMamba(t *testing.T) {
	if !*long {
		t.Skip("-long")
	}
	d := device(t)
	for name, want := range map[string]float64{"mamba-130m": 129.1e6, "mamba2-130m": 129.0e6} {
		w, err := Published(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Build(d, w, LoadOptions{DType: gpu.F16})
		if err != nil {
			t.Fatal(err)
		}
		p := float64(m.Info().Params)
		t.Logf("%s: %.2fM parameters, %d weight bytes", name, p/1e6, m.Info().WeightBytes)
		if math.Abs(p-want)/want > 0.01 {
			t.Errorf("%s: %.2fM parameters, want about %.1fM", name, p/1e6, want/1e6)
		}
		logits := runLM(t, m, []int32{1, 2, 3, 4}, 1, 4, 1)
		for _, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: non-finite logit", name)
			}
		}
		m.Close()
	}
}
