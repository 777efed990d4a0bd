package reference

import (
	"math"
	"testing"
)

func TestGELU(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{0, 0}, {1, 0.8413447460685429}, {-1, -0.15865525393145707}, {3, 2.9959503059051097}, {-10, -7.619853024160526e-23},
	} {
		if got := GELU1(c.x); math.Abs(got-c.want) > 1e-15*math.Max(1, math.Abs(c.want)) && math.Abs(got-c.want) > 1e-12*math.Abs(c.want) {
			t.Errorf("GELU(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestLayerNormRef(t *testing.T) {
	out, err := LayerNorm([]float64{1, 2, 3, 10, 10, 10}, []float64{2, 1, 1}, []float64{0, 1, -1}, 2, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := math.Sqrt(1.5) // (x − 2)/sqrt(2/3)
	want := []float64{-2 * s, 1, -1 + s, 0, 1, -1}
	for i := range want {
		if math.Abs(out[i]-want[i]) > 1e-12 {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
	if _, err := LayerNorm([]float64{1}, []float64{1}, nil, 1, 1, 1e-5); err == nil {
		t.Error("weight without bias accepted")
	}
}

func TestConv1DRef(t *testing.T) {
	// x [1, 2, 3], weight [1, 2, 2], padding 1: Lout = 4
	out, lout, err := Conv1D([]float64{1, 2, 3, 4, 5, 6}, []float64{1, 10, 100, 1000}, []float64{0.5}, 1, 2, 3, 1, 2, 1)
	if err != nil || lout != 4 {
		t.Fatal(err, lout)
	}
	// t: Σ_ci Σ_k w[ci,k] x[ci, t+k−1]
	want := []float64{0.5 + 10*1 + 1000*4, 0.5 + 1 + 20 + 400 + 5000, 0.5 + 2 + 30 + 500 + 6000, 0.5 + 3 + 600}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
	dw, lout, err := DepthwiseConv1D([]float64{1, 2, 3, 4, 5, 6}, []float64{1, 10, 100, 1000}, nil, 1, 2, 3, 2, 0)
	if err != nil || lout != 2 {
		t.Fatal(err, lout)
	}
	if dw[0] != 1+10*2 || dw[1] != 2+10*3 || dw[2] != 4*100+5*1000 || dw[3] != 5*100+6*1000 {
		t.Fatalf("depthwise = %v", dw)
	}
	if _, _, err := Conv1D(make([]float64, 3), make([]float64, 7), nil, 1, 1, 3, 1, 7, 0); err == nil {
		t.Error("L < K without padding accepted")
	}
}

// TestVocosAudioLength pins the output lengths of torch.istft (center) and Vocos's "same" ISTFT.
func TestVocosAudioLength(t *testing.T) {
	if n := VocosAudioLength(VocosParams{NFFT: 1024, Hop: 256, Padding: "center"}, 100); n != 256*99 {
		t.Errorf("center: %d", n)
	}
	if n := VocosAudioLength(VocosParams{NFFT: 1024, Hop: 256, Padding: "same"}, 100); n != 256*100 {
		t.Errorf("same: %d", n)
	}
}
