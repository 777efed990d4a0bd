package flaconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDerivedSizes(t *testing.T) {
	for _, c := range []struct {
		raw                       map[string]any
		headK, headV, inter, vdim int
	}{
		// GLA: expand_k 0.5, expand_v 1 of hidden 1024 over 4 heads; hidden_ratio 4 → 2/3·4096 rounded up to 256.
		{map[string]any{"model_type": "gla", "hidden_size": 1024.0, "num_heads": 4.0}, 128, 256, 2816, 1024},
		// DeltaNet: expand_k = expand_v = 1.
		{map[string]any{"model_type": "delta_net", "hidden_size": 64.0, "num_heads": 2.0, "intermediate_size": 100.0}, 32, 32, 100, 64},
		// gated DeltaNet: head_dim and expand_v 2; value heads from num_v_heads.
		{map[string]any{"model_type": "gated_deltanet", "hidden_size": 64.0, "num_heads": 2.0, "num_v_heads": 4.0, "head_dim": 16.0}, 16, 32, 256, 128},
	} {
		got, err := Parse(c.raw)
		if err != nil {
			t.Fatalf("%v: %v", c.raw, err)
		}
		if got.HeadK != c.headK || got.HeadV != c.headV || got.Intermediate != c.inter || got.ValueDim() != c.vdim {
			t.Errorf("%v: K %d V %d I %d value dim %d, want %d %d %d %d", c.raw, got.HeadK, got.HeadV, got.Intermediate, got.ValueDim(), c.headK, c.headV, c.inter, c.vdim)
		}
	}
}

func TestParseNamesEveryBadKey(t *testing.T) {
	_, err := Parse(map[string]any{"model_type": "gla", "attn": map[string]any{}, "hidden_act": "gelu", "vocab_size": 0.5, "norm_eps": -1.0})
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *Error", err)
	}
	for _, k := range []string{"attn", "hidden_act", "vocab_size", "norm_eps"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("%q does not name %s", err, k)
		}
	}
	if _, err := Parse(map[string]any{"model_type": "llama"}); err == nil || !strings.Contains(err.Error(), "model_type") {
		t.Errorf("model_type llama: %v", err)
	}
}
