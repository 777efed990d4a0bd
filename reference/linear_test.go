package reference

import (
	"math"
	"testing"
)

func TestLinearByHand(t *testing.T) {
	// x [2,3], W [2,3], b [2]: out[m,n] = Σ_k x[m,k] W[n,k] + b[n].
	out, err := Linear([]float64{1, 2, 3, 4, 5, 6}, []float64{1, 0, -1, 0.5, 0.5, 0.5}, []float64{10, 0}, 2, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{8, 3, 8, 7.5} {
		if out[i] != w {
			t.Fatalf("out = %v, want [8 3 8 7.5]", out)
		}
	}
	if _, err := Linear([]float64{1}, []float64{1, 2}, nil, 1, 1, 1); err == nil {
		t.Error("mis-sized weight accepted")
	}
}

func TestEmbeddingTransposeSwiGLUByHand(t *testing.T) {
	e, err := Embedding([]int32{2, 0}, []float64{0, 1, 2, 3, 4, 5}, 3, 2)
	if err != nil || e[0] != 4 || e[1] != 5 || e[2] != 0 || e[3] != 1 {
		t.Fatalf("embedding = %v, %v", e, err)
	}
	if _, err := Embedding([]int32{3}, []float64{0, 1, 2, 3, 4, 5}, 3, 2); err == nil {
		t.Error("id = V accepted")
	}
	// [1, 2, 3] -> [1, 3, 2]
	tr, _ := Transpose([]float64{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	for i, w := range []float64{1, 4, 2, 5, 3, 6} {
		if tr[i] != w {
			t.Fatalf("transpose = %v", tr)
		}
	}
	s, _ := SwiGLU([]float64{0, 1}, []float64{5, 2})
	if s[0] != 0 || math.Abs(s[1]-2/(1+math.Exp(-1))) > 1e-15 {
		t.Fatalf("swiglu = %v", s)
	}
}

func TestActivationsByHand(t *testing.T) {
	l := LogSigmoid([]float64{0, -1000, 1000}, 2)
	if math.Abs(l[0]+math.Ln2/2) > 1e-15 || l[1] != -500 || l[2] != 0 {
		t.Fatalf("logsigmoid/2 = %v, want [-ln2/2 -500 0]", l)
	}
	sp, _ := SoftplusBias([]float64{0, 30, -1, 0}, []float64{0, -5})
	if math.Abs(sp[0]-math.Ln2) > 1e-15 || sp[1] != 25 || math.Abs(sp[2]-math.Log1p(math.Exp(-1))) > 1e-15 || math.Abs(sp[3]-math.Log1p(math.Exp(-5))) > 1e-15 {
		t.Fatalf("softplus_bias = %v", sp)
	}
}

func TestNormsByHand(t *testing.T) {
	res, out, err := AddRMSNorm([]float64{1, 1}, []float64{2, -4}, []float64{1, 2}, 0)
	// residual [3, -3], rms 3: out [1, -2]
	if err != nil || res[0] != 3 || res[1] != -3 || math.Abs(out[0]-1) > 1e-15 || math.Abs(out[1]+2) > 1e-15 {
		t.Fatalf("add_rmsnorm = %v %v %v", res, out, err)
	}
	// With a huge gate silu(g) = g, so gate-first normalises x·g and norm-first multiplies by g.
	x, g, w := []float64{3, -3, 1, 1}, []float64{100, 100, 100, 50}, []float64{1, 1}
	first, _ := GatedRMSNorm(x, g, w, 1, 4, 2, 0, true)
	gateFirst, _ := GatedRMSNorm(x, g, w, 1, 4, 2, 0, false)
	wantFirst := []float64{100, -100, 100, 50}
	// group 2: x·g = [100, 50], rms = sqrt((100²+50²)/2)
	r := math.Sqrt((100*100 + 50*50) / 2.0)
	wantGate := []float64{1, -1, 100 / r, 50 / r}
	for i := range x {
		if math.Abs(first[i]-wantFirst[i]) > 1e-9 || math.Abs(gateFirst[i]-wantGate[i]) > 1e-9 {
			t.Fatalf("gated: norm first %v (want %v), gate first %v (want %v)", first, wantFirst, gateFirst, wantGate)
		}
	}
	if _, err := GatedRMSNorm(x, g, w, 1, 4, 3, 0, true); err == nil {
		t.Error("group not dividing D accepted")
	}
}

func TestSampleByHand(t *testing.T) {
	ids, _, err := Sample([]float64{1, 5, 5, 2}, 1, 4, SampleOptions{})
	if err != nil || ids[0] != 1 {
		t.Fatalf("argmax with a tie = %v %v, want 1", ids, err)
	}
	// Top-p 0.5 over probabilities ∝ {1, 8, 1}: only id 1 is kept, whatever u.
	for step := range uint32(20) {
		ids, _, _ := Sample([]float64{0, math.Log(8), 0}, 1, 3, SampleOptions{Temperature: 1, TopP: 0.5, Seed: 9, Step: step})
		if ids[0] != 1 {
			t.Fatalf("step %d: id %d outside the nucleus {1}", step, ids[0])
		}
	}
	// VocabLimit excludes the padded columns.
	ids, _, _ = Sample([]float64{0, 0, 100}, 1, 3, SampleOptions{VocabLimit: 2})
	if ids[0] != 0 {
		t.Fatalf("VocabLimit 2 picked %d", ids[0])
	}
	if u, v := SampleUniform(1, 2, 3), SampleUniform(1, 2, 3); u != v || u < 0 || u >= 1 || u == SampleUniform(1, 2, 4) {
		t.Fatalf("SampleUniform not a deterministic draw in [0,1) varying with the row: %v %v", u, v)
	}
}
