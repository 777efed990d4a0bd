// Package models assembles vkseq's ops into the language models users have checkpoints for
// (Mamba, Mamba-2, GLA, DeltaNet, gated DeltaNet; docs/design.md §13), loaded by their upstream
// tensor names from checkpoint folders (config.json + model.safetensors or shards).
//
// The nouns:
//
//   - Weights: where tensors come from, by upstream name: a Checkpoint (a folder on disk) or
//     Random (random weights in a published configuration, for benchmarks).
//   - Mixer: the sequence-mixing layer of a block (a Mamba mixer, a GLA attention, ...), with a
//     chunked Forward (prefill) and a recurrent Step (decode) over its per-layer state.
//   - Layer: a stateless per-token layer (a SwiGLU MLP).
//   - Decoder: the pre-norm residual stack every model here shares: embedding, blocks of
//     (RMSNorm, Mixer[, RMSNorm, MLP]), final RMSNorm and LM head. It implements LM.
//   - Cache: the state of every layer for a batch of rows, plus the decode scratch and the last
//     logits, so that decoding allocates nothing.
//
// A model type is added by registering a loader (Register) that reads its config and weights
// and returns an LM, usually a *Decoder built from its own Mixer.
//
// # Running a checkpoint from the Hugging Face hub
//
// Download the folder's config.json and model.safetensors (or model.safetensors.index.json and
// every shard it names) into one directory, e.g. for state-spaces/mamba-130m-hf, then:
//
//	vkbench forward -model DIR -in ids.safetensors -out logits.safetensors [-dtype f16]
//	vkbench generate -model DIR -prompt-ids 1,2,3 -max-new-tokens 32
//	vkbench bench -model DIR -shape B=1,T=2048 -dtype f16
//
// or from Go: m, err := models.Load(dev, DIR, models.LoadOptions{DType: gpu.F16}). Tokenization
// is left to the caller (ids in, logits or ids out).
//
// A checkpoint published only as a PyTorch pickle (pytorch_model.bin, e.g. state-spaces/mamba2-130m)
// is converted once, next to its config.json, with:
//
//	import torch, safetensors.torch
//	sd = torch.load("pytorch_model.bin", map_location="cpu")
//	safetensors.torch.save_file({k: v.contiguous().clone() for k, v in sd.items()}, "model.safetensors")
//
// (clone un-shares a tied head; a checkpoint without lm_head.weight is read as tied). The library
// never reads pickles.
//
// Loader rules for Mamba and Mamba-2 (model_type "mamba", "mamba2", or a mamba_ssm config.json
// without model_type): the embedding may be spelled backbone.embedding.weight (mamba_ssm) or
// backbone.embeddings.weight (transformers); lm_head.weight absent means tied embeddings; the
// vocabulary is padded up to pad_vocab_size_multiple for mamba_ssm configs, and logits cover the
// padded vocabulary; in_proj/out_proj biases follow use_bias (or ssm_cfg.bias). Refused with an
// error naming the key: attention layers (attn_layer_idx), an MLP in the blocks (d_intermediate),
// LayerNorm (rms_norm false), Mamba-2 without its gated norm or with norm_before_gate, D per channel
// (D_has_hdim), dt limits other than (0, inf). No Mamba tensor is skipped: a tensor the model does
// not read is an error (the config contradicts the weights).
package models
