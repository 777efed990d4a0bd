package reference

import "math"

// DeltaOptions are the optional inputs of DeltaRule.
type DeltaOptions struct {
	// Scale multiplies q. nil means DefaultScale(K) = K^-0.5; any finite value
	// (0 included) is used as given.
	Scale *float64
	// G is the log-space decay [B, T, H], one scalar per token and head; nil
	// gives the plain (ungated) delta rule, which equals G = 0 everywhere.
	G []float64
	// UseQKL2Norm normalises every head vector of q and k to
	// x / sqrt(Σx² + L2NormEps) before use, as the kernels' in-kernel option.
	UseQKL2Norm bool
	// InitialState is [N, H, K, V]; nil means zeros.
	InitialState []float64
	// CuSeqlens, when non-nil, switches to variable-length mode: B must be 1,
	// and CuSeqlens ([N+1], starting at 0, non-decreasing, last = T) splits
	// the T tokens into N sequences that run independently, each from its own
	// row of InitialState. Empty sequences are legal.
	CuSeqlens []int32
}

// DeltaRule is the delta rule (DeltaNet), or the gated delta rule when
// opt.G is given, as the plain float64 recurrence of docs/design.md §6. For
// every sequence and head, with state S (K×V) starting at the initial state:
//
//	S'  = exp(g_t) S_{t-1}              (S' = S_{t-1} when ungated)
//	u_t = beta_t (v_t − S'ᵀ k_t)
//	S_t = S' + k_t u_tᵀ
//	o_t = S_tᵀ (scale · q_t)
//
// The decay is applied before the delta correction, so that
// S_t = exp(g_t) (I − beta_t k_t k_tᵀ) S_{t-1} + beta_t k_t v_tᵀ exactly as
// docs/design.md §6 writes it: the new write beta_t k_t v_tᵀ is not decayed in its
// own step. (Expanding: S' + beta k (v − S'ᵀk)ᵀ = S' − beta k kᵀ S' + beta k vᵀ
// = exp(g)(I − beta k kᵀ) S_{t-1} + beta k vᵀ.) This is also the order of
// flash-linear-attention's recurrent gated delta rule.
//
// Inputs: q, k [B, T, H, K], v [B, T, H, V], beta [B, T, H] (any real value,
// not clamped: beta in (1, 2] gives the transition a negative eigenvalue
// along k when ‖k‖ = 1). Keys are expected L2-normalised unless
// opt.UseQKL2Norm is set. Returns o [B, T, H, V] and the final states
// [N, H, K, V] (N = B, or len(CuSeqlens) − 1). Inputs are not modified; wrong
// lengths, shapes or options are errors.
func DeltaRule(q, k, v, beta []float64, s LinearAttnShape, opt DeltaOptions) (o, finalState []float64, err error) {
	const op = "delta_rule"
	seqs, scale, err := varlenPlan(op, s, opt.Scale, opt.CuSeqlens, opt.InitialState)
	if err != nil {
		return nil, nil, err
	}
	nK, nV, nH := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V, s.B*s.T*s.H
	checks := []struct {
		name string
		x    []float64
		dims string
		want int
	}{{"q", q, "B*T*H*K", nK}, {"k", k, "B*T*H*K", nK}, {"v", v, "B*T*H*V", nV}, {"beta", beta, "B*T*H", nH}}
	if opt.G != nil {
		checks = append(checks, struct {
			name string
			x    []float64
			dims string
			want int
		}{"g", opt.G, "B*T*H", nH})
	}
	for _, c := range checks {
		if err := varlenCheckLen(op, c.name, c.x, c.dims, c.want); err != nil {
			return nil, nil, err
		}
	}
	if opt.UseQKL2Norm {
		// L2Norm returns new slices, so the caller's q and k stay untouched.
		if q, err = L2Norm(q, nH, s.K, L2NormEps); err != nil {
			return nil, nil, err
		}
		if k, err = L2Norm(k, nH, s.K, L2NormEps); err != nil {
			return nil, nil, err
		}
	}

	K, V, H := s.K, s.V, s.H
	o = make([]float64, nV)
	finalState = make([]float64, len(seqs)*H*K*V)
	u := make([]float64, V)
	for n, sq := range seqs {
		for h := range H {
			S := finalState[(n*H+h)*K*V : (n*H+h+1)*K*V]
			if opt.InitialState != nil {
				copy(S, opt.InitialState[(n*H+h)*K*V:])
			}
			for t := sq.start; t < sq.end; t++ {
				row := (sq.b*s.T+t)*H + h // index of token t, head h
				qt, kt := q[row*K:(row+1)*K], k[row*K:(row+1)*K]
				vt, ot := v[row*V:(row+1)*V], o[row*V:(row+1)*V]
				if opt.G != nil {
					decay := math.Exp(opt.G[row])
					for i := range S {
						S[i] *= decay
					}
				}
				// u = beta (v − S'ᵀ k)
				copy(u, vt)
				for i := range K {
					Si := S[i*V : (i+1)*V]
					for j := range V {
						u[j] -= kt[i] * Si[j]
					}
				}
				for j := range V {
					u[j] *= beta[row]
				}
				// S = S' + k uᵀ;  o = Sᵀ (scale q)
				for i := range K {
					Si := S[i*V : (i+1)*V]
					qi := scale * qt[i]
					for j := range V {
						Si[j] += kt[i] * u[j]
						ot[j] += qi * Si[j]
					}
				}
			}
		}
	}
	return o, finalState, nil
}
