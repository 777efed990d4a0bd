package reference_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/vkseq/vkseq/reference"
)

// deltaDense is the explicit product form of the (gated) delta rule for one
// sequence [t0, t1) of batch row b, head h, with dense gonum matrices:
//
//	S_t = exp(g_t) (I − beta_t k_t k_tᵀ) S_{t-1} + beta_t k_t v_tᵀ,   o_t = S_tᵀ (scale q_t)
//
// g nil means g = 0. With l2 set, q_t and k_t are first divided by
// sqrt(Σx² + 1e-6).
func deltaDense(q, k, v, beta, g []float64, s reference.LinearAttnShape, scale float64, l2 bool,
	b, h, t0, t1 int, s0 []float64) (o, final []float64) {
	K, V := s.K, s.V
	S := mat.NewDense(K, V, nil)
	if s0 != nil {
		S = mat.NewDense(K, V, slices.Clone(s0))
	}
	norm := func(x []float64) []float64 {
		x = slices.Clone(x)
		if l2 {
			ss := 0.0
			for _, e := range x {
				ss += e * e
			}
			for i := range x {
				x[i] /= math.Sqrt(ss + 1e-6)
			}
		}
		return x
	}
	for t := t0; t < t1; t++ {
		r := (b*s.T+t)*s.H + h
		kt := mat.NewVecDense(K, norm(k[r*K:(r+1)*K]))
		qt := mat.NewVecDense(K, norm(q[r*K:(r+1)*K]))
		vt := mat.NewVecDense(V, slices.Clone(v[r*V:(r+1)*V]))
		decay := 1.0
		if g != nil {
			decay = math.Exp(g[r])
		}
		// M = exp(g) (I − beta k kᵀ)
		M := mat.NewDense(K, K, nil)
		M.Outer(-beta[r], kt, kt)
		for i := range K {
			M.Set(i, i, M.At(i, i)+1)
		}
		M.Scale(decay, M)
		var next, write mat.Dense
		next.Mul(M, S)
		write.Outer(beta[r], kt, vt)
		next.Add(&next, &write)
		S = &next
		var ot mat.VecDense
		ot.MulVec(S.T(), qt)
		for j := range V {
			o = append(o, scale*ot.AtVec(j))
		}
	}
	return o, slices.Clone(S.RawMatrix().Data)
}

type deltaInputs struct {
	q, k, v, beta, g, h0 []float64
}

func deltaRandom(rng *rand.Rand, s reference.LinearAttnShape, N int, gated, unitKeys bool, betaLo, betaHi float64) deltaInputs {
	nK, nV, nH := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V, s.B*s.T*s.H
	in := deltaInputs{q: tcRandn(rng, nK), k: tcRandn(rng, nK), v: tcRandn(rng, nV),
		beta: tcUniform(rng, nH, betaLo, betaHi), h0: tcRandn(rng, N*s.H*s.K*s.V)}
	if gated {
		in.g = tcUniform(rng, nH, -1, 0.1)
	}
	if unitKeys {
		for r := 0; r < nH; r++ {
			x := in.k[r*s.K : (r+1)*s.K]
			ss := 0.0
			for _, e := range x {
				ss += e * e
			}
			n := math.Sqrt(ss)
			for i := range x {
				x[i] /= n
			}
		}
	}
	return in
}

func TestDeltaKnownScalar(t *testing.T) {
	// K = V = 1, k = q = v = 1, beta = 0.5, scale = 1, S0 = 0.
	// Plain: S = S + 0.5 (1 − S): 0.5, 0.75.
	// Gated g = log 0.5: S' = 0.5 S, S = S' + 0.5 (1 − S'): 0.5, 0.625.
	// (Decaying after the update instead would give 0.25, 0.375.)
	s := reference.LinearAttnShape{B: 1, T: 2, H: 1, K: 1, V: 1}
	ones := []float64{1, 1}
	beta := []float64{0.5, 0.5}
	o, fin, err := reference.DeltaRule(ones, ones, ones, beta, s, reference.DeltaOptions{Scale: tcPtr(1)})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "plain o", o, []float64{0.5, 0.75}, 1e-15)
	tcClose(t, "plain final", fin, []float64{0.75}, 1e-15)
	lg := math.Log(0.5)
	o, fin, err = reference.DeltaRule(ones, ones, ones, beta, s, reference.DeltaOptions{Scale: tcPtr(1), G: []float64{lg, lg}})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "gated o", o, []float64{0.5, 0.625}, 1e-15)
	tcClose(t, "gated final", fin, []float64{0.625}, 1e-15)
}

// beta = 2, fixed unit key, v = 0: the transition is the reflection I − 2kkᵀ,
// so the state's component along k flips sign every step and the rest stays.
func TestDeltaSignFlip(t *testing.T) {
	const T = 5
	s := reference.LinearAttnShape{B: 1, T: T, H: 1, K: 2, V: 2}
	var q, k []float64
	for range T {
		q = append(q, 1, 1)
		k = append(k, 1, 0)
	}
	beta := slices.Repeat([]float64{2}, T)
	v := make([]float64, T*2)
	h0 := []float64{3, -4, 5, 7} // rows: along k (flips), orthogonal (stays)
	o, fin, err := reference.DeltaRule(q, k, v, beta, s, reference.DeltaOptions{Scale: tcPtr(1), InitialState: h0})
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for t := 1; t <= T; t++ {
		sign := math.Pow(-1, float64(t))
		want = append(want, sign*3+5, sign*-4+7) // o = Sᵀ(1,1)
	}
	tcClose(t, "o", o, want, 1e-15)
	tcClose(t, "final", fin, []float64{-3, 4, 5, 7}, 1e-15) // T odd
	// The same with the unnormalised key (2, 0) and UseQKL2Norm: the key is
	// normalised to 2/sqrt(4+1e-6) ≈ 1, so the answer is close to the exact one.
	k2 := slices.Clone(k)
	for i := 0; i < len(k2); i += 2 {
		k2[i] = 2
	}
	_, fin2, err := reference.DeltaRule(q, k2, v, beta, s, reference.DeltaOptions{Scale: tcPtr(1), InitialState: h0, UseQKL2Norm: true})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "final with l2norm", fin2, []float64{-3, 4, 5, 7}, 1e-5)
}

func TestDeltaVsDenseProductForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		s              reference.LinearAttnShape
		gated, l2      bool
		betaLo, betaHi float64
		scale          *float64
	}{
		{reference.LinearAttnShape{B: 1, T: 1, H: 1, K: 1, V: 1}, false, false, 0, 1, nil},
		{reference.LinearAttnShape{B: 2, T: 6, H: 2, K: 3, V: 4}, false, false, 0, 1, nil},
		{reference.LinearAttnShape{B: 2, T: 8, H: 2, K: 4, V: 3}, false, false, 0, 2, nil}, // negative eigenvalues
		{reference.LinearAttnShape{B: 1, T: 7, H: 3, K: 5, V: 2}, true, false, 0, 2, nil},
		{reference.LinearAttnShape{B: 2, T: 5, H: 1, K: 4, V: 4}, true, true, 0, 2, tcPtr(0.3)},
		{reference.LinearAttnShape{B: 1, T: 9, H: 2, K: 3, V: 3}, false, true, -0.5, 2.5, nil}, // beta outside [0, 2]
		{reference.LinearAttnShape{B: 3, T: 4, H: 2, K: 6, V: 5}, true, false, 0, 1, tcPtr(-2)},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprintf("%d_%+v_gated=%v_l2=%v", ci, c.s, c.gated, c.l2), func(t *testing.T) {
			s := c.s
			in := deltaRandom(rng, s, s.B, c.gated, !c.l2, c.betaLo, c.betaHi)
			saved := [][]float64{slices.Clone(in.q), slices.Clone(in.k), slices.Clone(in.v), slices.Clone(in.beta),
				slices.Clone(in.g), slices.Clone(in.h0)}
			o, fin, err := reference.DeltaRule(in.q, in.k, in.v, in.beta, s,
				reference.DeltaOptions{Scale: c.scale, G: in.g, UseQKL2Norm: c.l2, InitialState: in.h0})
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range [][]float64{in.q, in.k, in.v, in.beta, in.g, in.h0} {
				if !slices.Equal(x, saved[i]) {
					t.Fatalf("input %d modified", i)
				}
			}
			scale := reference.DefaultScale(s.K)
			if c.scale != nil {
				scale = *c.scale
			}
			st := s.K * s.V
			for b := range s.B {
				for h := range s.H {
					wo, ws := deltaDense(in.q, in.k, in.v, in.beta, in.g, s, scale, c.l2, b, h, 0, s.T,
						in.h0[(b*s.H+h)*st:(b*s.H+h+1)*st])
					tcClose(t, fmt.Sprintf("o b=%d h=%d", b, h), tcGather(o, s, s.V, b, h, 0, s.T), wo, 1e-12)
					tcClose(t, fmt.Sprintf("final b=%d h=%d", b, h), fin[(b*s.H+h)*st:(b*s.H+h+1)*st], ws, 1e-12)
				}
			}
		})
	}
}

func TestDeltaGatedZeroEqualsPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	s := reference.LinearAttnShape{B: 2, T: 7, H: 2, K: 4, V: 3}
	in := deltaRandom(rng, s, s.B, false, true, 0, 2)
	po, pf, err := reference.DeltaRule(in.q, in.k, in.v, in.beta, s, reference.DeltaOptions{InitialState: in.h0})
	if err != nil {
		t.Fatal(err)
	}
	gzero := make([]float64, s.B*s.T*s.H)
	gotO, gotF, err := reference.DeltaRule(in.q, in.k, in.v, in.beta, s, reference.DeltaOptions{InitialState: in.h0, G: gzero})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(po, gotO) || !slices.Equal(pf, gotF) {
		t.Fatal("gated delta rule with g = 0 differs from the plain delta rule")
	}
	// And a non-zero gate does change the result (the gate is used).
	g := tcUniform(rng, len(gzero), -1, -0.1)
	gotO, _, _ = reference.DeltaRule(in.q, in.k, in.v, in.beta, s, reference.DeltaOptions{InitialState: in.h0, G: g})
	if reference.RelErr64(gotO, po) < 1e-3 {
		t.Fatal("gate g < 0 has no effect")
	}
}

func TestDeltaVarlenEqualsSeparate(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, gated := range []bool{false, true} {
		for _, cu := range [][]int32{{0, 4, 4, 5, 11}, {0, 1}, {0, 0}, {0, 0, 3, 3}} {
			t.Run(fmt.Sprintf("gated=%v_%v", gated, cu), func(t *testing.T) {
				T, N := int(cu[len(cu)-1]), len(cu)-1
				s := reference.LinearAttnShape{B: 1, T: T, H: 2, K: 3, V: 2}
				in := deltaRandom(rng, s, N, gated, false, 0, 2)
				opt := reference.DeltaOptions{G: in.g, UseQKL2Norm: true, InitialState: in.h0, CuSeqlens: cu}
				o, fin, err := reference.DeltaRule(in.q, in.k, in.v, in.beta, s, opt)
				if err != nil {
					t.Fatal(err)
				}
				if len(o) != T*s.H*s.V || len(fin) != N*s.H*s.K*s.V {
					t.Fatalf("len(o) = %d, len(final) = %d", len(o), len(fin))
				}
				st := s.H * s.K * s.V
				hk, hv := s.H*s.K, s.H*s.V
				for n := range N {
					a, b := int(cu[n]), int(cu[n+1])
					sub := reference.LinearAttnShape{B: 1, T: b - a, H: s.H, K: s.K, V: s.V}
					var g []float64
					if gated {
						g = in.g[a*s.H : b*s.H]
					}
					so, sf, err := reference.DeltaRule(in.q[a*hk:b*hk], in.k[a*hk:b*hk], in.v[a*hv:b*hv], in.beta[a*s.H:b*s.H],
						sub, reference.DeltaOptions{G: g, UseQKL2Norm: true, InitialState: in.h0[n*st : (n+1)*st]})
					if err != nil {
						t.Fatal(err)
					}
					tcClose(t, fmt.Sprintf("o seq %d", n), o[a*hv:b*hv], so, 1e-15)
					tcClose(t, fmt.Sprintf("final seq %d", n), fin[n*st:(n+1)*st], sf, 1e-15)
					for h := range s.H {
						hs := st / s.H
						wo, ws := deltaDense(in.q, in.k, in.v, in.beta, in.g, s, reference.DefaultScale(s.K), true, 0, h, a, b,
							in.h0[(n*s.H+h)*hs:(n*s.H+h+1)*hs])
						tcClose(t, "o vs dense", tcGather(o, s, s.V, 0, h, a, b), wo, 1e-12)
						tcClose(t, "final vs dense", fin[(n*s.H+h)*hs:(n*s.H+h+1)*hs], ws, 1e-12)
					}
				}
			})
		}
	}
}

func TestDeltaErrors(t *testing.T) {
	s := reference.LinearAttnShape{B: 1, T: 4, H: 2, K: 3, V: 2}
	nK, nV, nH := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V, s.B*s.T*s.H
	type in struct {
		q, k, v, beta []float64
		s             reference.LinearAttnShape
		opt           reference.DeltaOptions
	}
	valid := func() in {
		return in{make([]float64, nK), make([]float64, nK), make([]float64, nV), make([]float64, nH), s,
			reference.DeltaOptions{G: make([]float64, nH)}}
	}
	cases := []struct {
		name   string
		mutate func(*in)
	}{
		{"short q", func(x *in) { x.q = x.q[1:] }},
		{"long k", func(x *in) { x.k = append(x.k, 0) }},
		{"short v", func(x *in) { x.v = x.v[:1] }},
		{"beta [B,T,H,K]", func(x *in) { x.beta = make([]float64, nK) }},
		{"g length", func(x *in) { x.opt.G = make([]float64, nH-1) }},
		{"V=0", func(x *in) { x.s.V = 0 }},
		{"Inf scale", func(x *in) { x.opt.Scale = tcPtr(math.Inf(-1)) }},
		{"h0 length", func(x *in) { x.opt.InitialState = make([]float64, 5) }},
		{"cu not starting at 0", func(x *in) { x.opt.CuSeqlens = []int32{2, 4} }},
		{"cu decreasing", func(x *in) { x.opt.CuSeqlens = []int32{0, 4, 3, 4} }},
		{"cu last != T", func(x *in) { x.opt.CuSeqlens = []int32{0, 1, 2} }},
		{"cu with B=2", func(x *in) {
			x.s.B, x.s.T = 2, 2
			x.opt.CuSeqlens = []int32{0, 1, 2}
		}},
	}
	for _, c := range cases {
		x := valid()
		if _, _, err := reference.DeltaRule(x.q, x.k, x.v, x.beta, x.s, x.opt); err != nil {
			t.Fatalf("valid input rejected: %v", err)
		}
		c.mutate(&x)
		_, _, err := reference.DeltaRule(x.q, x.k, x.v, x.beta, x.s, x.opt)
		tcWantErr(t, c.name, err)
	}
}
