package models

import (
	"context"
	"io"

	"github.com/vkseq/vkseq/gpu"
)

// LM is a causal language model living on one device.
//
// Prefill runs whole prompts through the chunked ops (segment by segment, so the scratch is
// bounded independently of T); Step records one token for every row through the recurrent ops
// and is meant to be submitted once per token together with a sampler (ops.Sample); Generator
// records that pair once and replays it per token with no host recording. Both leave
// the logits of the last position in Cache.Logits; the logits cover the padded vocabulary, as
// upstream's do. prefill(T) and prefill(T−k) followed by k steps give the same logits.
type LM interface {
	io.Closer
	// Info describes the model (type, sizes, parameter count).
	Info() Info
	// NewCache allocates the state of every layer for batch rows (zeroed), the decode scratch and
	// Logits [batch, Vocab] F32.
	NewCache(batch int) (*Cache, error)
	// Prefill runs ids (host, row-major [B, T] with B = c.Batch(); every id in [0, Vocab)) through
	// the model on stream s, continuing from the rows' states in c and advancing them. lens gives
	// each row's real length (≤ T; the rest of the row is padding and is not read); nil means
	// every row has T tokens. A row of length 0 is left as it was. If all is non-nil it receives
	// the logits of every position, host [B, T, Vocab] (positions past a row's length are left
	// untouched). The logits of each row's last real position end in c.Logits. Prefill submits
	// and waits on s (possibly several times); s must be idle on entry and is idle on return.
	Prefill(ctx context.Context, s *gpu.Stream, c *Cache, ids []int32, T int, lens []int, all []float32) error
	// Step records (does not submit) one decode step on s: ids is an I32 device tensor [B] (for
	// example the output of ops.Sample of the previous step, so no host round trip is needed);
	// the logits go to c.Logits [B, Vocab]. It uses only the cache's memory (its scratch grows on
	// the first step and is reused after, so later steps allocate no device memory). Ids
	// outside [0, Vocab) give NaN logits for their row (validate host ids before upload).
	Step(s *gpu.Stream, c *Cache, ids *gpu.Tensor) error
}

// Info describes a loaded model.
type Info struct {
	// ModelType is the config.json model_type ("mamba", "mamba2", "gla", ...).
	ModelType string
	// Vocab is the number of logits per position (the padded vocabulary); Hidden the residual width;
	// Layers the number of blocks.
	Vocab, Hidden, Layers int
	// VocabSize is the real vocabulary (config vocab_size before padding, ≤ Vocab); ids in
	// [VocabSize, Vocab) are padding a sampler should exclude (ops.SampleOptions.VocabLimit).
	VocabSize int
	// Params is the number of parameters held on the device (tied embeddings counted once).
	Params int64
	// WeightBytes is the device memory of the weights; DecodeBytes the bytes of weights one decode
	// step reads (every matrix once, the embedding only one row per token).
	WeightBytes, DecodeBytes int64
	// TokenFLOPs approximates the FLOPs of one position through the blocks and the final norm: 2 per
	// element of every 2-D weight of the blocks (projections, conv taps, SSM A). HeadFLOPs is the LM
	// head's 2·Vocab·Hidden, paid per position whose logits are computed.
	TokenFLOPs, HeadFLOPs int64
	// DType is the storage of the large matrices (F32 or F16); norms, biases, conv weights and
	// SSM parameters are always F32.
	DType gpu.DType
}

// Mixer is the sequence-mixing layer of one block: it reads the normalised hidden states and
// writes its contribution to the residual stream, carrying a per-row state across calls.
//
// A Mixer is implemented once per model family (Mamba, Mamba-2, GLA, DeltaNet, ...). Its state is
// a list of F32 tensors allocated by the Cache from StateShapes, each shaped [B, shape...] (row b's
// state is the b-th contiguous block, so rows can be reset or run on their own); the Cache zeroes
// them at creation and on reset, so zero must mean "no history". Forward and Step record on the
// stream only; they never submit, wait or read back. Intermediates come from sc (keys are strings
// private to the mixer, e.g. "mamba.xz"; a key's tensor is reused by every layer, which the
// stream's barriers make safe) so that steady-state calls allocate no device memory.
type Mixer interface {
	io.Closer
	// StateShapes returns the per-row shapes of the layer's state tensors, in the order Forward and
	// Step receive them (e.g. Mamba: conv state [D, W−1], SSM state [D, N]).
	StateShapes() [][]int
	// Forward records the chunked (prefill) form: x F32 [B, T, H] → out F32 [B, T, H], reading
	// state as the initial state and leaving the final state in it. out must not alias x.
	Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error
	// Step records the recurrent (decode) form for one token per row: x F32 [B, H] → out F32
	// [B, H], advancing state in place. It must equal Forward with T = 1.
	Step(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor, state []*gpu.Tensor) error
}

// Layer is a stateless per-position layer (a SwiGLU MLP): x F32 [M, H] → out F32 [M, H], M any
// number of rows (B·T for prefill, B for decode). out must not alias x. Like Mixer it records
// only, with intermediates from sc.
type Layer interface {
	io.Closer
	Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor) error
}

// Block is one pre-norm residual block:
//
//	r ← r + Mixer(rmsnorm(r)·Norm);   and if MLP != nil:   r ← r + MLP(rmsnorm(r)·MLPNorm)
//
// Norm and MLPNorm are F32 [H] RMSNorm weights (eps from the Decoder).
type Block struct {
	Norm    *gpu.Tensor
	Mixer   Mixer
	MLPNorm *gpu.Tensor
	MLP     Layer
}
