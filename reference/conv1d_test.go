package reference_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// skConvolveFull is np.convolve(a, v) in 'full' mode: c[t] = Σ_j v[j] a[t-j].
func skConvolveFull(a, v []float64) []float64 {
	c := make([]float64, len(a)+len(v)-1)
	for i := range a {
		for j := range v {
			c[i+j] += a[i] * v[j]
		}
	}
	return c
}

// skCausalByConvolve is the causal conv of one row written with np.convolve:
// prepend the state, convolve with the reversed kernel, keep the aligned part.
func skCausalByConvolve(state, x, w []float64, bias float64) []float64 {
	s := len(w) - 1
	ext := append(slices.Clone(state), x...)
	rev := slices.Clone(w)
	slices.Reverse(rev)
	c := skConvolveFull(ext, rev)
	out := make([]float64, len(x))
	for t := range x {
		out[t] = c[s+t] + bias
	}
	return out
}

func TestCausalConv1DHandCase(t *testing.T) {
	in := reference.CausalConv1DInput{Batch: 1, Dim: 1, Len: 4, Width: 3,
		X: []float64{1, 2, 3, 4}, Weight: []float64{1, 10, 100}}
	out, fs, err := reference.CausalConv1D(in)
	if err != nil {
		t.Fatal(err)
	}
	skExact(t, "out", out, []float64{100, 210, 321, 432}, 0)
	skExact(t, "final_states", fs, []float64{3, 4}, 0)

	in.Bias = []float64{-0.5}
	in.InitialStates = []float64{7, 8}
	out, _, err = reference.CausalConv1D(in)
	if err != nil {
		t.Fatal(err)
	}
	// t=0: 1*7 + 10*8 + 100*1 - 0.5; t=1: 8 + 10 + 200 - 0.5.
	skExact(t, "out with state and bias", out, []float64{186.5, 217.5, 320.5, 431.5}, 0)

	in.Activation = "silu"
	out, _, err = reference.CausalConv1D(in)
	if err != nil {
		t.Fatal(err)
	}
	skExact(t, "silu", out, []float64{skSiLU(186.5), skSiLU(217.5), skSiLU(320.5), skSiLU(431.5)}, 1e-12)

	// Short sequence: the final state reaches back into the initial state.
	short := reference.CausalConv1DInput{Batch: 1, Dim: 1, Len: 1, Width: 4,
		X: []float64{5}, Weight: []float64{1, 2, 3, 4}, InitialStates: []float64{1, 2, 3}}
	out, fs, err = reference.CausalConv1D(short)
	if err != nil {
		t.Fatal(err)
	}
	skExact(t, "short out", out, []float64{1 + 4 + 9 + 20}, 0)
	skExact(t, "short final", fs, []float64{2, 3, 5}, 0)
	short.InitialStates = nil
	_, fs, _ = reference.CausalConv1D(short)
	skExact(t, "short final, zero state", fs, []float64{0, 0, 5}, 0)
}

func TestCausalConv1DMatchesConvolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		bs, dim, l, w int
		state         bool
	}{{1, 1, 5, 1, false}, {2, 3, 17, 4, false}, {2, 3, 17, 4, true}, {1, 5, 2, 4, true}, {3, 2, 9, 2, true}, {1, 2, 0, 3, true}} {
		s := c.w - 1
		in := reference.CausalConv1DInput{Batch: c.bs, Dim: c.dim, Len: c.l, Width: c.w,
			X: skRandn(rng, c.bs*c.dim*c.l, 1), Weight: skRandn(rng, c.dim*c.w, 1), Bias: skRandn(rng, c.dim, 1)}
		if c.state {
			in.InitialStates = skRandn(rng, c.bs*c.dim*s, 1)
		}
		x0 := slices.Clone(in.X)
		out, fs, err := reference.CausalConv1D(in)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < c.bs; b++ {
			for d := 0; d < c.dim; d++ {
				st := make([]float64, s)
				if c.state {
					st = in.InitialStates[(b*c.dim+d)*s : (b*c.dim+d+1)*s]
				}
				row := in.X[(b*c.dim+d)*c.l : (b*c.dim+d+1)*c.l]
				want := skCausalByConvolve(st, row, in.Weight[d*c.w:(d+1)*c.w], in.Bias[d])
				skClose(t, "row", out[(b*c.dim+d)*c.l:(b*c.dim+d+1)*c.l], want, 1e-14)
				ext := append(slices.Clone(st), row...)
				skExact(t, "final state", fs[(b*c.dim+d)*s:(b*c.dim+d+1)*s], ext[len(ext)-s:], 0)
			}
		}
		skExact(t, "x unchanged", in.X, x0, 0)
	}
}

func TestCausalConv1DChainingAndUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	bs, dim, l, w := 2, 3, 12, 4
	s := w - 1
	in := reference.CausalConv1DInput{Batch: bs, Dim: dim, Len: l, Width: w, Activation: "silu",
		X: skRandn(rng, bs*dim*l, 1), Weight: skRandn(rng, dim*w, 1), Bias: skRandn(rng, dim, 1),
		InitialStates: skRandn(rng, bs*dim*s, 1)}
	full, fullState, err := reference.CausalConv1D(in)
	if err != nil {
		t.Fatal(err)
	}
	cut := func(x []float64, t0, t1 int) []float64 {
		var y []float64
		for r := 0; r < bs*dim; r++ {
			y = append(y, x[r*l+t0:r*l+t1]...)
		}
		return y
	}
	// Prefill 7 tokens with CausalConv1D, then decode 2, 1 and 2 tokens.
	first := in
	first.Len, first.X = 7, cut(in.X, 0, 7)
	o, state, err := reference.CausalConv1D(first)
	if err != nil {
		t.Fatal(err)
	}
	skClose(t, "prefill", o, cut(full, 0, 7), 1e-15)
	pos := 7
	for _, n := range []int{2, 1, 2} {
		before := slices.Clone(state)
		up := reference.CausalConv1DUpdateInput{Batch: bs, Dim: dim, Len: n, Width: w, Activation: "silu",
			X: cut(in.X, pos, pos+n), State: state, Weight: in.Weight, Bias: in.Bias}
		o, next, err := reference.CausalConv1DUpdate(up)
		if err != nil {
			t.Fatal(err)
		}
		skExact(t, "state not modified", state, before, 0)
		skClose(t, "decode", o, cut(full, pos, pos+n), 1e-15)
		state, pos = next, pos+n
	}
	skExact(t, "decode final state", state, fullState, 0)
}

func TestCausalConv1DErrors(t *testing.T) {
	good := reference.CausalConv1DInput{Batch: 1, Dim: 2, Len: 3, Width: 2,
		X: make([]float64, 6), Weight: make([]float64, 4)}
	cases := []struct {
		name  string
		edit  func(*reference.CausalConv1DInput)
		words []string
	}{
		{"x", func(in *reference.CausalConv1DInput) { in.X = in.X[1:] }, []string{"x", "[B,D,L]"}},
		{"weight", func(in *reference.CausalConv1DInput) { in.Weight = in.Weight[1:] }, []string{"weight", "[D,W]"}},
		{"bias", func(in *reference.CausalConv1DInput) { in.Bias = []float64{1} }, []string{"bias"}},
		{"initial_states", func(in *reference.CausalConv1DInput) { in.InitialStates = []float64{1} }, []string{"initial_states", "[B,D,W-1]"}},
		{"width", func(in *reference.CausalConv1DInput) { in.Width = 0 }, []string{"Width"}},
		{"activation", func(in *reference.CausalConv1DInput) { in.Activation = "relu" }, []string{"activation", "relu"}},
		{"len", func(in *reference.CausalConv1DInput) { in.Len = -1 }, []string{"Len"}},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, _, err := reference.CausalConv1D(in)
		skWantErr(t, c.name, err, c.words...)
	}
	_, _, err := reference.CausalConv1DUpdate(reference.CausalConv1DUpdateInput{Batch: 1, Dim: 2, Len: 1, Width: 3,
		X: make([]float64, 2), State: make([]float64, 2), Weight: make([]float64, 6)})
	skWantErr(t, "update state", err, "conv_state", "[B,D,W-1]")
}
