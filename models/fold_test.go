package models

import (
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestFoldedNormDecode runs decode steps of each published configuration, shrunk (hidden 256, two
// layers, a small vocabulary) but wide enough for the norm fold (ops.LinearRMSNormFolded needs
// K ≥ 128 on lavapipe), with f16 weights and B = 1, with the block norms folded into the layers'
// first projections and without, and compares the logits after every step (f32 arithmetic in a
// different order: ≤ 1e-4 relative L2).
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
			logits := map[bool][][]float32{}
			for _, fold := range []bool{false, true} {
				foldNorms = fold
				c, err := m.NewCache(1)
				if err != nil {
					t.Fatal(err)
				}
				s, err := d.NewStream()
				if err != nil {
					t.Fatal(err)
				}
				ids, err := d.NewTensor(gpu.I32, 1)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Prefill(t.Context(), s, c, []int32{3, 1, 4}, 3, nil, nil); err != nil {
					t.Fatal(err)
				}
				for k, id := range []int32{1, 5, 9, 2} {
					if err := ids.WriteInt32([]int32{id}); err != nil {
						t.Fatal(err)
					}
					if err := m.Step(s, c, ids); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					l, err := c.Logits.ReadFloat32()
					if err != nil {
						t.Fatal(err)
					}
					logits[fold] = append(logits[fold], l)
					_ = k
				}
				ids.Close()
				s.Close()
				c.Close()
			}
			for k := range logits[false] {
				if e := relErr(logits[true][k], logits[false][k]); !(e <= 1e-4) {
					t.Errorf("step %d: folded logits differ from unfolded: rel. error %.3g", k, e)
				} else {
					t.Logf("step %d: rel. error %.2g", k, e)
				}
			}
			if fmt.Sprint(logits[true][0][:4]) == fmt.Sprint(logits[true][1][:4]) {
				t.Errorf("logits did not change between steps")
			}
		})
	}
}
