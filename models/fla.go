package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

func init() {
	Register("gla", LoadFLA)
	Register("delta_net", LoadFLA)
	Register("gated_deltanet", LoadFLA)
}

// LoadFLA is the Loader of the flash-linear-attention language models
// (fla-org/flash-linear-attention GLAForCausalLM, DeltaNetForCausalLM, GatedDeltaNetForCausalLM;
// model_type "gla", "delta_net", "gated_deltanet"). They share one skeleton, a Decoder of blocks
//
//	r += attn(rmsnorm(r)·attn_norm);   r += mlp(rmsnorm(r)·mlp_norm)
//
// with GLAAttention or DeltaNetAttention as the attn mixer and SwiGLUMLP as the mlp, read by fla's
// names: model.embeddings.weight [vocab, hidden], model.layers.{i}.attn_norm.weight,
// model.layers.{i}.attn.* (see the mixers), model.layers.{i}.mlp_norm.weight,
// model.layers.{i}.mlp.{gate,up,down}_proj.weight, model.norm.weight, lm_head.weight. It takes:
//   - tied embeddings (tie_word_embeddings, or lm_head.weight absent): the head is the embedding,
//     and a saved lm_head.weight of a tied model is not read;
//   - the older fused MLP: mlp.gate_proj.weight [2I, H] and no mlp.up_proj.weight;
//   - F32, F16 and BF16 tensors, stored as opt.DType (matrices) or F32 (norms, biases, convs);
//   - a padded vocabulary: logits cover all vocab_size rows.
//
// Tensors upstream leaves unused, skipped here: model.layers.{i}.attn.D (a stray parameter of
// older fla checkpoints, which no fla layer reads). Options that change the computation and are not
// implemented are refused by ParseFLAConfig, naming the key (hybrid attention layers "attn",
// attnres_block_size, GLA feature_map and clamp_min, DeltaNet qk_activation other than silu or
// qk_norm other than l2, ...). Head sizes above 256 are refused for keys (and GLA values); wider
// delta-rule value heads are split (DeltaNetAttention).
func LoadFLA(d *gpu.Device, w Weights, opt LoadOptions) (LM, error) {
	cfg, err := ParseFLAConfig(w.Config())
	if err != nil {
		return nil, err
	}
	if cfg.UseShortConv && cfg.ConvSize < 2 {
		return nil, fmt.Errorf("%w: %s: conv_size = %d, want >= 2", ErrConfig, w.Config().Source, cfg.ConvSize)
	}
	dt := opt.DType
	Hd, V := cfg.Hidden, cfg.Vocab
	var (
		embed, head, normF *gpu.Tensor
		blocks             []Block
	)
	ws := ops.NewWorkspace(d) // shared by the layers, owned (closed) by the first mixer
	fail := func(err error) (LM, error) {
		if len(blocks) == 0 || blocks[0].Mixer == nil {
			ws.Close()
		}
		flaClose(embed, normF)
		if head != embed {
			flaClose(head)
		}
		for _, b := range blocks {
			flaClose(b.Norm, b.MLPNorm)
			if b.Mixer != nil {
				b.Mixer.Close()
			}
			if b.MLP != nil {
				b.MLP.Close()
			}
		}
		return nil, err
	}
	if embed, err = Upload(d, w, dt, "model.embeddings.weight", V, Hd); err != nil {
		return fail(err)
	}
	if cfg.TieEmbeddings || !w.Has("lm_head.weight") {
		head = embed
		w.Skip("lm_head.weight") // tied: a saved copy equals the embedding
	} else if head, err = Upload(d, w, dt, "lm_head.weight", V, Hd); err != nil {
		return fail(err)
	}
	if normF, err = Upload(d, w, gpu.F32, "model.norm.weight", Hd); err != nil {
		return fail(err)
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		var b Block
		blocks = append(blocks, b)
		bp := &blocks[len(blocks)-1]
		if bp.Norm, err = Upload(d, w, gpu.F32, p+"attn_norm.weight", Hd); err != nil {
			return fail(err)
		}
		if bp.MLPNorm, err = Upload(d, w, gpu.F32, p+"mlp_norm.weight", Hd); err != nil {
			return fail(err)
		}
		var mix Mixer
		l := flaLoader{d: d, w: w, dt: dt, prefix: p + "attn.", cfg: cfg}
		if cfg.ModelType == "gla" {
			mix, err = loadGLAAttention(l, ws, i == 0)
		} else {
			mix, err = loadDeltaNetAttention(l, ws, i == 0)
		}
		if err != nil {
			return fail(err)
		}
		bp.Mixer = mix
		w.Skip(p + "attn.D")
		if bp.MLP, err = LoadSwiGLUMLP(d, w, dt, p+"mlp.", Hd, cfg.Intermediate); err != nil {
			return fail(err)
		}
	}
	info := Info{ModelType: cfg.ModelType, Vocab: V, Hidden: Hd, Layers: cfg.Layers, DType: dt}
	return NewDecoder(d, info, embed, head, normF, blocks, float32(cfg.NormEps), opt.Segment)
}

// flaMaxHeadDim is the largest head size K or V the linear-attention kernels take.
const flaMaxHeadDim = 256

// flaSplitV is the widest value head the delta-rule mixers run as one kernel head; wider ones are
// split (DeltaNetAttention). flaMaxHeadDim, a variable so that tests can exercise the split on tiny
// models.
var flaSplitV = flaMaxHeadDim

// flaLoader reads one layer's attention tensors.
type flaLoader struct {
	d      *gpu.Device
	w      Weights
	dt     gpu.DType
	prefix string
	cfg    FLAConfig
}

// rows reads prefix+name with shape [heads·rowsPerHead, cols...] and repeats every head's block of
// rows g times (head j of the result is head j/g of the tensor: fla's '... (h d) -> ... (h g) d',
// grouped-query or grouped-value heads expanded to one per query or value head).
func (l flaLoader) rows(name string, heads, rowsPerHead, cols, g int) ([]float32, error) {
	shape := []int{heads * rowsPerHead}
	if cols > 0 {
		shape = append(shape, cols)
	}
	v, err := l.w.Float32(l.prefix+name, shape...)
	if err != nil || g == 1 {
		return v, err
	}
	blk := rowsPerHead * max(cols, 1)
	out := make([]float32, 0, len(v)*g)
	for h := range heads * g {
		out = append(out, v[(h/g)*blk:(h/g+1)*blk]...)
	}
	return out, nil
}

// mat uploads a [heads·rowsPerHead, cols] matrix (heads repeated g times) in the storage dtype.
func (l flaLoader) mat(name string, heads, rowsPerHead, cols, g int) (*gpu.Tensor, error) {
	v, err := l.rows(name, heads, rowsPerHead, cols, g)
	if err != nil {
		return nil, err
	}
	t, err := l.d.FromFloats(l.dt, v, heads*g*rowsPerHead, cols)
	if err != nil {
		return nil, fmt.Errorf("models: uploading %s%s: %w", l.prefix, name, err)
	}
	return t, nil
}

// fusedPart is one projection of a fused weight: the rows l.rows(name, heads, rows, Hidden, g)
// gives, and where its view goes. A part with skip set is absent (its range is empty).
type fusedPart struct {
	name           string
	heads, rows, g int
	skip           bool
	dst            **gpu.Tensor
}

// loadFused uploads the projections that read a layer's input as one [n, Hidden] weight, the
// parts as views of it (*dst), and returns it with the first row of each part and n (len(parts)+1
// entries), so that a one-row decode step runs them as one GEMV and reads the parts of its output
// in place. It returns a nil weight (and loads nothing) unless every part starts aligned in the
// weight and in a one-row float32 output.
func (l flaLoader) loadFused(what string, parts []fusedPart) (*gpu.Tensor, []int, error) {
	Hd := l.cfg.Hidden
	align := max(int(l.d.Info().StorageAlignment), 1)
	at := make([]int, len(parts)+1)
	n := 0
	for i, p := range parts {
		at[i] = n
		if (n*Hd*l.dt.Size())%align != 0 || (n*4)%align != 0 {
			return nil, nil, nil
		}
		if !p.skip {
			n += p.heads * p.g * p.rows
		}
	}
	at[len(parts)] = n
	all := make([]float32, 0, n*Hd)
	for _, p := range parts {
		if p.skip {
			continue
		}
		v, err := l.rows(p.name, p.heads, p.rows, Hd, p.g)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, v...)
	}
	t, err := l.d.FromFloats(l.dt, all, n, Hd)
	if err != nil {
		return nil, nil, fmt.Errorf("models: uploading %s%s: %w", l.prefix, what, err)
	}
	for i, p := range parts {
		if p.skip {
			continue
		}
		rows := at[i+1] - at[i]
		w, err := t.Window(at[i]*Hd, rows*Hd)
		if err == nil {
			w, err = w.Reshape(rows, Hd)
		}
		if err != nil {
			t.Close()
			return nil, nil, fmt.Errorf("models: a part of %s%s: %w", l.prefix, what, err)
		}
		*p.dst = w
	}
	return t, at, nil
}

// vec uploads a [heads·n] vector (heads repeated g times) as F32.
func (l flaLoader) vec(name string, heads, n, g int) (*gpu.Tensor, error) {
	v, err := l.rows(name, heads, n, 0, g)
	if err != nil {
		return nil, err
	}
	t, err := l.d.FromFloat32(v, heads*g*n)
	if err != nil {
		return nil, fmt.Errorf("models: uploading %s%s: %w", l.prefix, name, err)
	}
	return t, nil
}

// flaConv is a ShortConvolution: a causal depthwise conv of kernel W over D channels (weight F32
// [D, W], from the checkpoint's [D, 1, W]; optional bias [D]) followed by SiLU when SiLU is set.
// Its state is the last W−1 inputs of each channel, [D, W−1] per row.
type flaConv struct {
	Weight, Bias *gpu.Tensor
	D, W         int
	SiLU         bool
}

// loadConv reads name (e.g. "q_conv1d") for heads·rowsPerHead channels, heads repeated g times.
func (l flaLoader) loadConv(name string, heads, rowsPerHead, g int, silu bool) (*flaConv, error) {
	c := &flaConv{D: heads * g * rowsPerHead, W: l.cfg.ConvSize, SiLU: silu}
	v, err := l.w.Float32(l.prefix+name+".weight", heads*rowsPerHead, 1, c.W)
	if err != nil {
		return nil, err
	}
	if g > 1 {
		blk := rowsPerHead * c.W
		out := make([]float32, 0, len(v)*g)
		for h := range heads * g {
			out = append(out, v[(h/g)*blk:(h/g+1)*blk]...)
		}
		v = out
	}
	if c.Weight, err = l.d.FromFloat32(v, c.D, c.W); err != nil {
		return nil, fmt.Errorf("models: uploading %s%s.weight: %w", l.prefix, name, err)
	}
	if l.cfg.ConvBias {
		if c.Bias, err = l.vec(name+".bias", heads, rowsPerHead, g); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// forward runs the conv over x3 [B, T, D] in place (through the [B, D, T] layout of the conv op),
// from state [B, D, W−1] and leaving the last W−1 inputs in it.
func (c *flaConv) forward(s *gpu.Stream, sc *Scratch, x3, state *gpu.Tensor, B, T int) error {
	xt, err := sc.Get("fla.convx", gpu.F32, B, c.D, T)
	if err != nil {
		return err
	}
	yt, err := sc.Get("fla.convy", gpu.F32, B, c.D, T)
	if err != nil {
		return err
	}
	fs, err := sc.Get("fla.convs", gpu.F32, B, c.D, c.W-1)
	if err != nil {
		return err
	}
	if err := ops.Transpose(s, xt, ops.Whole(x3), B); err != nil {
		return err
	}
	if err := ops.CausalConv1D(s, yt, xt, c.Weight, ops.CausalConv1DOptions{Bias: c.Bias, InitialState: state, FinalState: fs, SiLU: c.SiLU}); err != nil {
		return err
	}
	if err := s.Copy(state, fs); err != nil {
		return err
	}
	return ops.Transpose(s, x3, ops.Whole(yt), B)
}

// step runs one token per row: x [B, D] → out [B, D], advancing state.
func (c *flaConv) step(s *gpu.Stream, out, x, state *gpu.Tensor) error {
	return ops.CausalConv1DUpdate(s, out, state, x, c.Weight, ops.CausalConv1DUpdateOptions{Bias: c.Bias, SiLU: c.SiLU})
}

// Close frees the weights.
func (c *flaConv) Close() error {
	if c == nil {
		return nil
	}
	return flaClose(c.Weight, c.Bias)
}

// flaProject records the projection x·Wᵀ of x [B, T, H] (or [B, H] in decode) into the scratch
// buffer key, seen as [B, T, D], and, when conv is not nil, the short conv over it (in place in
// prefill; from a raw projection in decode).
func flaProject(s *gpu.Stream, sc *Scratch, key string, x, w *gpu.Tensor, conv *flaConv, state *gpu.Tensor, B, T, D int, decode bool) error {
	if decode {
		out, err := sc.Get(key, gpu.F32, B, D)
		if err != nil {
			return err
		}
		if conv == nil {
			return ops.Linear(s, out, x, w, nil)
		}
		raw, err := sc.Get("fla.raw", gpu.F32, B, D)
		if err != nil {
			return err
		}
		if err := ops.Linear(s, raw, x, w, nil); err != nil {
			return err
		}
		return conv.step(s, out, raw, state)
	}
	out, err := sc.Get(key, gpu.F32, B, T, D)
	if err != nil {
		return err
	}
	if err := ops.Linear(s, out, x, w, nil); err != nil {
		return err
	}
	if conv == nil {
		return nil
	}
	return conv.forward(s, sc, out, state, B, T)
}

// flaOutput records the per-head output norm and o_proj: o [M, heads·V] (scratch key "fla.o",
// M = B·T) → out [B, T, H] (prefill) or [B, H] (decode) = o_proj(rmsnorm_head(o)·norm (·silu(gate)));
// gate [M, heads·V] or nil.
func flaOutput(s *gpu.Stream, sc *Scratch, out, o, gate, norm, oProj *gpu.Tensor, B, T, heads, V int, eps float32, decode bool) error {
	rows := B * T
	var on *gpu.Tensor
	var err error
	if decode {
		on, err = sc.Get("fla.onorm", gpu.F32, B, heads*V)
	} else {
		on, err = sc.Get("fla.onorm", gpu.F32, B, T, heads*V)
	}
	if err != nil {
		return err
	}
	if gate != nil {
		err = ops.GatedRMSNorm(s, on, ops.Whole(o), ops.Whole(gate), norm, ops.GatedRMSNormOptions{Eps: eps, NormBeforeGate: true, GroupSize: V})
	} else {
		var o2, on2 *gpu.Tensor
		if o2, err = sc.Get("fla.o", gpu.F32, rows*heads, V); err == nil {
			if on2, err = sc.Get("fla.onorm", gpu.F32, rows*heads, V); err == nil {
				err = ops.RMSNorm(s, on2, o2, norm, eps)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("output norm: %w", err)
	}
	if err := ops.Linear(s, out, on, oProj, nil); err != nil {
		return fmt.Errorf("o_proj: %w", err)
	}
	return nil
}

// flaClose closes every non-nil tensor.
func flaClose(ts ...*gpu.Tensor) error {
	var errs []error
	for _, t := range ts {
		if t != nil {
			errs = append(errs, t.Close())
		}
	}
	return errors.Join(errs...)
}

func expf64(x float64) float64 { return math.Exp(x) }

// flaNonNil returns ts without its nil entries.
func flaNonNil(ts []*gpu.Tensor) []*gpu.Tensor {
	out := ts[:0]
	for _, t := range ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// attnStateShapes is the Mixer state of a linear-attention layer: [heads, k, v], then one
// window [D, W−1] per short convolution present.
func attnStateShapes(heads, k, v int, convs [3]*flaConv) [][]int {
	sh := [][]int{{heads, k, v}}
	for _, c := range convs {
		if c != nil {
			sh = append(sh, []int{c.D, c.W - 1})
		}
	}
	return sh
}

// checkAttnInput checks a prefill input x [B, T, hidden] and returns B and T.
func checkAttnInput(layer string, x *gpu.Tensor, hidden int) (int, int, error) {
	sh := x.Shape()
	if len(sh) != 3 || sh[2] != hidden {
		return 0, 0, fmt.Errorf("%w: %s: x is %v, want [B, T, %d]", ErrInput, layer, sh, hidden)
	}
	return sh[0], sh[1], nil
}
