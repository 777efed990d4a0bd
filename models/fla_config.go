package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vkseq/vkseq/flaconfig"
)

// FLAConfig is the configuration of a flash-linear-attention language model
// (GLAForCausalLM, DeltaNetForCausalLM, GatedDeltaNetForCausalLM): flaconfig.Config, whose
// field names follow the config.json keys of fla-org/flash-linear-attention.
type FLAConfig = flaconfig.Config

// ParseFLAConfig reads an fla config.json through flaconfig.Parse. Keys that change the
// computation and that these models do not implement are errors naming the key, never ignored:
// hybrid softmax-attention layers (`attn`), `attnres_block_size`, a GLA `feature_map` or
// `clamp_min`, `hidden_act` other than swish, `elementwise_affine: false`, DeltaNet
// `qk_activation` other than silu or `qk_norm` other than l2. Keys that change nothing at
// inference (attn_mode, fuse_*, use_gk, use_gv, use_output_norm, bos/eos/pad ids,
// max_position_embeddings, initializer_range, ...) are ignored. Errors wrap ErrConfig.
func ParseFLAConfig(cfg *Config) (FLAConfig, error) {
	c, err := flaconfig.Parse(cfg.Raw)
	var problems []string
	var fe *flaconfig.Error
	switch {
	case errors.As(err, &fe):
		problems = append(problems, fe.Problems...)
	case err != nil:
		return c, fmt.Errorf("%w: %s: %w", ErrConfig, cfg.Source, err)
	}
	switch c.ModelType {
	case "gla", "delta_net", "gated_deltanet":
	default: // Parse stops at an unknown model_type
		return c, fmt.Errorf("%w: %s: %w", ErrConfig, cfg.Source, err)
	}
	if c.ClampMin != nil {
		problems = append(problems, fmt.Sprintf("clamp_min = %v, want null (not supported)", *c.ClampMin))
	}
	if c.ModelType == "delta_net" {
		if c.QKActivation != "silu" {
			problems = append(problems, fmt.Sprintf("qk_activation = %s, want silu (relu, elu and identity are not supported)", c.QKActivation))
		}
		if c.QKNorm != "l2" {
			problems = append(problems, fmt.Sprintf("qk_norm = %s, want l2 (sum is not supported)", c.QKNorm))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return c, fmt.Errorf("%w: %s: %s", ErrConfig, cfg.Source, strings.Join(problems, "; "))
	}
	return c, nil
}
