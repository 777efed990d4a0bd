package reference_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// glaParallel is the quadratic ("parallel") form of GLA for one batch row of
// a [B,T,H,*] input, written independently of the recurrence:
//
//	o_t[j] = scale Σ_i q_t[i] ( exp(Σ_{r=1..t} g_r[i]) S0[i,j]
//	                          + Σ_{s<=t} k_s[i] exp(Σ_{r=s+1..t} g_r[i]) v_s[j] )
//
// and the final state the same expression at t = T without q. Tokens
// [t0, t1) of row b, head h, are one sequence starting from s0 (K×V, or nil).
func glaParallel(q, k, v, g []float64, s reference.LinearAttnShape, scale float64, b, h, t0, t1 int, s0 []float64) (o, final []float64) {
	K, V := s.K, s.V
	at := func(t int) int { return (b*s.T+t)*s.H + h }
	// cum(i, a, c) = Σ_{r=a..c-1} g_r[i]
	cum := func(i, a, c int) float64 {
		sum := 0.0
		for r := a; r < c; r++ {
			sum += g[at(r)*K+i]
		}
		return sum
	}
	state := func(t int, i, j int) float64 { // S_t[i,j], t exclusive end
		val := 0.0
		if s0 != nil {
			val = math.Exp(cum(i, t0, t)) * s0[i*V+j]
		}
		for u := t0; u < t; u++ {
			val += k[at(u)*K+i] * math.Exp(cum(i, u+1, t)) * v[at(u)*V+j]
		}
		return val
	}
	o = make([]float64, (t1-t0)*V)
	for t := t0; t < t1; t++ {
		for j := range V {
			for i := range K {
				o[(t-t0)*V+j] += scale * q[at(t)*K+i] * state(t+1, i, j)
			}
		}
	}
	final = make([]float64, K*V)
	for i := range K {
		for j := range V {
			final[i*V+j] = state(t1, i, j)
		}
	}
	return o, final
}

// tcGather copies rows [t0,t1) of batch b, head h, of a [B,T,H,D] tensor.
func tcGather(x []float64, s reference.LinearAttnShape, D, b, h, t0, t1 int) []float64 {
	var out []float64
	for t := t0; t < t1; t++ {
		r := (b*s.T+t)*s.H + h
		out = append(out, x[r*D:(r+1)*D]...)
	}
	return out
}

func TestGLAKnownScalar(t *testing.T) {
	// K = V = 1, g = log 0.5, k = v = q = 1, scale = 1: S = 1, 1.5, 1.75.
	one := 1.0
	g := math.Log(0.5)
	o, fin, err := reference.GLA([]float64{1, 1, 1}, []float64{1, 1, 1}, []float64{1, 1, 1}, []float64{g, g, g},
		reference.LinearAttnShape{B: 1, T: 3, H: 1, K: 1, V: 1}, reference.GLAOptions{Scale: &one})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "o", o, []float64{1, 1.5, 1.75}, 1e-15)
	tcClose(t, "final", fin, []float64{1.75}, 1e-15)
	// With initial state 4 and scale 2: S = 3, 2.5, 2.25 → o = 6, 5, 4.5.
	two := 2.0
	o, fin, err = reference.GLA([]float64{1, 1, 1}, []float64{1, 1, 1}, []float64{1, 1, 1}, []float64{g, g, g},
		reference.LinearAttnShape{B: 1, T: 3, H: 1, K: 1, V: 1}, reference.GLAOptions{Scale: &two, InitialState: []float64{4}})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "o with h0", o, []float64{6, 5, 4.5}, 1e-15)
	tcClose(t, "final with h0", fin, []float64{2.25}, 1e-15)
}

func TestGLAVsParallelForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		s      reference.LinearAttnShape
		gLo    float64
		gHi    float64
		withH0 bool
		scale  *float64
	}{
		{reference.LinearAttnShape{B: 1, T: 1, H: 1, K: 1, V: 1}, -1, 0, false, nil},
		{reference.LinearAttnShape{B: 2, T: 7, H: 2, K: 3, V: 4}, -1, 0, false, nil},
		{reference.LinearAttnShape{B: 2, T: 9, H: 3, K: 5, V: 2}, -2, 0, true, nil},
		{reference.LinearAttnShape{B: 1, T: 12, H: 2, K: 4, V: 6}, -0.3, 0.3, true, tcPtr(0.7)}, // positive gates too
		{reference.LinearAttnShape{B: 3, T: 5, H: 1, K: 8, V: 3}, -5, -0.01, true, tcPtr(-1.5)},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprintf("%d_%+v", ci, c.s), func(t *testing.T) {
			s := c.s
			nK, nV := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V
			q, k, v := tcRandn(rng, nK), tcRandn(rng, nK), tcRandn(rng, nV)
			g := tcUniform(rng, nK, c.gLo, c.gHi)
			var h0 []float64
			if c.withH0 {
				h0 = tcRandn(rng, s.B*s.H*s.K*s.V)
			}
			ins := [][]float64{slices.Clone(q), slices.Clone(k), slices.Clone(v), slices.Clone(g), slices.Clone(h0)}
			o, fin, err := reference.GLA(q, k, v, g, s, reference.GLAOptions{Scale: c.scale, InitialState: h0})
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range [][]float64{q, k, v, g, h0} {
				if !slices.Equal(x, ins[i]) {
					t.Fatalf("input %d modified", i)
				}
			}
			scale := 1 / math.Sqrt(float64(s.K))
			if c.scale != nil {
				scale = *c.scale
			}
			for b := range s.B {
				for h := range s.H {
					var s0 []float64
					if h0 != nil {
						s0 = h0[(b*s.H+h)*s.K*s.V : (b*s.H+h+1)*s.K*s.V]
					}
					wantO, wantS := glaParallel(q, k, v, g, s, scale, b, h, 0, s.T, s0)
					tcClose(t, fmt.Sprintf("o b=%d h=%d", b, h), tcGather(o, s, s.V, b, h, 0, s.T), wantO, 1e-12)
					tcClose(t, fmt.Sprintf("final b=%d h=%d", b, h), fin[(b*s.H+h)*s.K*s.V:(b*s.H+h+1)*s.K*s.V], wantS, 1e-12)
				}
			}
		})
	}
}

func TestGLAScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	s := reference.LinearAttnShape{B: 1, T: 4, H: 2, K: 4, V: 3}
	nK, nV := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V
	q, k, v, g := tcRandn(rng, nK), tcRandn(rng, nK), tcRandn(rng, nV), tcUniform(rng, nK, -1, 0)
	def, _, err := reference.GLA(q, k, v, g, s, reference.GLAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	half, _, err := reference.GLA(q, k, v, g, s, reference.GLAOptions{Scale: tcPtr(0.5)}) // K^-0.5 = 0.5
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def, half) {
		t.Fatal("nil Scale differs from K^-0.5")
	}
	one, _, _ := reference.GLA(q, k, v, g, s, reference.GLAOptions{Scale: tcPtr(1)})
	tcClose(t, "o(scale=1) = 2 o(scale=0.5)", one, reference.Scale(half, 2), 1e-15)
	zero, _, _ := reference.GLA(q, k, v, g, s, reference.GLAOptions{Scale: tcPtr(0)})
	if !slices.Equal(zero, make([]float64, nV)) {
		t.Fatal("explicit Scale 0 does not give zero output")
	}
	if d := reference.DefaultScale(64); d != 0.125 {
		t.Fatalf("DefaultScale(64) = %v, want 0.125", d)
	}
}

// Variable length: every sequence equals a separate B = 1 run from its own
// initial state, including empty and length-1 sequences.
func TestGLAVarlenEqualsSeparate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, cu := range [][]int32{
		{0, 3, 3, 4, 9},
		{0, 0},
		{0, 1},
		{0, 0, 0, 2, 2, 7, 8},
		{0},
	} {
		t.Run(fmt.Sprint(cu), func(t *testing.T) {
			T := int(cu[len(cu)-1])
			N := len(cu) - 1
			s := reference.LinearAttnShape{B: 1, T: T, H: 2, K: 3, V: 2}
			nK, nV := T*s.H*s.K, T*s.H*s.V
			q, k, v, g := tcRandn(rng, nK), tcRandn(rng, nK), tcRandn(rng, nV), tcUniform(rng, nK, -1, 0.2)
			h0 := tcRandn(rng, N*s.H*s.K*s.V)
			o, fin, err := reference.GLA(q, k, v, g, s, reference.GLAOptions{InitialState: h0, CuSeqlens: cu})
			if err != nil {
				t.Fatal(err)
			}
			if len(o) != nV || len(fin) != N*s.H*s.K*s.V {
				t.Fatalf("len(o) = %d, len(final) = %d", len(o), len(fin))
			}
			st := s.H * s.K * s.V
			for n := range N {
				a, b := int(cu[n]), int(cu[n+1])
				sub := reference.LinearAttnShape{B: 1, T: b - a, H: s.H, K: s.K, V: s.V}
				so, sf, err := reference.GLA(q[a*s.H*s.K:b*s.H*s.K], k[a*s.H*s.K:b*s.H*s.K], v[a*s.H*s.V:b*s.H*s.V],
					g[a*s.H*s.K:b*s.H*s.K], sub, reference.GLAOptions{InitialState: h0[n*st : (n+1)*st]})
				if err != nil {
					t.Fatal(err)
				}
				tcClose(t, fmt.Sprintf("o seq %d", n), o[a*s.H*s.V:b*s.H*s.V], so, 1e-15)
				tcClose(t, fmt.Sprintf("final seq %d", n), fin[n*st:(n+1)*st], sf, 1e-15)
				if a == b && !slices.Equal(sf, h0[n*st:(n+1)*st]) {
					t.Fatalf("empty sequence %d: final state differs from initial state", n)
				}
				// Independently of GLA itself, against the parallel form.
				for h := range s.H {
					wo, ws := glaParallel(q, k, v, g, s, reference.DefaultScale(s.K), 0, h, a, b,
						h0[(n*s.H+h)*s.K*s.V:(n*s.H+h+1)*s.K*s.V])
					tcClose(t, "o vs parallel", tcGather(o, s, s.V, 0, h, a, b), wo, 1e-12)
					tcClose(t, "final vs parallel", fin[(n*s.H+h)*s.K*s.V:(n*s.H+h+1)*s.K*s.V], ws, 1e-12)
				}
			}
		})
	}
}

func TestGLAEmptyT(t *testing.T) {
	s := reference.LinearAttnShape{B: 2, T: 0, H: 1, K: 2, V: 2}
	h0 := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	o, fin, err := reference.GLA(nil, nil, nil, nil, s, reference.GLAOptions{InitialState: h0})
	if err != nil {
		t.Fatal(err)
	}
	if len(o) != 0 || !slices.Equal(fin, h0) {
		t.Fatalf("T=0: o = %v, final = %v, want [] and the initial state", o, fin)
	}
	_, fin, err = reference.GLA(nil, nil, nil, nil, s, reference.GLAOptions{})
	if err != nil || !slices.Equal(fin, make([]float64, 8)) {
		t.Fatalf("T=0 without h0: final = %v, err = %v, want zeros", fin, err)
	}
}

// Every case starts from a valid call and breaks one thing.
func TestGLAErrors(t *testing.T) {
	s := reference.LinearAttnShape{B: 1, T: 4, H: 2, K: 3, V: 2}
	nK, nV := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V
	type in struct {
		q, k, v, g []float64
		s          reference.LinearAttnShape
		opt        reference.GLAOptions
	}
	valid := func() in {
		return in{make([]float64, nK), make([]float64, nK), make([]float64, nV), make([]float64, nK), s, reference.GLAOptions{}}
	}
	cases := []struct {
		name   string
		mutate func(*in)
	}{
		{"short q", func(x *in) { x.q = x.q[1:] }},
		{"long k", func(x *in) { x.k = append(x.k, 0) }},
		{"short v", func(x *in) { x.v = x.v[:nV-2] }},
		{"nil g", func(x *in) { x.g = nil }},
		{"H=0", func(x *in) { x.s.H = 0 }},
		{"T<0", func(x *in) { x.s.T = -1 }},
		{"NaN scale", func(x *in) { x.opt.Scale = tcPtr(math.NaN()) }},
		{"h0 length", func(x *in) { x.opt.InitialState = make([]float64, s.H*s.K*s.V+1) }},
		{"cu empty", func(x *in) { x.opt.CuSeqlens = []int32{} }},
		{"cu not starting at 0", func(x *in) { x.opt.CuSeqlens = []int32{1, 4} }},
		{"cu decreasing", func(x *in) { x.opt.CuSeqlens = []int32{0, 3, 2, 4} }},
		{"cu last != T", func(x *in) { x.opt.CuSeqlens = []int32{0, 2, 3} }},
		{"cu last > T", func(x *in) { x.opt.CuSeqlens = []int32{0, 5} }},
		{"cu with B=2", func(x *in) {
			x.s.B, x.s.T = 2, 2
			x.opt.CuSeqlens = []int32{0, 2}
		}},
		{"h0 rows != N", func(x *in) {
			x.opt.CuSeqlens = []int32{0, 1, 4}
			x.opt.InitialState = make([]float64, 3*s.H*s.K*s.V)
		}},
	}
	for _, c := range cases {
		x := valid()
		if _, _, err := reference.GLA(x.q, x.k, x.v, x.g, x.s, x.opt); err != nil {
			t.Fatalf("valid input rejected: %v", err)
		}
		c.mutate(&x)
		_, _, err := reference.GLA(x.q, x.k, x.v, x.g, x.s, x.opt)
		tcWantErr(t, c.name, err)
	}
	// ValidateCuSeqlens on its own.
	if n, err := reference.ValidateCuSeqlens([]int32{0, 0, 3, 5}, 1, 5); err != nil || n != 3 {
		t.Fatalf("ValidateCuSeqlens = %d, %v, want 3, nil", n, err)
	}
	if n, err := reference.ValidateCuSeqlens(nil, 4, 5); err != nil || n != 4 {
		t.Fatalf("ValidateCuSeqlens(nil) = %d, %v, want B = 4, nil", n, err)
	}
	_, err := reference.ValidateCuSeqlens([]int32{0, 3, 1, 5}, 1, 5)
	tcWantErr(t, "ValidateCuSeqlens decreasing", err)
}
