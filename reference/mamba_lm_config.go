package reference

import (
	"fmt"
	"math"
)

// MambaConfig is the configuration of a Mamba (Mamba-1) or Mamba-2 language model, read from
// either spelling of config.json: mamba_ssm's (d_model, n_layer, ssm_cfg{...},
// pad_vocab_size_multiple, tie_embeddings; no model_type) or transformers' (model_type "mamba" /
// "mamba2", hidden_size, num_hidden_layers, state_size, ...). See mamba_ssm's config_mamba.py and transformers' configuration_mamba(2).py.
type MambaConfig struct {
	// Mamba2 selects the SSD mixer (mamba_ssm ssm_cfg.layer "Mamba2", or model_type "mamba2").
	Mamba2 bool
	// Vocab is the number of embedding rows and logits (mamba_ssm pads vocab_size up to a multiple
	// of pad_vocab_size_multiple; transformers stores the padded size already).
	Vocab, Hidden, Layers int
	// DInner is expand·Hidden; DState the SSM state size N; DConv the conv kernel width W.
	DInner, DState, DConv int
	// DtRank is Mamba-1's dt_proj rank (ceil(Hidden/16) when "auto").
	DtRank int
	// HeadDim, NHeads and NGroups are Mamba-2's head size P, heads H = DInner/P and B/C groups G.
	HeadDim, NHeads, NGroups int
	// NormEps is the epsilon of every RMSNorm (the gated one of Mamba-2 included).
	NormEps float64
	// UseBias: in_proj and out_proj have biases; ConvBias: conv1d has a bias.
	UseBias, ConvBias bool
	// Tie: the LM head is the embedding (when lm_head.weight is absent it is tied regardless).
	Tie bool
	// HF is true for the transformers spelling (embedding stored as backbone.embeddings.weight).
	HF bool
}

// ConvDim is the number of conv channels: DInner (Mamba-1) or DInner + 2·NGroups·DState (Mamba-2).
func (c MambaConfig) ConvDim() int {
	if c.Mamba2 {
		return c.DInner + 2*c.NGroups*c.DState
	}
	return c.DInner
}

// InProj is the number of in_proj outputs: 2·DInner (Mamba-1: x, z) or
// DInner + ConvDim + NHeads (Mamba-2: z, xBC, dt).
func (c MambaConfig) InProj() int {
	if c.Mamba2 {
		return c.DInner + c.ConvDim() + c.NHeads
	}
	return 2 * c.DInner
}

// MambaModelType says which Mamba family raw describes: "mamba" or "mamba2" from model_type,
// or for a mamba_ssm config (no model_type, d_model present) from ssm_cfg.layer; "" otherwise.
func MambaModelType(raw map[string]any) string {
	if mt, ok := raw["model_type"].(string); ok {
		return mt
	}
	if _, ok := raw["d_model"]; !ok {
		return ""
	}
	if ssm, ok := raw["ssm_cfg"].(map[string]any); ok {
		if l, _ := ssm["layer"].(string); l == "Mamba2" {
			return "mamba2"
		}
	}
	return "mamba"
}

// ParseMambaConfig reads raw (a decoded config.json). It refuses, naming the key, settings that
// change the computation and are not implemented: attention layers (attn_layer_idx), an MLP in the
// block (d_intermediate > 0), LayerNorm instead of RMSNorm (rms_norm false), Mamba-2 without its
// gated norm or with norm_before_gate, D per channel (D_has_hdim), dt limits, Mamba-3.
func ParseMambaConfig(raw map[string]any) (MambaConfig, error) {
	var c MambaConfig
	var err error
	num := func(m map[string]any, def float64, keys ...string) float64 {
		for _, k := range keys {
			v, ok := m[k]
			if !ok || v == nil {
				continue
			}
			f, isNum := v.(float64)
			if !isNum && err == nil {
				err = fmt.Errorf("config key %q is %v, want a number", k, v)
			}
			return f
		}
		return def
	}
	flag := func(m map[string]any, def bool, keys ...string) bool {
		for _, k := range keys {
			v, ok := m[k]
			if !ok || v == nil {
				continue
			}
			b, isBool := v.(bool)
			if !isBool && err == nil {
				err = fmt.Errorf("config key %q is %v, want true or false", k, v)
			}
			return b
		}
		return def
	}
	refuse := func(key string, bad bool, v any) {
		if bad && err == nil {
			err = fmt.Errorf("unsupported config setting %s=%v", key, v)
		}
	}
	mt := MambaModelType(raw)
	if mt != "mamba" && mt != "mamba2" {
		return c, fmt.Errorf("model_type %q is not mamba or mamba2", mt)
	}
	c.Mamba2 = mt == "mamba2"
	if _, hasMT := raw["model_type"]; !hasMT {
		// mamba_ssm spelling.
		ssm, _ := raw["ssm_cfg"].(map[string]any)
		if ssm == nil {
			ssm = map[string]any{}
		}
		c.Hidden = int(num(raw, 2560, "d_model"))
		c.Layers = int(num(raw, 64, "n_layer"))
		v := int(num(raw, 50277, "vocab_size"))
		pad := int(num(raw, 8, "pad_vocab_size_multiple"))
		if pad > 0 && v%pad != 0 {
			v += pad - v%pad
		}
		c.Vocab = v
		c.Tie = flag(raw, true, "tie_embeddings")
		c.NormEps = 1e-5
		if d := num(raw, 0, "d_intermediate"); d != 0 {
			refuse("d_intermediate", true, d)
		}
		if a, ok := raw["attn_layer_idx"].([]any); ok {
			refuse("attn_layer_idx", len(a) > 0, a)
		}
		refuse("rms_norm", !flag(raw, true, "rms_norm"), false)
		expand := num(ssm, 2, "expand")
		c.DInner = int(expand * float64(c.Hidden))
		c.DConv = int(num(ssm, 4, "d_conv"))
		c.ConvBias = flag(ssm, true, "conv_bias")
		c.UseBias = flag(ssm, false, "bias")
		if l, _ := ssm["layer"].(string); l != "" && l != "Mamba1" && l != "Mamba2" {
			refuse("ssm_cfg.layer", true, l)
		}
		if c.Mamba2 {
			c.DState = int(num(ssm, 128, "d_state"))
			c.HeadDim = int(num(ssm, 64, "headdim"))
			c.NGroups = int(num(ssm, 1, "ngroups"))
			if ds := num(ssm, 0, "d_ssm"); ds != 0 && int(ds) != c.DInner {
				refuse("ssm_cfg.d_ssm", true, ds)
			}
			refuse("ssm_cfg.rmsnorm", !flag(ssm, true, "rmsnorm"), false)
			refuse("ssm_cfg.norm_before_gate", flag(ssm, false, "norm_before_gate"), true)
			refuse("ssm_cfg.D_has_hdim", flag(ssm, false, "D_has_hdim"), true)
			if lim, ok := ssm["dt_limit"].([]any); ok && len(lim) == 2 {
				lo, _ := lim[0].(float64)
				hi, _ := lim[1].(float64)
				refuse("ssm_cfg.dt_limit", lo != 0 || !math.IsInf(hi, 1) && hi != 0, lim)
			}
		} else {
			c.DState = int(num(ssm, 16, "d_state"))
			if r, ok := ssm["dt_rank"].(float64); ok {
				c.DtRank = int(r)
			} else {
				c.DtRank = (c.Hidden + 15) / 16
			}
		}
	} else {
		c.HF = true
		c.Hidden = int(num(raw, 0, "hidden_size"))
		c.Layers = int(num(raw, 0, "num_hidden_layers"))
		c.Vocab = int(num(raw, 0, "vocab_size"))
		c.NormEps = num(raw, 1e-5, "layer_norm_epsilon")
		c.DState = int(num(raw, 16, "state_size"))
		c.DConv = int(num(raw, 4, "conv_kernel"))
		c.ConvBias = flag(raw, true, "use_conv_bias")
		c.UseBias = flag(raw, !c.Mamba2, "use_bias")
		expand := num(raw, 2, "expand")
		c.DInner = int(num(raw, expand*float64(c.Hidden), "intermediate_size"))
		if c.Mamba2 {
			c.Tie = flag(raw, false, "tie_word_embeddings")
			c.HeadDim = int(num(raw, 64, "head_dim"))
			c.NGroups = int(num(raw, 1, "n_groups"))
			if nh := int(num(raw, 0, "num_heads")); nh != 0 && nh*c.HeadDim != c.DInner {
				if err == nil {
					err = fmt.Errorf("config num_heads=%d × head_dim=%d ≠ intermediate size %d", nh, c.HeadDim, c.DInner)
				}
			}
			refuse("rms_norm", !flag(raw, true, "rms_norm"), false)
			if lim, ok := raw["time_step_limit"].([]any); ok && len(lim) == 2 {
				lo, _ := lim[0].(float64)
				hi, isNum := lim[1].(float64)
				refuse("time_step_limit", lo != 0 || isNum && !math.IsInf(hi, 1), lim)
			}
		} else {
			c.Tie = flag(raw, true, "tie_word_embeddings")
			c.DtRank = int(num(raw, math.Ceil(float64(c.Hidden)/16), "time_step_rank"))
		}
	}
	if err != nil {
		return c, err
	}
	if c.Mamba2 {
		if c.HeadDim < 1 || c.DInner%c.HeadDim != 0 {
			return c, fmt.Errorf("head dim %d does not divide the inner size %d", c.HeadDim, c.DInner)
		}
		c.NHeads = c.DInner / c.HeadDim
		if c.NGroups < 1 || c.NHeads%c.NGroups != 0 {
			return c, fmt.Errorf("n_groups %d does not divide the %d heads", c.NGroups, c.NHeads)
		}
	}
	if c.Hidden < 1 || c.Layers < 1 || c.Vocab < 1 || c.DInner < 1 || c.DState < 1 || c.DConv < 1 || (!c.Mamba2 && c.DtRank < 1) {
		return c, fmt.Errorf("sizes must be ≥ 1: hidden %d, layers %d, vocab %d, inner %d, state %d, conv %d, dt_rank %d",
			c.Hidden, c.Layers, c.Vocab, c.DInner, c.DState, c.DConv, c.DtRank)
	}
	return c, nil
}
