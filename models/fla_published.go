package models

// Published fla configurations for `vkbench bench -model NAME` (random weights, no download):
//   - gla-340m: fla's GLA 340M training config (hidden 1024, 4 heads, 24 layers, expand_k 0.5,
//     expand_v 1, no short convs, tied embeddings, vocab 32000), as fla-hub/gla-340M-15B;
//   - delta_net-340m: fla-org/flame configs/delta_net_340M.json (hidden 1024, 8 heads, 24 layers,
//     short convs, beta, no output gate, untied, vocab 32000);
//   - gated_deltanet-340m: flame's gated_deltanet_340M.json (hidden 1024, 6 heads of head_dim 256,
//     expand_v 2, 21 layers, short convs, output gate, untied, vocab 32000): 511.6M parameters
//     despite the name, plus 67.3M on the device for the q/k copies of its split value heads.
func init() {
	common := func(mt string) map[string]any {
		return map[string]any{"model_type": mt, "hidden_size": 1024.0, "hidden_ratio": 4.0, "norm_eps": 1e-6,
			"hidden_act": "swish", "vocab_size": 32000.0, "conv_size": 4.0, "bos_token_id": 1.0, "eos_token_id": 2.0}
	}
	RegisterPublished("gla-340m", func() *Random {
		c := common("gla")
		for k, v := range map[string]any{"num_heads": 4.0, "num_hidden_layers": 24.0, "expand_k": 0.5, "expand_v": 1.0,
			"use_short_conv": false, "use_output_gate": true, "fuse_norm": true, "tie_word_embeddings": true} {
			c[k] = v
		}
		return NewRandom(NewConfig("published gla-340m", c), "lm_head.weight")
	})
	RegisterPublished("delta_net-340m", func() *Random {
		c := common("delta_net")
		for k, v := range map[string]any{"num_heads": 8.0, "num_hidden_layers": 24.0, "expand_k": 1.0, "expand_v": 1.0,
			"use_short_conv": true, "use_beta": true, "use_gate": false, "qk_activation": "silu", "qk_norm": "l2",
			"tie_word_embeddings": false} {
			c[k] = v
		}
		return NewRandom(NewConfig("published delta_net-340m", c))
	})
	RegisterPublished("gated_deltanet-340m", func() *Random {
		c := common("gated_deltanet")
		for k, v := range map[string]any{"num_heads": 6.0, "head_dim": 256.0, "expand_v": 2.0, "num_hidden_layers": 21.0,
			"use_short_conv": true, "use_gate": true, "tie_word_embeddings": false} {
			c[k] = v
		}
		return NewRandom(NewConfig("published gated_deltanet-340m", c))
	})
}
