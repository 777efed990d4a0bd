package models

import (
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
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

// TestMambaFoldedMixerStep compares one Mamba mixer's folded decode step (StepNormed: the block
// norm, in_proj and the conv1d step in one dispatch on CPU devices) with its plain one
// (ops.AddRMSNorm, then Step) on the mixer's own output and new states. These depend strongly on
// every part of the step, unlike a whole model's logits: with random published-size weights,
// TestFoldedNormDecode's logits moved by only 1e-4 when x_proj's dt, B and C were zeroed.
// mamba-130m's layer shrunk to hidden 256, f16 weights, random non-zero states, three steps in a
// row on one scratch (≤ 1e-4 relative L2).
func TestMambaFoldedMixerStep(t *testing.T) {
	d := device(t)
	w, err := Published("mamba-130m")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{"d_model": 256, "n_layer": 1, "vocab_size": 64} {
		w.Cfg.Raw[k] = v
	}
	m, err := Build(d, w, LoadOptions{DType: gpu.F16})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	blk := m.(*Decoder).Blocks[0]
	mx := blk.Mixer.(*MambaMixer)
	H := mx.Cfg.Hidden
	r := rand.New(rand.NewPCG(7, 11))
	randt := func(shape ...int) *gpu.Tensor {
		n := 1
		for _, v := range shape {
			n *= v
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		ten, err := d.FromFloats(gpu.F32, x, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ten.Close() })
		return ten
	}
	empty := func(shape ...int) *gpu.Tensor {
		ten, err := d.NewTensor(gpu.F32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ten.Close() })
		return ten
	}
	shapes := mx.StateShapes()
	var states [2][]*gpu.Tensor // folded, plain
	for i := range states {
		for _, sh := range shapes {
			states[i] = append(states[i], empty(append([]int{1}, sh...)...))
		}
	}
	for j, sh := range shapes {
		init := randt(append([]int{1}, sh...)...)
		for i := range states {
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Copy(states[i][j], init); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	sc := NewScratch(d)
	defer sc.Close()
	for step := range 3 {
		res, add := randt(1, H), randt(1, H)
		outs := [2]*gpu.Tensor{empty(1, H), empty(1, H)}
		s, err := d.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		in := ops.NormedRows{Residual: res, Add: add, Weight: blk.Norm, Eps: m.(*Decoder).Eps, ResidualOut: empty(1, H)}
		ok, err := mx.StepNormed(s, sc, outs[0], in, states[0])
		if err != nil || !ok {
			t.Fatalf("step %d: StepNormed: folded %v, err %v; want a folded step", step, ok, err)
		}
		res2, normed := empty(1, H), empty(1, H)
		if err := s.Copy(res2, res); err != nil {
			t.Fatal(err)
		}
		if err := ops.AddRMSNorm(s, normed, res2, add, blk.Norm, in.Eps); err != nil {
			t.Fatal(err)
		}
		if err := mx.Step(s, sc, outs[1], normed, states[1]); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		for name, pair := range map[string][2]*gpu.Tensor{"out": outs, "conv state": {states[0][0], states[1][0]}, "ssm state": {states[0][1], states[1][1]}} {
			got, err := pair[0].ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			want, err := pair[1].ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want); !(e <= 1e-4) {
				t.Errorf("step %d: %s: folded differs from plain: rel. error %.3g", step, name, e)
			}
		}
	}
}
