package reference_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

func skSSDInput(rng *rand.Rand, bs, l, h, p, g, n int) reference.SSDInput {
	return reference.SSDInput{
		Batch: bs, Len: l, Heads: h, HeadDim: p, Groups: g, DState: n,
		X:             skRandn(rng, bs*l*h*p, 1),
		Dt:            skRandn(rng, bs*l*h, 1),
		A:             skUniform(rng, h, -3, -0.2),
		B:             skRandn(rng, bs*l*g*n, 1),
		C:             skRandn(rng, bs*l*g*n, 1),
		D:             skRandn(rng, h, 1),
		Z:             skRandn(rng, bs*l*h*p, 1),
		DtBias:        skRandn(rng, h, 0.5),
		DtSoftplus:    true,
		InitialStates: skRandn(rng, bs*h*p*n, 1),
	}
}

// skSSDQuadratic is the attention-like (quadratic) form of SSD:
//
//	y_t = Σ_{s≤t} exp(A Σ_{s<r≤t} dt_r) dt_s (C_t·B_s) x_s + exp(A Σ_{r≤t} dt_r) S_0 C_t + D x_t
func skSSDQuadratic(in reference.SSDInput) (out, final []float64) {
	bs, l, hs, p, g, n := in.Batch, in.Len, in.Heads, in.HeadDim, in.Groups, in.DState
	out = make([]float64, bs*l*hs*p)
	final = make([]float64, bs*hs*p*n)
	for b := 0; b < bs; b++ {
		for h := 0; h < hs; h++ {
			grp := h / (hs / g)
			dt := make([]float64, l)
			cum := make([]float64, l+1)
			for t := 0; t < l; t++ {
				v := in.Dt[(b*l+t)*hs+h] + in.DtBias[h]
				if v <= 20 {
					v = math.Log1p(math.Exp(v))
				}
				dt[t] = v
				cum[t+1] = cum[t] + v
			}
			bv := func(t, k int) float64 { return in.B[((b*l+t)*g+grp)*n+k] }
			cv := func(t, k int) float64 { return in.C[((b*l+t)*g+grp)*n+k] }
			xv := func(t, i int) float64 { return in.X[((b*l+t)*hs+h)*p+i] }
			s0 := func(i, k int) float64 { return in.InitialStates[((b*hs+h)*p+i)*n+k] }
			for t := 0; t < l; t++ {
				for i := 0; i < p; i++ {
					y := in.D[h] * xv(t, i)
					for s := 0; s <= t; s++ {
						cb := 0.0
						for k := 0; k < n; k++ {
							cb += cv(t, k) * bv(s, k)
						}
						y += math.Exp(in.A[h]*(cum[t+1]-cum[s+1])) * dt[s] * cb * xv(s, i)
					}
					for k := 0; k < n; k++ {
						y += math.Exp(in.A[h]*cum[t+1]) * s0(i, k) * cv(t, k)
					}
					out[((b*l+t)*hs+h)*p+i] = y * skSiLU(in.Z[((b*l+t)*hs+h)*p+i])
				}
			}
			// final state: S_L = exp(A cum_L) S_0 + Σ_s exp(A (cum_L - cum_{s+1})) dt_s x_s B_sᵀ
			for i := 0; i < p; i++ {
				for k := 0; k < n; k++ {
					v := math.Exp(in.A[h]*cum[l]) * s0(i, k)
					for s := 0; s < l; s++ {
						v += math.Exp(in.A[h]*(cum[l]-cum[s+1])) * dt[s] * xv(s, i) * bv(s, k)
					}
					final[((b*hs+h)*p+i)*n+k] = v
				}
			}
		}
	}
	return out, final
}

func TestSSDQuadraticForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ bs, l, h, p, g, n int }{
		{1, 1, 1, 1, 1, 1}, {1, 10, 2, 3, 1, 4}, {2, 13, 4, 2, 2, 3}, {1, 9, 6, 2, 3, 5}, {2, 7, 4, 3, 4, 2},
	} {
		in := skSSDInput(rng, c.bs, c.l, c.h, c.p, c.g, c.n)
		x0 := slices.Clone(in.X)
		out, final, err := reference.SSD(in)
		if err != nil {
			t.Fatal(err)
		}
		wantOut, wantFinal := skSSDQuadratic(in)
		skClose(t, "out", out, wantOut, 1e-12)
		skClose(t, "final_states", final, wantFinal, 1e-12)
		skExact(t, "x unchanged", in.X, x0, 0)
	}
}

func TestSSDEqualsSelectiveScan(t *testing.T) {
	// SSD is the selective scan with channels (h, i) for i < P, dt shared by
	// the P channels of a head, and A[h] broadcast over the state: transpose
	// the layouts and compare with the Mamba-1 reference.
	rng := rand.New(rand.NewPCG(13, 14))
	bs, l, hs, p, g, n := 2, 11, 4, 3, 2, 5
	in := skSSDInput(rng, bs, l, hs, p, g, n)
	out, final, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	dim := hs * p
	sc := reference.SelectiveScanInput{
		Batch: bs, Dim: dim, Len: l, DState: n, Groups: g,
		U: make([]float64, bs*dim*l), Delta: make([]float64, bs*dim*l), Z: make([]float64, bs*dim*l),
		A: make([]float64, dim*n), B: make([]float64, bs*g*n*l), C: make([]float64, bs*g*n*l),
		D: make([]float64, dim), DeltaBias: make([]float64, dim), DeltaSoftplus: true,
		InitialState: slices.Clone(in.InitialStates), // [B,H,P,N] = [B,D,N]
	}
	for h := 0; h < hs; h++ {
		for i := 0; i < p; i++ {
			d := h*p + i
			sc.D[d], sc.DeltaBias[d] = in.D[h], in.DtBias[h]
			for k := 0; k < n; k++ {
				sc.A[d*n+k] = in.A[h]
			}
			for b := 0; b < bs; b++ {
				for t := 0; t < l; t++ {
					sc.U[(b*dim+d)*l+t] = in.X[((b*l+t)*hs+h)*p+i]
					sc.Z[(b*dim+d)*l+t] = in.Z[((b*l+t)*hs+h)*p+i]
					sc.Delta[(b*dim+d)*l+t] = in.Dt[(b*l+t)*hs+h]
				}
			}
		}
	}
	for b := 0; b < bs; b++ {
		for t := 0; t < l; t++ {
			for gr := 0; gr < g; gr++ {
				for k := 0; k < n; k++ {
					sc.B[((b*g+gr)*n+k)*l+t] = in.B[((b*l+t)*g+gr)*n+k]
					sc.C[((b*g+gr)*n+k)*l+t] = in.C[((b*l+t)*g+gr)*n+k]
				}
			}
		}
	}
	sOut, sLast, err := reference.SelectiveScan(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(out))
	for b := 0; b < bs; b++ {
		for t := 0; t < l; t++ {
			for d := 0; d < dim; d++ {
				want[(b*l+t)*dim+d] = sOut[(b*dim+d)*l+t]
			}
		}
	}
	skClose(t, "out vs selective scan", out, want, 1e-13)
	skClose(t, "state vs selective scan", final, sLast, 1e-13)
}

func TestSSDStateUpdateMatchesSSD(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	bs, l, hs, p, g, n := 2, 6, 4, 3, 2, 3
	in := skSSDInput(rng, bs, l, hs, p, g, n)
	full, fullFinal, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	state := slices.Clone(in.InitialStates)
	// at picks time step tk from a [B, L, rest...] tensor.
	at := func(x []float64, rest, tk int) []float64 {
		var y []float64
		for b := 0; b < bs; b++ {
			y = append(y, x[(b*l+tk)*rest:(b*l+tk+1)*rest]...)
		}
		return y
	}
	for tk := 0; tk < l; tk++ {
		out, next, err := reference.SSDStateUpdate(reference.SSDStateUpdateInput{
			Batch: bs, Heads: hs, HeadDim: p, Groups: g, DState: n,
			State: state, X: at(in.X, hs*p, tk), Dt: at(in.Dt, hs, tk), A: in.A,
			B: at(in.B, g*n, tk), C: at(in.C, g*n, tk), D: in.D, Z: at(in.Z, hs*p, tk),
			DtBias: in.DtBias, DtSoftplus: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		skClose(t, "step out", out, at(full, hs*p, tk), 1e-14)
		state = next
	}
	skClose(t, "final state", state, fullFinal, 1e-14)
}

func TestSSDHandCase(t *testing.T) {
	// One head, P = 1, N = 1, no softplus: S1 = 0.5*2*3 = 3, y1 = 3*4 + 1*2;
	// S2 = e^{-1} 3 + 1*1*(-1), y2 = S2*(-2) + 1*1.
	in := reference.SSDInput{Batch: 1, Len: 2, Heads: 1, HeadDim: 1, DState: 1,
		X: []float64{2, 1}, Dt: []float64{0.5, 1}, A: []float64{-1},
		B: []float64{3, -1}, C: []float64{4, -2}, D: []float64{1}}
	out, final, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	s2 := 3*math.Exp(-1) - 1
	skExact(t, "out", out, []float64{14, -2*s2 + 1}, 1e-15)
	skExact(t, "final", final, []float64{s2}, 1e-15)
}

func TestSSDErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	good := skSSDInput(rng, 1, 3, 4, 2, 2, 3)
	if _, _, err := reference.SSD(good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(*reference.SSDInput)
		words []string
	}{
		{"x", func(in *reference.SSDInput) { in.X = in.X[1:] }, []string{"x", "[B,L,H,P]"}},
		{"dt", func(in *reference.SSDInput) { in.Dt = nil }, []string{"dt", "[B,L,H]"}},
		{"A", func(in *reference.SSDInput) { in.A = in.A[:1] }, []string{"A", "[H]"}},
		{"B", func(in *reference.SSDInput) { in.B = in.B[1:] }, []string{"B", "[B,L,G,N]"}},
		{"C", func(in *reference.SSDInput) { in.C = nil }, []string{"C"}},
		{"D", func(in *reference.SSDInput) { in.D = in.D[1:] }, []string{"D"}},
		{"z", func(in *reference.SSDInput) { in.Z = in.Z[1:] }, []string{"z"}},
		{"dt_bias", func(in *reference.SSDInput) { in.DtBias = []float64{} }, []string{"dt_bias"}},
		{"initial_states", func(in *reference.SSDInput) { in.InitialStates = in.InitialStates[1:] }, []string{"initial_states", "[B,H,P,N]"}},
		{"groups", func(in *reference.SSDInput) { in.Groups = 3 }, []string{"Groups", "Heads"}},
		{"negative", func(in *reference.SSDInput) { in.HeadDim = -2 }, []string{"HeadDim"}},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, _, err := reference.SSD(in)
		skWantErr(t, c.name, err, c.words...)
	}
	_, _, err := reference.SSDStateUpdate(reference.SSDStateUpdateInput{Batch: 1, Heads: 2, HeadDim: 1, DState: 1,
		State: make([]float64, 2), X: make([]float64, 2), Dt: make([]float64, 1), A: make([]float64, 2),
		B: make([]float64, 1), C: make([]float64, 1)})
	skWantErr(t, "step dt", err, "dt", "[B,H]")
}
