package models

import (
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestFoldedNormDecode runs decode steps of each published configuration, shrunk (hidden 256, two
// layers, a small vocabulary) but wide enough for the norm fold (ops.LinearRMSNormFolded needs
// K ≥ 128 on lavapipe), with f16 weights, B = 1 (every norm folded) and B = 2 (the LM head's and
// the MLPs' only), with the block norms folded into the layers' first projections and without, and
// compares the logits of the decoded positions (f32 arithmetic in another order: ≤ 1e-4 relative
// L2).
func TestFoldedNormDecode(t *testing.T) {
	d := device(t)
	defer func(v bool) { foldNorms = v }(foldNorms)
	for _, name := range PublishedNames() {
		t.Run(name, func(t *testing.T) {
			w, err := Published(name)
			if err != nil {
				t.Fatal(err)
			}
			raw := w.Cfg.Raw
			for k, v := range map[string]float64{"d_model": 256, "hidden_size": 256, "n_layer": 2, "num_hidden_layers": 2, "vocab_size": 500, "num_heads": 2} {
				if _, ok := raw[k]; ok {
					raw[k] = v
				}
			}
			m, err := Build(d, w, LoadOptions{DType: gpu.F16})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			const T, k = 7, 4
			V := m.Info().Vocab
			for _, B := range []int{1, 2} {
				ids := []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7}[:B*T]
				foldNorms = false
				want := runLM(t, m, ids, B, T, k)
				foldNorms = true
				got := runLM(t, m, ids, B, T, k)
				for b := range B {
					for j := T - k; j < T; j++ {
						at := (b*T + j) * V
						if e := relErr(got[at:at+V], want[at:at+V]); !(e <= 1e-4) {
							t.Errorf("B=%d row %d position %d: folded logits differ from unfolded: rel. error %.3g", B, b, j, e)
						}
					}
				}
			}
		})
	}
}
