// Package flaconfig reads the config.json of flash-linear-attention language models (GLA,
// DeltaNet, gated DeltaNet), shared by models (the GPU models) and reference (the float64
// oracle) so that both read the same keys, defaults and derived sizes the same way, as stftopt
// is for STFT options. It computes nothing of the models themselves.
package flaconfig

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Config is the configuration of a flash-linear-attention language model
// (GLAForCausalLM, DeltaNetForCausalLM, GatedDeltaNetForCausalLM), with the
// derived head sizes filled in by Parse. Field names follow the
// config.json keys of fla-org/flash-linear-attention.
type Config struct {
	// ModelType is "gla", "delta_net" or "gated_deltanet".
	ModelType string
	// Vocab is vocab_size: rows of the embedding and of lm_head (the padded
	// vocabulary: logits cover all of it).
	Vocab, Hidden, Layers int
	// Intermediate is the SwiGLU MLP width I (intermediate_size, or the
	// hidden_ratio rule of fla's GatedMLP rounded up to a multiple of 256).
	Intermediate int
	// NormEps is norm_eps: every RMSNorm of the model, the per-head output norm
	// included.
	NormEps float64
	// TieEmbeddings is tie_word_embeddings: lm_head is the embedding matrix.
	TieEmbeddings bool

	// NumHeads is the number of query/key heads H; NumKVHeads (GLA
	// num_kv_heads) the key/value heads of GLA (NumHeads when unset); NumVHeads
	// (gated DeltaNet num_v_heads) the value heads of gated DeltaNet (NumHeads
	// when unset). For DeltaNet all three are NumHeads.
	NumHeads, NumKVHeads, NumVHeads int
	// HeadK and HeadV are the per-head key and value sizes.
	HeadK, HeadV int

	// UseShortConv adds a causal depthwise conv (kernel ConvSize, SiLU unless
	// stated) on q, k and v; ConvBias gives the convs a bias (never set by
	// Parse: the fla blocks do not pass conv_bias to their layers).
	UseShortConv bool
	ConvSize     int
	ConvBias     bool
	// UseGate is GLA's use_output_gate or DeltaNet / gated DeltaNet's
	// use_gate: the output norm is rmsnorm(o)·w·silu(g_proj(x)).
	UseGate bool

	// GLA only: the gate normaliser (16, fixed by GLABlock) and clamp_min (nil:
	// none). GateLowRank is the gk_proj bottleneck (16).
	GateLogitNormalizer float64
	ClampMin            *float64
	GateLowRank         int
	// GLAFusedNormName: the output norm is stored as g_norm_swish_gate (fused,
	// the default) rather than g_norm.
	GLAFusedNormName bool

	// DeltaNet / gated DeltaNet: UseBeta (DeltaNet use_beta; sigmoid(b_proj),
	// else 1), AllowNegEigval (beta ×2), QKActivation ("silu", "relu", "elu",
	// "identity"; DeltaNet only) and QKNorm ("l2" or "sum"; DeltaNet only).
	UseBeta        bool
	AllowNegEigval bool
	QKActivation   string
	QKNorm         string
}

// KeyDim returns NumHeads·HeadK, the width of q_proj.
func (c Config) KeyDim() int { return c.NumHeads * c.HeadK }

// ValueDim returns the width of the attention output before o_proj:
// NumVHeads·HeadV for gated DeltaNet, NumHeads·HeadV otherwise.
func (c Config) ValueDim() int {
	if c.ModelType == "gated_deltanet" {
		return c.NumVHeads * c.HeadV
	}
	return c.NumHeads * c.HeadV
}

// FLAIntermediateSize is fla's GatedMLP rule for intermediate_size = None:
// int(hidden · ratio · 2/3) rounded up to a multiple of 256.
func IntermediateSize(hidden int, ratio float64) int {
	i := int(float64(hidden) * ratio * 2 / 3)
	return 256 * ((i + 255) / 256)
}

// Parse reads an fla config.json (decoded into a map). It accepts every option
// of the table above and returns an *Error naming each key whose value changes
// the computation in a way no fla model of this kind has (hybrid `attn`
// layers, `attnres_block_size`, a GLA `feature_map`, hidden_act other than
// swish, an unweighted output norm, ...), and each key of the wrong type or
// out of range. Keys that change nothing at inference (attn_mode, fuse_*,
// use_gk, use_gv, use_output_norm, bos/eos/pad ids, max_position_embeddings,
// initializer_range, ...) are ignored. A model may refuse more (models does:
// clamp_min, qk_activation other than silu, qk_norm other than l2).
func Parse(raw map[string]any) (Config, error) {
	p := reader{raw: raw}
	var c Config
	c.ModelType = p.str("model_type", "")
	switch c.ModelType {
	case "gla", "delta_net", "gated_deltanet":
	default:
		return c, &Error{Problems: []string{fmt.Sprintf("model_type = %q, want gla, delta_net or gated_deltanet", c.ModelType)}}
	}
	c.Vocab = p.int("vocab_size", 32000)
	c.Hidden = p.int("hidden_size", 2048)
	c.Layers = p.int("num_hidden_layers", map[string]int{"gla": 24, "delta_net": 24, "gated_deltanet": 21}[c.ModelType])
	c.NormEps = p.float("norm_eps", 1e-6)
	c.TieEmbeddings = p.bool("tie_word_embeddings", false)
	if p.has("intermediate_size") {
		c.Intermediate = p.int("intermediate_size", 0)
	} else {
		c.Intermediate = IntermediateSize(c.Hidden, p.float("hidden_ratio", 4))
	}
	if act := p.str("hidden_act", "swish"); act != "swish" && act != "silu" {
		p.fail("hidden_act", act, "swish")
	}
	p.null("attn")
	p.null("attnres_block_size")
	c.ConvSize = p.int("conv_size", 4)
	switch c.ModelType {
	case "gla":
		c.NumHeads = p.int("num_heads", 4)
		c.NumKVHeads = p.int("num_kv_heads", c.NumHeads)
		c.NumVHeads = c.NumHeads
		kd := int(float64(c.Hidden) * p.float("expand_k", 0.5))
		vd := int(float64(c.Hidden) * p.float("expand_v", 1))
		c.HeadK, c.HeadV = kd/max(c.NumHeads, 1), vd/max(c.NumHeads, 1)
		if c.NumHeads > 0 && (kd%c.NumHeads != 0 || vd%c.NumHeads != 0) {
			p.errs = append(p.errs, fmt.Sprintf("expand_k·hidden_size = %d and expand_v·hidden_size = %d must be multiples of num_heads = %d", kd, vd, c.NumHeads))
		}
		if c.NumKVHeads < 1 || c.NumHeads%max(c.NumKVHeads, 1) != 0 {
			p.fail("num_kv_heads", c.NumKVHeads, "a divisor of num_heads")
		}
		c.UseShortConv = p.bool("use_short_conv", false)
		c.UseGate = p.bool("use_output_gate", true)
		c.GateLogitNormalizer, c.GateLowRank = 16, 16
		if p.has("clamp_min") {
			v := p.float("clamp_min", 0)
			c.ClampMin = &v
		}
		p.null("feature_map")
		if !p.bool("elementwise_affine", true) {
			p.fail("elementwise_affine", false, "true (an unweighted output norm is not supported)")
		}
		c.GLAFusedNormName = p.bool("fuse_norm", true) && c.UseGate
	case "delta_net":
		c.NumHeads = p.int("num_heads", 16)
		c.NumKVHeads, c.NumVHeads = c.NumHeads, c.NumHeads
		kd := int(float64(c.Hidden) * p.float("expand_k", 1))
		vd := int(float64(c.Hidden) * p.float("expand_v", 1))
		c.HeadK, c.HeadV = kd/max(c.NumHeads, 1), vd/max(c.NumHeads, 1)
		if c.NumHeads > 0 && (kd%c.NumHeads != 0 || vd%c.NumHeads != 0) {
			p.errs = append(p.errs, fmt.Sprintf("expand_k·hidden_size = %d and expand_v·hidden_size = %d must be multiples of num_heads = %d", kd, vd, c.NumHeads))
		}
		c.UseShortConv = p.bool("use_short_conv", true)
		c.UseGate = p.bool("use_gate", false)
		c.UseBeta = p.bool("use_beta", true)
		c.AllowNegEigval = p.bool("allow_neg_eigval", false)
		c.QKActivation = p.str("qk_activation", "silu")
		c.QKNorm = p.str("qk_norm", "l2")
		switch c.QKActivation {
		case "silu", "relu", "elu", "identity":
		default:
			p.fail("qk_activation", c.QKActivation, "silu, relu, elu or identity")
		}
		if c.QKNorm != "l2" && c.QKNorm != "sum" {
			p.fail("qk_norm", c.QKNorm, "l2 or sum")
		}
	case "gated_deltanet":
		c.NumHeads = p.int("num_heads", 6)
		c.NumKVHeads = c.NumHeads
		c.NumVHeads = p.int("num_v_heads", c.NumHeads)
		c.HeadK = p.int("head_dim", 256)
		c.HeadV = int(float64(c.HeadK) * p.float("expand_v", 2))
		if c.NumVHeads < 1 || c.NumVHeads%max(c.NumHeads, 1) != 0 {
			p.fail("num_v_heads", c.NumVHeads, "a multiple of num_heads")
		}
		c.UseShortConv = p.bool("use_short_conv", true)
		c.UseGate = p.bool("use_gate", true)
		c.UseBeta = true
		c.AllowNegEigval = p.bool("allow_neg_eigval", false)
		c.QKActivation, c.QKNorm = "silu", "l2"
	}
	for _, k := range [][2]any{{"vocab_size", c.Vocab}, {"hidden_size", c.Hidden}, {"num_hidden_layers", c.Layers},
		{"intermediate_size", c.Intermediate}, {"num_heads", c.NumHeads}, {"conv_size", c.ConvSize}} {
		if k[1].(int) < 1 {
			p.fail(k[0].(string), k[1], ">= 1")
		}
	}
	if c.HeadK < 1 || c.HeadV < 1 {
		p.errs = append(p.errs, fmt.Sprintf("head sizes K = %d, V = %d, want >= 1", c.HeadK, c.HeadV))
	}
	if !(c.NormEps >= 0) || math.IsInf(c.NormEps, 0) {
		p.fail("norm_eps", c.NormEps, "a finite number >= 0")
	}
	if len(p.errs) > 0 {
		sort.Strings(p.errs)
		return c, &Error{Problems: p.errs}
	}
	return c, nil
}

// Error lists what is wrong in a config, one problem per entry (each names its key), sorted.
type Error struct{ Problems []string }

// Error joins the problems with "; ".
func (e *Error) Error() string { return strings.Join(e.Problems, "; ") }

// reader reads typed keys of a decoded JSON object, collecting errors.
type reader struct {
	raw  map[string]any
	errs []string
}

func (p *reader) has(k string) bool { v, ok := p.raw[k]; return ok && v != nil }

func (p *reader) fail(k string, got any, want string) {
	p.errs = append(p.errs, fmt.Sprintf("%s = %v, want %s", k, got, want))
}

func (p *reader) float(k string, def float64) float64 {
	if !p.has(k) {
		return def
	}
	f, ok := p.raw[k].(float64)
	if !ok {
		p.fail(k, p.raw[k], "a number")
		return def
	}
	return f
}

func (p *reader) int(k string, def int) int {
	if !p.has(k) {
		return def
	}
	f, ok := p.raw[k].(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		p.fail(k, p.raw[k], "an integer")
		return def
	}
	return int(f)
}

func (p *reader) bool(k string, def bool) bool {
	if !p.has(k) {
		return def
	}
	b, ok := p.raw[k].(bool)
	if !ok {
		p.fail(k, p.raw[k], "true or false")
		return def
	}
	return b
}

func (p *reader) str(k, def string) string {
	if !p.has(k) {
		return def
	}
	s, ok := p.raw[k].(string)
	if !ok {
		p.fail(k, p.raw[k], "a string")
		return def
	}
	return s
}

// null records an error when key k is set: an unsupported option.
func (p *reader) null(k string) {
	if p.has(k) {
		p.fail(k, p.raw[k], "null (not supported)")
	}
}
